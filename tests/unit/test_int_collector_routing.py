"""The INT collector's report decoding (lab content, pure Python) and labtool.routing's
next hops and paths over a manifest's links."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from labtool.loader import load_module
from labtool.manifest import load_lab, switch_port_mac
from labtool.routing import next_hops, switch_path

ROOT = Path(__file__).resolve().parents[2]
col: Any = load_module(ROOT / "controllers" / "int_collector.py", "collector")


def report(hops: list[list[int]], instructions: int = 0xFC00, remaining: int = 5,
           exceeded: bool = False, dscp: int = 0x17, payload: bytes = b"data") -> bytes:
    """A report frame as p4src/int.p4's sink sends it; `hops` in path order."""
    hop_ml = len(hops[0]) if hops else 0
    stack = b"".join(struct.pack(f"!{len(h)}I", *h) for h in reversed(hops))  # newest first
    words = 4 + len(stack) // 4
    shim = bytes([0x10, words, 0, 0])
    md = struct.pack("!IHHHH", 2 << 28 | int(exceeded) << 26 | hop_ml << 8 | remaining,
                     instructions, 0, 0, 0)
    udp = struct.pack("!HHHH", 40000, 5001, 8 + 16 + len(stack) + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, dscp << 2, 20 + len(udp) + 16 + len(stack),
                     0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    eth = bytes(6) + bytes(6) + b"\x08\x00"
    return eth + ip + udp + shim + md + stack + payload


def hop(switch: int, ingress: int, egress: int, t_in: int, t_out: int) -> list[int]:
    return [switch, ingress << 16 | egress, t_out - t_in, 7, t_in >> 32, t_in & 0xFFFFFFFF,
            t_out >> 32, t_out & 0xFFFFFFFF]


def test_report_decodes_in_path_order_with_every_field() -> None:
    rec = col.decode(report([hop(101, 1, 2, 1000, 1010), hop(102, 1, 2, 5, 9),
                             hop(103, 1, 2, (1 << 33) + 1, (1 << 33) + 4)]))
    assert (rec.src, rec.dst, rec.sport, rec.dport, rec.payload) == \
        ("10.0.0.1", "10.0.0.2", 40000, 5001, b"data")
    assert [h.switch_id for h in rec.hops] == [101, 102, 103]
    first, last = rec.hops[0], rec.hops[-1]
    assert (first.ingress_port, first.egress_port, first.hop_latency) == (1, 2, 10)
    assert (first.ingress_ts, first.egress_ts, first.queue_occupancy) == (1000, 1010, 7)
    assert last.ingress_ts == (1 << 33) + 1 and last.egress_ts == (1 << 33) + 4
    assert rec.hop_ml == 8 and rec.remaining_hop_cnt == 5 and not rec.exceeded


def test_partial_instructions_and_exceeded_flag() -> None:
    # node id and ports only (bits 0 and 1): two words per hop
    rec = col.decode(report([[101, 1 << 16 | 2], [102, 1 << 16 | 2]], instructions=0xC000,
                            remaining=0, exceeded=True))
    assert rec.exceeded and rec.remaining_hop_cnt == 0
    assert [(h.switch_id, h.egress_port, h.ingress_ts) for h in rec.hops] == \
        [(101, 2, None), (102, 2, None)]


@pytest.mark.parametrize("frame, why", [
    (report([hop(1, 1, 2, 0, 1)], dscp=0), "DSCP"),
    (report([hop(1, 1, 2, 0, 1)])[:70], "does not fit"),
    (b"\x00" * 20, "not an IPv4 frame"),
])
def test_malformed_reports_say_why(frame: bytes, why: str) -> None:
    with pytest.raises(col.ReportError, match=why):
        col.decode(frame)


def test_table_and_chart_render() -> None:
    recs = [col.decode(report([hop(101, 1, 2, 0, 10), hop(102, 1, 2, 0, 30)]))]
    assert "101" in col.table(recs) and "102" in col.table(recs)
    chart = col.latency_chart(recs).splitlines()
    assert len(chart) == 2 and chart[1].count("#") > chart[0].count("#")


def test_next_hops_and_paths_on_a_line() -> None:
    lab = load_lab(ROOT / "topologies" / "flowradar.toml", ROOT)
    # s1: h1, h2 local; h3..h6 through s2 (s1 port 3 -> s2 port 2)
    hops = next_hops(lab, "s1")
    assert hops["h1"] == (lab.hosts["h1"].mac, 1)
    assert hops["h5"] == (switch_port_mac(2, 2), 3) == hops["h3"]
    # s3 reaches h1 through s2's port 3
    assert next_hops(lab, "s3")["h1"] == (switch_port_mac(2, 3), 3)
    assert switch_path(lab, "s1", "s3") == ["s1", "s2", "s3"]
    assert switch_path(lab, "s3", "s2") == ["s3", "s2"]
    assert switch_path(lab, "s2", "s2") == ["s2"]
