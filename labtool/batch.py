"""Several runs as one command: `labtool test` (labs) and `labtool selftest`
(solutions, alternatives, mutants), serial or N at a time, whole or one shard.
The functions given to parallel.run_jobs live here, at module level, so worker
processes can import them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from .checks import Verdict
from .errors import LabtoolError
from .manifest import Lab, find_lab
from .parallel import Job, in_shard, run_jobs
from .runner import RunOptions, run_lab
from .selftest import MutantResult, run_selftest_job, selftest_jobs
from .workspace import Workspace


def test_worker(root: str, job: Job) -> Verdict:
    ws = Workspace(Path(root))
    try:
        lab = find_lab(ws.root, job.lab)
        return run_lab(lab, ws, RunOptions(seed=job.seed))
    except LabtoolError as exc:
        return Verdict(job.lab, "", error=str(exc), seed=job.seed)


def selftest_worker(root: str, job: Job) -> MutantResult:
    ws = Workspace(Path(root))
    try:
        return run_selftest_job(ws, job)
    except LabtoolError as exc:
        label = job.name if job.kind == "mutant" else f"({job.kind}) {job.name}"
        return MutantResult(job.lab, label, "", "ERROR", str(exc).splitlines()[0], job.seed)


def run_tests(ws: Workspace, labs: Sequence[Lab], seed: int | None, workers: int,
              shard: tuple[int, int] | None,
              done: Callable[[Verdict], None]) -> list[Verdict]:
    jobs = [j for j in (Job(lab.name, "test", lab.name, seed) for lab in labs)
            if in_shard(j, shard)]
    return run_jobs(jobs, workers, functools.partial(test_worker, str(ws.root)),
                    lambda job, verdict: done(verdict))


def run_selftest(ws: Workspace, labs: Sequence[Lab], seed: int | None,
                 names: list[str] | None, workers: int, shard: tuple[int, int] | None,
                 done: Callable[[MutantResult], None]) -> list[MutantResult]:
    jobs: list[Job] = []
    known: list[MutantResult] = []
    for lab in labs:
        lab_jobs, lab_known = selftest_jobs(lab, seed, names)
        jobs += [j for j in lab_jobs if in_shard(j, shard)]
        known += lab_known if shard is None or shard[0] == 1 else []
    for result in known:
        done(result)
    return known + run_jobs(jobs, workers, functools.partial(selftest_worker, str(ws.root)),
                            lambda job, result: done(result))
