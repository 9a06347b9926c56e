from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labtool.checks import CheckResult, Verdict
from labtool.report import check_lines, timing_line, write_json, write_junit


def verdict(passed: bool = False) -> Verdict:
    return Verdict("vlan", "p4src/vlan.p4", [
        CheckResult("rule 1", True, "", 0.15),
        CheckResult("rule 2", passed, "" if passed else "h2: expected 1 frame(s), got 0\nmore", 0.2),
    ], timings={"compile": 0.001, "compile_cached": 1.0, "network": 0.2, "teardown": 0.1})


def test_verdict_lines() -> None:
    assert verdict(True).one_line() == "vlan: PASS (2/2 checks)"
    assert verdict(False).one_line() == ("vlan: FAIL (1/2 checks passed; first failure: rule 2: "
                                         "h2: expected 1 frame(s), got 0)")
    assert Verdict("x", "p").one_line() == "x: FAIL (the verifier ran no check)"
    assert Verdict("x", "p", error="harness: drops\nmore").status == "ERROR"


def test_check_lines_and_timing() -> None:
    lines = check_lines(verdict(False))
    assert lines[0].startswith("  PASS  rule 1")
    assert lines[1].startswith("  FAIL  rule 2")
    assert lines[2].strip() == "h2: expected 1 frame(s), got 0"
    assert "compile (cached) 1 ms" in timing_line(verdict())


def test_json_and_junit(tmp_path: Path) -> None:
    write_json([verdict(False)], tmp_path / "r.json", single=True)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["status"] == "FAIL" and data["checks"][1]["passed"] is False
    write_junit([verdict(False), Verdict("x", "p", error="boom")], tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    suites = root.findall("testsuite")
    assert [s.get("failures") for s in suites] == ["1", "0"]
    assert suites[1].get("errors") == "1"
    failure = suites[0].find("testcase[@name='rule 2']/failure")
    assert failure is not None and failure.get("message") == "h2: expected 1 frame(s), got 0"


def test_switch_drops_blame_the_program_only_when_frames_multiply(repo_root: Path) -> None:
    from labtool.checks import CheckFailed, HarnessError
    from labtool.context import LabContext
    from labtool.manifest import find_lab

    lab = find_lab(repo_root, "hh-v2")  # 2 switches, 2 ports each
    frames_in = [0]
    ctx = LabContext(lab, {}, switch_drops=lambda: {"s1:1": 3},
                     switch_frames_in=lambda: frames_in[0])
    ctx.drain()
    ctx._sent = 10
    frames_in[0] = 10 * 2 * 2  # within the loop-free bound: BMv2 fell behind
    with pytest.raises(HarnessError, match="could not keep up"):
        ctx._check_switch_inputs()
    frames_in[0] = 10 * 2 * 2 + 1  # more than loop-free forwarding can make
    with pytest.raises(CheckFailed, match="multiplies frames"):
        ctx._check_switch_inputs()


def test_json_of_several_runs_is_a_list_even_when_empty(tmp_path: Path) -> None:
    write_json([], tmp_path / "none.json")
    write_json([verdict(True)], tmp_path / "one.json")
    assert json.loads((tmp_path / "none.json").read_text()) == []
    assert [v["lab"] for v in json.loads((tmp_path / "one.json").read_text())] == ["vlan"]


def test_output_the_verifier_cannot_process_fails_the_check(repo_root: Path) -> None:
    """A truncated header in the program's output must give FAIL with the reason, not
    a labtool error: verifiers are proven on the solution, not on every wrong program."""
    import struct

    from labtool.checks import HarnessError
    from labtool.context import LabContext
    from labtool.manifest import find_lab

    ctx = LabContext(find_lab(repo_root, "reflector"), {})
    with ctx.check("reports decode"):
        struct.unpack("!HH", b"\x00")  # a 1-byte "header"
    with ctx.check("still runs"):
        pass
    first, second = ctx.results
    assert not first.passed and second.passed
    assert first.detail.startswith("the program's behaviour stopped the verifier (error: ")
    assert "struct.unpack" in first.detail  # the traceback, for a verifier bug after all
    with pytest.raises(HarnessError), ctx.check("harness"):
        raise HarnessError("capture dropped frames")


def test_a_run_that_needs_only_its_verdict_ends_at_the_first_failed_check(
        repo_root: Path) -> None:
    """Mutant runs stop at the first failed check (the rest would only wait out
    timeouts); an ordinary run goes on and reports every check."""
    from labtool.checks import CheckFailed, VerdictReached
    from labtool.context import LabContext
    from labtool.manifest import find_lab

    lab = find_lab(repo_root, "reflector")
    for stop in (False, True):
        ctx = LabContext(lab, {})
        ctx.stop_at_failure = stop
        ran = []
        try:
            with ctx.check("passes"):
                ran.append(1)
            with ctx.check("outer"), ctx.check("fails"):
                raise CheckFailed("wrong frame")
            with ctx.check("later"):
                ran.append(3)
        except VerdictReached as exc:
            assert stop and str(exc) == "fails"
        assert ran == ([1] if stop else [1, 3])
        assert [(r.name, r.passed) for r in ctx.results] == (
            [("passes", True), ("fails", False)] if stop else
            [("passes", True), ("fails", False), ("outer", True), ("later", True)])
