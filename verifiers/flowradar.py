"""Verifier for lab 3 (FlowRadar): three switches in a line, six hosts.

Must prove (LABS.md "flowradar"): for ~100 flows (TCP and UDP, 1 to 12 packets, one
flow with hundreds, flows that differ from one another in exactly one 5-tuple field,
ports 0 and 65535, a source address at the top of what the registers carry) the collector reports
exactly the flows and the packet counts each switch saw; a load that single decode
cannot finish at one switch (s2, in the middle) is finished by network-wide decode;
the registers read from BMv2 (filter bits, both FlowXOR parts, FlowCount,
PacketCount) equal the Python reference encoder's fed the same packets, bit for bit,
also for flows that arrive when all but one of their filter bits are already set.
Then the next epoch: after the collector read and reset the registers, a second mix
(with flows of the first again: new flows in the new epoch) encodes from zero,
decodes exactly where it can and, where more flows came than any decode separates,
is reported undecodable (no flow that was not there, the number left encoded right),
not wrong. Also that routing delivers every packet (TTL one lower per switch, valid
IPv4 checksum).

All traffic is drawn from the run's seed (flowradar_load.py), each load checked on the
reference encoder and decoder first to have the properties the checks rely on.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import LabContext
from labtool.loader import load_module
from labtool.routing import next_hops

loads: Any = load_module(Path(__file__).resolve().with_name("flowradar_load.py"),
                         "flowradar_load")
collector = loads.collector
Flow = tuple[int, int, int, int, int]
TTL = 64
MIDDLE = loads.MIDDLE


def frame_of(lab: LabContext, flow: Flow, sent: Any) -> bytes:
    """A packet of a flow from its sending host (the source address may be spoofed:
    routing looks at the destination only); TCP flows get one of several flag
    shapes."""
    src_host = lab.host(sent.src)
    src, dst, sport, dport, proto = flow
    l4 = (TCP(sport=sport, dport=dport, flags=lab.rng.choice(("S", "A", "PA", "FA", "R")))
          if proto == 6 else UDP(sport=sport, dport=dport))
    return bytes(Ether(src=src_host.mac, dst=lab.switch_mac(src_host.switch, src_host.port))
                 / IP(src=str(ipaddress.IPv4Address(src)), dst=str(ipaddress.IPv4Address(dst)),
                      ttl=TTL)
                 / l4 / Raw(b"flowradar"))


def frames(lab: LabContext, flows: dict[Flow, Any]) -> dict[str, list[bytes]]:
    """Every packet of `flows`, per sending host, flows mixed (one frame built per
    flow: Scapy takes half a millisecond a frame)."""
    out: dict[str, list[bytes]] = {}
    for flow, sent in flows.items():
        out.setdefault(sent.src, []).extend([frame_of(lab, flow, sent)] * sent.packets)
    for batch in out.values():
        lab.rng.shuffle(batch)
    return out


def expected_at(flows: dict[Flow, Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for sent in flows.values():
        counts[sent.dst] += sent.packets
    return dict(counts)


def send_epoch(lab: LabContext, epoch: Any) -> dict[str, list[bytes]]:
    """The main burst, then the tail once the switches are idle (the main burst's
    filter bits are set when the tail comes)."""
    got = lab.burst(frames(lab, epoch.main), expect=expected_at(epoch.main))
    if epoch.tail:
        tail = lab.burst(frames(lab, epoch.tail), expect=expected_at(epoch.tail))
        for host, received in tail.items():
            got.setdefault(host, []).extend(received)
    return got


def check_delivery(got: dict[str, list[bytes]], epoch: Any, macs: dict[str, bytes]) -> None:
    """Every packet at its destination, addressed to it (the last hop's MAC from the
    route), TTL one lower per switch, checksum valid."""
    for host, received in got.items():
        want: Counter[Flow | None] = Counter(
            {fl: s.packets for fl, s in epoch.flows.items() if s.dst == host})
        have: Counter[Flow | None] = Counter(_flow_of(b) for b in received)
        if have != want:
            wrong = next(fl for fl in set(want) | set(have) if want[fl] != have[fl])
            what = collector.describe(wrong) if wrong else "frames that are not TCP/UDP"
            raise CheckFailed(f"{host}: {what}: expected {want[wrong]} packets, "
                              f"got {have[wrong]}")
        for frame in received:
            fl = _flow_of(frame)
            hops = len(epoch.path[fl]) if fl in epoch.path else 0
            if frame[22] != TTL - hops:
                raise CheckFailed(f"{host}: {collector.describe(fl)} arrived with TTL "
                                  f"{frame[22]}, expected {TTL - hops} ({hops} switches)")
            if frame[0:6] != macs[host]:
                raise CheckFailed(f"{host}: {collector.describe(fl)} arrived for MAC "
                                  f"{frame[0:6].hex(':')}, not {host}'s {macs[host].hex(':')} "
                                  "(the route's next-hop MAC)")
            if not f.ipv4_checksum_ok(frame):
                raise CheckFailed(f"{host}: {collector.describe(fl)}: IPv4 checksum invalid")


def first_register_difference(sw: str, got: Any, want: Any) -> str | None:
    for name, values in got.by_name().items():
        ref = want.by_name()[name]
        if len(values) != len(ref):
            return f"{sw}: {name} has {len(values)} cells, the reference {len(ref)}"
        for i, (a, b) in enumerate(zip(values, ref)):
            if a != b:
                diffs = sum(x != y for x, y in zip(values, ref))
                return (f"{sw}: {name}[{i}] is {a:#x}, the reference encoder has {b:#x} "
                        f"({diffs} of {len(ref)} cells differ)")
    return None


def check_registers(read: dict[str, Any], reference: dict[str, Any]) -> None:
    for sw in sorted(read):
        diff = first_register_difference(sw, read[sw], reference[sw])
        if diff:
            raise CheckFailed(diff)


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


def check_exact(sw: str, decoded: Any, truth: dict[Flow, int]) -> None:
    """Exactly the flows and packet counts that crossed the switch."""
    problem = compare_decode(sw, decoded.flows, truth)
    if problem or not decoded.complete:
        raise CheckFailed(problem or f"{sw}: {decoded.summary()}")
    if decoded.counts != truth:
        if decoded.counts is None:
            raise CheckFailed(f"{sw}: the packet counters do not determine the flows' "
                              f"counts (no unique solution)")
        wrong = next(fl for fl in truth if decoded.counts.get(fl) != truth[fl])
        raise CheckFailed(f"{sw}: {collector.describe(wrong)}: {decoded.counts.get(wrong)} "
                          f"packets decoded, {truth[wrong]} sent")


def check_undecodable(sw: str, decoded: Any, truth: dict[Flow, int]) -> None:
    """Reported undecodable, with only flows that were there and the rest counted."""
    if decoded.complete:
        raise CheckFailed(f"{sw}: decoded as complete, but {len(truth)} flows cannot all be "
                          "separated in its cells")
    extra = decoded.flows - set(truth)
    if extra:
        raise CheckFailed(f"{sw}: undecodable, yet reports flows that never crossed it: "
                          f"{describe_flows(extra)}")
    if decoded.counts is not None or decoded.remaining != len(truth) - len(decoded.flows):
        raise CheckFailed(f"{sw}: {decoded.summary()}, but {len(truth)} flows crossed it")


def host_macs(lab: LabContext) -> dict[str, bytes]:
    return {name: bytes.fromhex(lab.host(name).mac.replace(":", "")) for name in lab.hosts}


def route(lab: LabContext, prefix: Any) -> None:
    """The prefix on every switch, toward its host (as the controller routes hosts)."""
    for sw in lab.lab.switches:
        mac, port = next_hops(lab.lab, sw)[prefix.host]
        lab.switch(sw).table_add("ipv4_lpm", {"hdr.ipv4.dstAddr": prefix.text()},
                                 "ipv4_forward", {"dstAddr": mac, "port": port})


def verify(lab: LabContext) -> None:
    switches = sorted(lab.lab.switches)
    layout = collector.layout_of(lab.switch(switches[0]))
    first = loads.draw_epoch1(lab, layout)
    seen = first.seen(switches)
    got = send_epoch(lab, first)
    packets = sum(s.packets for s in first.flows.values())

    with lab.check(f"epoch 1: all {packets} packets of {len(first.flows)} flows (TCP and UDP, "
                   "1 to hundreds of packets, flows one 5-tuple field apart) reach their "
                   "destination, TTL one lower per switch, IPv4 checksum valid"):
        check_delivery(got, first, host_macs(lab))

    read = {sw: collector.read(lab.switch(sw), reset=True) for sw in switches}
    with lab.check("epoch 1: every switch's registers (filter bits, both FlowXOR parts, "
                   "FlowCount, PacketCount) equal the Python reference encoder's, bit for "
                   "bit, also after flows whose filter bits were all set but one"):
        check_registers(read, first.reference(layout, switches))

    others = [sw for sw in switches if sw != MIDDLE]
    with lab.check(f"epoch 1, single decode: {', '.join(others)} give exactly their flows; "
                   f"{MIDDLE} holds {len(seen[MIDDLE])} flows in {layout.cells} cells and is "
                   "reported undecodable, with no flow it did not see"):
        for sw in switches:
            alone = collector.single_decode(read[sw])
            if sw == MIDDLE:
                check_undecodable(sw, alone, seen[sw])
            else:
                problem = compare_decode(sw, alone.flows, seen[sw])
                if problem or not alone.complete:
                    raise CheckFailed(problem or f"{sw}: single decode {alone.summary()}")

    with lab.check("epoch 1, network-wide decode: every switch's flows and per-flow packet "
                   "counts exactly as sent"):
        decoded = collector.network_decode(read)
        for sw in switches:
            check_exact(sw, decoded[sw], seen[sw])

    prefix = loads.draw_prefix(lab, "h6")
    with lab.check(f"routes added through the contract for {prefix.text()} toward h6 "
                   "(ipv4_lpm) are accepted"):
        route(lab, prefix)
    second = loads.draw_epoch2(lab, layout, first, prefix)
    seen2 = second.seen(switches)
    got = send_epoch(lab, second)
    read = {sw: collector.read(lab.switch(sw), reset=True) for sw in switches}
    with lab.check(f"epoch 2 (after the collector's read and reset): {len(second.flows)} flows, "
                   f"some of epoch 1 again, some to {prefix.text()} (its first and last "
                   "address too), delivered, and the registers equal the reference "
                   "encoder's started from zero (a flow of epoch 1 is new again)"):
        check_delivery(got, second, host_macs(lab))
        check_registers(read, second.reference(layout, switches))

    with lab.check(f"epoch 2: {', '.join(others)} decode to exactly the new epoch's flows and "
                   f"counts; {MIDDLE}, with {len(seen2[MIDDLE])} flows in {layout.cells} cells, "
                   "is reported undecodable, not wrong"):
        decoded = collector.network_decode(read)
        for sw in switches:
            if sw == MIDDLE:
                check_undecodable(sw, decoded[sw], seen2[sw])
            else:
                check_exact(sw, decoded[sw], seen2[sw])


def _flow_of(frame: bytes) -> Flow | None:
    key = f.flow_key(frame)
    if key is None:
        return None
    src, dst, proto, sport, dport = key
    return (int(ipaddress.IPv4Address(src)), int(ipaddress.IPv4Address(dst)), sport, dport,
            proto)
