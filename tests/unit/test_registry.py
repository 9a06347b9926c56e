"""Leftover cleanup acts only on what a dead labtool run recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labtool import registry


@pytest.fixture(autouse=True)
def private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "reg"
    monkeypatch.setattr(registry, "REGISTRY_DIR", path)
    return path


def dead_owner() -> registry.ProcessRecord:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return registry.ProcessRecord(proc.pid, 12345, "labtool")


def test_start_time_of_self() -> None:
    assert registry.process_start_time(os.getpid()) is not None
    assert registry.process_start_time(2**22 + 7) is None


def test_stale_run_processes_are_killed(private_registry: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    private_registry.mkdir()
    rec = registry.RunRecord(dead_owner(), "x", "/tmp/run")
    rec.add_process(child.pid, "switch")
    assert [r.owner.pid for r in registry.stale_records()] == [rec.owner.pid]
    removed = registry.clean_stale()
    assert removed == [f"process {child.pid} (switch)"]
    assert child.wait(5) is not None
    assert not rec.path.exists()


def test_reused_pid_is_not_killed(private_registry: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        private_registry.mkdir()
        rec = registry.RunRecord(dead_owner(), "x", "/tmp/run")
        rec.processes.append(registry.ProcessRecord(child.pid, 1, "not the same process"))
        rec.save()
        assert registry.clean_stale() == []
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_live_run_is_left_alone(private_registry: Path) -> None:
    with registry.RunLock("x", Path("/tmp/run")) as rec:
        assert rec.path.exists()
        assert registry.stale_records() == []
    assert not private_registry.exists()


def test_second_lock_is_refused(private_registry: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
         str(private_registry)], stdout=subprocess.PIPE, text=True)
    private_registry.mkdir(exist_ok=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(registry.LabtoolError, match="another labtool run is active"):
            with registry.RunLock("y", Path("/tmp/run")):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_torn_record_is_dropped(private_registry: Path) -> None:
    private_registry.mkdir()
    (private_registry / "1.json").write_text("{not json")
    assert registry.stale_records() == []
    assert not (private_registry / "1.json").exists()
