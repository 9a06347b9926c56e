"""Reference model of the INT lab (LABS.md "int"; wire format in p4src/int.p4's header).

Given the configuration the control plane installed (watchlist entries with their
instruction bitmap and max-hop count, switch ids, the sink's collector MAC) and a
frame a host sent, it says what must come out: the frame the destination host gets
(the original, only TTL and IPv4 checksum changed by routing) and, for a watched
packet, the telemetry that the report must carry (which hops, which ids and ports,
the remaining hop count, the exceeded flag) and the whole report frame once the
values only the switches know (timestamps, latency, queue occupancy) are filled in
from what arrived and checked for plausibility.

Pure Python: unit-tested without a network (tests/unit/test_int_model.py).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass

INT_DSCP = 0x17
INT_TYPE_MD = 1
INT_VERSION = 2
SHIM_MD_WORDS = 4  # the shim (1 word) and the INT-MD header (3 words)
# instruction bit (0 = the bitmap's most significant bit) -> words it adds per hop:
# node id, ingress ++ egress port, hop latency, queue id ++ occupancy, ingress and
# egress timestamp (64 bits each)
INSTRUCTION_WORDS = (1, 1, 1, 1, 2, 2)
ALL_INSTRUCTIONS = 0xFC00
TIMESTAMP_LIMIT = 1 << 48  # BMv2's timestamps are 48-bit microsecond counts
MAX_HOP_LATENCY_US = 1_000_000  # a hop that held a packet for a second is broken


def instruction_bits(bitmap: int) -> list[int]:
    """The instruction bits (0..5, 0 = most significant) set in a 16-bit bitmap."""
    return [bit for bit in range(len(INSTRUCTION_WORDS)) if bitmap & (0x8000 >> bit)]


def bitmap_of(bits: Sequence[int]) -> int:
    out = 0
    for bit in bits:
        out |= 0x8000 >> bit
    return out


def words_per_hop(bitmap: int) -> int:
    return sum(INSTRUCTION_WORDS[bit] for bit in instruction_bits(bitmap))


@dataclass(frozen=True)
class Ternary:
    value: int
    mask: int

    def matches(self, field: int) -> bool:
        return field & self.mask == self.value & self.mask

    def entry_text(self, width: int) -> str:
        """The value&&&mask form labtool's control plane takes."""
        return f"{self.value & self.mask:#x}&&&{self.mask:#0{width // 4 + 2}x}"


@dataclass(frozen=True)
class UdpFlow:
    src: int
    dst: int
    sport: int
    dport: int

    def describe(self) -> str:
        return (f"UDP {ipaddress.IPv4Address(self.src)}:{self.sport} -> "
                f"{ipaddress.IPv4Address(self.dst)}:{self.dport}")


@dataclass(frozen=True)
class WatchEntry:
    """One int_watchlist entry: ternary matches on the flow's fields, int_source's
    parameters, and its priority (the highest matching priority wins)."""

    src: Ternary
    dst: Ternary
    sport: Ternary
    dport: Ternary
    max_hop: int
    instructions: int
    priority: int

    def matches(self, flow: UdpFlow) -> bool:
        return (self.src.matches(flow.src) and self.dst.matches(flow.dst)
                and self.sport.matches(flow.sport) and self.dport.matches(flow.dport))


def watching(entries: Sequence[WatchEntry], flow: UdpFlow) -> WatchEntry | None:
    """The entry that makes the source add INT to `flow`, if any."""
    hits = [e for e in entries if e.matches(flow)]
    return max(hits, key=lambda e: e.priority) if hits else None


@dataclass(frozen=True)
class PathHop:
    """What one switch on the path must record about a packet."""

    switch: str
    switch_id: int
    ingress_port: int
    egress_port: int


@dataclass(frozen=True)
class Telemetry:
    """What a report must say about a watched packet, from the configuration alone."""

    hops: tuple[PathHop, ...]  # the hops that recorded metadata, in path order
    instructions: int
    remaining_hop_cnt: int
    exceeded: bool

    @property
    def stack_words(self) -> int:
        return len(self.hops) * words_per_hop(self.instructions)


def telemetry(entry: WatchEntry, path: Sequence[PathHop]) -> Telemetry:
    """Each hop pushes its record while the remaining hop count is above 0 and counts
    it down; a hop that finds it at 0 pushes nothing and sets the exceeded flag."""
    recorded = min(entry.max_hop, len(path))
    return Telemetry(tuple(path[:recorded]), entry.instructions, entry.max_hop - recorded,
                     entry.max_hop < len(path))


# -- frames ---------------------------------------------------------------------------------

ETH, IPV4, UDP_LEN = 14, 20, 8


def ipv4_checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_ipv4_checksum(frame: bytes) -> bytes:
    ihl = (frame[ETH] & 0x0F) * 4
    header = frame[ETH:ETH + 10] + b"\x00\x00" + frame[ETH + 12:ETH + ihl]
    return frame[:ETH + 10] + struct.pack("!H", ipv4_checksum(header)) + frame[ETH + 12:]


def routed(frame: bytes, switches: int, dst_mac: bytes, src_mac: bytes) -> bytes:
    """`frame` after `switches` routing hops: MACs rewritten, TTL lower by one per
    switch, IPv4 checksum recomputed; nothing else changes."""
    ttl = frame[ETH + 8] - switches
    out = dst_mac + src_mac + frame[12:ETH + 8] + bytes([ttl]) + frame[ETH + 9:]
    return with_ipv4_checksum(out)


