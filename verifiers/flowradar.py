"""Verifier for lab 3 (FlowRadar): three switches in a line, six hosts.

Must prove: for ~100 flows (TCP and UDP, random packet counts) the collector
reports exactly the flows and the packet counts each switch saw; a load that
single decode cannot finish at one switch (s2, in the middle) is finished by
network-wide decode; the registers read from BMv2 equal a Python reference
encoder fed the same packets, bit for bit; the collector's reset starts a clean
epoch. Also that routing delivers every packet (TTL one lower per switch).

The traffic is drawn from a fixed seed, chosen (by running the reference encoder
and decoder first) so that the load really has those properties and no flow is
hidden by a Bloom-filter false positive, which would make the expected registers
depend on the order in which BMv2 happens to interleave ports.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from pathlib import Path
from typing import Any

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import HostInfo, LabContext
from labtool.loader import load_module
from labtool.routing import switch_path

collector = load_module(Path(__file__).resolve().parents[1] / "controllers"
                        / "flowradar_collector.py", "collector")
Flow = tuple[int, int, int, int, int]
TTL = 64
# (one end's hosts, other end's hosts, flows): endpoints and direction drawn per flow
CLASSES = [
    (("h1", "h2"), ("h5", "h6"), 30),  # across s1, s2, s3
    (("h1",), ("h2",), 10),            # s1 only
    (("h5",), ("h6",), 10),            # s3 only
    (("h3",), ("h4",), 50),            # s2 only: s2 holds more flows than it decodes alone
    (("h1", "h2"), ("h3", "h4"), 4),   # s1, s2
    (("h3", "h4"), ("h5", "h6"), 4),   # s2, s3
]
EPOCH2 = [
    (("h1", "h2"), ("h5", "h6"), 6),
    (("h3",), ("h4",), 3),
]
OVERLOADED = "s2"


def ip_int(host: HostInfo) -> int:
    return int(ipaddress.IPv4Address(host.ip))


class Load:
    """Flows with their hosts, packet counts and the switches they cross."""

    def __init__(self, lab: LabContext, classes: list[tuple[tuple[str, ...], tuple[str, ...], int]],
                 seed: int) -> None:
        rng = random.Random(seed)
        self.flows: dict[Flow, tuple[str, str, int]] = {}  # flow -> (src, dst, packets)
        used_ports: set[int] = set()
        for ends_a, ends_b, n in classes:
            for _ in range(n):
                src, dst = rng.choice(ends_a), rng.choice(ends_b)
                if rng.random() < 0.5:
                    src, dst = dst, src
                sport = rng.randrange(1024, 65536)
                while sport in used_ports:
                    sport = rng.randrange(1024, 65536)
                used_ports.add(sport)
                proto = rng.choice((6, 17))
                flow = (ip_int(lab.host(src)), ip_int(lab.host(dst)), sport,
                        rng.randrange(1, 65536), proto)
                self.flows[flow] = (src, dst, rng.randrange(1, 13))
        self.path = {fl: switch_path(lab.lab, lab.host(s).switch, lab.host(d).switch)
                     for fl, (s, d, _) in self.flows.items()}
        self.seen = {sw: {fl: self.flows[fl][2] for fl in self.flows if sw in self.path[fl]}
                     for sw in lab.lab.switches}
        self.rng = rng

    def reference(self, layout: Any) -> dict[str, Any]:
        """Each switch's registers after its packets, from the reference encoder."""
        out = {}
        for sw, flows in self.seen.items():
            enc = collector.ReferenceEncoder(layout)
            for flow, n in flows.items():
                for _ in range(n):
                    enc.packet(flow)
            out[sw] = enc.regs
        return out

    def unambiguous(self, layout: Any, regs: dict[str, Any]) -> bool:
        """No flow's filter bits are all covered by other flows where it passes (then
        its first packet would count as known, in an order-dependent way), and no flow
        looks present in the filter of a switch it does not cross (network-wide decode
        would remove it there)."""
        bits = {fl: set(layout.filter_positions(fl)) for fl in self.flows}
        for sw, flows in self.seen.items():
            for flow in flows:
                if bits[flow] <= set().union(*(bits[g] for g in flows if g != flow)):
                    return False
            in_filter = {i for i, v in enumerate(regs[sw].filter) if v}
            if any(bits[fl] <= in_filter for fl in self.flows if fl not in flows):
                return False
        return True

    def frames(self, lab: LabContext) -> dict[str, list[bytes]]:
        """Every packet, per sending host, flows mixed."""
        out: dict[str, list[bytes]] = {}
        for flow, (src, dst, n) in self.flows.items():
            s, d = lab.host(src), lab.host(dst)
            make = f.tcp if flow[4] == 6 else f.udp
            frame = bytes(make(s, d, b"flowradar", sport=flow[2], dport=flow[3], ttl=TTL,
                               dst_mac=lab.switch_mac(s.switch, s.port)))
            out.setdefault(src, []).extend([frame] * n)
        for frames in out.values():
            self.rng.shuffle(frames)
        return out

    def expected_at(self) -> dict[str, int]:
        """Packets each destination host must receive."""
        counts: Counter[str] = Counter()
        for _, dst, n in self.flows.values():
            counts[dst] += n
        return dict(counts)


