"""`labtool selftest -j N` and `labtool test -j N` against the same work run
serially, measured in one run of this script, plus how many runs had to be redone
because frames were lost outside the program (the harness's loss accounting).

    sudo .venv/bin/python benchmarks/parallel_runs.py [--jobs 2] [--seed 1] [LAB ...]

Goal (2-core machine): selftest -j 2 takes <= 0.65 x the serial time, with every
verdict unchanged. The seed is fixed so both sides run exactly the same traffic.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str]) -> tuple[float, list[dict[str, object]]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "labtool.cli", *args, "--json", report.name],
                       cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        data = json.loads(Path(report.name).read_text() or "[]")
    return seconds, data if isinstance(data, list) else [data]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    common = [*opts.labs, "--seed", str(opts.seed)]
    for command in ("selftest", "test"):
        serial_s, serial = timed([command, *common, "-j", "1"])
        par_s, par = timed([command, *common, "-j", str(opts.jobs)])
        key = "mutant" if command == "selftest" else "lab"
        verdict = "outcome" if command == "selftest" else "status"
        same = {r[key]: r[verdict] for r in serial} == {r[key]: r[verdict] for r in par}
        reruns = (sum(int(r.get("reruns", 0)) for r in serial),  # type: ignore[call-overload]
                  sum(int(r.get("reruns", 0)) for r in par))  # type: ignore[call-overload]
        print(f"{command}: serial {serial_s:.1f} s, -j {opts.jobs} {par_s:.1f} s, "
              f"ratio {par_s / serial_s:.2f}; {len(par)} results, verdicts "
              f"{'unchanged' if same else 'DIFFER'}; harness reruns: serial {reruns[0]}, "
              f"-j {opts.jobs} {reruns[1]}")


if __name__ == "__main__":
    main()
