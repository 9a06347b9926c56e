"""Turns at the machine's lab network: the lock file is held across runs for a while,
let go between runs after that, and a run that finds another one active waits and
retries."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from labtool import runturn
from labtool.errors import LabtoolError
from labtool.runturn import Turn


def held_by_someone(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_lock_held_during_and_between_runs(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    with Turn(lock, hold_s=3600) as turn:
        result, seconds = turn.run(lambda: held_by_someone(lock))
        assert result is True and seconds >= 0
        assert held_by_someone(lock)  # kept for the next run
    assert not held_by_someone(lock)


def test_lock_let_go_after_hold_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "run.lock"
    monkeypatch.setattr(runturn, "YIELD_S", 0.0)
    released: list[bool] = []
    with Turn(lock, hold_s=0) as turn:
        turn.run(lambda: None)
        real_release = turn.release

        def spy() -> None:
            released.append(turn._fd is not None)
            real_release()

        monkeypatch.setattr(turn, "release", spy)
        turn.run(lambda: None)
    assert released[0] is True  # let go before the second run


def test_lock_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runturn.ENV, str(tmp_path / "env.lock"))
    assert Turn().lock == tmp_path / "env.lock"
    monkeypatch.setenv(runturn.ENV, "")
    assert Turn().lock is None


def test_busy_run_waits_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runturn, "REGISTRY_DIR", tmp_path / "no-registry")
    calls: list[int] = []

    def run() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise LabtoolError("another labtool run is active (pid 1, lab x)")
        return "ran"

    with Turn(None) as turn:
        assert turn.run(run)[0] == "ran"
    assert len(calls) == 2
    with Turn(None) as turn, pytest.raises(LabtoolError, match="other trouble"):
        turn.run(lambda: (_ for _ in ()).throw(LabtoolError("other trouble")))