def overloading_load(lab: LabContext, layout: Any) -> Load:
    """The first seed whose load overloads s2 only, decodes network-wide, and is
    unambiguous (deterministic: the same traffic every run)."""
    for seed in range(200):
        load = Load(lab, CLASSES, seed)
        regs = load.reference(layout)
        alone = {sw: collector.single_decode(r) for sw, r in regs.items()}
        if any(alone[sw].complete == (sw == OVERLOADED) for sw in regs):
            continue
        if not load.unambiguous(layout, regs):
            continue
        decoded = collector.network_decode(regs)
        if all(d.complete and d.counts == load.seen[sw] for sw, d in decoded.items()):
            return load
    raise RuntimeError("no seed gives the intended load: the table sizes changed?")


def first_register_difference(sw: str, got: Any, want: Any) -> str | None:
    for name, values in got.by_name().items():
        ref = want.by_name()[name]
        if len(values) != len(ref):
            return f"{sw}: {name} has {len(values)} cells, the contract says {len(ref)}"
        for i, (a, b) in enumerate(zip(values, ref)):
            if a != b:
                diffs = sum(x != y for x, y in zip(values, ref))
                return (f"{sw}: {name}[{i}] is {a:#x}, the reference encoder has {b:#x} "
                        f"({diffs} of {len(ref)} cells differ)")
    return None


def describe_flows(flows: set[Flow], limit: int = 3) -> str:
    listed = ", ".join(collector.describe(fl) for fl in sorted(flows)[:limit])
    return listed + (f" and {len(flows) - limit} more" if len(flows) > limit else "")


def compare_decode(sw: str, found: set[Flow], truth: dict[Flow, int]) -> str | None:
    missing, extra = set(truth) - found, found - set(truth)
    if missing or extra:
        return (f"{sw}: {len(found)} flows decoded, {len(truth)} crossed it"
                + (f"; missing {describe_flows(missing)}" if missing else "")
                + (f"; not sent through it: {describe_flows(extra)}" if extra else ""))
    return None


