"""The HULA verifier's judgement of a flow's path: which packet went up to which
spine, and whether a change of spine can be the flowlet gap's doing (only after a
pause of GAP_LIMIT_S or more between the two packets, as far as the sender's and the
taps' times can tell) or is the program's fault."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from labtool.checks import CheckFailed, HarnessError
from labtool.linktap import Crossing
from labtool.loader import load_module

ver: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "hula.py", "hula_p")
Hop = ver.Hop


def hops(spines: str, step: float = 0.0004, queue: float = 0.001) -> list[Any]:
    """One packet a step, each reaching its spine `queue` after it was sent."""
    return [Hop(i, f"spine{c}", i * step, i * step + queue) for i, c in enumerate(spines)]


def test_a_flow_on_one_spine_has_no_move() -> None:
    assert ver.path_moves(hops("1111")) == []
    ver.judge_moves("flow", [])


def test_a_move_between_close_packets_fails_with_where_it_happened() -> None:
    moves = ver.path_moves(hops("11122"))
    assert [(m.seq, m.before, m.after) for m in moves] == [(3, "spine1", "spine2")]
    assert moves[0].pause_s == pytest.approx(0.0014)
    with pytest.raises(CheckFailed, match="moved from spine1 to spine2 at its packet 3"):
        ver.judge_moves("flow", moves)


def test_a_move_after_a_pause_longer_than_the_limit_leaves_no_verdict() -> None:
    path = hops("111") + [Hop(3, "spine2", 0.0012 + ver.GAP_LIMIT_S, 0.0013 + ver.GAP_LIMIT_S)]
    with pytest.raises(HarnessError, match="no verdict"):
        ver.judge_moves("flow", ver.path_moves(path))


def test_a_held_up_switch_counts_as_a_pause_through_the_arrival_time() -> None:
    # sent close together, but the second reached its spine late: the ToR may have
    # seen the two far apart
    path = [Hop(0, "spine1", 0.0, 0.001), Hop(1, "spine2", 0.0004, 0.0004 + ver.GAP_LIMIT_S)]
    with pytest.raises(HarnessError):
        ver.judge_moves("flow", ver.path_moves(path))


def test_one_excused_move_does_not_excuse_a_later_one() -> None:
    late = [Hop(3, "spine2", 0.1, 0.101), Hop(4, "spine1", 0.1004, 0.1014)]
    with pytest.raises(CheckFailed, match="at its packet 4"):
        ver.judge_moves("flow", ver.path_moves(hops("111") + late))


def test_moves_are_found_in_packet_order_not_arrival_order() -> None:
    path = list(reversed(hops("1122")))
    assert [m.seq for m in ver.path_moves(path)] == [2]


def frame(sport: int, dport: int, seq: int, proto: int = 17) -> bytes:
    head = bytearray(42)
    head[12:14] = b"\x08\x00"
    head[23] = proto
    head[26:34] = bytes([10, 0, 0, 1, 10, 0, 0, 2])
    head[34:38] = struct.pack("!HH", sport, dport)
    return bytes(head) + struct.pack("!I", seq)


def test_a_flows_packets_are_told_apart_from_flows_that_differ_in_one_port() -> None:
    template = frame(1000, 7000, 0)
    went_up = [("spine1", Crossing(frame(1000, 7000, 0), 1.0)),
               ("spine2", Crossing(frame(1000, 7001, 1), 1.1)),   # another dport
               ("spine2", Crossing(frame(1001, 7000, 1), 1.2)),   # another sport
               ("spine2", Crossing(frame(1000, 7000, 1, 6), 1.3)),  # TCP
               ("spine1", Crossing(frame(1000, 7000, 1), 1.4))]
    got = ver.flow_hops(template, went_up, {0: 0.5, 1: 0.6})
    assert [(h.seq, h.spine, h.sent, h.arrived) for h in got] == [(0, "spine1", 0.5, 1.0),
                                                                 (1, "spine1", 0.6, 1.4)]
