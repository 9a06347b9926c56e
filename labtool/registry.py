"""What a run created, recorded so a later run or `labtool clean` can remove it
after a crash or kill -9, and only what labtool itself created.

Each live run writes /run/labtool/<owner-pid>.json listing the processes it
started (pid + kernel start time, so a reused pid is never killed) and has a
private directory /run/labtool/<owner-pid>/ (mode 0700: its switches' gRPC
sockets). The record is removed at teardown; a record whose owner is gone marks
leftovers, and only those are ever removed: any number of runs may be live at
once (each has its own namespaces, see netns.py), and a live run is never
touched, also not by `labtool clean` in another terminal. Runs create no
interface in the root namespace; the `interfaces` field stays for records of
older versions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REGISTRY_DIR = Path(os.environ.get("LABTOOL_REGISTRY", "/run/labtool"))


def process_start_time(pid: int) -> int | None:
    """Kernel start time (clock ticks since boot) of `pid`, None if it does not exist
    or has already exited (a zombie waiting for its parent holds nothing any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces; fields after the closing paren are fixed
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass
class ProcessRecord:
    pid: int
    start_time: int
    what: str

    def alive(self) -> bool:
        return process_start_time(self.pid) == self.start_time


@dataclass
class RunRecord:
    owner: ProcessRecord
    lab: str
    run_dir: str
    processes: list[ProcessRecord] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    kind: str = "run"  # "up" for `labtool up`: the one by-hand tools attach to

    @property
    def path(self) -> Path:
        return REGISTRY_DIR / f"{self.owner.pid}.json"

    @property
    def private_dir(self) -> Path:
        return REGISTRY_DIR / str(self.owner.pid)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.path)

    def add_process(self, pid: int, what: str) -> None:
        start = process_start_time(pid)
        if start is not None:
            self.processes.append(ProcessRecord(pid, start, what))
            self.save()

    def add_interfaces(self, names: list[str]) -> None:
        self.interfaces.extend(names)
        self.save()

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        data = json.loads(path.read_text())
        return cls(ProcessRecord(**data["owner"]), data["lab"], data["run_dir"],
                   [ProcessRecord(**p) for p in data["processes"]], list(data["interfaces"]),
                   str(data.get("kind", "run")))


def interface_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def delete_interface(name: str) -> None:
    if interface_exists(name):
        subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)


def kill_process(proc: ProcessRecord, grace_s: float = 1.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; only if it is still the process we started."""
    if not proc.alive():
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not proc.alive():
            return
        time.sleep(0.01)
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def remove_leftovers(record: RunRecord) -> list[str]:
    """Kill the processes and delete the interfaces of a dead run; return what was removed."""
    removed = []
    for proc in record.processes:
        if proc.alive():
            kill_process(proc)
            removed.append(f"process {proc.pid} ({proc.what})")
    for name in record.interfaces:
        if interface_exists(name):
            delete_interface(name)
            removed.append(f"interface {name}")
    shutil.rmtree(record.private_dir, ignore_errors=True)
    record.path.unlink(missing_ok=True)
    return removed


def stale_records() -> list[RunRecord]:
    if not REGISTRY_DIR.is_dir():
        return []
    out = []
    for path in sorted(REGISTRY_DIR.glob("*.json")):
        try:
            record = RunRecord.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # a torn write of ours: nothing can be recovered from it
            continue
        if not record.owner.alive():
            out.append(record)
    return out


def clean_stale() -> list[str]:
    removed: list[str] = []
    for record in stale_records():
        removed += remove_leftovers(record)
    return removed


def live_records() -> list[RunRecord]:
    """Records of runs whose owner is alive, oldest first."""
    if not REGISTRY_DIR.is_dir():
        return []
    out = []
    for path in REGISTRY_DIR.glob("*.json"):
        try:
            record = RunRecord.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record.owner.alive():
            out.append(record)
    return sorted(out, key=lambda r: r.owner.start_time)


class RunRegistration:
    """A run's registry record and private directory, for the run's lifetime. Removes
    what dead runs left behind first (only theirs: records whose owner is gone)."""

    def __init__(self, lab: str, run_dir: Path, kind: str = "run") -> None:
        self.lab = lab
        self.run_dir = run_dir
        self.kind = kind
        self.record: RunRecord | None = None

    def __enter__(self) -> RunRecord:
        REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
        clean_stale()
        me = os.getpid()
        self.record = RunRecord(ProcessRecord(me, process_start_time(me) or 0, "labtool"),
                                self.lab, str(self.run_dir), kind=self.kind)
        self.record.private_dir.mkdir(mode=0o700, exist_ok=True)
        self.record.save()
        return self.record

    def __exit__(self, *exc: object) -> None:
        if self.record is not None:
            shutil.rmtree(self.record.private_dir, ignore_errors=True)
            self.record.path.unlink(missing_ok=True)
