"""Helpers for e2e tests: run the CLI as a user would, check the host is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def labtool(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "labtool.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          input=stdin)


def _zombie(line: str) -> bool:
    """An exited process whose parent died too: the machine's init reaps it, it holds
    no interface, socket or port."""
    try:
        stat = Path(f"/proc/{line.split()[0]}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def leftovers() -> list[str]:
    """Anything a labtool run could have left on the host. Runs of other labtool
    processes that are still live are not leftovers (runs are isolated, and a test may
    share the machine with them): a process counts when no live run records it; a
    registry entry when its owner is gone or is this test process."""
    from labtool import registry

    live = [r for r in registry.live_records() if r.owner.pid != os.getpid()]
    live_pids = {p.pid for r in live for p in r.processes} | {r.owner.pid for r in live}
    found = []
    for name in os.listdir("/sys/class/net"):
        if "-eth" in name and name.split("-eth")[0][:1] in ("s", "h"):
            found.append(f"interface {name}")

    def ours(line: str) -> bool:
        return not _zombie(line) and int(line.split()[0]) not in live_pids

    out = subprocess.run(["pgrep", "-a", "simple_switch"], capture_output=True, text=True).stdout
    found += [f"process {line}" for line in out.splitlines() if ours(line)]
    for pattern in ("mininet:", "labtool:"):  # host shells (ours are named labtool:<host>)
        out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout
        found += [f"process {line}" for line in out.splitlines()
                  if ours(line) and "pytest" not in line and "labtool.cli" not in line]
    root_ns = os.stat("/proc/self/ns/net").st_ino
    out = subprocess.run(["pgrep", "-ax", "sleep infinity"], capture_output=True, text=True).stdout
    for line in out.splitlines():  # a switch namespace's holder (netns.py)
        try:
            foreign = os.stat(f"/proc/{line.split()[0]}/ns/net").st_ino != root_ns
        except OSError:
            continue
        if foreign and ours(line):
            found.append(f"switch namespace holder {line}")
    live_owners = {str(r.owner.pid) for r in live}
    if registry.REGISTRY_DIR.is_dir():
        found += [f"registry {p}" for p in registry.REGISTRY_DIR.iterdir()
                  if p.name.split(".")[0] not in live_owners]
    return found


def start_up(*args: str, timeout: float = 60) -> subprocess.Popen[str]:
    """`labtool up ARGS` in the background, returned once it says the lab is up."""
    import time

    proc = subprocess.Popen([sys.executable, "-m", "labtool.cli", "up", *args], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "is up" in line or not line:
            break
    assert proc.poll() is None, f"labtool up {' '.join(args)} did not come up"
    return proc
