"""`labtool selftest`: a verifier is only worth something if it fails wrong
programs. Each lab's solution must PASS and each of its mutants (edits of the
solution, see mutants.py) must FAIL for a reason other than not compiling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .checks import Verdict
from .errors import LabtoolError
from .manifest import Lab
from .mutants import Mutant, materialize
from .runner import RunOptions, run_lab
from .workspace import Workspace


@dataclass
class MutantResult:
    lab: str
    mutant: str  # "(solution)" for the lab's own program
    description: str
    # PASS / FAIL for the solution and alternatives; killed / SURVIVED / ERROR for mutants
    outcome: str
    detail: str
    seed: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("PASS", "killed")


def mutant_program(lab: Lab, ws: Workspace, mutant: Mutant) -> RunOptions:
    """Run options for a mutant: its program written under the workspace (StaleMutant,
    a LabtoolError, when an edit no longer applies)."""
    return RunOptions(program=materialize(mutant, lab.program, ws.state_dir / "mutants" / lab.name))


def selftest_lab(lab: Lab, ws: Workspace, progress: Callable[[MutantResult], None],
                 seed: int | None = None,
                 names: list[str] | None = None) -> list[MutantResult]:
    results = []

    def record(result: MutantResult) -> None:
        results.append(result)
        progress(result)

    solution = run_lab(lab, ws, RunOptions(seed=seed))
    record(MutantResult(lab.name, "(solution)", str(lab.program.name),
                        "PASS" if solution.passed else solution.status, _why(solution),
                        solution.seed))
    try:
        mutants = lab.mutants()
        alternatives = lab.alternatives()
    except LabtoolError as exc:
        record(MutantResult(lab.name, "(mutants)", str(lab.mutants_file), "ERROR", str(exc)))
        return results
    if not mutants:
        record(MutantResult(lab.name, "(none)", f"no mutants in {lab.mutants_file}", "ERROR",
                            "a lab without killed mutants is not verified"))
    for alt in alternatives:
        if names is not None and alt.name not in names:
            continue
        try:
            options = mutant_program(lab, ws, alt)
            options.seed = seed
            verdict = run_lab(lab, ws, options)
        except LabtoolError as exc:
            record(MutantResult(lab.name, f"(alt) {alt.name}", alt.wrong, "ERROR",
                                str(exc).splitlines()[0]))
            continue
        record(MutantResult(lab.name, f"(alt) {alt.name}", alt.wrong,
                            "PASS" if verdict.passed else verdict.status, _why(verdict),
                            verdict.seed))
    for mutant in mutants:
        if names is not None and mutant.name not in names:
            continue
        try:
            options = mutant_program(lab, ws, mutant)
            options.seed = seed
            verdict = run_lab(lab, ws, options)
        except LabtoolError as exc:
            record(MutantResult(lab.name, mutant.name, mutant.wrong, "ERROR",
                                str(exc).splitlines()[0]))
            continue
        first = verdict.first_failure()
        if first is not None and first.name == "compile":
            outcome, why = "ERROR", "the mutant does not compile: " + first.detail.splitlines()[0]
        else:
            outcome = "killed" if verdict.status == "FAIL" else \
                "SURVIVED" if verdict.passed else "ERROR"
            why = _why(verdict)
        record(MutantResult(lab.name, mutant.name, mutant.wrong, outcome, why, verdict.seed))
    return results


def _why(verdict: Verdict) -> str:
    if verdict.error:
        return verdict.error.splitlines()[0]
    first = verdict.first_failure()
    if first is None:
        return f"{len(verdict.checks)} checks passed"
    return f"{first.name}: {first.detail.splitlines()[0] if first.detail else ''}"
