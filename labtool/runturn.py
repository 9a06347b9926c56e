"""Waiting for one's turn to run a network, for commands that make many runs
(`labtool mutate`) on a machine where others run labs too.

Only one labtool run may have a network at a time (registry.RunLock, which
fails at once when busy). A long command should not fail, nor hold the machine
for an hour: it takes its turn per run.

- $LABTOOL_RUN_LOCK names a lock file that everyone on the machine wraps their
  runs in (e.g. `flock /tmp/labtool-e2e.lock labtool run ...`); each run holds
  it only while it runs, so other people's commands interleave between runs.
- A run that still finds RunLock busy (someone not using the lock file) waits
  for that run to end by blocking on the same flock RunLock takes, then retries.

Both waits block on the lock itself: the kernel wakes us when it is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from .errors import LabtoolError
from .registry import REGISTRY_DIR

ENV = "LABTOOL_RUN_LOCK"
BUSY = "another labtool run is active"
T = TypeVar("T")


@contextlib.contextmanager
def lock_file(path: Path | None) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing) for the block; no path:
    nothing to hold."""
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _wait_for_active_run() -> None:
    """Block until the run that holds RunLock's flock ends."""
    try:
        fd = os.open(REGISTRY_DIR, os.O_RDONLY)
    except FileNotFoundError:
        return  # its run ended and removed the directory
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def in_turn(run: Callable[[], T], lock: Path | None = None) -> T:
    """`run()` while holding the machine's run lock file ($LABTOOL_RUN_LOCK unless
    `lock` is given), retried after waiting when another run has the network."""
    if lock is None and os.environ.get(ENV):
        lock = Path(os.environ[ENV])
    while True:
        with lock_file(lock):
            try:
                return run()
            except LabtoolError as exc:
                if not str(exc).startswith(BUSY):
                    raise
        _wait_for_active_run()
