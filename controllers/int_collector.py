"""INT collector: decode telemetry reports into per-packet path records.

A report is the sink's copy of a watched packet (see p4src/int.p4 for the wire
format): Ethernet, IPv4, UDP, the INT shim, the INT-MD header, the metadata stack
(newest hop first) and the original UDP payload. decode() turns one into a
PathRecord whose hops are in path order (source first).

Run by hand against `sudo labtool up int` (send some watched traffic, e.g.
`h1 bash -c 'echo hi > /dev/udp/10.0.0.2/5001'` in the Mininet CLI):
    sudo .venv/bin/python controllers/int_collector.py [seconds]
listens on the collector host, then prints one line per hop and a per-hop latency
chart.
"""

from __future__ import annotations

import socket
import struct
import sys
from dataclasses import dataclass, field

INT_DSCP = 0x17
INT_TYPE_MD = 1
# instruction bit (0 = most significant) -> (name, words)
INSTRUCTIONS = [("switch_id", 1), ("ports", 1), ("hop_latency", 1), ("queue", 1),
                ("ingress_ts", 2), ("egress_ts", 2)]


class ReportError(ValueError):
    """The frame is not a well-formed INT report."""


@dataclass
class Hop:
    switch_id: int | None = None
    ingress_port: int | None = None
    egress_port: int | None = None
    hop_latency: int | None = None
    queue_id: int | None = None
    queue_occupancy: int | None = None
    ingress_ts: int | None = None
    egress_ts: int | None = None


@dataclass
class PathRecord:
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes
    instructions: int
    hop_ml: int
    remaining_hop_cnt: int
    exceeded: bool
    hops: list[Hop] = field(default_factory=list)  # source first


def decode(frame: bytes) -> PathRecord:
    """One report frame -> its path record; ReportError says what is malformed."""
    if len(frame) < 14 + 20 + 8 + 16 or frame[12:14] != b"\x08\x00":
        raise ReportError("not an IPv4 frame long enough for INT")
    ihl = (frame[14] & 0x0F) * 4
    dscp = frame[15] >> 2
    if frame[23] != 17:
        raise ReportError("not UDP")
    if dscp != INT_DSCP:
        raise ReportError(f"DSCP {dscp:#x}, not the INT marker {INT_DSCP:#x}")
    udp = 14 + ihl
    sport, dport = struct.unpack_from("!HH", frame, udp)
    shim = udp + 8
    int_type, length = frame[shim] >> 4, frame[shim + 1]
    if int_type != INT_TYPE_MD:
        raise ReportError(f"INT type {int_type}, not INT-MD")
    md = shim + 4
    word0, instructions = struct.unpack_from("!IH", frame, md)
    exceeded = bool(word0 >> 26 & 1)
    hop_ml = word0 >> 8 & 0x1F
    remaining = word0 & 0xFF
    stack_words = length - 4
    stack = md + 12
    end = stack + 4 * stack_words
    if stack_words < 0 or end > len(frame):
        raise ReportError(f"INT length {length} words does not fit the frame")
    words = list(struct.unpack_from(f"!{stack_words}I", frame, stack))
    record = PathRecord(socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]),
                        sport, dport, frame[end:], instructions, hop_ml, remaining, exceeded)
    # the bitmap says how long a hop's record is; hop_ml must agree wherever a hop
    # recorded anything
    per_hop = words_per_hop(instructions)
    if stack_words and (not per_hop or stack_words % per_hop):
        raise ReportError(f"{stack_words} stack words are not whole hops of {per_hop} words "
                          f"(instructions {instructions:#06x})")
    if stack_words and hop_ml != per_hop:
        raise ReportError(f"hop_ml {hop_ml}, but instructions {instructions:#06x} ask for "
                          f"{per_hop} words per hop")
    for h in range(stack_words // per_hop if per_hop else 0):
        record.hops.append(_hop(words[h * per_hop:(h + 1) * per_hop], instructions))
    record.hops.reverse()  # the stack is newest first
    return record


def words_per_hop(instructions: int) -> int:
    """Words one hop's record takes for an instruction bitmap (bits 0-5)."""
    return sum(size for bit, (_, size) in enumerate(INSTRUCTIONS)
               if instructions & (0x8000 >> bit))


def _hop(words: list[int], instructions: int) -> Hop:
    hop = Hop()
    i = 0
    for bit, (name, size) in enumerate(INSTRUCTIONS):
        if not instructions & (0x8000 >> bit):
            continue
        value = words[i] if size == 1 else words[i] << 32 | words[i + 1]
        i += size
        if name == "ports":
            hop.ingress_port, hop.egress_port = value >> 16, value & 0xFFFF
        elif name == "queue":
            hop.queue_id, hop.queue_occupancy = value >> 24, value & 0xFFFFFF
        else:
            setattr(hop, name, value)
    return hop


def table(records: list[PathRecord]) -> str:
    lines = [f"{'packet':>6}  {'flow':<36} {'hop':>3} {'switch':>6} {'in':>3} {'out':>3} "
             f"{'latency µs':>10} {'queue':>5}"]
    for n, rec in enumerate(records, 1):
        flow = f"{rec.src}:{rec.sport} -> {rec.dst}:{rec.dport}"
        for i, hop in enumerate(rec.hops, 1):
            lines.append(f"{n:>6}  {flow if i == 1 else '':<36} {i:>3} {hop.switch_id!s:>6} "
                         f"{hop.ingress_port!s:>3} {hop.egress_port!s:>3} "
                         f"{hop.hop_latency!s:>10} {hop.queue_occupancy!s:>5}")
        if rec.exceeded:
            lines.append(f"{'':>6}  {'':<36} max hop count exceeded: later hops not recorded")
    return "\n".join(lines)


def latency_chart(records: list[PathRecord], width: int = 40) -> str:
    """Mean hop latency per switch, as a bar chart."""
    sums: dict[int, list[int]] = {}
    for rec in records:
        for hop in rec.hops:
            if hop.switch_id is not None and hop.hop_latency is not None:
                sums.setdefault(hop.switch_id, []).append(hop.hop_latency)
    if not sums:
        return "(no hop latencies)"
    means = {s: sum(v) / len(v) for s, v in sums.items()}
    top = max(means.values()) or 1
    return "\n".join(f"switch {s:>5} {'#' * max(1, round(width * m / top)):<{width}} {m:8.1f} µs"
                     for s, m in sorted(means.items()))


def main() -> None:
    import time

    from labtool.attach import attach_host_port

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    port = attach_host_port("c1")
    print(f"listening on c1 for {seconds:.0f} s ...")
    records = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for received in port.read_ready():
            try:
                records.append(decode(received.data))
            except ReportError as exc:
                print(f"not a report: {exc}")
        time.sleep(0.05)
    print(table(records))
    print(latency_chart(records))


if __name__ == "__main__":
    main()
