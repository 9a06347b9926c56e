"""Verifier for the HULA lab: three ToRs (one host each) under two spines.

Must prove: with probes running, every switch holds a next hop for every other ToR
and the paths are loop-free (and data gets through between every pair of hosts);
after a heavy background flow loads one spine, at least 80 % of new flows between
the same leaves take the other spine; the packets of one flow arrive in order and
the flow stays on its spine although the best path changed under it.

Which spine a packet took is read from the kernel counters of the spine ports
(what crossed each link), so nothing depends on the program's internals beyond the
contract (best_hop). Probe requests are frames of EtherType 0x4855 from the hosts.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import HostInfo, LabContext
from labtool.loader import load_module
from labtool.routing import switch_links

ctl: Any = load_module(Path(__file__).resolve().parents[1] / "controllers" / "hula.py",
                       "controller")
PROBE_TYPE = 0x4855
SRC, DST = "h1", "h3"     # the leaves under test: tor1 -> tor3
NEW_FLOWS = 20
HEAVY_PACKETS = 1200      # the background flow, paced over about half a second
HEAVY_SIZE = 1000
HEAVY_GAP_S = 400e-6
PROBE_EVERY = 50          # heavy frames between two probe requests
SHARE = 0.8


def probe_request(host: HostInfo) -> bytes:
    # origin 0 (the ToR fills in its id), path utilisation 0
    return bytes(f.ethertype(host.mac, f.BROADCAST, PROBE_TYPE, b"\x00" * 5))


def probe_round(lab: LabContext) -> None:
    """Every host asks its ToR for a probe; nothing may reach any host."""
    lab.exchange({h: [probe_request(lab.host(h))] for h in lab.hosts}, expect={})


def udp(lab: LabContext, src: str, dst: str, sport: int, payload: bytes = b"hula",
        size: int | None = None) -> bytes:
    s, d = lab.host(src), lab.host(dst)
    return bytes(f.udp(s, d, payload, sport=sport, dport=7000,
                       dst_mac=lab.switch_mac(s.switch, s.port), size=size))


def delivered(lab: LabContext, frame: bytes, dst: str) -> bytes:
    """`frame` as the destination host gets it: addressed to its MAC, else unchanged."""
    return bytes.fromhex(lab.host(dst).mac.replace(":", "")) + frame[6:]


class Uplinks:
    """Frames that went up from the source ToR to each spine, from the spine ports'
    kernel counters."""

    def __init__(self, lab: LabContext, tor: str) -> None:
        self.lab = lab
        self.ends = {spine: port for _, spine, port in switch_links(lab.lab)[tor]}

    def read(self) -> dict[str, int]:
        return {s: self.lab.switch_port_counter(s, p, "rx_packets") for s, p in self.ends.items()}


def spine_of_each(lab: LabContext, uplinks: Uplinks, count: int, first_port: int) -> list[str]:
    """Send `count` new one-packet flows SRC -> DST one after the other; the spine each
    one crossed."""
    taken = []
    for i in range(count):
        before = uplinks.read()
        frame = udp(lab, SRC, DST, first_port + i)
        lab.exchange(SRC, [frame], expect={DST: [delivered(lab, frame, DST)]})
        after = uplinks.read()
        moved = [s for s in after if after[s] != before[s]]
        if len(moved) != 1:
            raise CheckFailed(f"new flow {i + 1} ({SRC} -> {DST}): went up to {moved or 'no'} "
                              "spine(s)")
        taken.append(moved[0])
    return taken


def registers(lab: LabContext, switch: str, name: str) -> list[int]:
    values = lab.switch(switch).register_read(name)
    assert isinstance(values, list)
    return values


def shares(taken: list[str], spines: list[str]) -> str:
    return ", ".join(f"{s} {taken.count(s)}/{len(taken)}" for s in spines)


def verify(lab: LabContext) -> None:
    links = switch_links(lab.lab)
    leaves = ctl.tors(lab)
    spines = sorted(s for s in lab.lab.switches if s not in leaves)
    uplinks = Uplinks(lab, lab.host(SRC).switch)

    with lab.check("with probes running, every switch has a next hop for every other ToR, "
                   "the paths are loop-free, and data gets through between all hosts"):
        probe_round(lab)
        probe_round(lab)
        for leaf in leaves:
            hops = registers(lab, leaf, "best_hop")
            for dst in leaves:
                if dst == leaf:
                    continue
                d = ctl.tor_id(lab, dst)
                port = hops[d]
                up = {p: other for p, other, _ in links[leaf]}
                if port not in up:
                    raise CheckFailed(f"{leaf}: best_hop[{d}] (toward {dst}) is {port}, not one "
                                      f"of its uplinks {sorted(up)}")
                spine = up[port]
                down = {other: p for p, other, _ in links[spine]}
                spine_hop = registers(lab, spine, "best_hop")[d]
                if spine_hop != down[dst]:
                    raise CheckFailed(f"{leaf} -> {spine} -> ?: {spine}'s best_hop[{d}] is "
                                      f"{spine_hop}, but {dst} is on its port {down[dst]} "
                                      "(a loop or a dead end)")
        for a in lab.hosts:
            for b in lab.hosts:
                if a != b:
                    frame = udp(lab, a, b, 5000)
                    lab.exchange(a, [frame], expect={b: [delivered(lab, frame, b)]})

    with lab.check(f"before any load, {NEW_FLOWS} new flows {SRC} -> {DST} each take one "
                   "spine"):
        before = spine_of_each(lab, uplinks, NEW_FLOWS, 20000)
        loaded = max(spines, key=before.count)
        lab.note(f"path shares before the load: {shares(before, spines)}")

    heavy_at_spines = {s: 0 for s in spines}
    with lab.check(f"a heavy flow {SRC} -> {DST} ({HEAVY_PACKETS} packets) stays "
                   "on its spine and arrives complete and in order while probes run"):
        # one paced burst (no pause the flowlet timeout could see), with a probe request
        # from every other host after every PROBE_EVERY heavy frames, spread over time
        template = udp(lab, SRC, DST, 9999, bytes(4), size=HEAVY_SIZE)
        seq = HEAVY_PACKETS
        plan: list[tuple[str, bytes]] = []
        for i in range(seq):
            plan.append((SRC, template[:42] + struct.pack("!I", i) + template[46:]))
            if i % PROBE_EVERY == PROBE_EVERY - 1:
                plan += [(h, probe_request(lab.host(h))) for h in lab.hosts if h != SRC]
        start = uplinks.read()
        received = lab.burst(plan, expect={DST: seq}, back_to_back=0, gap_s=HEAVY_GAP_S)[DST]
        end = uplinks.read()
        heavy_at_spines = {s: end[s] - start[s] for s in spines}
        order = [struct.unpack_from("!I", fr, 42)[0] for fr in received if len(fr) >= 46]
        if order != list(range(seq)):
            first = next((i for i, v in enumerate(order) if v != i), len(order))
            raise CheckFailed(f"{DST}: {len(order)} of {seq} packets; first out of place at "
                              f"position {first}")
        used = [s for s, n in heavy_at_spines.items() if n]
        if len(used) != 1:
            raise CheckFailed(f"the heavy flow went up to several spines: {heavy_at_spines} "
                              "(it must keep its path: flowlets)")
        loaded = used[0]

    with lab.check(f"after the load, at least {SHARE:.0%} of {NEW_FLOWS} new flows {SRC} -> "
                   f"{DST} avoid the loaded spine"):
        after = spine_of_each(lab, uplinks, NEW_FLOWS, 30000)
        lab.note(f"path shares after loading {loaded}: {shares(after, spines)}")
        avoided = sum(1 for s in after if s != loaded)
        if avoided < SHARE * NEW_FLOWS:
            raise CheckFailed(f"only {avoided} of {NEW_FLOWS} new flows avoided {loaded}, which "
                              f"carried the heavy flow ({shares(after, spines)})")
