from __future__ import annotations

import pytest
from scapy.layers.l2 import Dot1Q, Ether

from labtool import frames as f
from labtool.context import HostInfo
from labtool.values import normalise

H1 = HostInfo("h1", "10.0.0.1", "00:00:0a:00:00:01", 24, "s1", 1)
H2 = HostInfo("h2", "10.0.0.2", "00:00:0a:00:00:02", 24, "s1", 2)


@pytest.mark.parametrize("given, expected", [
    ("10.0.0.0/24", "10.0.0.0/24"),
    ("0x0800&&&0xffff", "0x0800/&0xffff"),
    ("10 &&& 0xff", "10/&0xff"),
    ("10..20", "10...20"),
    ("10.0.0.1..10.0.0.9", "10.0.0.1...10.0.0.9"),
    ("10.0.0.1...10.0.0.9", "10.0.0.1...10.0.0.9"),
    ("10.0.0.1", "10.0.0.1"),
    ("00:00:0a:00:00:01", "00:00:0a:00:00:01"),
    (5, 5),
])
def test_normalise(given: object, expected: object) -> None:
    assert normalise(given) == expected


def test_bool_is_rejected() -> None:
    with pytest.raises(ValueError):
        normalise(True)


@pytest.mark.parametrize("size", [60, 100, 1514])
def test_udp_exact_size(size: int) -> None:
    assert len(bytes(f.udp(H1, H2, b"x", size=size))) == size


def test_arp_is_minimum_broadcast() -> None:
    frame = f.arp_request(H1, H2.ip)
    assert len(bytes(frame)) == 60 and frame[Ether].dst == f.BROADCAST


def test_tag_roundtrip_keeps_payload() -> None:
    frame = f.udp(H1, H2, b"payload", size=100)
    tagged = f.tagged(frame, 20, pcp=5, dei=1)
    assert tagged[Ether].type == 0x8100
    assert (tagged[Dot1Q].vlan, tagged[Dot1Q].prio, tagged[Dot1Q].dei) == (20, 5, 1)
    assert tagged[Dot1Q].type == 0x0800
    assert len(bytes(tagged)) == 104
    assert bytes(f.untagged(tagged)) == bytes(frame)


def test_swap_macs() -> None:
    frame = f.udp(H1, H2)
    swapped = f.swap_macs(frame)
    assert swapped[Ether].src == H2.mac and swapped[Ether].dst == H1.mac
    assert bytes(swapped)[12:] == bytes(frame)[12:]


def test_flow_key_and_src() -> None:
    udp = bytes(f.udp(H1, H2, sport=1111, dport=2222))
    assert f.flow_key(udp) == ("10.0.0.1", "10.0.0.2", 17, 1111, 2222)
    assert f.ipv4_src(udp) == "10.0.0.1"
    tcp = bytes(f.tcp(H1, H2, sport=5, dport=6))
    assert f.flow_key(tcp) == ("10.0.0.1", "10.0.0.2", 6, 5, 6)
    arp = bytes(f.arp_request(H1, H2.ip))
    assert f.flow_key(arp) is None and f.ipv4_src(arp) is None


def test_ipv4_checksum() -> None:
    frame = bytearray(bytes(f.udp(H1, H2)))
    assert f.ipv4_checksum_ok(bytes(frame))
    frame[22] -= 1  # TTL changed without fixing the checksum
    assert not f.ipv4_checksum_ok(bytes(frame))
