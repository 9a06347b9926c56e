"""Traffic for the FlowRadar verifier, drawn from the run's seed, with the properties
each check needs, proven on the reference encoder (controllers/flowradar_collector.py)
before anything is sent.

Epoch 1 (the lab's "~100 flows"): TCP and UDP flows between hosts at both ends and in
the middle of the line, 1 to 12 packets (one flow far more), a group of flows that
differ from one base flow in exactly one 5-tuple field each, port numbers 0 and
65535 and a spoofed source at the top of the address space; the middle switch holds
more flows than its counting table decodes alone, network-wide decode finishes every
switch with exact counts. Then a tail: flows through the middle switch whose filter
bits the first burst already set, all but one (each leaves a different bit clear): a
new flow must be recognised by any of its bits being clear.

Epoch 2 (after the collector read and reset the registers): some flows of epoch 1
again (new flows again in the new epoch) and new ones; the middle switch now holds
more flows than any decode can finish, so the collector must say so.

Every load is unambiguous: no flow's filter bits are all set by the other flows of a
switch it crosses (its first packet would count as a known flow's, depending on the
order BMv2 interleaves ports), and no flow looks present in the filter of a switch it
does not cross (network-wide decode would remove it there).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtool.context import LabContext
from labtool.loader import load_module
from labtool.routing import switch_path

collector: Any = load_module(Path(__file__).resolve().parents[1] / "controllers"
                             / "flowradar_collector.py", "collector")
Flow = tuple[int, int, int, int, int]  # src IP, dst IP, src port, dst port, protocol
TCP, UDP = 6, 17
MIDDLE = "s2"
# (one end's hosts, other end's hosts, flows per 96 counting cells)
EPOCH1_CLASSES = [
    (("h1", "h2"), ("h5", "h6"), 30),  # across s1, s2, s3
    (("h1",), ("h2",), 10),            # s1 only
    (("h5",), ("h6",), 10),            # s3 only
    (("h3",), ("h4",), 33),            # s2 only: s2 holds more flows than it decodes alone
    (("h1", "h2"), ("h3", "h4"), 4),   # s1, s2
    (("h3", "h4"), ("h5", "h6"), 4),   # s2, s3
]
EPOCH2_CROSS = 6
EPOCH2_MIDDLE_PER_CELL = 1.3  # flows per counting cell: beyond any decode (k = 3: ~0.82)


@dataclass(frozen=True)
class Sent:
    src: str        # sending host
    dst: str        # receiving host
    packets: int


@dataclass
class Epoch:
    """The flows of one epoch: a main burst and a tail sent after it."""

    main: dict[Flow, Sent] = field(default_factory=dict)
    tail: dict[Flow, Sent] = field(default_factory=dict)
    path: dict[Flow, list[str]] = field(default_factory=dict)

    @property
    def flows(self) -> dict[Flow, Sent]:
        return {**self.main, **self.tail}

    def seen(self, switches: Iterable[str]) -> dict[str, dict[Flow, int]]:
        """Per switch, the flows that cross it and their packets."""
        return {sw: {fl: s.packets for fl, s in self.flows.items() if sw in self.path[fl]}
                for sw in switches}

    def reference(self, layout: Any, switches: Iterable[str]) -> dict[str, Any]:
        """Each switch's registers after the main burst and then the tail."""
        out = {}
        for sw in switches:
            enc = collector.ReferenceEncoder(layout)
            for part in (self.main, self.tail):
                for flow, sent in part.items():
                    if sw in self.path[flow]:
                        enc.packets(flow, sent.packets)
            out[sw] = enc.regs
        return out


def ip_int(lab: LabContext, host: str) -> int:
    return int(ipaddress.IPv4Address(lab.host(host).ip))


class Drawer:
    """Flows drawn from lab.rng, each with fresh ports (no accidental duplicates)."""

    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self.rng = lab.rng
        self.taken: set[Flow] = set()
        self.ip = {h: ip_int(lab, h) for h in lab.hosts}

    def add(self, epoch: Epoch, flow: Flow, src: str, dst: str, packets: int,
            tail: bool = False) -> None:
        if flow in self.taken:
            raise ValueError(f"flow {collector.describe(flow)} drawn twice")
        self.taken.add(flow)
        (epoch.tail if tail else epoch.main)[flow] = Sent(src, dst, packets)
        epoch.path[flow] = switch_path(self.lab.lab, self.lab.host(src).switch,
                                       self.lab.host(dst).switch)

    def flow(self, src: str, dst: str, proto: int | None = None) -> Flow:
        while True:
            flow = (self.ip[src], self.ip[dst], self.rng.randrange(1, 65536),
                    self.rng.randrange(1, 65536), proto or self.rng.choice((TCP, UDP)))
            if flow not in self.taken:
                return flow

    def endpoints(self, ends_a: tuple[str, ...], ends_b: tuple[str, ...]) -> tuple[str, str]:
        src, dst = self.rng.choice(ends_a), self.rng.choice(ends_b)
        return (dst, src) if self.rng.random() < 0.5 else (src, dst)

    def packets(self) -> int:
        return self.rng.randrange(1, 13)


