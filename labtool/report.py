"""Printing verdicts and writing them as JSON and JUnit XML for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .checks import Verdict

PHASE_ORDER = ("compile", "network", "switch_ready", "pipeline", "controller", "verifier",
               "teardown")


def check_lines(verdict: Verdict) -> list[str]:
    lines = []
    for check in verdict.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"  {mark}  {check.name}  ({check.seconds * 1000:.0f} ms)")
        if not check.passed and check.detail:
            lines += [f"        {line}" for line in check.detail.splitlines()]
    return lines


def timing_line(verdict: Verdict) -> str:
    t = verdict.timings
    parts = [f"{p} {t[p] * 1000:.0f} ms" for p in PHASE_ORDER if p in t]
    cached = " (cached)" if t.get("compile_cached") else ""
    return "  time: " + ", ".join(parts).replace("compile ", f"compile{cached} ", 1)


def failure_pointers(verdict: Verdict) -> list[str]:
    run_dir = Path(verdict.run_dir)
    lines = [f"  run directory: {run_dir}"]
    logs = sorted(run_dir.glob("*.log"))
    if logs:
        lines.append(f"  switch logs:   {', '.join(str(p) for p in logs)}")
    pcap = run_dir / "pcap"
    if pcap.is_dir():
        lines.append(f"  pcaps:         {pcap}")
    else:
        lines.append("  (add --pcap to record every switch port, --keep to inspect the network)")
    return lines


def to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "lab": verdict.lab,
        "program": verdict.program,
        "status": verdict.status,
        "seed": verdict.seed,
        "error": verdict.error,
        "run_dir": verdict.run_dir,
        "notes": verdict.notes,
        "reruns": verdict.reruns,
        "timings_s": {k: round(v, 4) for k, v in verdict.timings.items()},
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail,
                    "seconds": round(c.seconds, 4)} for c in verdict.checks],
    }


def write_json(verdicts: Sequence[Verdict], path: Path, single: bool = False) -> None:
    """One verdict as an object (`labtool run`), or a list (`labtool test`: lists of
    several shards concatenate)."""
    data: Any = to_dict(verdicts[0]) if single else [to_dict(v) for v in verdicts]
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_junit(verdicts: Sequence[Verdict], path: Path) -> None:
    suites = ET.Element("testsuites")
    for v in verdicts:
        suite = ET.SubElement(suites, "testsuite", name=f"labtool.{v.lab}",
                              tests=str(max(len(v.checks), 1)),
                              failures=str(sum(not c.passed for c in v.checks)),
                              errors="1" if v.error else "0",
                              time=f"{sum(v.timings.get(p, 0) for p in PHASE_ORDER):.3f}")
        if v.error is not None:
            case = ET.SubElement(suite, "testcase", classname=v.lab, name="run")
            ET.SubElement(case, "error", message=v.error.splitlines()[0]).text = v.error
        for c in v.checks:
            case = ET.SubElement(suite, "testcase", classname=v.lab, name=c.name,
                                 time=f"{c.seconds:.3f}")
            if not c.passed:
                first = c.detail.splitlines()[0] if c.detail else "failed"
                ET.SubElement(case, "failure", message=first).text = c.detail
    ET.indent(suites)
    path.write_text(ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")
