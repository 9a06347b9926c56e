"""The CLI contract: exit codes and one clear message for user mistakes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labtool.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture(autouse=True)
def in_repo(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    monkeypatch.delenv("LABTOOL_HOME", raising=False)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"reflector", "repeater", "vlan"} <= set(names)


def test_unknown_lab(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, _, err = run_cli(["run", "repeter"], capsys)
    assert code == 2
    assert "labtool: error: no lab 'repeter'; did you mean 'repeater'?" in err
    assert "Traceback" not in err


def test_not_root(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, _, err = run_cli(["run", "reflector"], capsys)
    assert code == 2
    assert "needs root" in err and "sudo" in err


def test_missing_toolchain(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("LABTOOL_P4_PREFIX", str(tmp_path))
    code, _, err = run_cli(["build", "reflector"], capsys)
    assert code == 2
    assert "p4c-bm2-ss not found" in err and "LABTOOL_P4_PREFIX" in err


def test_missing_p4_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["build", "reflector", "--p4", "nope.p4"], capsys)
    assert code == 2 and "--p4 nope.p4: no such file" in err


def test_build_needs_a_lab(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["build"], capsys)
    assert code == 2 and "name a lab" in err


def test_unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "reflector", "--frobnicate"], capsys)
    assert code == 2 and "No such option" in err


def test_malformed_manifest_via_cli(capsys: pytest.CaptureFixture[str], lab_tree: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (lab_tree / "topologies" / "bad.toml").write_text('program = "p4src/x.p4"\n')
    monkeypatch.setenv("LABTOOL_HOME", str(lab_tree))
    code, _, err = run_cli(["build", "bad"], capsys)
    assert code == 2
    assert "topologies/bad.toml: verifier: missing (required)" in err


def test_doctor_reports_every_check(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("LABTOOL_P4_PREFIX", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, out, _ = run_cli(["doctor"], capsys)
    assert code == 2
    for name in ("root", "p4c", "simple_switch_grpc", "simple_switch_CLI", "mininet",
                 "netns/veth"):
        assert name in out
    assert "FAIL  p4c" in out and "fix:" in out
    assert "Thrift server is reachable only inside" in out


def test_mutant_lists_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["mutant", "vlan"], capsys)
    assert code == 0 and "unknown_vid_dropped" in out
    code, out, _ = run_cli(["mutant", "vlan", "unknown_vid_dropped"], capsys)
    assert code == 0
    assert out.startswith("// MUTANT unknown_vid_dropped of vlan.p4: ")
    code, out, _ = run_cli(["mutant", "vlan", "unknown_vid_dropped", "--path"], capsys)
    assert code == 0 and Path(out.strip()).read_text().startswith("// MUTANT unknown_vid_dropped")


def test_unknown_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["mutant", "vlan", "unknown_vid_droped"], capsys)
    assert code == 2
    assert "no mutant 'unknown_vid_droped'; did you mean 'unknown_vid_dropped'?" in err


def test_seed_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "vlan", "--seed", "-1"], capsys)
    assert code == 2 and "--seed" in err and "Traceback" not in err


def test_course_options_are_checked_before_anything_runs(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        repo_root: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    commands = repo_root / "tests" / "fixtures" / "course" / "repeater" / "s1-commands.txt"
    code, _, err = run_cli(["run", "repeater", "--commands", f"s2={commands}"], capsys)
    assert code == 2 and "no switch 's2'; did you mean 's1'?" in err
    code, _, err = run_cli(["run", "repeater", "--commands", "s1"], capsys)
    assert code == 2 and "write SWITCH=FILE" in err
    code, _, err = run_cli(["run", "repeater", "--controller", "nope.py"], capsys)
    assert code == 2 and "nope.py does not exist" in err
