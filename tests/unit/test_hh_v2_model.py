"""Lab 2.2 (hh-v2): the reference model (two routed hops, longest prefix match, drop()
and misses on either switch, exact per-flow counts of TCP and UDP only)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from labtool.context import LabContext
from labtool.loader import load_module
from labtool.manifest import find_lab

VERIFIERS = Path(__file__).resolve().parents[2] / "verifiers"
fr: Any = load_module(VERIFIERS / "hh-v1_frames.py", "hh_frames")
hm: Any = load_module(VERIFIERS / "hh-v1_model.py", "hh_model")
m2: Any = load_module(VERIFIERS / "hh-v2_model.py", "hh_v2_model")
verifier: Any = load_module(VERIFIERS / "hh-v2.py", "verifier")

H1, H2 = "10.0.1.1", "10.0.2.2"


def two_switches() -> Any:
    ports = {("s1", 1): ("host", "h1"), ("s1", 2): ("switch", "s2", 2),
             ("s2", 2): ("switch", "s1", 2), ("s2", 1): ("host", "h2")}
    return m2.Network(ports, {"h1": ("s1", 1), "h2": ("s2", 1)})


def udp_frame(dst: str = H2, ttl: int = 64, sport: int = 1, dport: int = 2) -> bytes:
    return bytes(fr.ipv4_frame("02:00:00:01:00:01", "00:00:0a:00:01:01", H1, dst, fr.UDP,
                               fr.udp_segment(H1, dst, sport, dport, b"x"),
                               fr.IpFields(ttl=ttl, tos=0x2E, ident=77)))


def test_routed_frame_has_next_hop_mac_lower_ttl_and_valid_checksum() -> None:
    out = m2.routed(udp_frame(ttl=3), "aa:bb:cc:dd:ee:f0")
    pkt = Ether(out)
    assert pkt.dst == "aa:bb:cc:dd:ee:f0" and pkt.src == "00:00:00:00:00:00"
    assert pkt[IP].ttl == 2 and fr.header_checksum_ok(out)
    assert bytes(pkt[UDP]) == bytes(Ether(udp_frame(ttl=3))[UDP])


def test_two_hops_longest_prefix_drop_and_miss() -> None:
    net = two_switches()
    net.tables["s1"].add(m2.Route(hm.Prefix.of(fr.ip_int("10.0.0.0"), 16), "02:aa:00:00:00:01", 2))
    net.tables["s1"].add(m2.Route(hm.Prefix.of(fr.ip_int("10.0.9.0"), 24), None))
    net.tables["s2"].add(m2.Route(hm.Prefix(fr.ip_int(H2), 32), "00:00:0a:00:02:02", 1))
    host, frame = net.send("h1", udp_frame())
    assert host == "h2" and Ether(frame)[IP].ttl == 62 and Ether(frame).dst == "00:00:0a:00:02:02"
    assert net.send("h1", udp_frame(dst="10.0.9.1")) is None      # drop() on s1
    assert net.send("h1", udp_frame(dst="10.0.3.3")) is None      # s1 routes, s2 misses
    assert net.send("h1", udp_frame(dst="11.0.0.1")) is None      # s1 misses


def test_each_flow_gets_exactly_the_threshold_other_protocols_are_not_counted() -> None:
    net = two_switches()
    net.tables["s1"].add(m2.Route(hm.Prefix(fr.ip_int(H2), 32), "02:00:00:02:00:02", 2))
    net.tables["s2"].add(m2.Route(hm.Prefix(fr.ip_int(H2), 32), "00:00:0a:00:02:02", 1))
    passed = sum(net.send("h1", udp_frame()) is not None for _ in range(m2.THRESHOLD + 5))
    assert passed == m2.THRESHOLD
    assert net.send("h1", udp_frame(sport=9)) is not None
    icmp = bytes(fr.ipv4_frame("02:00:00:01:00:01", "00:00:0a:00:01:01", H1, H2, fr.ICMP,
                               fr.icmp_echo(1, 1, b"p"), fr.IpFields()))
    assert m2.flow_key(icmp) is None
    assert all(net.send("h1", icmp) for _ in range(m2.THRESHOLD + 5))


def test_ranges_compress_frame_numbers() -> None:
    assert verifier.ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"


def test_seeded_routes_exist_for_many_seeds() -> None:
    lab = LabContext(find_lab(VERIFIERS.parent, "hh-v2"), {}, seed=0)
    for seed in range(500):
        routes, dest, _ = verifier.seeded_routes(lab, random.Random(seed))
        s1 = m2.Lpm()
        for route in routes["s1"]:
            s1.add(route)
        assert s1.lookup(fr.ip_int(dest.dropped)).next_mac is None
        assert s1.lookup(fr.ip_int(dest.hole)).next_mac is not None
        assert s1.lookup(fr.ip_int(dest.s1_miss)) is None
