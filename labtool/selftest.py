"""`labtool selftest`: a verifier is only worth something if it fails wrong
programs. Each lab's solution must PASS and each shipped mutant must FAIL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checks import Verdict
from .errors import LabtoolError
from .manifest import Lab
from .runner import RunOptions, run_lab
from .workspace import Workspace


@dataclass
class MutantResult:
    lab: str
    mutant: str  # "(solution)" for the lab's own program
    description: str
    outcome: str  # PASS / FAIL for the solution; killed / SURVIVED / ERROR for mutants
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("PASS", "killed")


def describe(mutant: Path) -> str:
    """The mutant's first line, `// MUTANT: <what is wrong>`."""
    try:
        first = mutant.read_text().splitlines()[0]
    except (OSError, IndexError):
        return ""
    return first.split("MUTANT:", 1)[1].strip() if "MUTANT:" in first else ""


def selftest_lab(lab: Lab, ws: Workspace,
                 progress: Callable[[MutantResult], None]) -> list[MutantResult]:
    results = []

    def record(result: MutantResult) -> None:
        results.append(result)
        progress(result)

    solution = run_lab(lab, ws, RunOptions())
    record(MutantResult(lab.name, "(solution)", str(lab.program.name),
                        "PASS" if solution.passed else solution.status, _why(solution)))
    mutants = lab.mutants()
    if not mutants:
        record(MutantResult(lab.name, "(none)", f"no mutants in {lab.mutants_dir}", "ERROR",
                            "a lab without killed mutants is not verified"))
    for mutant in mutants:
        try:
            verdict = run_lab(lab, ws, RunOptions(program=mutant))
        except LabtoolError as exc:
            record(MutantResult(lab.name, mutant.stem, describe(mutant), "ERROR",
                                str(exc).splitlines()[0]))
            continue
        outcome = "killed" if verdict.status == "FAIL" else \
            "SURVIVED" if verdict.passed else "ERROR"
        record(MutantResult(lab.name, mutant.stem, describe(mutant), outcome, _why(verdict)))
    return results


def _why(verdict: Verdict) -> str:
    if verdict.error:
        return verdict.error.splitlines()[0]
    first = verdict.first_failure()
    if first is None:
        return f"{len(verdict.checks)} checks passed"
    return f"{first.name}: {first.detail.splitlines()[0] if first.detail else ''}"
