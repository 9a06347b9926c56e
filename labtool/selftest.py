"""`labtool selftest`: a verifier is only worth something if it fails wrong
programs. Each lab's solution and correct alternatives must PASS and each of its
mutants (edits of the solution, see mutants.py) must FAIL for a reason other than
not compiling. Every run is one independent job (parallel.py runs them)."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import Verdict
from .errors import LabtoolError
from .manifest import Lab, find_lab
from .mutants import Mutant, materialize
from .parallel import Job
from .runner import RunOptions, run_lab
from .workspace import Workspace

SOLUTION = "(solution)"
ALT_PREFIX = "(alt) "


@dataclass
class MutantResult:
    lab: str
    mutant: str  # "(solution)", "(alt) <name>", a mutant's name, or "(mutants)"/"(none)"
    description: str
    # PASS / FAIL for the solution and alternatives; killed / SURVIVED / ERROR for mutants
    outcome: str
    detail: str
    seed: int | None = None
    reruns: int = 0  # runs redone after frames were lost outside the program

    @property
    def ok(self) -> bool:
        return self.outcome in ("PASS", "killed")

    @property
    def correct_program(self) -> bool:
        """The solution or an alternative (must PASS), not a mutant."""
        return self.mutant == SOLUTION or self.mutant.startswith(ALT_PREFIX)


def mutant_program(lab: Lab, ws: Workspace, mutant: Mutant) -> RunOptions:
    """Run options for a mutant: its program written under the workspace (StaleMutant,
    a LabtoolError, when an edit no longer applies)."""
    return RunOptions(program=materialize(mutant, lab.program, ws.state_dir / "mutants" / lab.name))


def selftest_jobs(lab: Lab, seed: int | None = None,
                  names: list[str] | None = None) -> tuple[list[Job], list[MutantResult]]:
    """The runs that make up a lab's selftest, and results known without running
    (an unreadable mutants file, a lab without mutants)."""
    jobs = [Job(lab.name, "solution", SOLUTION, seed)]
    try:
        mutants, alternatives = lab.mutants(), lab.alternatives()
    except LabtoolError as exc:
        return jobs, [MutantResult(lab.name, "(mutants)", str(lab.mutants_file), "ERROR",
                                   str(exc))]
    known = []
    if not mutants:
        known.append(MutantResult(lab.name, "(none)", f"no mutants in {lab.mutants_file}", "ERROR",
                                  "a lab without killed mutants is not verified"))
    jobs += [Job(lab.name, "alternative", m.name, seed) for m in alternatives
             if names is None or m.name in names]
    jobs += [Job(lab.name, "mutant", m.name, seed) for m in mutants
             if names is None or m.name in names]
    return jobs, known


def run_selftest_job(ws: Workspace, job: Job) -> MutantResult:
    """Run one selftest job (in this process) and judge it."""
    lab = find_lab(ws.root, job.lab)
    if job.kind == "solution":
        verdict = run_lab(lab, ws, RunOptions(seed=job.seed))
        return MutantResult(lab.name, SOLUTION, lab.program.name, _correct(verdict),
                            _why(verdict), verdict.seed, verdict.reruns)
    entries = lab.alternatives() if job.kind == "alternative" else lab.mutants()
    entry = next(m for m in entries if m.name == job.name)
    label = ALT_PREFIX + entry.name if job.kind == "alternative" else entry.name
    try:
        options = mutant_program(lab, ws, entry)
        options.seed = job.seed
        options.verdict_only = job.kind == "mutant"
        verdict = run_lab(lab, ws, options)
    except LabtoolError as exc:
        return MutantResult(lab.name, label, entry.wrong, "ERROR", str(exc).splitlines()[0],
                            job.seed)
    if job.kind == "alternative":
        return MutantResult(lab.name, label, entry.wrong, _correct(verdict), _why(verdict),
                            verdict.seed, verdict.reruns)
    first = verdict.first_failure()
    if first is not None and first.name == "compile":
        outcome, why = "ERROR", "the mutant does not compile: " + first.detail.splitlines()[0]
    else:
        outcome = "killed" if verdict.status == "FAIL" else \
            "SURVIVED" if verdict.passed else "ERROR"
        why = _why(verdict)
    return MutantResult(lab.name, label, entry.wrong, outcome, why, verdict.seed, verdict.reruns)


def _correct(verdict: Verdict) -> str:
    return "PASS" if verdict.passed else verdict.status


def _why(verdict: Verdict) -> str:
    if verdict.error:
        return verdict.error.splitlines()[0]
    first = verdict.first_failure()
    if first is None:
        return f"{len(verdict.checks)} checks passed"
    return f"{first.name}: {first.detail.splitlines()[0] if first.detail else ''}"
