"""The course's own code on real p4c + BMv2: course-style control planes and
simple_switch_CLI files judged by the labs' verifiers, p4-utils exercises under
`labtool up`, `labtool import`, Mininet's CLI commands and `labtool shell`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import ROOT, labtool, leftovers, start_up

COURSE = ROOT / "tests" / "fixtures" / "course"
COURSE_LABS = ["reflector", "repeater", "vlan", "hh-v1", "hh-v2"]
# hosts reach each other by design (pingall 0% dropped). Not by design: the reflector
# (frames come back), vlan (h1 is a trunk: its frames are tagged, the others' are not),
# hh-v1 (only toward h4: its replies are dropped)
PINGALL_LABS = ["repeater", "hh-v2", "int", "flowradar", "hula", "cheetah", "cheetah-stateful"]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("lab", COURSE_LABS)
def test_course_control_plane_passes(lab: str) -> None:
    proc = labtool("run", lab, "--controller", rel(COURSE / lab / "control_plane.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{lab}: PASS" in proc.stdout
    assert leftovers() == []


@pytest.mark.parametrize("lab", COURSE_LABS)
def test_course_command_files_pass(lab: str) -> None:
    files = sorted((COURSE / lab).glob("s*-commands.txt"))
    args = [f"--commands={f.name.split('-')[0]}={rel(f)}" for f in files]
    proc = labtool("run", lab, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{lab}: PASS" in proc.stdout
    assert leftovers() == []


@pytest.mark.parametrize("lab", ["repeater", "hh-v2"])
def test_course_thrift_control_plane_passes(lab: str) -> None:
    proc = labtool("run", lab, "--controller", rel(COURSE / lab / "thrift_control_plane.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{lab}: PASS" in proc.stdout
    assert leftovers() == []


def test_misspelled_table_is_one_clear_error() -> None:
    proc = labtool("run", "vlan", "--controller", rel(COURSE / "typo" / "control_plane.py"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "control_plane.py failed:" in proc.stderr
    assert "controller.table_add('vlan_tabel', 'forward', ['20'], ['2'])" in proc.stderr
    assert ("s1: no table 'vlan_tabel'; did you mean 'vlan_table'? "
            "(valid: port_to_vlan, vlan_table)") in proc.stderr
    assert "Traceback" not in proc.stderr and "labtool/p4utils" not in proc.stderr
    assert leftovers() == []


def test_script_exception_shows_its_traceback(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("from p4utils.utils.helper import load_topo\n"
                      "topo = load_topo('topology.json')\n"
                      "print('hosts', sorted(topo.get_hosts()))\n"
                      "topo.get_hosts()['h7']\n")
    proc = labtool("run", "repeater", "--controller", str(script))
    assert proc.returncode == 2
    assert "hosts ['h1', 'h2']" in proc.stdout
    assert "broken.py raised:" in proc.stderr and "line 4" in proc.stderr
    assert "KeyError: 'h7'" in proc.stderr
    assert leftovers() == []


@pytest.mark.parametrize("exercise, ping", [("exercise-repeater", "h1 ping -c1 -W2 h2"),
                                            ("exercise-routing", "h1 ping -c1 -W2 h2")])
def test_exercise_comes_up_and_pings(exercise: str, ping: str) -> None:
    proc = labtool("up", rel(COURSE / exercise), stdin=f"{ping}\nh2 ping -c1 -W2 h1\n")
    out = proc.stdout + proc.stderr  # Mininet prints command output on stderr
    assert proc.returncode == 0, out
    assert out.count("1 received") == 2, out
    assert leftovers() == []


def test_import_writes_a_manifest_run_accepts(tmp_path: Path) -> None:
    exercise = tmp_path / "exercise-repeater"
    shutil.copytree(COURSE / "exercise-repeater", exercise)
    imported = labtool("import", str(exercise))
    assert imported.returncode == 0, imported.stderr
    manifest = exercise / "exercise-repeater.toml"
    assert f"wrote {manifest}" in imported.stdout and (exercise / "verify.py").is_file()
    proc = labtool("run", str(manifest))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "exercise-repeater: PASS" in proc.stdout and "h1 pings h2" in proc.stdout
    assert leftovers() == []


@pytest.mark.parametrize("lab", PINGALL_LABS)
def test_pingall_under_up(lab: str) -> None:
    proc = labtool("up", lab, stdin="pingall\n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Results: 0% dropped" in out, out
    assert "None" not in out.split("*** Ping", 1)[1]
    assert leftovers() == []


def test_mininet_cli_commands() -> None:
    proc = labtool("up", "repeater", stdin="net\ndump\nlinks\niperf\nh1 ip -4 -o addr\n",
                   timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "h1 h1-eth0:s1-eth1" in out                  # net
    assert "h1: h1-eth0:10.0.0.1 pid=" in out           # dump
    assert "h1-eth0<->s1-eth1 (OK OK)" in out            # links
    assert "*** Results: ['" in out and "bits/sec" in out  # iperf
    assert "inet 10.0.0.1/24" in out                     # <host> <cmd>
    assert leftovers() == []


def test_shell_and_a_script_by_hand_against_up() -> None:
    up = start_up("repeater", "--no-controller")
    try:
        shell = labtool("shell", "s1", stdin=(
            "p4.table_add('repeater', 'forward', ['1'], ['2'])\n"
            "thrift.table_add('repeater', 'forward', ['2'], ['1'])\n"
            "print('entries', len(sw.table_read('repeater')))\n"
            "sw.table_add('repeter', {}, 'drop')\n"))
        assert shell.returncode == 0, shell.stdout + shell.stderr
        text = shell.stdout + shell.stderr
        assert "labtool shell on s1" in text and "entries 2" in text
        assert "error: s1: no table 'repeter'; did you mean 'repeater'?" in text
        by_hand = subprocess.run([sys.executable, "-m", "labtool.p4utils",
                                  rel(COURSE / "repeater" / "control_plane.py")], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert by_hand.returncode == 0, by_hand.stderr
        out, err = up.communicate("h1 ping -c1 -W2 h2\nexit\n", timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert "1 received" in out + err
    assert leftovers() == []


def test_up_runs_a_course_controller() -> None:
    proc = labtool("up", "hh-v2", "--controller", rel(COURSE / "hh-v2" / "control_plane.py"),
                   stdin="h1 ping -c1 -W2 h2\n")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "s1: 10.0.2.2/32 -> port 2 (02:00:00:02:00:02)" in out  # the script's own output
    assert "1 received" in out
    assert leftovers() == []
