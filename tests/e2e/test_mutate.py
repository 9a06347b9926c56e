"""`labtool mutate` end to end: with a verifier that only checks h1 -> h2, a
repeater whose drop() no longer drops survives and is reported with its diff,
while a repeater that emits no Ethernet header is killed."""

from __future__ import annotations

import json
from pathlib import Path

from labtool.mutgen import generate
from tests.e2e.helpers import ROOT, labtool, leftovers
from tests.e2e.test_faults import lab_copy

WEAK_VERIFIER = '''
from labtool import frames as f


def verify(lab):
    h1, h2 = lab.host("h1"), lab.host("h2")
    with lab.check("h1 -> h2 only"):
        sent = [f.udp(h1, h2, b"weak")]
        lab.exchange("h1", sent, expect={"h2": sent})
'''


def test_survivor_is_reported_with_its_diff(tmp_path: Path) -> None:
    root = lab_copy(tmp_path, "repeater", verifier=WEAK_VERIFIER)
    gens = generate((ROOT / "p4src" / "repeater.p4").read_text(), ["delete"])
    no_drop = next(g for g in gens if "mark_to_drop removed" in g.what)
    no_emit = next(g for g in gens if "emit removed" in g.what)
    report = tmp_path / "mutate.json"
    proc = labtool("mutate", "repeater", no_drop.id, no_emit.id, "--seed", "1", "--json",
                   str(report), env={"LABTOOL_HOME": str(root)})
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert f"SURVIVED   {no_drop.id}" in out and f"killed     {no_emit.id}" in out
    survivors = out.split("survivors (1)")[1]
    assert f"{no_drop.id}  delete  line {no_drop.line}: {no_drop.what}" in survivors
    assert f"-{no_drop.line:>5} |         mark_to_drop(standard_metadata);" in survivors
    assert "mutation score 50.0 %" in out
    data = json.loads(report.read_text())
    status = {m["id"]: m["status"] for m in data["mutants"]}
    assert status == {no_drop.id: "SURVIVED", no_emit.id: "killed"}
    assert data["counts"]["survived"] == 1 and data["score"] == 0.5
    assert leftovers() == []
