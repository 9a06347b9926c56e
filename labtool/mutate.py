"""`labtool mutate`: mutation analysis of a lab's verifier.

Generate mutants of the solution (mutgen), compile them all (in parallel: p4c
is most of the cost and needs no network), discard those p4c rejects, fold
together those that compile to the same pipeline (BMv2 JSON and P4Info, with
source locations taken out), then run each distinct one through the lab's
checks exactly as `labtool run --p4` would (run_lab: contract, controller,
verifier). A mutant the checks pass is a survivor: a wrong program the lab
accepts, unless the lab lists it as equivalent (the spec allows its behaviour).

Runs are isolated from each other (netns.py), so -j N runs N mutants at once in
worker processes (parallel.py), as `labtool selftest -j N` does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import compiler
from .checks import Verdict
from .errors import CompileError, ControllerError, LabtoolError
from .manifest import Lab, find_lab
from .mutants import Equivalent, load_equivalents, materialize
from .mutgen import Generated
from .parallel import Job, run_jobs
from .runner import RunOptions, program_check, run_lab
from .workspace import Workspace

# Outcomes, in the order a mutant goes through them.
NOT_COMPILING = "not compiling"
IDENTICAL = "identical"  # the same pipeline as the solution: equivalent by construction
DUPLICATE = "duplicate"  # the same pipeline as an earlier mutant
NOT_RUN = "not run"  # distinct, left out by --max
PENDING = "pending"
KILLED = "killed"
SURVIVED = "SURVIVED"
EQUIVALENT = "equivalent"  # survived, and the lab lists it as allowed by the spec
ERROR = "ERROR"  # no verdict (the harness lost frames, the verifier crashed)

Progress = Callable[[str], None]


@dataclass
class Outcome:
    gen: Generated
    program: Path | None = None  # the materialised mutant
    status: str = PENDING
    detail: str = ""
    digest: str | None = None  # of the normalised BMv2 JSON + P4Info
    same_as: str | None = None  # the mutant this one duplicates
    compile_s: float = 0.0
    run_s: float = 0.0  # the whole check, network included; waiting for the machine not
    by: str = ""  # what killed it: contract, controller, or the verifier's check name


@dataclass
class Analysis:
    lab: str
    solution: str
    seed: int
    outcomes: list[Outcome]
    sampled: int | None = None  # --max: distinct mutants chosen to run
    compile_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)

    @property
    def score(self) -> float | None:
        """Killed over killed + survivors not listed as equivalent; None if none ran."""
        killed, survived = self.count(KILLED), self.count(SURVIVED)
        return None if killed + survived == 0 else killed / (killed + survived)

    def counts(self) -> dict[str, int]:
        run = [o for o in self.outcomes if o.status in (KILLED, SURVIVED, EQUIVALENT, ERROR)]
        return {
            "generated": len(self.outcomes),
            "not_compiling": self.count(NOT_COMPILING),
            "compiled": len(self.outcomes) - self.count(NOT_COMPILING),
            "identical": self.count(IDENTICAL),
            "duplicates": self.count(DUPLICATE),
            "distinct": len(self.outcomes) - self.count(NOT_COMPILING, IDENTICAL, DUPLICATE),
            "run": len(run),
            "not_run": self.count(NOT_RUN, PENDING),
            "killed": self.count(KILLED),
            "killed_by_contract": sum(o.status == KILLED and o.by == "contract" for o in run),
            "survived": self.count(SURVIVED),
            "equivalent": self.count(EQUIVALENT),
            "errors": self.count(ERROR),
        }

    def run_seconds(self) -> list[float]:
        return [o.run_s for o in self.outcomes if o.status in (KILLED, SURVIVED, EQUIVALENT, ERROR)]


def normalised_digest(json_path: Path, p4info_path: Path) -> str:
    """A digest of the compiled pipeline without source locations: two programs that
    differ only in text p4c compiles away (a comment, a line moved, a no-op) hash equal.

    Besides `source_info`, p4c puts the source into names it makes up for straight-line
    code: an action `<file stem><line>` (the stem without non-word characters) and its
    table `tbl_<file stem><line>`. Those become placeholders numbered in order of first
    appearance, so the same pipeline from another file or other lines hashes equal."""
    data = json.loads(json_path.read_text())
    program = data.pop("program", "")  # the source file's path
    text = json.dumps(_strip_source(data))
    stem = re.sub(r"\W", "", Path(str(program)).stem)
    if stem:
        names: dict[str, str] = {}

        def placeholder(m: re.Match[str]) -> str:
            name = names.setdefault(m.group(2), f"@{len(names)}")
            return f'"{m.group(1)}{name}{m.group(3)}"'

        text = re.sub(rf'"(tbl_)?({re.escape(stem)}\d+)(_\d+)?"', placeholder, text)
    digest = hashlib.sha256(json.dumps(json.loads(text), sort_keys=True).encode())
    digest.update(p4info_path.read_bytes())
    return digest.hexdigest()


def _strip_source(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_source(v) for k, v in value.items() if k != "source_info"}
    if isinstance(value, list):
        return [_strip_source(v) for v in value]
    return value


def _compile_one(outcome: Outcome, ws: Workspace) -> None:
    assert outcome.program is not None
    start = time.perf_counter()
    try:
        art = compiler.compile_program(outcome.program, ws.cache_dir)
    except CompileError as exc:
        outcome.status = NOT_COMPILING
        lines = [ln for ln in str(exc).splitlines()[1:] if ln.strip()]
        errors = [ln for ln in lines if "error" in ln]  # p4c's warnings come first
        outcome.detail = (errors or lines or str(exc).splitlines())[0]
    else:
        outcome.digest = normalised_digest(art.json, art.p4info)
    outcome.compile_s = time.perf_counter() - start


def compile_all(lab: Lab, ws: Workspace, generated: list[Generated], jobs: int,
                progress: Progress) -> tuple[list[Outcome], float]:
    """Materialise and compile every mutant (`jobs` p4c at a time), then mark those that do
    not compile, compile to the solution's pipeline, or to an earlier mutant's."""
    start = time.perf_counter()
    art = compiler.compile_program(lab.program, ws.cache_dir)
    solution = normalised_digest(art.json, art.p4info)
    out_dir = ws.state_dir / "mutants" / lab.name
    outcomes = [Outcome(g, materialize(g.mutant(), lab.program, out_dir)) for g in generated]
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for _ in pool.map(lambda o: _compile_one(o, ws), outcomes):
            done += 1
            if done % 25 == 0 or done == len(outcomes):
                progress(f"  compiled {done}/{len(outcomes)}")
    first: dict[str, str] = {}
    for o in outcomes:
        if o.digest is None:
            continue
        if o.digest == solution:
            o.status, o.detail = IDENTICAL, "compiles to the solution's own pipeline"
        elif o.digest in first:
            o.status, o.same_as = DUPLICATE, first[o.digest]
            o.detail = f"compiles to the same pipeline as {first[o.digest]}"
        else:
            first[o.digest] = o.gen.id
    return outcomes, time.perf_counter() - start


def sample(outcomes: list[Outcome], limit: int | None, seed: int) -> int | None:
    """Keep `limit` distinct mutants to run, drawn with `seed` (the same seed and solution:
    the same sample); the others are marked not run. Returns how many were kept."""
    pending = sorted((o for o in outcomes if o.status == PENDING), key=lambda o: o.gen.id)
    if limit is None or limit >= len(pending):
        return None
    keep = {o.gen.id for o in random.Random(seed).sample(pending, limit)}
    for o in pending:
        if o.gen.id not in keep:
            o.status = NOT_RUN
    return limit


def is_listed(gen: Generated, equivalents: list[Equivalent]) -> Equivalent | None:
    for eq in equivalents:
        if gen.id.startswith(eq.id) or (eq.edit is not None and eq.edit == gen.edit):
            return eq
    return None


def _classify(outcome: Outcome, verdict: Verdict, equivalents: list[Equivalent]) -> None:
    first = verdict.first_failure()
    if verdict.error:
        outcome.status, outcome.detail = ERROR, verdict.error.splitlines()[0]
    elif first is not None:
        outcome.status, outcome.by = KILLED, first.name
        outcome.detail = f"{first.name}: {first.detail.splitlines()[0] if first.detail else ''}"
    elif verdict.passed:
        listed = is_listed(outcome.gen, equivalents)
        outcome.status = EQUIVALENT if listed else SURVIVED
        outcome.detail = listed.reason if listed else f"{len(verdict.checks)} checks passed"
    else:
        outcome.status, outcome.detail = ERROR, f"no verdict ({verdict.status})"


def check_contracts(lab: Lab, ws: Workspace, outcomes: list[Outcome], seed: int) -> None:
    """Mutants that break the lab's control-plane contract FAIL before any network exists
    (as in `labtool run`): settle them without a run."""
    for o in outcomes:
        if o.status != PENDING:
            continue
        verdict = program_check(lab, ws, RunOptions(program=o.program, seed=seed))
        if verdict is not None:
            o.status, o.by = KILLED, verdict.checks[0].name
            lines = verdict.checks[0].detail.splitlines()  # a heading, then the problems
            o.detail = f"{o.by}: " + (lines[1] if len(lines) > 1 else lines[0]).strip()


@dataclass
class RunResult:
    """What one mutant's run gave: a verdict, or why there is none."""

    verdict: Verdict | None
    failure: str = ""  # "controller" (the lab's controller fails on it), "error"
    message: str = ""
    seconds: float = 0.0