def verify(lab: LabContext) -> None:
    switches = list(lab.lab.switches)
    layout = collector.layout_of(lab.switch(switches[0]))
    load = overloading_load(lab, layout)
    sends = load.frames(lab)
    got = lab.burst(sends, expect=load.expected_at())

    with lab.check(f"all {sum(n for *_, n in load.flows.values())} packets of "
                   f"{len(load.flows)} flows reach their destination, TTL one lower per switch"):
        for host, frames in got.items():
            want: Counter[Flow | None] = Counter(
                {fl: n for fl, (_, dst, n) in load.flows.items() if dst == host})
            have: Counter[Flow | None] = Counter(_flow_of(b) for b in frames)
            if have != want:
                wrong = next(fl for fl in set(want) | set(have) if want[fl] != have[fl])
                what = collector.describe(wrong) if wrong else "frames that are not TCP/UDP"
                raise CheckFailed(f"{host}: {what}: expected {want[wrong]} packets, "
                                  f"got {have[wrong]}")
            for frame in frames:
                fl = _flow_of(frame)
                hops = len(load.path[fl]) if fl in load.path else 0
                if frame[22] != TTL - hops:
                    raise CheckFailed(f"{host}: {collector.describe(fl)} arrived with TTL "
                                      f"{frame[22]}, expected {TTL - hops} ({hops} switches)")
                if not f.ipv4_checksum_ok(frame):
                    raise CheckFailed(f"{host}: {collector.describe(fl)}: IPv4 checksum invalid")

    read = {sw: collector.read(lab.switch(sw), reset=False) for sw in switches}
    with lab.check("every switch's registers equal the Python reference encoder's, bit for bit"):
        reference = load.reference(layout)
        for sw in switches:
            diff = first_register_difference(sw, read[sw], reference[sw])
            if diff:
                raise CheckFailed(diff)

    with lab.check(f"single decode: s1 and s3 give exactly their flows; {OVERLOADED} holds "
                   f"{len(load.seen[OVERLOADED])} flows in {layout.cells} cells and stays stuck"):
        for sw in switches:
            alone = collector.single_decode(read[sw])
            if sw == OVERLOADED:
                if alone.complete:
                    raise CheckFailed(f"{sw}: single decode finished, but {sw}'s table should "
                                      f"be too full for that")
                if not alone.flows <= set(load.seen[sw]):
                    raise CheckFailed(compare_decode(sw, alone.flows, load.seen[sw]) or "")
            else:
                problem = compare_decode(sw, alone.flows, load.seen[sw])
                if problem or not alone.complete:
                    raise CheckFailed(problem or f"{sw}: single decode did not finish")

    with lab.check("network-wide decode: every switch's flows and per-flow packet counts "
                   "exactly as sent"):
        decoded = collector.network_decode(read)
        for sw in switches:
            d = decoded[sw]
            problem = compare_decode(sw, d.flows, load.seen[sw])
            if problem or not d.complete:
                raise CheckFailed(problem or f"{sw}: network-wide decode did not finish")
            if d.counts != load.seen[sw]:
                if d.counts is None:
                    raise CheckFailed(f"{sw}: the packet counters do not determine the "
                                      f"flows' counts (no unique solution)")
                wrong = next(fl for fl in load.seen[sw] if d.counts.get(fl) != load.seen[sw][fl])
                raise CheckFailed(f"{sw}: {collector.describe(wrong)}: {d.counts.get(wrong)} "
                                  f"packets decoded, {load.seen[sw][wrong]} sent")

    with lab.check("the collector's reset starts a new epoch: a second mix decodes to "
                   "exactly itself"):
        for sw in switches:
            collector.read(lab.switch(sw), reset=True)
        second = Load(lab, EPOCH2, seed=1000)
        lab.burst(second.frames(lab), expect=second.expected_at())
        again = collector.network_decode({sw: collector.read(lab.switch(sw)) for sw in switches})
        for sw in switches:
            problem = compare_decode(sw, again[sw].flows, second.seen[sw])
            if problem:
                raise CheckFailed(problem + " (was the table zeroed by the reset?)")
            if again[sw].counts != second.seen[sw]:
                raise CheckFailed(f"{sw}: packet counts after the reset differ from the "
                                  f"packets sent")


def _flow_of(frame: bytes) -> Flow | None:
    key = f.flow_key(frame)
    if key is None:
        return None
    src, dst, proto, sport, dport = key
    return (int(ipaddress.IPv4Address(src)), int(ipaddress.IPv4Address(dst)), sport, dport,
            proto)
