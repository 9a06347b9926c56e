"""What `labtool mutate` prints and writes: a line per mutant as it is decided, the
counts and score, every survivor as a short diff, and the whole analysis as JSON."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .mutate import EQUIVALENT, ERROR, KILLED, SURVIVED, Analysis, Outcome
from .mutgen import Generated


def mutant_line(gen: Generated) -> str:
    return f"{gen.id}  {gen.operator:<14} line {gen.line:<4} {gen.what}"


def outcome_line(o: Outcome) -> str:
    detail = o.detail if len(o.detail) <= 90 else o.detail[:87] + "..."
    return f"  {o.status:<10} {o.gen.id}  {o.gen.operator:<14} l{o.gen.line:<4} " \
           f"{o.run_s:5.2f}s  {detail}"


def survivor_lines(o: Outcome) -> list[str]:
    head = f"  {o.gen.id}  {o.gen.operator}  line {o.gen.line}: {o.gen.what}"
    if o.status == EQUIVALENT:
        head += f"  [equivalent: {o.detail}]"
    return [head] + [f"      {d}" for d in o.gen.diff()]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def summary_lines(a: Analysis) -> list[str]:
    c = a.counts()
    times = a.run_seconds()
    per = f"{statistics.mean(times):.2f} s per mutant run" if times else "no runs"
    lines = [
        f"{a.lab}: {c['generated']} generated, {c['not_compiling']} do not compile, "
        f"{c['compiled']} compiled ({c['identical']} identical to the solution, "
        f"{c['duplicates']} duplicates), {c['distinct']} distinct",
        f"{a.lab}: {c['run']} checked"
        + (f" (a sample of {a.sampled} of {c['distinct']}, --max)" if a.sampled is not None else "")
        + f": {c['killed']} killed ({c['killed_by_contract']} by the contract check), "
        f"{c['survived']} survived, {c['equivalent']} equivalent, {c['errors']} errors",
        f"{a.lab}: mutation score {_pct(a.score)} (killed / (killed + survived), equivalents "
        f"left out); compile {a.compile_s:.0f} s for {c['generated']}, {per} "
        f"[seed {a.seed}]",
    ]
    return lines + [f"  note: {n}" for n in a.notes]


def report_lines(a: Analysis) -> list[str]:
    """Survivors (and listed equivalents, shorter) with their diffs, then the summary."""
    lines: list[str] = []
    survivors = [o for o in a.outcomes if o.status == SURVIVED]
    if survivors:
        lines.append(f"\nsurvivors ({len(survivors)}): wrong programs the verifier accepts")
        for o in survivors:
            lines += survivor_lines(o)
    equivalents = [o for o in a.outcomes if o.status == EQUIVALENT]
    if equivalents:
        lines.append(f"\nlisted equivalent ({len(equivalents)}):")
        lines += [f"  {o.gen.id}  {o.gen.operator}  line {o.gen.line}: {o.gen.what} — {o.detail}"
                  for o in equivalents]
    errors = [o for o in a.outcomes if o.status == ERROR]
    if errors:
        lines.append(f"\nno verdict ({len(errors)}):")
        lines += [f"  {o.gen.id}  line {o.gen.line}: {o.detail}" for o in errors]
    lines.append("")
    return lines + summary_lines(a)


def to_dict(a: Analysis) -> dict[str, Any]:
    times = a.run_seconds()
    return {
        "lab": a.lab,
        "solution": a.solution,
        "seed": a.seed,
        "counts": a.counts(),
        "score": a.score,
        "sampled": a.sampled,
        "compile_seconds": round(a.compile_s, 2),
        "seconds_per_run": round(statistics.mean(times), 3) if times else None,
        "notes": a.notes,
        "mutants": [{
            "id": o.gen.id,
            "operator": o.gen.operator,
            "line": o.gen.line,
            "what": o.gen.what,
            "status": o.status,
            "detail": o.detail,
            "killed_by": o.by if o.status == KILLED else None,
            "same_as": o.same_as,
            "run_seconds": round(o.run_s, 2),
            "diff": o.gen.diff(),
            "find": o.gen.edit.find,
            "replace": o.gen.edit.replace,
        } for o in a.outcomes],
    }


def write_json(a: Analysis, path: Path) -> None:
    path.write_text(json.dumps(to_dict(a), indent=1) + "\n")
