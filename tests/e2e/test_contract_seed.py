"""Programs that break a lab's control-plane contract FAIL (exit 1) with the
"contract" check, before any network exists; the lab's own controller bug stays an
error (exit 2); `--seed` replays a run exactly."""

from __future__ import annotations

import json
from pathlib import Path

from labtool import context
from labtool.manifest import find_lab
from labtool.mutants import find_mutant, materialize
from labtool.runner import RunOptions, run_lab
from labtool.workspace import Workspace
from tests.e2e.helpers import ROOT, labtool, leftovers
from tests.e2e.test_faults import lab_copy


def edited(tmp_path: Path, lab: str, find: str, replace: str, count: int = 1) -> Path:
    text = (ROOT / "p4src" / f"{lab}.p4").read_text()
    assert text.count(find) >= count, find
    out = tmp_path / f"{lab}-student.p4"
    out.write_text(text.replace(find, replace))
    return out


def contract_fail(proc_stdout: str) -> str:
    assert "FAIL  contract" in proc_stdout, proc_stdout
    return proc_stdout


def test_renamed_parameter_fails_the_contract(tmp_path: Path) -> None:
    program = edited(tmp_path, "repeater", "forward(egressSpec_t port)",
                     "forward(egressSpec_t egress_port)")
    text = program.read_text()
    program.write_text(text.replace("standard_metadata.egress_spec = port;",
                                    "standard_metadata.egress_spec = egress_port;"))
    proc = labtool("run", "repeater", "--p4", str(program))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = contract_fail(proc.stdout)
    assert "action forward: parameter egress_port — the lab sets port" in out
    assert leftovers() == []


def test_program_without_the_table_fails_the_contract(tmp_path: Path) -> None:
    program = edited(tmp_path, "repeater", "repeater", "port_map", count=2)
    proc = labtool("run", "repeater", "--p4", str(program))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = contract_fail(proc.stdout)
    assert "table repeater: not in the program; closest in the program:" in out or \
        "table repeater: not in the program (the program's tables: port_map)" in out
    assert leftovers() == []


def test_missing_register_fails_the_contract(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path / "repo", "repeater")
    manifest = repo / "topologies" / "repeater.toml"
    manifest.write_text(manifest.read_text().replace(
        "[contract.tables.repeater]", "[contract]\nregisters = { port_packets = 32 }\n\n"
        "[contract.tables.repeater]"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "register port_packets: not in the program" in contract_fail(proc.stdout)
    assert leftovers() == []


def test_lab_controller_bug_is_still_an_error(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path, "repeater", controller=(
        "def configure(lab):\n"
        "    lab.switch('s1').table_add('repeater', {'standard_metadata.ingress_port': 1},"
        " 'forward', {'port': 2, 'mac': 3})\n"))
    proc = labtool("run", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "contract" not in proc.stdout
    assert leftovers() == []


def recorded_run(lab_name: str, seed: int, program: Path | None = None
                 ) -> tuple[list[context.Exchange], dict[str, object]]:
    ws = Workspace(ROOT)
    context.RECORDER = []
    try:
        verdict = run_lab(find_lab(ROOT, lab_name), ws, RunOptions(program=program, seed=seed))
        sent = list(context.RECORDER)
    finally:
        context.RECORDER = None
    checks = {c.name: (c.passed, c.detail) for c in verdict.checks}
    return sent, {"status": verdict.status, "seed": verdict.seed, "checks": checks}


def test_seed_reproduces_a_fail_exactly() -> None:
    lab = find_lab(ROOT, "vlan")
    mutant = materialize(find_mutant(lab.mutants(), "unknown_vid_dropped"), lab.program,
                         ROOT / ".labtool" / "mutants" / "vlan")
    first_sent, first = recorded_run("vlan", 4242, mutant)
    again_sent, again = recorded_run("vlan", 4242, mutant)
    assert first["status"] == "FAIL" and first["seed"] == 4242
    assert again == first  # same checks, same failure details
    assert [(e.sends, e.expected) for e in again_sent] == [(e.sends, e.expected) for e in first_sent]
    other_sent, _ = recorded_run("vlan", 4243, mutant)
    assert [e.sends for e in other_sent] != [e.sends for e in first_sent], \
        "the verifier does not vary its traffic with the seed"
    assert leftovers() == []


def test_seed_is_printed_and_in_the_json(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = labtool("run", "reflector", "--seed", "77", "--json", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[seed 77]" in proc.stdout
    assert json.loads(report.read_text())["seed"] == 77


def test_stale_mutant_is_an_error_naming_it(tmp_path: Path) -> None:
    repo = lab_copy(tmp_path, "repeater")
    (repo / "p4src" / "mutants").mkdir()
    (repo / "p4src" / "mutants" / "repeater.toml").write_text(
        '[[mutant]]\nname = "left_behind"\nwrong = "edits text the solution no longer has"\n'
        '[[mutant.edit]]\nfind = "no such line;"\nreplace = "x;"\n')
    proc = labtool("selftest", "repeater", env={"LABTOOL_HOME": str(repo)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if "left_behind" in ln)
    assert "ERROR" in line and "mutant left_behind: edit 1 of 1" in line
    assert leftovers() == []
