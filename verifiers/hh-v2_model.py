"""Reference model of lab 2.2 (hh-v2, LABS.md): routed heavy-hitter detector.

Every switch routes IPv4 by longest prefix match on the destination (table ipv4_lpm):
ipv4_forward(dstAddr, port) sends the packet out of `port` with the destination MAC
set to dstAddr, the TTL one lower and the IPv4 header checksum recomputed; drop(),
or no matching entry, drops it. The source MAC a switch writes is not specified: the
model leaves it zero and comparisons mask it (masked()).

Each switch also counts the TCP and UDP packets of every flow (the 5-tuple: source
and destination address, protocol, source and destination port): a flow's first
THRESHOLD packets pass, every later one is dropped. The spec asks for a counting
Bloom filter; without collisions (the verifier's few flows) it counts exactly, and
that is what the model does. Other IPv4 protocols are routed and never counted.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtool.loader import load_module

_HERE = Path(__file__).resolve().parent
fr: Any = load_module(_HERE / "hh-v1_frames.py", "hh_frames")
hm: Any = load_module(_HERE / "hh-v1_model.py", "hh_model")

THRESHOLD = 1000
MAX_HOPS = 8  # a verifier's routes never loop; more hops than this is a model error

FlowKey = tuple[str, str, int, int, int]


@dataclass(frozen=True)
class Route:
    prefix: Any              # hh-v1_model.Prefix
    next_mac: str | None     # None: the entry's action is drop()
    port: int = 0


class Lpm:
    """ipv4_lpm of one switch."""

    def __init__(self) -> None:
        self.routes: dict[Any, Route] = {}

    def add(self, route: Route) -> None:
        if route.prefix in self.routes:
            raise ValueError(f"{route.prefix.text()} is already routed")
        self.routes[route.prefix] = route

    def lookup(self, dst: int) -> Route | None:
        hits = [r for p, r in self.routes.items() if p.contains(dst)]
        return max(hits, key=lambda r: r.prefix.length, default=None)


def flow_key(frame: bytes) -> FlowKey | None:
    """The 5-tuple of an IPv4 TCP or UDP frame; None for anything else."""
    if not fr.is_ipv4(frame):
        return None
    proto = frame[fr.IPV4_AT + 9]
    if proto not in (fr.TCP, fr.UDP):
        return None
    l4 = fr.IPV4_AT + (frame[fr.IPV4_AT] & 0x0F) * 4
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    return fr.src_of(frame), fr.dst_of(frame), proto, sport, dport


def routed(frame: bytes, next_mac: str) -> bytes:
    """`frame` as ipv4_forward sends it on: destination MAC = next hop, source MAC
    zeroed (not specified), TTL one lower, header checksum recomputed."""
    ip_at = fr.IPV4_AT
    ihl = (frame[ip_at] & 0x0F) * 4
    header = bytearray(frame[ip_at:ip_at + ihl])
    header[8] = (header[8] - 1) & 0xFF
    header[10:12] = b"\x00\x00"
    header[10:12] = fr.inet_checksum(bytes(header)).to_bytes(2, "big")
    return fr.mac_bytes(next_mac) + bytes(6) + frame[12:ip_at] + bytes(header) + frame[ip_at + ihl:]


def masked(frame: bytes) -> bytes:
    """`frame` with its source MAC zeroed: what the spec says nothing about."""
    return frame[:6] + bytes(6) + frame[12:]


class Network:
    """The lab's switches running the program: their routes and flow counts.

    ports: (switch, port) -> the node on the other end of that link, as
    ("host", name) or ("switch", name, its port); host_at: host -> (switch, port)."""

    def __init__(self, ports: dict[tuple[str, int], tuple[str, ...]],
                 host_at: dict[str, tuple[str, int]]) -> None:
        self.ports, self.host_at = ports, host_at
        switches = {sw for sw, _ in ports} | {sw for sw, _ in host_at.values()}
        self.tables = {sw: Lpm() for sw in switches}
        self.counts: dict[str, Counter[FlowKey]] = {sw: Counter() for sw in switches}

    def clear_routes(self) -> None:
        self.tables = {sw: Lpm() for sw in self.tables}

    def send(self, host: str, frame: bytes) -> tuple[str, bytes] | None:
        """Where `frame` sent by `host` ends up: (receiving host, the frame it gets with
        the source MAC zeroed), or None if a switch drops it."""
        switch, _ = self.host_at[host]
        for _ in range(MAX_HOPS):
            out = self.forward(switch, frame)
            if out is None:
                return None
            port, frame = out
            peer = self.ports.get((switch, port))
            if peer is None:
                return None  # a port with nothing attached
            if peer[0] == "host":
                return peer[1], frame
            switch = peer[1]
        raise ValueError(f"a frame from {host} crossed more than {MAX_HOPS} switches: the "
                         "verifier's routes loop")

    def forward(self, switch: str, frame: bytes) -> tuple[int, bytes] | None:
        """One switch: (out port, frame as it leaves) or None (dropped)."""
        if not fr.is_ipv4(frame):
            return None
        route = self.tables[switch].lookup(fr.ip_int(fr.dst_of(frame)))
        if route is None or route.next_mac is None:
            return None
        key = flow_key(frame)
        if key is not None:
            if self.counts[switch][key] >= THRESHOLD:
                return None
            self.counts[switch][key] += 1
        return route.port, routed(frame, route.next_mac)