def udp_flow_of(frame: bytes) -> UdpFlow | None:
    """The flow of an IPv4/UDP frame (None for anything else)."""
    if frame[12:14] != b"\x08\x00" or frame[ETH + 9] != 17:
        return None
    ihl = (frame[ETH] & 0x0F) * 4
    src, dst = struct.unpack_from("!II", frame, ETH + 12)
    sport, dport = struct.unpack_from("!HH", frame, ETH + ihl)
    return UdpFlow(src, dst, sport, dport)


@dataclass(frozen=True)
class Measured:
    """Per hop, what only the switch knows (None where the bitmap does not ask)."""

    hop_latency: int | None = None
    queue_id: int | None = None
    queue_occupancy: int | None = None
    ingress_ts: int | None = None
    egress_ts: int | None = None


def hop_words(hop: PathHop, measured: Measured, instructions: int) -> list[int]:
    """One hop's record, fields in instruction-bit order."""
    words: list[int] = []
    for bit in instruction_bits(instructions):
        if bit == 0:
            words.append(hop.switch_id)
        elif bit == 1:
            words.append(hop.ingress_port << 16 | hop.egress_port)
        elif bit == 2:
            words.append(_known(measured.hop_latency))
        elif bit == 3:
            words.append(_known(measured.queue_id) << 24 | _known(measured.queue_occupancy))
        else:
            ts = _known(measured.ingress_ts if bit == 4 else measured.egress_ts)
            words += [ts >> 32 & 0xFFFFFFFF, ts & 0xFFFFFFFF]
    return words


def _known(value: int | None) -> int:
    if value is None:
        raise ValueError("a field the bitmap asks for has no measured value")
    return value


@dataclass(frozen=True)
class ReportFrame:
    """The fields of a report the configuration does not fix (taken from the report
    that arrived, after they were checked for plausibility)."""

    src_mac: bytes
    ttl: int
    udp_checksum: int
    hop_ml: int
    measured: tuple[Measured, ...]  # per recorded hop, path order


def report(sent: bytes, tele: Telemetry, collector_mac: bytes, got: ReportFrame) -> bytes:
    """The whole report frame for the watched packet `sent`: its IPv4/UDP headers
    with DSCP = the INT marker and lengths grown by what INT inserted, the shim (its
    length = the words that follow it, the original DSCP), the INT-MD header, the
    stack newest hop first, then the original UDP payload."""
    ihl = (sent[ETH] & 0x0F) * 4
    udp = ETH + ihl
    added = 4 * (SHIM_MD_WORDS + tele.stack_words)
    tos = INT_DSCP << 2 | sent[ETH + 1] & 0x03
    total_len, = struct.unpack_from("!H", sent, ETH + 2)
    ip = (sent[ETH:ETH + 1] + bytes([tos]) + struct.pack("!H", total_len + added)
          + sent[ETH + 4:ETH + 8] + bytes([got.ttl]) + sent[ETH + 9:udp])
    udp_len, = struct.unpack_from("!H", sent, udp + 4)
    udp_header = sent[udp:udp + 4] + struct.pack("!HH", udp_len + added, got.udp_checksum)
    shim = struct.pack("!BBH", INT_TYPE_MD << 4, SHIM_MD_WORDS + tele.stack_words,
                       sent[ETH + 1] >> 2)
    md = struct.pack("!IHHHH", INT_VERSION << 28 | int(tele.exceeded) << 26
                     | (got.hop_ml & 0x1F) << 8 | tele.remaining_hop_cnt,
                     tele.instructions, 0, 0, 0)
    stack = b"".join(struct.pack(f"!{words_per_hop(tele.instructions)}I",
                                 *hop_words(hop, m, tele.instructions))
                     for hop, m in reversed(list(zip(tele.hops, got.measured))))
    frame = (collector_mac + got.src_mac + b"\x08\x00" + ip + udp_header + shim + md + stack
             + sent[udp + UDP_LEN:])
    return with_ipv4_checksum(frame)


def hop_ml_choices(tele: Telemetry) -> set[int]:
    """Allowed hop_ml values: the words per hop; a report without any hop record may
    also carry 0 (the solution sets it per hop, the INT spec at the source)."""
    words = words_per_hop(tele.instructions)
    return {words} if tele.hops else {0, words}


def timing_problems(measured: Sequence[Measured], names: Sequence[str],
                    queue_limit: int) -> list[str]:
    """What is implausible in one report's per-hop values: a timestamp beyond BMv2's
    48 bits (e.g. its words swapped), egress before ingress, a hop latency that is
    not egress - ingress where both are recorded, or longer than a second, a queue
    deeper than the frames that were sent."""
    problems = []
    for name, m in zip(names, measured):
        for label, ts in (("ingress", m.ingress_ts), ("egress", m.egress_ts)):
            if ts is not None and not 0 < ts < TIMESTAMP_LIMIT:
                problems.append(f"{name}: {label} timestamp {ts:#x} is not a 48-bit BMv2 time")
        if m.ingress_ts is not None and m.egress_ts is not None:
            if m.egress_ts < m.ingress_ts or m.egress_ts - m.ingress_ts > MAX_HOP_LATENCY_US:
                problems.append(f"{name}: ingress {m.ingress_ts} µs, egress {m.egress_ts} µs")
            elif m.hop_latency is not None and \
                    m.hop_latency != (m.egress_ts - m.ingress_ts) & 0xFFFFFFFF:
                problems.append(f"{name}: hop latency {m.hop_latency} µs, but egress - ingress "
                                f"= {m.egress_ts - m.ingress_ts} µs")
        if m.hop_latency is not None and m.hop_latency > MAX_HOP_LATENCY_US:
            problems.append(f"{name}: hop latency {m.hop_latency} µs")
        if m.queue_occupancy is not None and m.queue_occupancy > queue_limit:
            problems.append(f"{name}: queue occupancy {m.queue_occupancy}, more than the "
                            f"{queue_limit} frames sent")
    return problems
