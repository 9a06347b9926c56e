"""Reference model of the Cheetah load balancer, in plain Python (no Scapy on the hot
path: a run compares hundreds of captured frames).

What a correct program does to a TCP segment, byte for byte:
- backend -> client: Ethernet source = the load balancer's MAC, IP source = the VIP,
  the low 16 bits of TSval = the cookie (stateless: hash_S(connection) XOR server id;
  stateful: the connection's table index), the high 16 bits of TSval stay the
  server's; IPv4 and TCP checksums valid; every other byte as the backend sent it;
- client -> backend: Ethernet destination = the server's MAC, IP destination = the
  server's address, checksums valid, every other byte as the client sent it except
  the timestamp option (the program may hide the cookie from the backend) and the
  Ethernet source (the client's or the load balancer's MAC).
hash_S is crc16 (BMv2's, CRC-16/ARC) over client IP (32 bits), client port (16), VIP
(32), VIP port (16) and the salt (32), big-endian: the lab's documented cookie hash.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from labtool import hashes

ETH_IPV4 = 0x0800
PROTO_TCP = 6
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TS_KIND, TS_LEN = 8, 10


def ip_int(addr: str) -> int:
    a, b, c, d = (int(x) for x in addr.split("."))
    return a << 24 | b << 16 | c << 8 | d


def ip_str(value: int) -> str:
    return ".".join(str(value >> s & 0xFF) for s in (24, 16, 8, 0))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def cookie_key(client_ip: str, client_port: int, vip: str, vip_port: int, salt: int) -> bytes:
    """hash_S's input; the client port is its bytes COOKIE_PORT_AT..+2."""
    return hashes.fields((ip_int(client_ip), 32), (client_port, 16), (ip_int(vip), 32),
                         (vip_port, 16), (salt, 32))


COOKIE_PORT_AT = 4


def cookie_hash(client_ip: str, client_port: int, vip: str, vip_port: int, salt: int) -> int:
    return hashes.crc16(cookie_key(client_ip, client_port, vip, vip_port, salt))


@dataclass(frozen=True)
class Segment:
    """Offsets and fields of an Ethernet/IPv4/TCP frame."""

    frame: bytes
    ip_off: int
    tcp_off: int
    data_off: int   # first payload byte
    end: int        # end of the IP datagram (Ethernet padding after it)
    src_ip: str
    dst_ip: str
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    ts_off: int | None  # the timestamp option's kind byte, when present

    @property
    def payload(self) -> bytes:
        return self.frame[self.data_off:self.end]

    @property
    def tsval(self) -> int | None:
        return None if self.ts_off is None else \
            int(struct.unpack_from("!I", self.frame, self.ts_off + 2)[0])

    @property
    def tsecr(self) -> int | None:
        return None if self.ts_off is None else \
            int(struct.unpack_from("!I", self.frame, self.ts_off + 6)[0])

    @property
    def src_mac(self) -> bytes:
        return self.frame[6:12]

    @property
    def dst_mac(self) -> bytes:
        return self.frame[0:6]

    def key(self) -> tuple[str, int, str, int, int, int, int, bytes]:
        """What identifies a segment on both sides of the switch (addresses on the
        load balancer's side are rewritten, so the caller picks the stable end)."""
        return (self.src_ip, self.sport, self.dst_ip, self.dport, self.seq, self.ack,
                self.flags, self.payload)


def parse(frame: bytes) -> Segment | None:
    """The TCP segment in `frame`, or None (not IPv4/TCP, truncated)."""
    if len(frame) < 54 or struct.unpack_from("!H", frame, 12)[0] != ETH_IPV4:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14] >> 4 != 4 or ihl < 20 or frame[23] != PROTO_TCP:
        return None
    total = struct.unpack_from("!H", frame, 16)[0]
    tcp = 14 + ihl
    end = 14 + total
    if end > len(frame) or tcp + 20 > end:
        return None
    doff = (frame[tcp + 12] >> 4) * 4
    if doff < 20 or tcp + doff > end:
        return None
    sport, dport, seq, ack = struct.unpack_from("!HHII", frame, tcp)
    return Segment(frame, 14, tcp, tcp + doff, end, ip_str(int.from_bytes(frame[26:30], "big")),
                   ip_str(int.from_bytes(frame[30:34], "big")), sport, dport, seq, ack,
                   frame[tcp + 13], _ts_offset(frame, tcp + 20, tcp + doff))


