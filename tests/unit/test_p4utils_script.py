"""Course scripts run in labtool's process: p4utils imports resolve to labtool's API,
the working directory holds topology.json, errors show the script's own lines."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import finsy as fy
import pytest
from finsy.proto import p4r

from labtool.controlplane import SwitchControl
from labtool.errors import ControllerError, LabtoolError
from labtool.p4utils import aliases, binding
from labtool.p4utils.course import CourseScript
from labtool.p4utils.script import BackgroundScript, run_script
from tests.unit.test_p4utils_api import P4INFO, FakeSession

TOPOLOGY = """{"nodes": [{"id": "s1", "isSwitch": true, "isP4Switch": true,
  "isP4RuntimeSwitch": true, "device_id": 1, "grpc_port": 50001, "thrift_port": 9090,
  "p4rt_path": "p.txt", "json_path": "p.json"}], "links": []}"""
HEADER = """from p4utils.utils.helper import load_topo
from p4utils.utils.sswitch_p4runtime_API import SimpleSwitchP4RuntimeAPI
topo = load_topo('topology.json')
data = topo.get_p4rtswitches()['s1']
controller = SimpleSwitchP4RuntimeAPI(data['device_id'], data['grpc_port'],
                                      p4rt_path=data['p4rt_path'], json_path=data['json_path'])
"""


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[tuple[Path, FakeSession]]:
    session = FakeSession()
    control = SwitchControl("s1", session, fy.P4Schema(P4INFO), None)  # type: ignore[arg-type]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "topology.json").write_text(TOPOLOGY)
    with binding.bind({"s1": control}, {"s1": binding.SwitchAddress("s1", 1, 50001, 9090)}):
        yield tmp_path, session


def script(tmp_path: Path, body: str, name: str = "control_plane.py") -> CourseScript:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return CourseScript(path)


def test_runs_as_main_with_argv_cwd_and_its_own_imports(
        run_dir: tuple[Path, FakeSession], capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path, session = run_dir
    (tmp_path / "helper_mod.py").write_text("PORT = '2'\n")
    body = ("import os, sys\nfrom helper_mod import PORT\n"
            "if __name__ == '__main__':\n"
            "    controller.table_add('repeater', 'forward', ['1'], [PORT])\n"
            "    print('args', sys.argv[1:], os.path.basename(os.getcwd()))\n")
    cwd_before, argv_before = Path.cwd(), list(sys.argv)
    run_script(CourseScript(script(tmp_path, body).path, ("x",)), tmp_path / "run")
    assert "args ['x'] run" in capsys.readouterr().out
    assert len(session.updates) == 1
    assert Path.cwd() == cwd_before and sys.argv == argv_before
    assert "p4utils" not in sys.modules


def test_a_misspelled_table_is_one_clear_error(run_dir: tuple[Path, FakeSession]) -> None:
    tmp_path, _ = run_dir
    with pytest.raises(ControllerError) as exc:
        run_script(script(tmp_path, "controller.table_add('repeter', 'forward', ['1'], ['2'])\n"),
                   tmp_path / "run")
    text = str(exc.value)
    assert text.startswith("control_plane.py failed:")
    assert 'control_plane.py", line 7' in text
    assert "controller.table_add('repeter'" in text
    assert text.rstrip().endswith("s1: no table 'repeter'; did you mean 'repeater'? "
                                  "(valid: acl, repeater)")
    assert "labtool/" not in text.replace(str(tmp_path), "")


def test_an_exception_shows_the_script_traceback(run_dir: tuple[Path, FakeSession]) -> None:
    tmp_path, _ = run_dir
    body = "def f():\n    return {}['missing']\nf()\n"
    with pytest.raises(ControllerError) as exc:
        run_script(script(tmp_path, body), tmp_path / "run")
    text = str(exc.value)
    assert "control_plane.py raised:" in text and "in f" in text and "KeyError: 'missing'" in text


def test_exit_status(run_dir: tuple[Path, FakeSession]) -> None:
    tmp_path, _ = run_dir
    run_script(script(tmp_path, "import sys\nsys.exit(0)\n"), tmp_path / "run")
    with pytest.raises(ControllerError, match="exited with status 3"):
        run_script(script(tmp_path, "import sys\nsys.exit(3)\n"), tmp_path / "run")


def test_background_script_settles_when_it_waits(run_dir: tuple[Path, FakeSession]) -> None:
    """A script waiting for digests (a learning switch) has done its configuration: it
    settles, keeps running, and goes on when a digest comes."""
    tmp_path, session = run_dir
    session.digests = queue.Queue()  # type: ignore[attr-defined]
    session.send = lambda msg: None  # type: ignore[attr-defined]
    body = "msg = controller.get_digest_list()\nprint('digest', msg.list_id)\n"
    active = binding._bound
    assert active is not None
    job = BackgroundScript(script(tmp_path, body), tmp_path / "run", active)
    done = threading.Event()
    threading.Thread(target=lambda: (job.start_and_settle(), done.set()), daemon=True).start()
    assert done.wait(10)
    assert job.running
    session.digests.put(p4r.DigestList(digest_id=1, list_id=7))  # type: ignore[attr-defined]
    job.thread.join(10)
    assert not job.running and job.error is None


def test_unknown_p4utils_module_names_the_provided_ones() -> None:
    with aliases.installed():
        from p4utils.utils.helper import load_topo  # type: ignore[import-not-found]

        assert load_topo.__module__ == "labtool.p4utils.topology"
        with pytest.raises(ImportError, match="p4utils.utils.monitor is part of p4-utils but not"):
            import p4utils.utils.monitor  # type: ignore[import-not-found]  # noqa: F401
    assert "p4utils" not in sys.modules


def test_course_script_commands(tmp_path: Path) -> None:
    (tmp_path / "cp.py").write_text("")
    assert CourseScript.parse("sudo python3 -u cp.py a b", tmp_path) == \
        CourseScript(tmp_path / "cp.py", ("a", "b"))
    with pytest.raises(LabtoolError, match="not one"):
        CourseScript.parse("./run.sh", tmp_path)
    with pytest.raises(LabtoolError, match="does not exist"):
        CourseScript.parse("python nope.py", tmp_path)