def scaled(count: int, layout: Any) -> int:
    cells: int = layout.cells
    return max(1, round(count * cells / 96))


def draw_epoch1(lab: LabContext, layout: Any, tries: int = 300) -> Epoch:
    for _ in range(tries):
        drawer = Drawer(lab)
        epoch = Epoch()
        for ends_a, ends_b, n in EPOCH1_CLASSES:
            for _ in range(scaled(n, layout)):
                src, dst = drawer.endpoints(ends_a, ends_b)
                drawer.add(epoch, drawer.flow(src, dst), src, dst, drawer.packets())
        add_one_field_group(drawer, epoch)
        add_extremes(drawer, epoch)
        vary_counts(drawer, epoch)
        # the tail's search is the costly part: only for a load that already works
        if epoch1_works(lab, epoch, layout) and add_tail(drawer, epoch, layout) and \
                epoch1_works(lab, epoch, layout):
            return epoch
    raise RuntimeError(f"no load in {tries} draws overloads {MIDDLE} only and decodes "
                       "network-wide: did the table sizes change?")


def vary_counts(drawer: Drawer, epoch: Epoch) -> None:
    """One flow with far more packets than the others, eight with a single one."""
    heavy, *singles = drawer.rng.sample(list(epoch.main), 9)
    for flow, packets in [(heavy, drawer.rng.randrange(150, 300))] + [(f, 1) for f in singles]:
        epoch.main[flow] = Sent(epoch.main[flow].src, epoch.main[flow].dst, packets)


def epoch1_works(lab: LabContext, epoch: Epoch, layout: Any) -> bool:
    """Unambiguous; single decode finishes every switch but the middle one; network-wide
    decode finishes every switch with the exact packet counts."""
    switches = sorted(lab.lab.switches)
    regs = epoch.reference(layout, switches)
    if not unambiguous(epoch, layout, regs):
        return False
    if any(collector.single_decode(r).complete == (sw == MIDDLE) for sw, r in regs.items()):
        return False
    seen = epoch.seen(switches)
    decoded = collector.network_decode(regs)
    return all(d.complete and d.counts == seen[sw] for sw, d in decoded.items())


def add_one_field_group(drawer: Drawer, epoch: Epoch) -> None:
    """A flow across the whole line and five more, each differing from it in exactly
    one field: source (the other host on the same switch), destination (likewise),
    source port, destination port (one bit flipped), protocol."""
    base = drawer.flow("h1", "h5")
    src, dst, sport, dport, proto = base
    variants: list[tuple[Flow, str, str]] = [
        (base, "h1", "h5"),
        ((ip_int(drawer.lab, "h2"), dst, sport, dport, proto), "h2", "h5"),
        ((src, ip_int(drawer.lab, "h6"), sport, dport, proto), "h1", "h6"),
        ((src, dst, sport ^ 1 << drawer.rng.randrange(16), dport, proto), "h1", "h5"),
        ((src, dst, sport, dport ^ 1 << drawer.rng.randrange(16), proto), "h1", "h5"),
        ((src, dst, sport, dport, TCP + UDP - proto), "h1", "h5"),
    ]
    for flow, s, d in variants:
        if flow not in drawer.taken:
            drawer.add(epoch, flow, s, d, drawer.packets())


# BMv2's Thrift runtime reads a register cell as a signed 64-bit number: a cell with
# its top bit set reads as 0x7fffffffffffffff. flow_xor_addrs holds srcAddr ++ dstAddr,
# so a source address from 128.0.0.0 up cannot be read back: the highest the lab's
# register layout carries is just below.
TOP_SOURCE = 0x7FFFFFFE


def add_extremes(drawer: Drawer, epoch: Epoch) -> None:
    """Ports at both ends of their 16 bits, and a spoofed source address at the top
    of what the register layout carries (routing looks at the destination only)."""
    h3, h5 = ip_int(drawer.lab, "h3"), ip_int(drawer.lab, "h5")
    for flow, s, d in (((h3, h5, 0, 65535, UDP), "h3", "h5"),
                       ((h5, h3, 65535, 0, TCP), "h5", "h3"),
                       ((TOP_SOURCE, h5, 65535, 65535, UDP), "h1", "h5")):
        if flow not in drawer.taken:
            drawer.add(epoch, flow, s, d, drawer.packets())


