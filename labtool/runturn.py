"""Taking turns at the machine's one lab network, for commands that make many runs
(`labtool mutate`) on a machine where others run labs too.

Only one labtool run may have a network at a time (registry.RunLock, which
fails at once when busy). A long command should neither fail nor hold the
machine for an hour:

- $LABTOOL_RUN_LOCK names a lock file that everyone on the machine wraps their
  runs in (e.g. `flock /tmp/labtool-e2e.lock labtool run ...`). A Turn holds it
  across consecutive runs (a run takes well under a second, waiting for the lock
  can take minutes) but lets go between runs once it has held it for
  $LABTOOL_RUN_LOCK_HOLD_S seconds (default 60), so other people's commands get
  the machine in between.
- A run that still finds RunLock busy (someone not using the lock file) waits
  for that run to end by blocking on the flock RunLock takes, then retries.

Both waits block on the lock itself: the kernel wakes us when it is free.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import LabtoolError
from .registry import REGISTRY_DIR

ENV = "LABTOOL_RUN_LOCK"
HOLD_ENV = "LABTOOL_RUN_LOCK_HOLD_S"
DEFAULT_HOLD_S = 60.0
BUSY = "another labtool run is active"
# flock wakes waiters but is not first-come-first-served: after letting go we stay away
# this long so a waiter can take the lock (nothing signals that a waiter has taken it).
YIELD_S = 1.0
T = TypeVar("T")


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


class Turn:
    """The right to run a network, held across runs for at most `hold_s` at a time."""

    def __init__(self, lock: Path | None = None, hold_s: float | None = None) -> None:
        env = os.environ.get(ENV)
        self.lock = lock if lock is not None else (Path(env) if env else None)
        self.hold_s = hold_s if hold_s is not None else float(
            os.environ.get(HOLD_ENV, DEFAULT_HOLD_S))
        self._fd: int | None = None
        self._since = 0.0
        self.waited_s = 0.0  # time spent waiting for the machine, in all

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def _acquire(self) -> None:
        if self.lock is None:
            return
        if self._fd is not None and time.monotonic() - self._since > self.hold_s:
            self.release()
            time.sleep(YIELD_S)
        if self._fd is None:
            start = time.monotonic()
            fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd, self._since = fd, time.monotonic()
            self.waited_s += self._since - start

    def run(self, fn: Callable[[], T]) -> tuple[T, float]:
        """fn() in our turn, retried after waiting if another run has the network;
        returns its result and how long fn itself took (waiting left out)."""
        while True:
            self._acquire()
            start = time.monotonic()
            try:
                return fn(), time.monotonic() - start
            except LabtoolError as exc:
                if not str(exc).startswith(BUSY):
                    raise
            start = time.monotonic()
            _wait_for_active_run()
            self.waited_s += time.monotonic() - start
