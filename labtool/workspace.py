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
        """A fresh directory for one run: `.labtool/runs/<label>-<timestamp>`."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.runs_dir / f"{label}-{stamp}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = Path(f"{base}-{n}")
        path.mkdir()
        latest = self.runs_dir / f"{label}-latest"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(path.name)
        self._prune()
        return path

    def _prune(self) -> None:
        runs = sorted(
            (p for p in self.runs_dir.iterdir() if p.is_dir() and not p.is_symlink()),
            key=lambda p: p.stat().st_mtime,
        )
        for old in runs[:-KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)


def workspace() -> Workspace:
    return Workspace(find_lab_root())
