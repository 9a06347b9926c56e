"""`labtool registers` against a network started with `labtool up`."""

from __future__ import annotations

from tests.e2e.helpers import labtool, leftovers, start_up


def test_registers_show_and_reset() -> None:
    up = start_up("hh-v1")
    try:
        shown = labtool("registers", "s1")
        assert shown.returncode == 0, shown.stderr
        assert "s1 MyIngress." in shown.stdout and "cells]" in shown.stdout
        name = shown.stdout.split("s1 ", 1)[1].split()[0]
        short = name.rsplit(".", 1)[1]
        one = labtool("registers", "s1", short, "--index", "0")
        assert one.returncode == 0 and "[    0]" in one.stdout
        bad = labtool("registers", "s1", short + "x")
        assert bad.returncode == 2 and f"did you mean '{short}'" in bad.stderr
        reset = labtool("registers", "s1", short, "--reset")
        assert reset.returncode == 0 and "reset to 0" in reset.stdout
        nz = labtool("registers", "s1", short, "--nonzero")
        assert nz.returncode == 0 and ": 0 shown" in nz.stdout
        unknown = labtool("registers", "s9")
        assert unknown.returncode == 2 and "no switch 's9'" in unknown.stderr
    finally:
        up.communicate("exit\n", timeout=60)
    assert leftovers() == []


def test_registers_without_network() -> None:
    proc = labtool("registers", "s1")
    assert proc.returncode == 2 and "no lab network is running" in proc.stderr
