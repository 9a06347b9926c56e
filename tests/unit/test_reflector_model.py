"""Lab 1.1 (reflector): the seeded frame mix (labtool.framemix) and the reference model,
and that every seed's traffic tells the model apart from the wrong reflectors students
write (the mutants' behaviour, in Python)."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from labtool import framemix as fm
from labtool.loader import load_module

model: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "reflector_model.py",
                         "reflector_model")
H1 = model.Station("h1", "00:00:0a:00:00:01", "10.0.0.1", 1)
H2 = model.Station("h2", "00:00:0a:00:00:02", "10.0.0.2", 2)
SEEDS = range(100)


@functools.cache
def sent(seed: int) -> list[tuple[int, bytes]]:
    """What both hosts send under `seed` (ingress port, frame), as the verifier draws it."""
    rng = random.Random(seed)
    return [(1, f) for f in model.frames_from(rng, H1, H2)] + \
        [(2, f) for f in model.frames_from(rng, H2, H1)]


@pytest.mark.parametrize("kind", fm.KINDS)
def test_every_kind_is_built_at_its_limits(kind: str) -> None:
    rng = random.Random(1)
    ends = fm.Ends(H1.mac, H2.mac, H1.ip, H2.ip)
    for size in (fm.MIN_SIZE[kind], fm.MIN_SIZE[kind] + 1, fm.ETH_MAX - 1, fm.ETH_MAX):
        frame = fm.build(rng, kind, ends, size)
        assert len(frame) == size
        assert frame[:12] == bytes.fromhex("00000a00000200000a000001")
    with pytest.raises(ValueError, match="bytes, not"):
        fm.build(rng, kind, ends, fm.ETH_MAX + 1)


@pytest.mark.parametrize("kind", ["ipv4_udp", "ipv4_tcp", "ipv4_icmp", "ipv6", "arp"])
def test_hand_packed_frames_are_what_scapy_would_build(kind: str) -> None:
    """Lengths and checksums as Scapy computes them for the same fields."""
    rng = random.Random(3)
    for size in (fm.MIN_SIZE[kind], 61 if kind != "ipv6" else 63, 777, fm.ETH_MAX):
        frame = fm.build(rng, kind, fm.Ends(H1.mac, H2.mac, H1.ip, H2.ip), size)
        pkt = Ether(frame)
        layers = [layer for layer in (IP, IPv6, UDP, TCP, ICMP) if layer in pkt]
        for layer in layers:
            for name in ("chksum", "len", "plen"):
                if name in pkt[layer].fields:
                    del pkt[layer].fields[name]
        assert bytes(pkt) == frame, (kind, size)
        pkt = Ether(frame)
        if kind == "arp":
            assert pkt[ARP].psrc == H1.ip and pkt[ARP].hwsrc == H1.mac and pkt[ARP].pdst == H2.ip
        elif kind != "ipv6":
            assert pkt[IP].src == H1.ip and pkt[IP].dst == H2.ip and pkt[IP].len == size - 14


def test_tag_and_untag_are_inverse_and_place_tci_bits() -> None:
    frame = fm.build(random.Random(4), "arp", fm.Ends(H1.mac, fm.BROADCAST, H1.ip, H2.ip), 60)
    tagged = fm.tag(frame, vid=0xABC, pcp=5, dei=1)
    assert tagged[12:16] == bytes.fromhex("8100") + (5 << 13 | 1 << 12 | 0xABC).to_bytes(2, "big")
    assert fm.untag(tagged) == frame
    with pytest.raises(ValueError):
        fm.tag(frame, vid=4096)


def test_mac_helpers_set_the_group_bit_as_named() -> None:
    rng = random.Random(5)
    for _ in range(100):
        assert int(fm.unicast_mac(rng)[:2], 16) & 1 == 0
        mac = fm.multicast_mac(rng)
        assert int(mac[:2], 16) & 1 == 1 and mac != fm.BROADCAST
        assert fm.other_ethertype(rng) not in fm.NAMED_TYPES


def test_reflect_swaps_macs_only() -> None:
    frame = bytes(range(60))
    assert model.reflect(2, frame) == [(2, frame[6:12] + frame[:6] + frame[12:])]


def test_traffic_is_replayed_by_its_seed_and_covers_the_spec() -> None:
    assert model.frames_from(random.Random(9), H1, H2) == model.frames_from(random.Random(9), H1, H2)
    for seed in SEEDS:
        frames = [f for p, f in sent(seed) if p == 1]
        types = {fm.ethertype(f) for f in frames}
        assert {fm.IPV4, fm.ARP_TYPE, fm.IPV6, fm.TPID_8021Q, fm.TPID_8021AD} <= types
        assert any(t not in fm.NAMED_TYPES and t >= 0x0600 for t in types)
        assert any(t < 0x0600 for t in types)  # an 802.3 length frame
        assert {fm.ETH_MIN, fm.ETH_MIN + 1, fm.ETH_MAX - 1, fm.ETH_MAX} <= {len(f) for f in frames}
        assert any(f[6] & 1 for f in frames)  # a group source MAC
        assert any(f[:6] == b"\xff" * 6 for f in frames)
        assert any(f[0] & 1 and f[:6] != b"\xff" * 6 for f in frames)  # multicast destination


# -- wrong reflectors: each must produce different output on every seed's traffic ------

Wrong = Callable[[int, bytes], list[tuple[int, bytes]]]


def _swap_if(cond: Callable[[int, bytes], bool]) -> Wrong:
    return lambda port, f: [(port, fm.swap_macs(f) if cond(port, f) else f)]


def _drop_if(cond: Callable[[int, bytes], bool]) -> Wrong:
    return lambda port, f: [] if cond(port, f) else model.reflect(port, f)


WRONG: dict[str, Wrong] = {
    "swap_ipv4_only": _swap_if(lambda _p, f: fm.ethertype(f) == fm.IPV4),
    "swap_port1_only": _swap_if(lambda p, _f: p == 1),
    "hardcoded_port1": lambda _p, f: [(1, fm.swap_macs(f))],
    "known_ethertypes_only": _drop_if(lambda _p, f: fm.ethertype(f) not in (0x0800, 0x0806, 0x88B5)),
    "drops_multicast_src": _drop_if(lambda _p, f: bool(f[6] & 1)),
    "vlan_tag_not_emitted": lambda p, f: model.reflect(p, fm.untag(f) if fm.ethertype(f) == 0x8100
                                                       else f),
    "ipv4_checksum_recomputed": lambda p, f: model.reflect(p, _fixed_checksum(f)),
    "ipv4_ttl_decremented": lambda p, f: model.reflect(p, f[:22] + bytes([(f[22] - 1) % 256]) + f[23:]
                                                       if fm.ethertype(f) == fm.IPV4 else f),
}


def _fixed_checksum(frame: bytes) -> bytes:
    if fm.ethertype(frame) != fm.IPV4:
        return frame
    ip = IP(frame[14:])
    del ip.chksum
    return frame[:14] + bytes(ip)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_every_seed_tells_a_wrong_reflector_apart(name: str) -> None:
    wrong = WRONG[name]
    for seed in SEEDS:
        assert any(sorted(wrong(p, f)) != sorted(model.reflect(p, f)) for p, f in sent(seed)), seed
