"""Seeded Ethernet frames of the kinds a layer-2 lab must carry unchanged: IPv4
(UDP, TCP, ICMP), ARP, IPv6, 802.1Q and 802.1ad tags, other EtherTypes and 802.3
length frames, exactly sized, with odd MAC addresses and payload bytes drawn from
the verifier's random.Random, so that `--seed N` replays a run's traffic.

Every builder returns the frame's bytes (no FCS): what a verifier sends and what
its reference model transforms byte for byte.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass

ETH_MIN = 60  # minimum Ethernet frame without FCS (a veth does not pad shorter ones)
ETH_MAX = 1514  # 1500-byte MTU + 14-byte header
BROADCAST = "ff:ff:ff:ff:ff:ff"

IPV4, ARP_TYPE, IPV6 = 0x0800, 0x0806, 0x86DD
TPID_8021Q, TPID_8021AD, TPID_OLD_QINQ = 0x8100, 0x88A8, 0x9100
TPIDS = (TPID_8021Q, TPID_8021AD, TPID_OLD_QINQ)
# EtherTypes a random "other" EtherType must not be: the ones with a kind of their own
NAMED_TYPES = frozenset((IPV4, ARP_TYPE, IPV6, *TPIDS))

# Kinds of frames `build` makes; each names what follows the MAC addresses.
KINDS = ("ipv4_udp", "ipv4_tcp", "ipv4_icmp", "arp", "ipv6", "other", "llc")
# The smallest frame of each kind (headers only; `build` pads up to the size asked).
MIN_SIZE = {"ipv4_udp": ETH_MIN, "ipv4_tcp": ETH_MIN, "ipv4_icmp": ETH_MIN, "arp": ETH_MIN,
            "ipv6": 14 + 40 + 8, "other": ETH_MIN, "llc": ETH_MIN}
TAG_LEN = 4


@dataclass(frozen=True)
class Ends:
    """Who a frame is from and to: MACs on the wire, addresses inside (IPv4 for IPv4/ARP;
    IPv6 frames draw their own)."""

    src_mac: str
    dst_mac: str
    src_ip: str
    dst_ip: str


def unicast_mac(rng: random.Random) -> str:
    """A random individual (I/G bit 0) MAC address."""
    first = rng.randrange(256) & 0xFE
    return _mac(first, rng)


def multicast_mac(rng: random.Random) -> str:
    """A random group (I/G bit 1) MAC address other than broadcast."""
    while True:
        mac = _mac(rng.randrange(256) | 0x01, rng)
        if mac != BROADCAST:
            return mac


def _mac(first: int, rng: random.Random) -> str:
    return ":".join(f"{b:02x}" for b in (first, *rng.randbytes(5)))


def other_ethertype(rng: random.Random) -> int:
    """A random EtherType (>= 0x0600) that is not IPv4, ARP, IPv6 or a VLAN TPID."""
    while True:
        value = rng.randrange(0x0600, 0x10000)
        if value not in NAMED_TYPES:
            return value


def build(rng: random.Random, kind: str, ends: Ends, size: int,
          ethertype: int | None = None) -> bytes:
    """A frame of `kind` (see KINDS) of exactly `size` bytes; the payload (and for
    `other`, the EtherType unless given) is random. Lengths and checksums are those
    of the final payload (packed by hand: Scapy takes ~1.5 ms a frame)."""
    if kind not in KINDS:
        raise ValueError(f"unknown frame kind {kind!r} (kinds: {', '.join(KINDS)})")
    if not MIN_SIZE[kind] <= size <= ETH_MAX:
        raise ValueError(f"a {kind} frame is {MIN_SIZE[kind]}..{ETH_MAX} bytes, not {size}")
    macs = mac_bytes(ends.dst_mac) + mac_bytes(ends.src_mac)
    if kind == "other":
        etype = other_ethertype(rng) if ethertype is None else ethertype
        return macs + struct.pack("!H", etype) + rng.randbytes(size - 14)
    if kind == "llc":  # 802.3: the type field is the length of what follows
        # DSAP outside 0x00 (Linux's LLC station answers XID/TEST there) and the SAPs
        # of STP (0x42) and SNAP (0xAA): no host stack may answer such a frame
        dsap = rng.randrange(0x02, 0x40, 2)
        return macs + struct.pack("!HB", size - 14, dsap) + rng.randbytes(size - 15)
    if kind == "arp":
        target = bytes(6) if ends.dst_mac == BROADCAST else mac_bytes(ends.dst_mac)
        arp = struct.pack("!HHBBH6s4s6s4s", 1, IPV4, 6, 4, rng.choice((1, 2)),
                          mac_bytes(ends.src_mac), _ip4(ends.src_ip), target, _ip4(ends.dst_ip))
        # the rest: Ethernet padding (random bytes, which a switch must carry too)
        return macs + struct.pack("!H", ARP_TYPE) + arp + rng.randbytes(size - 42)
    if kind == "ipv6":
        src, dst = rng.randbytes(16), rng.randbytes(16)
        udp = _udp(rng, size - 14 - 40, _sum(src + dst) + 17)
        return macs + struct.pack("!HIHBB", IPV6, 0x60000000 | rng.getrandbits(28), len(udp), 17,
                                  rng.randrange(1, 256)) + src + dst + udp
    src4, dst4 = _ip4(ends.src_ip), _ip4(ends.dst_ip)
    body_len = size - 14 - 20
    if kind == "ipv4_udp":
        proto, body = 17, _udp(rng, body_len, _sum(src4 + dst4) + 17)
    elif kind == "ipv4_tcp":
        proto, body = 6, _tcp(rng, body_len, _sum(src4 + dst4) + 6)
    else:
        proto, body = 1, _icmp(rng, body_len)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, rng.randrange(256), 20 + len(body),
                         rng.randrange(65536), 0, rng.randrange(1, 256), proto, 0, src4, dst4)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return macs + struct.pack("!H", IPV4) + header + body


def _udp(rng: random.Random, length: int, pseudo: int) -> bytes:
    """A UDP datagram of `length` bytes; `pseudo`: the pseudo-header's sum less the
    length."""
    head = struct.pack("!HHHH", rng.randrange(1, 65536), rng.randrange(1, 65536), length, 0)
    datagram = head + rng.randbytes(length - 8)
    checksum = _checksum(datagram, pseudo + length) or 0xFFFF  # 0 means "none" in UDP
    return datagram[:6] + struct.pack("!H", checksum) + datagram[8:]


def _tcp(rng: random.Random, length: int, pseudo: int) -> bytes:
    flags = rng.choice((0x02, 0x12, 0x10, 0x18, 0x11, 0x04))  # S, SA, A, PA, FA, R
    head = struct.pack("!HHIIBBHHH", rng.randrange(1, 65536), rng.randrange(1, 65536),
                       rng.getrandbits(32), rng.getrandbits(32), 5 << 4, flags,
                       rng.randrange(65536), 0, 0)
    segment = head + rng.randbytes(length - 20)
    checksum = _checksum(segment, pseudo + length)
    return segment[:16] + struct.pack("!H", checksum) + segment[18:]


def _icmp(rng: random.Random, length: int) -> bytes:
    head = struct.pack("!BBHHH", rng.choice((0, 8)), 0, 0, rng.randrange(65536),
                       rng.randrange(65536))
    message = head + rng.randbytes(length - 8)
    return message[:2] + struct.pack("!H", _checksum(message)) + message[4:]


def _sum(data: bytes) -> int:
    """The 16-bit words of `data` added up (odd length: a zero byte appended)."""
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def _checksum(data: bytes, extra: int = 0) -> int:
    """The Internet checksum (RFC 1071) of `data`, plus `extra` already summed words."""
    total = _sum(data) + extra
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip4(address: str) -> bytes:
    return ipaddress.IPv4Address(address).packed


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def tag(frame: bytes, vid: int, pcp: int = 0, dei: int = 0, tpid: int = TPID_8021Q) -> bytes:
    """`frame` with a VLAN tag inserted right after the MAC addresses."""
    if not (0 <= vid < 4096 and 0 <= pcp < 8 and 0 <= dei < 2):
        raise ValueError(f"tag fields out of range: vid={vid} pcp={pcp} dei={dei}")
    return frame[:12] + struct.pack("!HH", tpid, pcp << 13 | dei << 12 | vid) + frame[12:]


def untag(frame: bytes) -> bytes:
    """`frame` without the 4 bytes after the MAC addresses (its outermost tag)."""
    return frame[:12] + frame[16:]


def swap_macs(frame: bytes) -> bytes:
    return frame[6:12] + frame[0:6] + frame[12:]


def ethertype(frame: bytes) -> int:
    """The outer EtherType (or 802.3 length) of `frame`."""
    return int.from_bytes(frame[12:14], "big")
