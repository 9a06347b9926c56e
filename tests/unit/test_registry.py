"""Leftover cleanup acts only on what a dead labtool run recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labtool import registry


@pytest.fixture(autouse=True)
def private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "reg"
    monkeypatch.setattr(registry, "REGISTRY_DIR", path)
    return path


def dead_owner() -> registry.ProcessRecord:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return registry.ProcessRecord(proc.pid, 12345, "labtool")


def test_start_time_of_self() -> None:
    assert registry.process_start_time(os.getpid()) is not None
    assert registry.process_start_time(2**22 + 7) is None


def test_stale_run_processes_are_killed(private_registry: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    private_registry.mkdir()
    rec = registry.RunRecord(dead_owner(), "x", "/tmp/run")
    rec.add_process(child.pid, "switch")
    assert [r.owner.pid for r in registry.stale_records()] == [rec.owner.pid]
    removed = registry.clean_stale()
    assert removed == [f"process {child.pid} (switch)"]
    assert child.wait(5) is not None
    assert not rec.path.exists()


def test_reused_pid_is_not_killed(private_registry: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        private_registry.mkdir()
        rec = registry.RunRecord(dead_owner(), "x", "/tmp/run")
        rec.processes.append(registry.ProcessRecord(child.pid, 1, "not the same process"))
        rec.save()
        assert registry.clean_stale() == []
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_live_run_is_left_alone(private_registry: Path) -> None:
    with registry.RunRegistration("x", Path("/tmp/run")) as rec:
        assert rec.path.exists()
        assert rec.private_dir.is_dir() and rec.private_dir.stat().st_mode & 0o777 == 0o700
        assert registry.stale_records() == []
    assert not rec.path.exists() and not rec.private_dir.exists()


def test_runs_coexist_and_clean_only_the_dead(private_registry: Path) -> None:
    """A live run in another process (its record and its processes) survives another
    run's start-up clean-up and `labtool clean`; a dead run's processes do not."""
    live_child = subprocess.Popen(["sleep", "30"])
    dead_child = subprocess.Popen(["sleep", "30"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        private_registry.mkdir()
        start = registry.process_start_time(other.pid)
        assert start is not None
        live = registry.RunRecord(registry.ProcessRecord(other.pid, start, "labtool"), "a", "/r")
        live.add_process(live_child.pid, "switch of a live run")
        dead = registry.RunRecord(dead_owner(), "b", "/r")
        dead.add_process(dead_child.pid, "switch of a dead run")
        with registry.RunRegistration("c", Path("/tmp/run"), kind="up") as mine:
            assert dead_child.wait(5) is not None
            assert live_child.poll() is None and live.path.exists()
            assert registry.clean_stale() == []
            assert {r.owner.pid for r in registry.live_records()} == {other.pid, mine.owner.pid}
            assert registry.RunRecord.load(mine.path).kind == "up"
        assert live_child.poll() is None
    finally:
        for proc in (live_child, dead_child, other):
            proc.kill()
            proc.wait()


def test_torn_record_is_dropped(private_registry: Path) -> None:
    private_registry.mkdir()
    (private_registry / "1.json").write_text("{not json")
    assert registry.stale_records() == []
    assert not (private_registry / "1.json").exists()