def _ts_offset(frame: bytes, start: int, stop: int) -> int | None:
    """Where the timestamp option starts, walking the options by their lengths."""
    i = start
    while i < stop:
        kind = frame[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= stop or frame[i + 1] < 2:
            return None
        if kind == TS_KIND and frame[i + 1] == TS_LEN and i + TS_LEN <= stop:
            return i
        i += frame[i + 1]
    return None


def _ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def with_checksums(frame: bytes) -> bytes:
    """`frame` with its IPv4 header checksum and TCP checksum recomputed."""
    seg = parse(frame)
    if seg is None:
        return frame
    buf = bytearray(frame)
    buf[24:26] = b"\x00\x00"
    struct.pack_into("!H", buf, 24, ~_ones_sum(bytes(buf[14:seg.tcp_off])) & 0xFFFF)
    buf[seg.tcp_off + 16:seg.tcp_off + 18] = b"\x00\x00"
    length = seg.end - seg.tcp_off
    pseudo = bytes(buf[26:34]) + struct.pack("!BBH", 0, PROTO_TCP, length)
    csum = ~_ones_sum(pseudo + bytes(buf[seg.tcp_off:seg.end])) & 0xFFFF
    struct.pack_into("!H", buf, seg.tcp_off + 16, csum)
    return bytes(buf)


def checksums_ok(frame: bytes) -> bool:
    return with_checksums(frame) == frame


def backend_to_client(seg: Segment, vip: str, lb_mac: str, cookie: int | None,
                      tsecr: int | None = None) -> bytes:
    """What the client must receive for `seg` as the backend sent it. `cookie` is the
    value of TSval's low 16 bits (None: leave them); `tsecr` replaces TSecr (stateful
    designs restore the client's own timestamp there)."""
    buf = bytearray(seg.frame)
    buf[6:12] = mac_bytes(lb_mac)
    buf[26:30] = ip_int(vip).to_bytes(4, "big")
    if seg.ts_off is not None and cookie is not None:
        struct.pack_into("!H", buf, seg.ts_off + 4, cookie & 0xFFFF)
    if seg.ts_off is not None and tsecr is not None:
        struct.pack_into("!I", buf, seg.ts_off + 6, tsecr)
    return with_checksums(bytes(buf))


def client_to_backend(sent: Segment, got: Segment, server_ip: str, server_mac: str,
                      lb_mac: str) -> bytes:
    """What the backend must receive for `sent` as the client sent it; the parts the
    program may choose (timestamp option bytes, Ethernet source among the client's
    and the load balancer's MAC) are taken from `got`."""
    buf = bytearray(sent.frame)
    buf[0:6] = mac_bytes(server_mac)
    if got.src_mac == mac_bytes(lb_mac):
        buf[6:12] = got.src_mac
    buf[30:34] = ip_int(server_ip).to_bytes(4, "big")
    if sent.ts_off is not None and len(got.frame) == len(sent.frame):
        off = sent.ts_off
        buf[off:off + TS_LEN] = got.frame[off:off + TS_LEN]
    return with_checksums(bytes(buf))


def first_byte_difference(want: bytes, got: bytes) -> str:
    """A short description of where two frames differ (for frames Scapy need not
    decode): the offset and both bytes around it."""
    if len(want) != len(got):
        return f"length {len(got)} instead of {len(want)}"
    i = next(i for i, (a, b) in enumerate(zip(want, got)) if a != b)
    return f"byte {i}: {got[i:i + 4].hex()} instead of {want[i:i + 4].hex()}"
