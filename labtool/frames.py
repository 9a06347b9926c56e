"""Building test frames with Scapy: sized exactly, addressed from the lab's hosts."""

from __future__ import annotations

import socket
import struct
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Padding, Raw

from .context import HostInfo

BROADCAST = "ff:ff:ff:ff:ff:ff"
ETH_MIN = 60  # minimum Ethernet frame without FCS
ETH_MAX = 1514  # 1500-byte MTU + 14-byte header


def sized(frame: Packet, size: int) -> Packet:
    """`frame` padded (after all its layers) to exactly `size` bytes."""
    missing = size - len(bytes(frame))
    if missing < 0:
        raise ValueError(f"frame is already {len(bytes(frame))} bytes, more than {size}")
    return Ether(bytes(frame / Padding(b"\x00" * missing))) if missing else Ether(bytes(frame))


def udp(src: HostInfo, dst: HostInfo, payload: bytes = b"labtool", sport: int = 4000,
        dport: int = 5000, ttl: int = 64, size: int | None = None, src_ip: str | None = None,
        dst_mac: str | None = None, **ip: Any) -> Packet:
    """IPv4/UDP from `src` to `dst` (addresses overridable: a spoofed source, a next-hop
    MAC), optionally padded with payload to exactly `size` bytes."""
    frame = (Ether(src=src.mac, dst=dst_mac or dst.mac)
             / IP(src=src_ip or src.ip, dst=dst.ip, ttl=ttl, **ip)
             / UDP(sport=sport, dport=dport) / Raw(payload))
    if size is not None:
        body = size - len(bytes(frame)) + len(payload)
        frame[Raw].load = (payload * (body // max(len(payload), 1) + 1))[:body]
    return Ether(bytes(frame))


def tcp(src: HostInfo, dst: HostInfo, payload: bytes = b"labtool", sport: int = 4000,
        dport: int = 5000, ttl: int = 64, flags: str = "PA", dst_mac: str | None = None) -> Packet:
    return Ether(bytes(Ether(src=src.mac, dst=dst_mac or dst.mac)
                       / IP(src=src.ip, dst=dst.ip, ttl=ttl)
                       / TCP(sport=sport, dport=dport, flags=flags) / Raw(payload)))


def arp_request(src: HostInfo, target_ip: str) -> Packet:
    return sized(Ether(src=src.mac, dst=BROADCAST) /
                 ARP(op=1, hwsrc=src.mac, psrc=src.ip, pdst=target_ip), ETH_MIN)


def ethertype(src_mac: str, dst_mac: str, etype: int, payload: bytes = b"labtool-raw",
              size: int = ETH_MIN) -> Packet:
    return sized(Ether(src=src_mac, dst=dst_mac, type=etype) / Raw(payload), size)


def tagged(frame: Packet, vid: int, pcp: int = 0, dei: int = 0) -> Packet:
    """`frame` with an 802.1Q tag inserted after the MAC addresses."""
    raw = bytes(frame)
    tag = Ether(dst=frame[Ether].dst, src=frame[Ether].src, type=0x8100) / \
        Dot1Q(prio=pcp, dei=dei, vlan=vid, type=frame[Ether].type)
    return Ether(bytes(tag) + raw[14:])


def untagged(frame: Packet) -> Packet:
    """`frame` with its outermost 802.1Q tag removed (inner EtherType restored)."""
    raw = bytes(frame)
    return Ether(raw[:12] + raw[16:])


def swap_macs(frame: Packet) -> Packet:
    raw = bytes(frame)
    return Ether(raw[6:12] + raw[0:6] + raw[12:])


FlowKey = tuple[str, str, int, int, int]


def ipv4_src(frame: bytes) -> str | None:
    """Source address of an untagged IPv4 frame (fast: no Scapy dissection)."""
    if frame[12:14] != b"\x08\x00" or len(frame) < 34:
        return None
    return socket.inet_ntoa(frame[26:30])


def flow_key(frame: bytes) -> FlowKey | None:
    """(src, dst, proto, sport, dport) of an untagged IPv4 TCP/UDP frame, else None."""
    if frame[12:14] != b"\x08\x00" or len(frame) < 34:
        return None
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    if proto not in (6, 17) or len(frame) < 14 + ihl + 4:
        return None
    sport, dport = struct.unpack("!HH", frame[14 + ihl:18 + ihl])
    return (socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), proto, sport, dport)


def ipv4_checksum_ok(frame: bytes) -> bool:
    """True if the IPv4 header checksum of an untagged IPv4 frame is valid."""
    ihl = (frame[14] & 0x0F) * 4
    header = frame[14:14 + ihl]
    total = sum(struct.unpack(f"!{ihl // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return bool(total == 0xFFFF)
