"""Bad input and faults: one clear message, the documented exit code, nothing left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import ROOT, labtool, leftovers, start_up


def lab_copy(tmp_path: Path, lab: str, controller: str | None = None,
             verifier: str | None = None) -> Path:
    """A lab repository in tmp_path with one lab, optionally with a replaced controller
    or verifier."""
    for sub in ("topologies", "p4src", "controllers", "verifiers"):
        (tmp_path / sub).mkdir(parents=True)
    shutil.copy(ROOT / "topologies" / f"{lab}.toml", tmp_path / "topologies")
    shutil.copy(ROOT / "p4src" / f"{lab}.p4", tmp_path / "p4src")
    shutil.copy(ROOT / "verifiers" / f"{lab}.py", tmp_path / "verifiers")
    if (ROOT / "controllers" / f"{lab}.py").exists():
        shutil.copy(ROOT / "controllers" / f"{lab}.py", tmp_path / "controllers")
    if controller is not None:
        (tmp_path / "controllers" / f"{lab}.py").write_text(controller)
    if verifier is not None:
        (tmp_path / "verifiers" / f"{lab}.py").write_text(verifier)
    return tmp_path


def test_compile_error_shows_file_line_and_source(tmp_path: Path) -> None:
    broken = tmp_path / "broken.p4"
    text = (ROOT / "p4src" / "repeater.p4").read_text()
    assert "mark_to_drop(standard_metadata);" in text
    broken.write_text(text.replace("mark_to_drop(standard_metadata);",
                                   "mark_to_drop(standard_metadataa);", 1))
    line = next(i for i, ln in enumerate(broken.read_text().splitlines(), 1)
                if "standard_metadataa" in ln)
    proc = labtool("run", "repeater", "--p4", str(broken))
    # the student's program is wrong, not the machine: FAIL with the compiler's message
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  compile" in proc.stdout
    assert f"broken.p4:{line}:" in proc.stdout
    assert "mark_to_drop(standard_metadataa);" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert leftovers() == []


def test_controller_exception_is_reported_and_cleaned(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path, "repeater", controller=(
        "def configure(lab):\n"
        "    s1 = lab.switch('s1')\n"
        "    raise RuntimeError('student bug here')\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "controller repeater.py raised" in proc.stderr
    assert "RuntimeError: student bug here" in proc.stderr
    assert "line 3" in proc.stderr
    assert leftovers() == []


def test_unknown_table_names_valid_ones(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path, "repeater", controller=(
        "def configure(lab):\n"
        "    lab.switch('s1').table_add('repeter', {'standard_metadata.ingress_port': 1},"
        " 'forward', {'port': 2})\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2
    assert "no table 'repeter'; did you mean 'repeater'?" in proc.stderr
    assert leftovers() == []


def test_unknown_action_and_param(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path, "repeater", controller=(
        "def configure(lab):\n"
        "    lab.switch('s1').table_add('repeater', {'ingress_port': 1}, 'forwrd', {'port': 2})\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2
    assert "no action 'forwrd'; did you mean 'forward'?" in proc.stderr
    repo2 = lab_copy(tmp_path / "b", "repeater", controller=(
        "def configure(lab):\n"
        "    lab.switch('s1').table_add('repeater', {'ingress_port': 1}, 'forward', {'prt': 2})\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo2)})
    assert proc.returncode == 2
    assert "no parameter 'prt'; did you mean 'port'?" in proc.stderr
    assert leftovers() == []


def test_switch_death_is_reported(tmp_path: Path) -> None:
    # the run's own switch: its gRPC socket is in this labtool process's private directory
    repo = lab_copy(tmp_path, "repeater", verifier=(
        "import os, signal, subprocess\n"
        "from labtool import frames as f\n"
        "def verify(lab):\n"
        "    mine = f'/run/labtool/{os.getpid()}/s1.grpc'\n"
        "    pid = int(subprocess.run(['pgrep', '-f', mine],"
        " capture_output=True, text=True).stdout.split()[0])\n"
        "    os.kill(pid, signal.SIGKILL)\n"
        "    with lab.check('after the crash'):\n"
        "        lab.exchange('h1', [f.udp(lab.host('h1'), lab.host('h2'))],"
        " expect={'h2': []})\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "s1: simple_switch_grpc exited" in proc.stderr
    assert leftovers() == []


def test_up_runs_piped_commands() -> None:
    proc = labtool("up", "repeater", stdin="h1 ping -c1 -W1 10.0.0.2\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 received" in proc.stdout + proc.stderr  # Mininet prints output on stderr
    assert leftovers() == []


def test_kill_9_then_clean_leaves_nothing() -> None:
    proc = start_up("vlan")
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert leftovers() != []  # the dead run's switches, shells and record
    cleaned = labtool("clean")
    assert cleaned.returncode == 0
    assert leftovers() == [], cleaned.stdout


def test_sigint_mid_run_tears_down() -> None:
    proc = start_up("repeater")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert leftovers() == []


def test_foreign_interface_is_not_touched() -> None:
    """Another tool's s1-eth1 in the root namespace neither blocks a run nor is touched:
    the run's switch ports live in the run's own namespace."""
    subprocess.run(["ip", "link", "add", "s1-eth1", "type", "veth", "peer", "name", "ltforeign0"],
                   check=True)
    try:
        before = Path("/sys/class/net/s1-eth1/ifindex").read_text()
        proc = labtool("run", "repeater")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert Path("/sys/class/net/s1-eth1/ifindex").read_text() == before
    finally:
        subprocess.run(["ip", "link", "del", "s1-eth1"], check=False)
    assert leftovers() == []


@pytest.mark.parametrize("lab", ["reflector"])
def test_pcap_and_logs_are_written(lab: str, tmp_path: Path) -> None:
    proc = labtool("run", lab, "--pcap")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = sorted((ROOT / ".labtool" / "runs").glob(f"{lab}-2*"))[-1]
    assert list((run_dir / "pcap").glob("*.pcap"))
    assert (run_dir / "topology.json").is_file()


def test_controller_by_hand_against_up() -> None:
    up = start_up("repeater", "--no-controller")
    try:
        by_hand = subprocess.run([sys.executable, "controllers/repeater.py"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert by_hand.returncode == 0, by_hand.stderr
        again = subprocess.run([sys.executable, "controllers/repeater.py"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr  # tables are cleared on attach
        out, err = up.communicate("h1 ping -c1 -W1 10.0.0.2\nexit\n", timeout=60)
        out += err  # Mininet prints command output on stderr
    finally:
        if up.poll() is None:
            up.kill()
    assert "1 received" in out
    assert leftovers() == []
