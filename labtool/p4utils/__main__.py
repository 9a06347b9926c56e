"""`python -m labtool.p4utils SCRIPT [ARGS...]`: run a course control plane by hand
against the network of `labtool up` (another process), e.g. after editing it. The
script runs in that network's run directory (its topology.json), `p4utils`
imports resolve to labtool's API, and its connections take over as primary
controller of the switches it uses, like a controller run by hand."""

from __future__ import annotations

import sys
from pathlib import Path

from ..attach import live_topology
from ..errors import EXIT_ERROR, LabtoolError
from . import binding
from .course import CourseScript
from .script import run_script


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else EXIT_ERROR
    try:
        path = Path(argv[0]).resolve()
        if not path.is_file():
            raise LabtoolError(f"{argv[0]}: no such file")
        script = CourseScript(path, tuple(argv[1:]))
        run_dir, _ = live_topology()
        try:
            run_script(script, run_dir)
        finally:
            binding.close_attached()
    except LabtoolError as exc:
        print(f"labtool: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
