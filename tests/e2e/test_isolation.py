"""Runs are isolated: many at once, nothing of a run reachable or breakable from the
root namespace, leftovers cleaned per dead run only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from labtool.registry import live_records
from tests.e2e.helpers import ROOT, labtool, leftovers, start_up

LABTOOL = [sys.executable, "-m", "labtool.cli"]


def background(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*LABTOOL, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def topology_of(record_pid: int, timeout: float = 60) -> dict[str, object]:
    """The topology.json of the live run owned by `record_pid`, once written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for rec in live_records():
            if rec.owner.pid == record_pid:
                path = Path(rec.run_dir) / "topology.json"
                if path.is_file():
                    return dict(json.loads(path.read_text()))
        time.sleep(0.05)
    raise AssertionError(f"run {record_pid} wrote no topology.json")


def test_two_labs_at_once_both_pass() -> None:
    a, b = background("run", "vlan"), background("run", "hh-v1")
    out_a, err_a = a.communicate(timeout=300)
    out_b, err_b = b.communicate(timeout=300)
    assert a.returncode == 0, out_a + err_a
    assert b.returncode == 0, out_b + err_b
    assert "vlan: PASS" in out_a and "hh-v1: PASS" in out_b
    assert leftovers() == []


def test_thrift_unreachable_from_root_namespace_registers_work() -> None:
    up = start_up("repeater")
    try:
        topo = topology_of(up.pid)
        switches = [n for n in topo["nodes"] if n.get("isP4Switch")]  # type: ignore[union-attr]
        for node in switches:
            with socket.socket() as sock:
                sock.settimeout(1)
                assert sock.connect_ex(("127.0.0.1", node["thrift_port"])) != 0, node
        regs = labtool("registers", "s1")
        assert regs.returncode == 0, regs.stdout + regs.stderr
    finally:
        up.communicate("exit\n", timeout=60)
    assert leftovers() == []


def test_clean_during_a_live_run_leaves_it_untouched() -> None:
    up = start_up("repeater")
    try:
        cleaned = labtool("clean")
        assert cleaned.returncode == 0
        assert "0 leftover(s) removed" in cleaned.stdout
        out, err = up.communicate("h1 ping -c1 -W1 10.0.0.2\nexit\n", timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert "1 received" in out + err
    assert leftovers() == []


def test_killed_run_does_not_disturb_another_and_is_cleaned_alone() -> None:
    victim = start_up("vlan")
    survivor = background("run", "hh-v1")
    topology_of(victim.pid)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, out + err
    assert "hh-v1: PASS" in out
    # the survivor's own start-up cleaned the dead run's leftovers, or this run does
    after = labtool("run", "repeater")
    assert after.returncode == 0, after.stdout + after.stderr
    assert leftovers() == []


def test_p4utils_style_global_cleanup_does_not_break_a_run() -> None:
    """What p4-utils and `mn -c` do on start: delete every *-ethN link in the root
    namespace and kill every `mininet:` shell. A labtool run has neither."""
    decoy = subprocess.Popen(["bash", "-c", "exec -a mininet:decoy sleep 60"])
    run = background("run", "hh-v2")
    try:
        topology_of(run.pid)
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                               check=True).stdout
        names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
        for name in names:
            if "-eth" in name:
                subprocess.run(["ip", "link", "del", name], check=False)
        subprocess.run(["pkill", "-9", "-f", "mininet:"], check=False)
        out, err = run.communicate(timeout=300)
    finally:
        decoy.kill()
        decoy.wait()
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out + err
    assert "hh-v2: PASS" in out
    assert leftovers() == []


def test_by_hand_client_reaches_up_switches_through_printed_addresses() -> None:
    up = start_up("repeater")
    try:
        topo = topology_of(up.pid)
        s1 = next(n for n in topo["nodes"] if n.get("id") == "s1")  # type: ignore[union-attr]
        address = f"127.0.0.1:{s1['grpc_port']}"
        script = (
            "import sys\n"
            "from labtool.p4runtime import P4RuntimeSession\n"
            "s = P4RuntimeSession(sys.argv[1], int(sys.argv[2]), election_id=7)\n"
            "s.open()\n"
            "print('primary', flush=True)\n"
            "s.close()\n")
        proc = subprocess.run([sys.executable, "-c", script, address, str(s1["device_id"])],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "primary" in proc.stdout
    finally:
        up.communicate("exit\n", timeout=60)
    assert leftovers() == []


def test_parallel_selftest_matches_serial_verdicts(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    one = labtool("selftest", "repeater", "-j", "1", "--seed", "5", "--json", str(serial),
                  timeout=900)
    two = labtool("selftest", "repeater", "-j", "2", "--seed", "5", "--json", str(parallel),
                  timeout=900)
    assert one.returncode == 0, one.stdout + one.stderr
    assert two.returncode == 0, two.stdout + two.stderr

    def outcomes(path: Path) -> dict[str, str]:
        return {r["mutant"]: r["outcome"] for r in json.loads(path.read_text())}

    assert outcomes(serial) == outcomes(parallel)
    assert leftovers() == []


def test_shards_partition_the_work(tmp_path: Path) -> None:
    reports = []
    for i in (1, 2):
        out = tmp_path / f"shard{i}.json"
        proc = labtool("test", "reflector", "repeater", "vlan", "--shard", f"{i}/2", "--json",
                       str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        data = json.loads(out.read_text())
        reports.append([data] if isinstance(data, dict) else data)
    labs = sorted(v["lab"] for r in reports for v in r)
    assert labs == ["reflector", "repeater", "vlan"]
