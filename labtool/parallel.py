"""Many runs at once: `labtool test -j N` and `labtool selftest -j N`, and
`--shard I/N` for CI matrices.

Runs are isolated from each other (netns.py: each run has its own namespaces,
ports and names), so independent runs can go side by side. Each worker is a
fresh interpreter (multiprocessing "spawn": no state shared with the parent, not
even finsy's event loop thread), reused for several jobs. A Ctrl-C or SIGTERM
reaches every worker, which tears its run down as a single run would.

A shard is chosen by a hash of the job's name, not by its position, so the same
job always lands in the same shard whatever else is added; the shards' JSON
reports are lists that concatenate into the whole.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar

from .errors import LabtoolError

R = TypeVar("R")


@dataclass(frozen=True)
class Job:
    lab: str
    kind: str  # "test", "solution", "alternative", "mutant"
    name: str  # the mutant's or alternative's name; the lab's for a test
    seed: int | None = None

    @property
    def key(self) -> str:
        return f"{self.lab}/{self.kind}/{self.name}"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """"I/N" (1 <= I <= N) -> (I, N)."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or \
            not 1 <= int(index) <= int(count):
        raise LabtoolError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return int(index), int(count)


def in_shard(job: Job, shard: tuple[int, int] | None) -> bool:
    if shard is None:
        return True
    index, count = shard
    digest = int.from_bytes(hashlib.sha256(job.key.encode()).digest()[:8], "big")
    return digest % count == index - 1


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def run_jobs(jobs: Sequence[Job], workers: int, work: Callable[[Job], R],
             done: Callable[[Job, R], None]) -> list[R]:
    """work(job) for every job, `workers` at a time; done(job, result) as each finishes
    (in the calling process). Results in job order. `work` must be a module-level
    function (it runs in worker processes when workers > 1)."""
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            result = work(job)
            done(job, result)
            results.append(result)
        return results
    context = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context)
    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    out: dict[int, R] = {}
    try:
        futures = {pool.submit(work, job): i for i, job in enumerate(jobs)}
        for future in cf.as_completed(futures):
            i = futures[future]
            out[i] = future.result()
            done(jobs[i], out[i])
    except BaseException:
        # workers tear their runs down on SIGTERM (runner.sigterm_as_interrupt)
        for proc in list(getattr(pool, "_processes", {}).values()):
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
    pool.shutdown(wait=True)
    return [out[i] for i in range(len(jobs))]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
