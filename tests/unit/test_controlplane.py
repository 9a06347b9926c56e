"""Control-plane encoding against a P4Info file, without a switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import finsy as fy
import pytest
from finsy.proto import p4r

from labtool.controlplane import Entry, SwitchControl
from labtool.errors import ControlPlaneError

P4INFO = Path(__file__).resolve().parents[1] / "fixtures" / "sample.p4info.txtpb"


class FakeSession:
    device_id = 1

    def __init__(self) -> None:
        self.writes: list[tuple[list[p4r.Update], str]] = []

    def write(self, updates: Any, what: str = "") -> None:
        self.writes.append((list(updates), what))

    def read(self, entities: Any) -> list[p4r.Entity]:
        return []


@pytest.fixture
def s1() -> tuple[SwitchControl, FakeSession]:
    session = FakeSession()
    return SwitchControl("s1", session, fy.P4Schema(P4INFO), None), session  # type: ignore[arg-type]


def only_update(session: FakeSession) -> p4r.Update:
    (updates, _), = session.writes
    (update,) = updates
    return update


def test_exact_entry_short_and_full_names(s1: tuple[SwitchControl, FakeSession]) -> None:
    control, session = s1
    control.table_add("repeater", {"ingress_port": 1}, "forward", {"port": 2})
    control.table_add("MyIngress.repeater", {"standard_metadata.ingress_port": 2},
                      "MyIngress.forward", {"port": 1})
    first, second = (u for batch, _ in session.writes for u in batch)
    for update, (key, port) in ((first, (1, 2)), (second, (2, 1))):
        assert update.type == p4r.Update.INSERT
        entry = update.entity.table_entry
        assert entry.table_id == 37375156
        assert entry.match[0].exact.value == bytes([key])
        assert entry.action.action.action_id == 29683729
        assert entry.action.action.params[0].value == bytes([port])


def test_lpm_ternary_range_spellings(s1: tuple[SwitchControl, FakeSession]) -> None:
    control, session = s1
    control.table_add("acl", {"hdr.ipv4.dstAddr": "10.0.1.0/24",
                              "hdr.ethernet.etherType": "0x0800&&&0xff00",
                              "meta.l4_port": "1000..2000"}, "drop", priority=10)
    entry = only_update(session).entity.table_entry
    by_id = {m.field_id: m for m in entry.match}
    assert by_id[1].lpm.value == bytes([10, 0, 1, 0]) and by_id[1].lpm.prefix_len == 24
    assert by_id[2].ternary.value == b"\x08\x00" and by_id[2].ternary.mask == b"\xff\x00"
    assert by_id[3].range.low == (1000).to_bytes(2, "big")
    assert by_id[3].range.high == (2000).to_bytes(2, "big")
    assert entry.priority == 10


def test_batched_insert_is_one_request(s1: tuple[SwitchControl, FakeSession]) -> None:
    control, session = s1
    control.table_add_many("repeater", [Entry({"ingress_port": p}, "forward", {"port": p + 1})
                                        for p in range(1, 6)])
    assert len(session.writes) == 1 and len(session.writes[0][0]) == 5


def test_modify_delete_default(s1: tuple[SwitchControl, FakeSession]) -> None:
    control, session = s1
    control.table_modify("repeater", {"ingress_port": 1}, "forward", {"port": 1})
    control.table_delete("repeater", {"ingress_port": 1})
    control.table_set_default("repeater", "drop")
    kinds = [u.type for batch, _ in session.writes for u in batch]
    assert kinds == [p4r.Update.MODIFY, p4r.Update.DELETE, p4r.Update.MODIFY]
    assert session.writes[2][0][0].entity.table_entry.is_default_action


@pytest.mark.parametrize("call, message", [
    (lambda c: c.table_add("repeter", {"ingress_port": 1}, "forward", {"port": 2}),
     "s1: no table 'repeter'; did you mean 'repeater'? (valid: MyIngress.acl, "
     "MyIngress.repeater, acl, repeater)"),
    (lambda c: c.table_add("repeater", {"ingress_port": 1}, "forwrd", {"port": 2}),
     "no action 'forwrd'; did you mean 'forward'?"),
    (lambda c: c.table_add("repeater", {"ingress_prt": 1}, "forward", {"port": 2}),
     "no match field 'ingress_prt'; did you mean 'standard_metadata.ingress_port'?"),
    (lambda c: c.table_add("repeater", {"ingress_port": 1}, "forward", {"prt": 2}),
     "no parameter 'prt'; did you mean 'port'?"),
    (lambda c: c.table_add("repeater", {"ingress_port": 1}, "forward", {}),
     "action 'forward' needs parameter(s) port"),
    (lambda c: c.table_add("repeater", {"ingress_port": 1}, "forward", {"port": 1024}),
     "s1: repeater: 'forward': invalid value for bitwidth 9: 1024"),
    (lambda c: c.register_read("cnts"), "no register 'cnts'; did you mean 'counts'?"),
    (lambda c: c.register_read("counts", 16), "has indexes 0..15, not 16"),
])
def test_errors_name_valid_choices(s1: tuple[SwitchControl, FakeSession], call: Any,
                                   message: str) -> None:
    control, session = s1
    with pytest.raises(ControlPlaneError) as exc:
        call(control)
    assert message in str(exc.value)
    assert session.writes == []