def add_tail(drawer: Drawer, epoch: Epoch, layout: Any, tries: int = 20000) -> bool:
    """One flow through the middle switch per filter hash whose other filter bits the
    main burst already set at that switch, and this one not (nor any bit of another
    tail flow: their order among themselves does not matter)."""
    covered = set().union(*(layout.filter_positions(f) for f in epoch.main
                            if MIDDLE in epoch.path[f]))
    tail_bits: set[int] = set()
    for clear in range(collector.FILTER_HASHES):
        others = [j for j in range(collector.FILTER_HASHES) if j != clear]
        for _ in range(tries):
            src, dst = drawer.endpoints(("h3",), ("h4",))
            flow = drawer.flow(src, dst)
            # most candidates fail at their first bit: one CRC each
            if all(layout.filter_position(flow, j) in covered for j in others) and \
                    layout.filter_position(flow, clear) not in covered | tail_bits:
                drawer.add(epoch, flow, src, dst, drawer.rng.randrange(1, 4), tail=True)
                tail_bits |= set(layout.filter_positions(flow))
                break
        else:
            return False
    return True


@dataclass(frozen=True)
class Prefix:
    """A route the verifier adds through the contract: `network/length` to `host`."""

    network: int
    length: int
    host: str

    def addresses(self, rng: Any, n: int) -> list[int]:
        """Its first and last address, then n - 2 others inside it."""
        size = 1 << (32 - self.length)
        inner = [self.network + rng.randrange(size) for _ in range(n - 2)]
        return [self.network, self.network + size - 1] + inner

    def text(self) -> str:
        return f"{ipaddress.IPv4Address(self.network)}/{self.length}"


def draw_prefix(lab: LabContext, host: str) -> Prefix:
    """A prefix of 8 to 30 bits anywhere but around the hosts' 10.0.0.0/24."""
    hosts = ipaddress.IPv4Network("10.0.0.0/24")
    while True:
        length = lab.rng.randrange(8, 31)
        network = lab.rng.getrandbits(32) & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF
        if not ipaddress.IPv4Network((network, length)).overlaps(hosts):
            return Prefix(network, length, host)


def draw_epoch2(lab: LabContext, layout: Any, before: Epoch, prefix: Prefix | None = None,
                tries: int = 300) -> Epoch:
    """Flows of epoch 1 again (one across the line, one local to each end switch), new
    flows across the line (some to addresses of `prefix`, routed by the entries the
    verifier added), and more flows local to the middle switch than any decode can
    finish there."""
    switches = sorted(lab.lab.switches)
    for _ in range(tries):
        drawer = Drawer(lab)
        epoch = Epoch()
        if prefix is not None:
            for dst_ip in prefix.addresses(drawer.rng, 4):
                src = drawer.rng.choice(("h1", "h2"))
                flow = (drawer.ip[src], dst_ip, drawer.rng.randrange(65536),
                        drawer.rng.randrange(65536), drawer.rng.choice((TCP, UDP)))
                drawer.add(epoch, flow, src, prefix.host, drawer.packets())
        cross = [f for f in before.main if len(before.path[f]) == len(switches)]
        local = {sw: [f for f in before.main if before.path[f] == [sw]] for sw in switches}
        for flow in [drawer.rng.choice(cross)] + [drawer.rng.choice(local[sw])
                                                   for sw in switches if sw != MIDDLE]:
            drawer.add(epoch, flow, before.main[flow].src, before.main[flow].dst,
                       drawer.packets())
        drawer.taken |= set(before.flows)
        for _ in range(EPOCH2_CROSS):
            src, dst = drawer.endpoints(("h1", "h2"), ("h5", "h6"))
            drawer.add(epoch, drawer.flow(src, dst), src, dst, drawer.packets())
        for _ in range(round(EPOCH2_MIDDLE_PER_CELL * layout.cells)):
            src, dst = drawer.endpoints(("h3",), ("h4",))
            drawer.add(epoch, drawer.flow(src, dst), src, dst, drawer.rng.choice((1, 1, 2)))
        regs = epoch.reference(layout, switches)
        if not unambiguous(epoch, layout, regs):
            continue
        seen = epoch.seen(switches)
        decoded = collector.network_decode(regs)
        if decoded[MIDDLE].complete:
            continue
        if all(decoded[sw].complete and decoded[sw].counts == seen[sw]
               for sw in switches if sw != MIDDLE):
            return epoch
    raise RuntimeError(f"no second epoch in {tries} draws: did the table sizes change?")


def unambiguous(epoch: Epoch, layout: Any, regs: Mapping[str, Any]) -> bool:
    """See the module's docstring. The tail flows are checked against the main burst
    only: they are sent after it, so the main burst's bits are set when they come."""
    bits = {fl: set(layout.filter_positions(fl)) for fl in epoch.flows}
    for sw, reg in regs.items():
        here = [fl for fl in epoch.main if sw in epoch.path[fl]]
        for flow in here:
            others = set().union(*(bits[g] for g in here if g != flow))
            if bits[flow] <= others:
                return False
        for flow in epoch.tail:
            if sw in epoch.path[flow]:
                others = set().union(*(bits[g] for g in epoch.flows
                                       if g != flow and sw in epoch.path[g]))
                if bits[flow] <= others:
                    return False
        in_filter = {i for i, v in enumerate(reg.filter) if v}
        if any(bits[fl] <= in_filter for fl in epoch.flows if sw not in epoch.path[fl]):
            return False
    return True
