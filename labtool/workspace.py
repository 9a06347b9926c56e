"""Where lab content lives and where a run writes its files.

The lab root is the directory holding `topologies/` (lab manifests), found from
$LABTOOL_HOME, else by walking up from the current directory, else next to the
installed package (editable install from a clone). Everything a run writes goes
under `<root>/.labtool/` (git-ignored): compile cache and one directory per run.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import LabtoolError

KEEP_RUNS = 30  # older run directories are pruned so repeated runs do not fill the disk


def _is_root(path: Path) -> bool:
    return (path / "topologies").is_dir()


def find_lab_root() -> Path:
    env = os.environ.get("LABTOOL_HOME")
    if env:
        root = Path(env).resolve()
        if not _is_root(root):
            raise LabtoolError(f"LABTOOL_HOME={env} has no topologies/ directory")
        return root
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_root(candidate):
            return candidate
    package_parent = Path(__file__).resolve().parent.parent
    if _is_root(package_parent):
        return package_parent
    raise LabtoolError(
        "cannot find the labs: no topologies/ directory here or above",
        hint="run labtool inside the lab repository, or set LABTOOL_HOME",
    )


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / ".labtool"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def new_run_dir(self, label: str) -> Path:
        """A fresh directory for one run: `.labtool/runs/<label>-<timestamp>[-n]`. Safe
        with runs started at the same time (labtool test/selftest -j N, other terminals):
        the directory is claimed by creating it, and `<label>-latest` is swapped in
        atomically."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.runs_dir / f"{label}-{stamp}"
        path, n = base, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = Path(f"{base}-{n}")
        latest = self.runs_dir / f"{label}-latest"
        tmp = self.runs_dir / f".{label}-latest-{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(path.name)
            tmp.replace(latest)
        except OSError:
            tmp.unlink(missing_ok=True)  # a convenience link: never worth failing a run
        self._prune(keep=path)
        return path

    def _prune(self, keep: Path) -> None:
        """Remove the oldest run directories beyond KEEP_RUNS, never one a live run uses
        (a long run may be older than the last KEEP_RUNS short ones of a parallel
        selftest)."""
        from .registry import live_records

        in_use = {Path(r.run_dir).resolve() for r in live_records()} | {keep.resolve()}
        runs = []
        for p in self.runs_dir.iterdir():
            try:
                if p.is_dir() and not p.is_symlink():
                    runs.append((p.stat().st_mtime, p))
            except OSError:
                continue  # removed by another run's pruning meanwhile
        runs.sort()
        for _, old in runs[:-KEEP_RUNS]:
            if old.resolve() not in in_use:
                shutil.rmtree(old, ignore_errors=True)


def workspace() -> Workspace:
    return Workspace(find_lab_root())