def mutant_worker(root: str, job: Job) -> RunResult:
    """Run one mutant (job.name is its program) exactly as `labtool run --p4` would; in a
    worker process when -j > 1."""
    ws = Workspace(Path(root))
    start = time.perf_counter()
    try:
        lab = find_lab(ws.root, job.lab)
        verdict = run_lab(lab, ws, RunOptions(program=Path(job.name), seed=job.seed,
                                               quiet=True, verdict_only=True))
    except ControllerError as exc:  # the lab's controller fails on this program
        return RunResult(None, "controller", str(exc).splitlines()[-1].strip(),
                         time.perf_counter() - start)
    except LabtoolError as exc:
        return RunResult(None, "error", str(exc).splitlines()[0], time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a mutant can make any part of the harness
        # fail (e.g. finsy rejecting a P4Info with two key fields of one name); that
        # mutant gets no verdict, the analysis goes on
        return RunResult(None, "error", f"{type(exc).__name__}: {exc}".splitlines()[0],
                         time.perf_counter() - start)
    return RunResult(verdict, seconds=time.perf_counter() - start)


def run_all(lab: Lab, ws: Workspace, outcomes: list[Outcome], seed: int,
            equivalents: list[Equivalent], progress: Callable[[Outcome], None],
            jobs: int = 1) -> bool:
    """Run every pending mutant, `jobs` at a time; False if interrupted (Ctrl-C, SIGTERM):
    the runs in progress were torn down, the rest stay pending and what is decided is kept."""
    pending = {str(o.program): o for o in outcomes if o.status == PENDING}

    def done(job: Job, result: RunResult) -> None:
        o = pending[job.name]
        o.run_s = result.seconds
        if result.verdict is not None:
            _classify(o, result.verdict, equivalents)
        elif result.failure == "controller":
            o.status, o.by, o.detail = KILLED, "controller", f"controller: {result.message}"
        else:
            o.status, o.detail = ERROR, result.message
        progress(o)

    work = [Job(lab.name, "mutant", name, seed) for name in pending]
    try:
        run_jobs(work, jobs, functools.partial(mutant_worker, str(ws.root)), done)
    except KeyboardInterrupt:
        return False
    return True


def check_solution(lab: Lab, ws: Workspace, seed: int) -> Verdict:
    """The solution must PASS with this seed, else every mutant would look killed."""
    verdict = run_lab(lab, ws, RunOptions(seed=seed, quiet=True))
    if not verdict.passed:
        first = verdict.first_failure()
        why = verdict.error or (f"{first.name}: {first.detail.splitlines()[0]}" if first and
                                first.detail else verdict.status)
        raise LabtoolError(f"{lab.name}: the solution does not PASS (seed {seed}): {why}",
                           hint="mutation analysis needs a verifier that passes the solution")
    return verdict


def stale_equivalents(generated: list[Generated], equivalents: list[Equivalent]) -> list[str]:
    return [eq.id for eq in equivalents
            if not any(g.id.startswith(eq.id) or (eq.edit is not None and eq.edit == g.edit)
                       for g in generated)]


def equivalents_of(lab: Lab) -> list[Equivalent]:
    return load_equivalents(lab.mutants_file)
