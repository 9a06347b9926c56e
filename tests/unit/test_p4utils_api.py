"""The p4-utils compatible APIs against a P4Info file, without a switch: positional
string keys and parameters become the right P4Runtime entries, errors name what is
valid, Thrift handles, priorities and multicast nodes behave as BMv2's Thrift runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import finsy as fy
import pytest
from finsy.proto import p4r

from labtool.controlplane import SwitchControl
from labtool.errors import ControlPlaneError
from labtool.p4utils import binding
from labtool.p4utils.cli_commands import CommandRunner
from labtool.p4utils.common import Unsupported
from labtool.p4utils.p4runtime_api import SimpleSwitchP4RuntimeAPI
from labtool.p4utils.thrift_api import PRIORITY_TOP, SimpleSwitchThriftAPI

P4INFO = Path(__file__).resolve().parents[1] / "fixtures" / "sample.p4info.txtpb"


class FakeSession:
    device_id = 1
    address = "127.0.0.1:50001"

    def __init__(self) -> None:
        self.updates: list[p4r.Update] = []

    def write(self, updates: Any, what: str = "") -> None:
        self.updates.extend(updates)

    def read(self, entities: Any) -> list[p4r.Entity]:
        return []


@pytest.fixture
def switch() -> Iterator[tuple[SwitchControl, FakeSession]]:
    session = FakeSession()
    control = SwitchControl("s1", session, fy.P4Schema(P4INFO), None)  # type: ignore[arg-type]
    address = binding.SwitchAddress("s1", 1, 50001, 9090)
    with binding.bind({"s1": control}, {"s1": address}):
        yield control, session


def entry(update: p4r.Update) -> p4r.TableEntry:
    return update.entity.table_entry


def test_p4runtime_positional_exact(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchP4RuntimeAPI(1, 50001, p4rt_path="x", json_path="y")
    assert api.table_add("repeater", "forward", ["1"], ["2"]) is True
    (update,) = session.updates
    assert update.type == p4r.Update.INSERT
    assert entry(update).match[0].exact.value == b"\x01"
    assert entry(update).action.action.params[0].value == b"\x02"


def test_p4runtime_lpm_ternary_range_and_priority(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchP4RuntimeAPI(1, 50001)
    api.table_add("acl", "drop", ["10.0.1.7/24", "0x0800&&&0xff00", "1000->2000"], prio=5)
    api.table_add("acl", "drop", ["10.0.0.0/8", "0x0806", "10..20"], [], 7)
    first, second = (entry(u) for u in session.updates)
    by_id = {m.field_id: m for m in first.match}
    assert by_id[1].lpm.value == bytes([10, 0, 1, 0]) and by_id[1].lpm.prefix_len == 24
    assert by_id[2].ternary.value == b"\x08\x00" and by_id[2].ternary.mask == b"\xff\x00"
    assert (by_id[3].range.low, by_id[3].range.high) == (b"\x03\xe8", b"\x07\xd0")
    assert first.priority == 5 and second.priority == 7
    assert {m.field_id: m for m in second.match}[2].ternary.mask == b"\xff\xff"


def test_p4runtime_dont_care_keys_are_left_out(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchP4RuntimeAPI(1, 50001)
    api.table_add("acl", "drop", ["0.0.0.0/0", "0&&&0", "0->65535"], [], 1)
    assert list(entry(session.updates[0]).match) == []


@pytest.mark.parametrize("call, message", [
    (lambda a: a.table_add("repeter", "forward", ["1"], ["2"]),
     "s1: no table 'repeter'; did you mean 'repeater'? (valid: acl, repeater)"),
    (lambda a: a.table_add("repeater", "fwd", ["1"], ["2"]),
     "table 'repeater': no action 'fwd'"),
    (lambda a: a.table_add("repeater", "forward", ["1", "2"], ["2"]),
     "table 'repeater' has 1 match key(s): standard_metadata.ingress_port (exact bit<9>); "
     "2 given"),
    (lambda a: a.table_add("repeater", "forward", ["512"], ["2"]),
     "key 1 (standard_metadata.ingress_port, exact bit<9>, written v): '512' does not fit"),
    (lambda a: a.table_add("repeater", "forward", ["1"], []),
     "action 'forward' takes 1 parameter(s): port (bit<9>); 0 given"),
    (lambda a: a.table_add("repeater", "forward", "1", ["2"]),
     "match keys of table 'repeater' must be a list"),
    (lambda a: a.table_add("acl", "drop", ["10.0.0.0/8", "1", "1->2"]),
     "has ternary/range/optional keys: give a priority > 0"),
    (lambda a: a.table_add("acl", "drop", ["10.0.0.0/33", "1", "1->2"], prio=1),
     "prefix length 33 is outside 0..32"),
    (lambda a: a.table_add("repeater", "forward", ["1"], ["2"], pkts=3),
     "table_add() is part of p4-utils but not of labtool's compatible API"),
    (lambda a: a.direct_counter_read("c", ["1"]), "direct_counter_read() is part of p4-utils"),
])
def test_p4runtime_errors_name_what_is_valid(switch: tuple[SwitchControl, FakeSession],
                                             call: Any, message: str) -> None:
    _, session = switch
    with pytest.raises(ControlPlaneError) as exc:
        call(SimpleSwitchP4RuntimeAPI(1, 50001))
    assert message in str(exc.value)
    assert session.updates == []


def test_typo_in_a_method_name_is_an_attribute_error(switch: Any) -> None:
    api = SimpleSwitchP4RuntimeAPI(1, 50001)
    with pytest.raises(AttributeError, match="did you mean 'table_add'"):
        api.table_addd("repeater")  # type: ignore[attr-defined]
    with pytest.raises(Unsupported):
        api.direct_meter_set_rates("m", [], 0)


def test_the_address_must_be_the_switch_s(switch: Any) -> None:
    with pytest.raises(ControlPlaneError, match="no switch has device_id 7"):
        SimpleSwitchP4RuntimeAPI(7, 50001)
    with pytest.raises(ControlPlaneError, match="serves gRPC on port 50001"):
        SimpleSwitchP4RuntimeAPI(1, 9559)
    with pytest.raises(ControlPlaneError, match="no switch has Thrift port 9091"):
        SimpleSwitchThriftAPI(9091)


def test_thrift_handles_modify_delete(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchThriftAPI(9090)
    assert api.table_add("repeater", "forward", ["1"], ["2"]) == 0
    assert api.table_add("repeater", "forward", ["2"], ["1"]) == 1
    assert api.get_handle_from_match("repeater", ["2"]) == 1
    api.table_modify("repeater", "forward", 0, ["3"])
    api.table_delete_match("repeater", ["2"])
    assert api.table_add("repeater", "drop", ["5"], []) == 1  # the lowest free handle again
    kinds = [u.type for u in session.updates]
    assert kinds == [p4r.Update.INSERT, p4r.Update.INSERT, p4r.Update.MODIFY,
                     p4r.Update.DELETE, p4r.Update.INSERT]
    assert entry(session.updates[2]).action.action.params[0].value == b"\x03"
    with pytest.raises(ControlPlaneError, match="no entry with handle 7 \\(handles: 0, 1\\)"):
        api.table_delete("repeater", 7)


def test_thrift_priorities_lower_wins(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchThriftAPI(9090)
    api.table_add("acl", "drop", ["10.0.0.0/8", "1&&&1", "1->2"], [], 0)
    api.table_add("acl", "drop", ["10.0.0.0/8", "2&&&2", "1->2"], [], 10)
    api.table_add("repeater", "drop", ["1"], [], 3)  # ignored, as BMv2 does
    prios = [entry(u).priority for u in session.updates]
    assert prios == [PRIORITY_TOP, PRIORITY_TOP - 10, 0]


def test_thrift_multicast_nodes_become_groups(switch: tuple[SwitchControl, FakeSession]) -> None:
    _, session = switch
    api = SimpleSwitchThriftAPI(9090)
    assert api.mc_mgrp_create(1) == 1
    assert api.mc_node_create(0, [1, 2]) == 0
    assert api.mc_node_create(5, [3]) == 1
    api.mc_node_associate(1, 0)
    api.mc_node_associate(1, 1)
    api.mc_node_dissociate(1, 0)
    api.mc_node_dissociate(1, 1)
    groups = [(u.type, u.entity.packet_replication_engine_entry.multicast_group_entry)
              for u in session.updates]
    assert [kind for kind, _ in groups] == [p4r.Update.INSERT, p4r.Update.MODIFY,
                                            p4r.Update.MODIFY, p4r.Update.DELETE]
    replicas = [(r.egress_port, r.instance) for r in groups[1][1].replicas]
    assert sorted(replicas) == [(1, 0), (2, 0), (3, 5)]
    with pytest.raises(ControlPlaneError, match="multicast group 9 was not created"):
        api.mc_node_associate(9, 0)


def test_command_lines(switch: tuple[SwitchControl, FakeSession],
                       capsys: pytest.CaptureFixture[str]) -> None:
    _, session = switch
    runner = CommandRunner(SimpleSwitchThriftAPI(9090))
    runner.run_line("table_set_default repeater drop")
    runner.run_line("table_add repeater forward 1 => 2")
    runner.run_line("table_add acl drop 10.0.0.0/8 0x800&&&0xffff 1->9 => 12")
    runner.run_line("mc_mgrp_create 3")
    runner.run_line("mc_node_create 0 1 2")
    runner.run_line("mc_node_associate 3 0")
    assert "node was created with handle 0" in capsys.readouterr().out
    assert len(session.updates) == 4  # default, two entries, the group with its node
    assert entry(session.updates[2]).priority == PRIORITY_TOP - 12
    with pytest.raises(ControlPlaneError, match="table_add needs '=>'"):
        runner.run_line("table_add repeater forward 1 2")
    with pytest.raises(ControlPlaneError, match="did you mean 'table_add'"):
        runner.run_line("table_ad repeater forward 1 => 2")
    with pytest.raises(ControlPlaneError, match="end the line with a priority"):
        runner.run_line("table_add acl drop 10.0.0.0/8 1 1->2 =>")
