"""`labtool shell`: program names complete inside quotes, Python names elsewhere."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import finsy as fy
import pytest

from labtool.controlplane import SwitchControl
from labtool.shell import Completer, program_names

P4INFO = Path(__file__).resolve().parents[1] / "fixtures" / "sample.p4info.txtpb"


def complete_all(completer: Completer, text: str) -> list[str]:
    out, state = [], 0
    while (match := completer.complete(text, state)) is not None:
        out.append(match)
        state += 1
    return out


def test_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    control = SwitchControl("s1", None, fy.P4Schema(P4INFO), None)  # type: ignore[arg-type]
    names = program_names(control)
    assert {"repeater", "MyIngress.repeater", "forward", "counts",
            "standard_metadata.ingress_port", "port"} <= set(names)
    line = {"buffer": "", "begidx": 0}
    fake = types.SimpleNamespace(get_line_buffer=lambda: line["buffer"],
                                 get_begidx=lambda: line["begidx"])
    monkeypatch.setitem(sys.modules, "readline", fake)
    completer = Completer({"sw": control}, names)
    line.update(buffer='sw.table_add("rep', begidx=14)
    assert complete_all(completer, "rep") == ["repeater"]
    line.update(buffer="sw.table_re", begidx=0)
    assert "sw.table_read(" in complete_all(completer, "sw.table_re")
