"""The INT lab's reference model and its verifier's drawing of configurations and
traffic (lab content, pure Python: no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from labtool.checks import CheckFailed
from labtool.context import LabContext
from labtool.loader import load_module
from labtool.manifest import load_lab

ROOT = Path(__file__).resolve().parents[2]
model: Any = load_module(ROOT / "verifiers" / "int_model.py", "int_model")
verifier: Any = load_module(ROOT / "verifiers" / "int.py", "verifier")
collector: Any = load_module(ROOT / "controllers" / "int_collector.py", "collector")


def lab_context(seed: int) -> LabContext:
    return LabContext(load_lab(ROOT / "topologies" / "int.toml", ROOT), {}, seed=seed)


def entry(max_hop: int = 8, instructions: int = 0xFC00, **masks: tuple[int, int]) -> Any:
    fields = {name: model.Ternary(*masks.get(name, (0, 0)))
              for name in ("src", "dst", "sport", "dport")}
    return model.WatchEntry(**fields, max_hop=max_hop, instructions=instructions, priority=1)


PATH = [model.PathHop("s1", 7, 5, 258), model.PathHop("s2", 8, 3, 6),
        model.PathHop("s3", 9, 4, 2)]


def test_words_per_hop_follow_the_instruction_bits() -> None:
    assert model.words_per_hop(0xFC00) == 8
    assert model.words_per_hop(0x8000) == 1      # node id
    assert model.words_per_hop(0x0400) == 2      # egress timestamp
    assert model.words_per_hop(0x0200) == 0      # bit 6: not an instruction of the lab
    assert model.bitmap_of([0, 2, 5]) == 0xA400
    assert model.instruction_bits(0xA400) == [0, 2, 5]
    assert collector.words_per_hop(0xA400) == model.words_per_hop(0xA400) == 4


@pytest.mark.parametrize("max_hop, hops, remaining, exceeded", [
    (0, 0, 0, True), (1, 1, 0, True), (2, 2, 0, True), (3, 3, 0, False), (200, 3, 197, False),
])
def test_max_hop_limits_the_records_and_sets_the_flag_only_below_the_path(
        max_hop: int, hops: int, remaining: int, exceeded: bool) -> None:
    tele = model.telemetry(entry(max_hop), PATH)
    assert (len(tele.hops), tele.remaining_hop_cnt, tele.exceeded) == (hops, remaining, exceeded)
    assert tele.hops == tuple(PATH[:hops])


def test_ternary_watchlist_takes_the_highest_priority_match() -> None:
    flow = model.UdpFlow(0x0A000001, 0x0A000002, 1000, 5001)
    exact = entry(dport=(5001, 0xFFFF))
    off_by_one_bit = entry(dport=(5001 ^ 0x8000, 0xFFFF))
    masked = model.WatchEntry(**{**exact.__dict__, "dport": model.Ternary(5000, 0xFFF0),
                                 "priority": 5})
    assert model.watching([exact], flow) is exact
    assert model.watching([off_by_one_bit], flow) is None
    assert model.watching([exact, masked], flow) is masked
    assert model.Ternary(5001, 0xFFF0).entry_text(16) == "0x1380&&&0xfff0"


def sent_frame(tos: int = 0x5 << 2 | 3) -> bytes:
    return bytes(Ether(src="00:00:0a:00:00:01", dst="02:00:00:01:00:05")
                 / IP(src="10.0.0.1", dst="10.0.0.2", ttl=64, tos=tos, id=77)
                 / UDP(sport=1234, dport=5001) / b"payload!")


def test_routed_changes_only_macs_ttl_and_checksum() -> None:
    sent = sent_frame()
    out = Ether(model.routed(sent, 3, bytes.fromhex("00000a000002"), bytes(6)))
    want = Ether(sent)
    want.dst, want.src, want[IP].ttl = "00:00:0a:00:00:02", "00:00:00:00:00:00", 61
    del want[IP].chksum
    assert bytes(out) == bytes(Ether(bytes(want)))
    assert out[UDP].chksum == Ether(sent)[UDP].chksum


def test_report_frame_decodes_back_to_the_model() -> None:
    sent = sent_frame()
    tele = model.telemetry(entry(2, 0xFC00), PATH)
    measured = (model.Measured(3, 0, 1, 1000, 1003), model.Measured(2, 0, 0, 50, 52))
    got = model.ReportFrame(bytes(6), 62, 0xBEEF, 8, measured)
    frame = model.report(sent, tele, bytes.fromhex("020000000064"), got)
    rec = collector.decode(frame)
    assert [(h.switch_id, h.ingress_port, h.egress_port) for h in rec.hops] == \
        [(7, 5, 258), (8, 3, 6)]
    assert (rec.remaining_hop_cnt, rec.exceeded, rec.hop_ml) == (0, True, 8)
    assert rec.payload == b"payload!" and rec.hops[0].egress_ts == 1003
    pkt = Ether(frame)
    assert pkt[IP].tos == model.INT_DSCP << 2 | 3 and pkt[IP].len == len(frame) - 14
    assert pkt[UDP].len == len(frame) - 34 and frame[46 - 4 + 1] == 4 + 16   # shim length
    assert frame[46 - 4 + 3] == 0x5                                           # original DSCP
    # the verifier's checks accept it as it is, and name what a wrong one lacks
    verifier.check_report_frames([frame], [rec], [(sent, tele)], "02:00:00:00:00:64")
    wrong = frame[:60] + bytes([frame[60] ^ 1]) + frame[61:]
    with pytest.raises(CheckFailed, match="metadata stack"):
        verifier.check_report_frames([wrong], [collector.decode(wrong)], [(sent, tele)],
                                     "02:00:00:00:00:64")


def test_timing_problems_catch_swapped_words_and_wrong_latency() -> None:
    names = ["s1"]
    assert model.timing_problems([model.Measured(5, 0, 0, 100, 105)], names, 10) == []
    swapped = model.Measured(5, 0, 0, 100 << 32 | 0, 105 << 32)
    assert model.timing_problems([model.Measured(None, None, None, swapped.ingress_ts << 16,
                                                 None)], names, 10)
    assert "hop latency" in model.timing_problems([model.Measured(4, 0, 0, 100, 105)],
                                                  names, 10)[0]
    assert "queue" in model.timing_problems([model.Measured(None, 0, 11)], names, 10)[0]


@pytest.mark.parametrize("seed", range(40))
def test_drawn_watchlists_keep_watched_flows_and_decoys_apart(seed: int) -> None:
    lab = lab_context(seed)
    ids = verifier.drawn_switch_ids(lab)
    assert len(set(ids.values())) == 3 and max(ids.values()) >= 0xFFFFFFFC
    assert all(v >= 1 << 16 for v in ids.values())
    config, traffic = verifier.drawn_traffic(lab, ids, "02:00:00:00:00:01")
    watched = config.entries[:8]
    maxes = sorted(e.max_hop for e in watched)
    assert maxes.count(0) == 1 and {1, 2, 3} <= set(maxes) and maxes[-1] > 3
    *drawn, decoy = config.entries  # the last: h1 -> h2, UDP ports 0 -> 0 (TCP decoy)
    assert len({e.instructions for e in drawn}) == len(drawn)
    assert (decoy.sport.value, decoy.sport.mask, decoy.dport.value) == (0, 0xFFFF, 0)
    full = [e for e in watched if e.instructions == model.ALL_INSTRUCTIONS]
    assert len(full) == 1 and full[0].max_hop >= 3  # every field of every hop, drawn ids
    # every instruction alone, in a bitmap that records (max hop >= 1): for any two,
    # some recorded bitmap has one without the other
    recorded = {e.instructions for e in watched if e.max_hop >= 1}
    for bit in range(6):
        assert model.bitmap_of([bit]) in recorded
    # max hop 1 records one word: the sink's parser then meets a stack of one word
    assert [model.words_per_hop(e.instructions) for e in watched if e.max_hop == 1] == [1]
    assert len(traffic.watched) == 16 and traffic.unwatched == 4 + 4
    for frame, tele in traffic.watched:
        assert model.udp_flow_of(frame).dst == 0x0A000002
        assert tele.instructions in {e.instructions for e in watched}
    for e in config.entries:
        for name, _, width in verifier.KEY_FIELDS:
            t = getattr(e, name)
            assert t.value & ~t.mask == 0 and t.mask < 1 << width


def test_course_traffic_watches_only_the_watched_port() -> None:
    lab = lab_context(3)
    config = verifier.course_config(lab)
    traffic = verifier.course_traffic(lab, config)
    assert len(traffic.watched) == 4 and traffic.unwatched == 7
    assert {model.udp_flow_of(f).dport for f, _ in traffic.watched} == {5001}
    hops = verifier.path_hops(lab, config.switch_ids)
    assert [(h.switch, h.ingress_port, h.egress_port) for h in hops] == \
        [("s1", 5, 258), ("s2", 3, 6), ("s3", 4, 2)]
