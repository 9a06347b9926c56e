"""Reference model and seeded traffic of lab 1.1 (reflector), pure Python.

Spec (LABS.md): every Ethernet frame that enters port p leaves port p, source and
destination MAC swapped, everything after the MAC addresses unchanged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from labtool import framemix as fm


@dataclass(frozen=True)
class Station:
    """A host as the traffic plan sees it."""

    name: str
    mac: str
    ip: str
    port: int


def reflect(port: int, frame: bytes) -> list[tuple[int, bytes]]:
    """What leaves the switch for `frame` entering `port`: (port, bytes) pairs."""
    return [(port, fm.swap_macs(frame))]


def frames_from(rng: random.Random, me: Station, peer: Station) -> list[bytes]:
    """Every kind of frame the spec covers, sent by `me`: each protocol and tag kind,
    broadcast / multicast / foreign unicast destinations, group and foreign source MACs
    (a group source is illegal on a real LAN, but the spec says *every* frame), sizes
    at the limits (60, 61, 1513, 1514) and in between; payload bytes all random."""
    to_peer = fm.Ends(me.mac, peer.mac, me.ip, peer.ip)

    def ends(src: str | None = None, dst: str | None = None) -> fm.Ends:
        return fm.Ends(src or me.mac, dst or peer.mac, me.ip, peer.ip)

    def size(kind: str) -> int:
        return rng.randrange(fm.MIN_SIZE[kind], fm.ETH_MAX + 1)

    frames = [
        fm.build(rng, "ipv4_udp", to_peer, fm.ETH_MIN),
        fm.build(rng, "ipv4_tcp", to_peer, size("ipv4_tcp")),
        fm.build(rng, "ipv4_icmp", to_peer, fm.ETH_MIN + 1),
        fm.build(rng, "arp", ends(dst=fm.BROADCAST), fm.ETH_MIN),
        fm.build(rng, "arp", to_peer, size("arp")),
        fm.build(rng, "ipv6", ends(dst="33:33:" + fm.multicast_mac(rng)[6:]), size("ipv6")),
        fm.build(rng, "other", to_peer, fm.ETH_MAX),
        fm.build(rng, "other", ends(dst=fm.multicast_mac(rng)), fm.ETH_MAX - 1),
        fm.build(rng, "llc", ends(dst=fm.unicast_mac(rng)), size("llc")),
        # IPv4 with a wrong header checksum: a program that parses and "fixes" IPv4
        # (checksum, TTL) changes it, a reflector does not
        bad_checksum(rng, fm.build(rng, "ipv4_udp", to_peer, size("ipv4_udp"))),
        # group source address, foreign unicast source and destination
        fm.build(rng, rng.choice(fm.KINDS[:4]), ends(src=fm.multicast_mac(rng)), fm.ETH_MIN),
        fm.build(rng, rng.choice(fm.KINDS), ends(src=fm.unicast_mac(rng),
                                                 dst=fm.unicast_mac(rng)), fm.ETH_MAX),
        tagged(rng, fm.build(rng, "ipv4_udp", to_peer,
                             rng.randrange(fm.ETH_MIN, fm.ETH_MAX - fm.TAG_LEN + 1))),
        tagged(rng, fm.build(rng, "ipv6", ends(dst=fm.BROADCAST), 100), fm.TPID_8021AD),
        tagged(rng, tagged(rng, fm.build(rng, "arp", ends(dst=fm.BROADCAST), fm.ETH_MIN)),
               fm.TPID_8021AD),
    ]
    rng.shuffle(frames)
    return frames


def tagged(rng: random.Random, frame: bytes, tpid: int = fm.TPID_8021Q) -> bytes:
    """`frame` with a tag of random PCP, DEI and VID (0..4095) in front."""
    return fm.tag(frame, rng.randrange(4096), rng.randrange(8), rng.randrange(2), tpid)


def bad_checksum(rng: random.Random, frame: bytes) -> bytes:
    """An untagged IPv4 `frame` with its header checksum made wrong."""
    wrong = frame[24] ^ rng.randrange(1, 256)
    return frame[:24] + bytes([wrong]) + frame[25:]
