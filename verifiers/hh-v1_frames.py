"""Raw IPv4 frames for the heavy-hitter labs (2.1 hh-v1 and 2.2 hh-v2).

Their verifiers send thousands of distinct frames per run (every frame carries its
own IPv4 identification, so each delivered frame can be traced back to the one
sent) and predict output frames byte for byte. Scapy needs a fraction of a
millisecond per frame; packing them with struct takes microseconds. Checksums
(IPv4 header, UDP, TCP, ICMP) are computed as a host stack would.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

ETH_IPV4 = 0x0800
ICMP, TCP, UDP = 1, 6, 17
ETH_MIN = 60     # minimum Ethernet frame without FCS (shorter frames are zero-padded)
ETH_MAX = 1514   # 1500-byte MTU + Ethernet header
IPV4_AT = 14     # offset of the IPv4 header in an untagged frame
TCP_ACK, TCP_PSH, TCP_FIN, TCP_SYN = 0x10, 0x08, 0x01, 0x02


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def ip_int(ip: str) -> int:
    return int.from_bytes(socket.inet_aton(ip), "big")


def ip_text(addr: int) -> str:
    return socket.inet_ntoa(addr.to_bytes(4, "big"))


def inet_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of data: ones' complement of the ones'
    complement sum of its 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class IpFields:
    """IPv4 header fields other than addresses and protocol. Verifiers vary them
    (non-zero TOS, DF, identification up to 0xffff) so that a checksum computed over
    too few fields shows."""

    ttl: int = 64
    tos: int = 0
    ident: int = 0
    dont_fragment: bool = False


def ipv4_header(src_ip: str, dst_ip: str, proto: int, payload_len: int, fields: IpFields) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, fields.tos, 20 + payload_len, fields.ident,
                         0x4000 if fields.dont_fragment else 0, fields.ttl, proto, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    return header[:10] + struct.pack("!H", inet_checksum(header)) + header[12:]


def ipv4_frame(dst_mac: str, src_mac: str, src_ip: str, dst_ip: str, proto: int,
               l4: bytes, fields: IpFields) -> bytes:
    """Ethernet + IPv4 (20 bytes, no options) + l4, zero-padded to the Ethernet minimum."""
    frame = (mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_IPV4)
             + ipv4_header(src_ip, dst_ip, proto, len(l4), fields) + l4)
    return frame + b"\x00" * (ETH_MIN - len(frame))


def _pseudo_header(src_ip: str, dst_ip: str, proto: int, length: int) -> bytes:
    return socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) + struct.pack("!BBH", 0, proto, length)


def udp_segment(src_ip: str, dst_ip: str, sport: int, dport: int, payload: bytes) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = inet_checksum(_pseudo_header(src_ip, dst_ip, UDP, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", csum) + seg[8:]


def tcp_segment(src_ip: str, dst_ip: str, sport: int, dport: int, seq: int, flags: int,
                payload: bytes, ack: int = 0, window: int = 64240) -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, window, 0, 0) + payload
    csum = inet_checksum(_pseudo_header(src_ip, dst_ip, TCP, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", csum) + seg[18:]


def icmp_echo(ident: int, seq: int, payload: bytes, reply: bool = False) -> bytes:
    msg = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq & 0xFFFF) + payload
    return msg[:2] + struct.pack("!H", inet_checksum(msg)) + msg[4:]


def is_ipv4(frame: bytes) -> bool:
    return len(frame) >= IPV4_AT + 20 and frame[12:14] == b"\x08\x00"


def ident_of(frame: bytes) -> int:
    """The IPv4 identification of an untagged IPv4 frame (the verifiers' frame tag)."""
    return int.from_bytes(frame[IPV4_AT + 4:IPV4_AT + 6], "big")


def src_of(frame: bytes) -> str:
    return socket.inet_ntoa(frame[IPV4_AT + 12:IPV4_AT + 16])


def dst_of(frame: bytes) -> str:
    return socket.inet_ntoa(frame[IPV4_AT + 16:IPV4_AT + 20])


def header_checksum_ok(frame: bytes) -> bool:
    ihl = (frame[IPV4_AT] & 0x0F) * 4
    return inet_checksum(frame[IPV4_AT:IPV4_AT + ihl]) == 0


class Idents:
    """IPv4 identifications, unique within a run (fewer than 65536 frames) and
    starting anywhere, so 0xffff -> 0 is crossed in some runs."""

    def __init__(self, start: int) -> None:
        self._next = start & 0xFFFF
        self.issued = 0

    def take(self) -> int:
        if self.issued == 0x10000:
            raise ValueError("more than 65536 frames: identifications would repeat")
        value, self._next = self._next, (self._next + 1) & 0xFFFF
        self.issued += 1
        return value
