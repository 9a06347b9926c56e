"""Verifier for the HULA lab: three ToRs (one host each) under two spines.

Must prove: with probes running, every switch holds a next hop for every other ToR
and the paths are loop-free (and data gets through between every pair of hosts);
after a heavy background flow loads one spine, at least 80 % of new flows between
the same leaves take the other spine; the packets of one flow arrive in order and
the flow stays on its spine although the best path changed under it.

And over time, as the spec's design says: utilisation decays (after the heavy flow
stops and an idle period of IDLE_S passes, the spine it loaded is attractive again:
a lighter load on the OTHER spine, from another leaf toward the same ToR, must send
new flows back to it, so both spines are avoided once and a program that avoids one
fixed spine fails); flowlets: a flow whose packets come closer than the flowlet gap
stays on its path, one that resumes after FLOWLET_IDLE takes the current best path;
and flows that differ from a running flow in exactly ONE 5-tuple field (source or
destination address, protocol, source or destination port) start flowlets of their
own; a TCP flow runs beside the heavy one, and TCP flows that differ from it in one
port start their own too. The heavy flow sits in the design's last flowlet slot.
Utilisation is bytes over time and a path's is its busiest link's: with both spines
loaded toward one ToR, from different leaves, one with four times the byte rate of
the other in frames a fifth of the size and for a fifth of the time, new flows from
both leaves avoid the busier one (a leaf whose own uplink to it is idle learns of its
load only from the probe).
A load that ended 50 ms before another, a tenth heavier one, must not look busier
(whatever the time constant, an ended load's estimate only falls); two minimum-size
frames 100 ms apart are less than one full-size frame. Probe requests
claim a saturated path; the ToR must start its probe at 0.

Before each load the estimators are left to forget and two probe rounds record the
idle state, so a program blind to a load keeps the best hop the load started on
(never moves away from it by chance). The destination ToR and both source leaves
are drawn from the run's seed, the destination-address variants use host routes the
verifier adds through the contract.

Which spine a packet took is read from the kernel counters of the spine ports
(what crossed each link) or, for paced flows, from taps on those ports (which packet
crossed, and when), so nothing depends on the program's internals beyond the
contract (best_hop). A flow may change spines only where its packets came at least
GAP_LIMIT_S apart, as the send times and the taps' arrival times bound it: a move
elsewhere fails, one after such a pause (the machine held the sender or a switch up)
leaves no verdict and the run is repeated. Probe requests are frames of EtherType
0x4855 from the hosts.

Time constants of the lab's design (p4src/hula.p4, documented there): utilisation
is a discounting rate estimator with TAU = 131 ms, the flowlet gap is 50 ms. The
verifier waits IDLE_S = 300 ms (> 2 TAU) for a load to be forgotten and
FLOWLET_IDLE = 100 ms (2 gaps) for a flowlet to end; packets of one flow are at
most GAP_LIMIT_S apart where they must stay on their path.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from labtool import frames as f
from labtool import hashes
from labtool.checks import CheckFailed, HarnessError
from labtool.context import HostInfo, LabContext
from labtool.controlplane import Entry
from labtool.hostio import close_all
from labtool.linktap import Crossing
from labtool.loader import load_module
from labtool.routing import switch_links

ctl: Any = load_module(Path(__file__).resolve().parents[1] / "controllers" / "hula.py",
                       "controller")
PROBE_TYPE = 0x4855
NEW_FLOWS = 10            # new flows before the load
HEAVY_PACKETS = 800       # the first background flow, paced over about 0.3 s
HEAVY_SIZE = 1000
HEAVY_GAP_S = 400e-6
LIGHT_PACKETS = 100       # the second: an eightieth of the first's byte rate, as long
LIGHT_SIZE = 100          # (any load must tip a correct program; a stale estimate of
LIGHT_GAP_S = 3200e-6     # the first load, even of its last trickle, stays far above it)
PROBE_EVERY_S = 0.02      # probe requests during a load
SHARE = 0.8
IDLE_S = 0.3              # > 2 TAU: a load is forgotten
FLOWLET_IDLE = 0.1        # 2 flowlet gaps: a flow may move
GAP_LIMIT_S = 0.025       # half a flowlet gap: packets this close stay on their path
PROBE_LATE_S = 0.05       # probes later after a load: a 65 ms time constant nearly forgot it
VARIANT_STEP_S = 0.004    # the running flows' packets while new flows start among them
# The unequal loads, in steps of SMALL_GAP_S: the busy spine gets four times the byte
# rate of the calm one, in frames a fifth of the size (500 kB/s in 200-byte frames
# against 125 kB/s in 1000-byte frames, one step in 20), so an estimate of the last
# frame's size ranks them the other way. The calm load runs all 0.8 s, the busy one
# only the last 0.15 s (> TAU), with fewer bytes in all: a count of bytes that does
# not decay (only restarts after an idle period) ranks them the other way too.
SMALL_SIZE = 200
SMALL_GAP_S = 400e-6
BIG_SIZE = 1000
BIG_STRIDE = 20
UNEQUAL_STEPS = 2000
SMALL_FROM = 1625
ENDED_STEPS = 1250        # the ended load against the live one: 0.5 s of steps, a
ENDED_STRIDE = 5          # frame every 2 ms each (500 and 550 kB/s); the first ends
ENDED_LEAD_S = 0.05       # 50 ms before the second (probes then come well within TAU,
                          # even when the machine is slow to report the loads' end)
SMALL_SPORT = 7777
SPARSE_SIZE = 64          # two such frames 100 ms apart against one of SINGLE_SIZE
SPARSE_GAP_S = 0.1
SINGLE_SIZE = 1514
SPARSE_SPORT = 9999
BIG_SPORT = 6666
VARIANTS = 3              # flows per 5-tuple field that differ from the running flow
DPORT = 7000
TCP_STRIDE = 10           # a TCP flow runs alongside the heavy one, a frame every 4 ms
FLOWLET_SLOTS = 1024      # the design's flowlet table: slot = crc16(5-tuple) % 1024
REQUEST_UTIL = 0xFFFFFFFF  # what a host's probe request claims (the ToR starts at 0)
LIGHT_SPORT = 8888


def probe_request(host: HostInfo) -> bytes:
    """Origin 0 (the ToR fills in its id); the path utilisation is the host's word,
    which the ToR must not trust: its probe starts at 0 (one that kept a saturated
    value would make every path toward it look alike)."""
    return bytes(f.ethertype(host.mac, f.BROADCAST, PROBE_TYPE,
                             b"\x00" + REQUEST_UTIL.to_bytes(4, "big")))


def last_slot_sport(lab: LabContext, src: str, dst: str) -> int:
    """A UDP source port (from the seed on) that puts the flow src -> dst:DPORT in the
    design's last flowlet slot: a flowlet table one slot short of the hash range (or
    a hash base of 1) loses that flow's memory, so it moves with the best path."""
    a, b = (int.from_bytes(socket.inet_aton(lab.host(h).ip), "big") for h in (src, dst))
    key = hashes.fields((a, 32), (b, 32), (0, 16), (DPORT, 16), (17, 8))
    slot_hash = hashes.window_hash(hashes.crc16, key, 8, 2)   # over the source port
    first = lab.rng.randrange(1024, 65536)
    for k in range(65536 - 1024):
        sport = 1024 + (first - 1024 + k) % (65536 - 1024)
        if slot_hash(sport) % FLOWLET_SLOTS == FLOWLET_SLOTS - 1:
            return sport
    raise AssertionError("crc16 reaches every residue")


def probe_round(lab: LabContext) -> None:
    """Every host asks its ToR for a probe; nothing may reach any host."""
    lab.exchange({h: [probe_request(lab.host(h))] for h in lab.hosts}, expect={})


def probes_in_time(lab: LabContext, ended: float, what: str) -> None:
    """Probe rounds right after `what`, which ended at `ended`. A machine too slow to
    start them within PROBE_LATE_S leaves no verdict: a correct program with a short
    time constant may have forgotten the load by then (and a wrong one that the check
    tells apart by its memory may pass)."""
    late = time.perf_counter() - ended
    if late > PROBE_LATE_S:
        raise HarnessError(f"the probes after {what} would start {late * 1000:.0f} ms after "
                           f"it ended (more than {PROBE_LATE_S * 1000:.0f} ms: the machine was "
                           "slow): no verdict on utilisation")
    probe_rounds(lab)


def probe_rounds(lab: LabContext) -> None:
    """Two probe rounds: every best path is then recorded with the utilisation the
    links show now (one round is not enough: a best path recorded with a stale or
    wrong utilisation first needs its own refresh, then a rival's probe)."""
    probe_round(lab)
    probe_round(lab)


def packet(lab: LabContext, src: str, dst: str, sport: int, dport: int = DPORT,
           payload: bytes = b"hula", size: int | None = None, proto: str = "udp",
           src_ip: str | None = None, dst_ip: str | None = None) -> bytes:
    """A data frame from host `src` toward host `dst` (addresses overridable)."""
    s, d = lab.host(src), lab.host(dst)
    l4 = UDP(sport=sport, dport=dport) if proto == "udp" else \
        TCP(sport=sport, dport=dport, flags="A", seq=1, ack=1)
    frame = (Ether(src=s.mac, dst=lab.switch_mac(s.switch, s.port))
             / IP(src=src_ip or s.ip, dst=dst_ip or d.ip) / l4 / Raw(payload))
    if size is not None:
        body = size - len(bytes(frame)) + len(payload)
        frame[Raw].load = (payload * (body // max(len(payload), 1) + 1))[:body]
    return bytes(frame)


def delivered(lab: LabContext, frame: bytes, dst: str) -> bytes:
    """`frame` as the destination host gets it: addressed to its MAC, else unchanged."""
    return bytes.fromhex(lab.host(dst).mac.replace(":", "")) + frame[6:]


class Uplinks:
    """Frames that went up from a ToR to each spine, from the spine ports' kernel
    counters."""

    def __init__(self, lab: LabContext, tor: str) -> None:
        self.lab = lab
        self.ends = {spine: port for _, spine, port in switch_links(lab.lab)[tor]}

    def read(self) -> dict[str, int]:
        return {s: self.lab.switch_port_counter(s, p, "rx_packets") for s, p in self.ends.items()}


class UplinkTaps:
    """Frames that went up from ToRs to the spines while open, with when each reached
    its spine (linktap.py: taps on the spines' ports toward those ToRs)."""

    def __init__(self, lab: LabContext, tors: list[str]) -> None:
        self.taps = {(tor, spine): lab.tap(spine, port) for tor in dict.fromkeys(tors)
                     for spine, port in Uplinks(lab, tor).ends.items()}

    def read(self) -> dict[str, list[tuple[str, Crossing]]]:
        """ToR -> (spine, frame) of everything that went up since opened."""
        out: dict[str, list[tuple[str, Crossing]]] = {}
        for (tor, spine), tap in self.taps.items():
            out.setdefault(tor, []).extend((spine, c) for c in tap.read())
        return out

    def __enter__(self) -> UplinkTaps:
        return self

    def __exit__(self, *exc: object) -> None:
        # in the background: each close waits ~10 ms for the kernel (hostio.close_all),
        # and the probes that read the loads' estimates come next
        close_all(self.taps.values())


def of_flow(frame: bytes, template: bytes) -> bool:
    """Whether `frame` is a packet of the flow of `template` (numbered at offset 42):
    its protocol, addresses and ports."""
    return len(frame) >= 46 and frame[23] == template[23] and frame[26:38] == template[26:38]


def flow_key(frame: bytes) -> bytes:
    """What a ToR leaves alike in a data frame on its way up (all but the MACs)."""
    return frame[12:]


@dataclass(frozen=True)
class Hop:
    """One packet of a flow on its way up: its number in the flow, the spine it went
    to, when it was handed to the sender's socket and when it reached the spine."""
    seq: int
    spine: str
    sent: float
    arrived: float


@dataclass(frozen=True)
class Move:
    """A flow's change of spine at packet `seq`; `pause_s` bounds from above how long
    the ToR waited between that packet and the one before (the earlier one cannot
    have arrived before it was sent, the later one went up before it reached the
    spine)."""
    seq: int
    before: str
    after: str
    pause_s: float


def path_moves(hops: list[Hop]) -> list[Move]:
    """Where a flow changed spines, in packet order."""
    ordered = sorted(hops, key=lambda h: h.seq)
    return [Move(b.seq, a.spine, b.spine, b.arrived - a.sent)
            for a, b in zip(ordered, ordered[1:]) if a.spine != b.spine]


def judge_moves(what: str, moves: list[Move]) -> None:
    """A flow may change spines only after a pause of at least GAP_LIMIT_S: a move
    after a shorter one fails; one after a longer one (the sender or a switch was held
    up, and the flowlet may rightly have ended) leaves no verdict on flowlets."""
    for m in moves:
        if m.pause_s < GAP_LIMIT_S:
            raise CheckFailed(f"{what} moved from {m.before} to {m.after} at its packet "
                              f"{m.seq}, at most {m.pause_s * 1000:.1f} ms after the packet "
                              f"before (a flow keeps its path while its packets come less "
                              f"than {GAP_LIMIT_S * 1000:.0f} ms apart: flowlets)")
    if moves:
        m = moves[0]
        raise HarnessError(f"{what} moved from {m.before} to {m.after} at its packet {m.seq} "
                           f"after the sender or a switch was held up (up to "
                           f"{m.pause_s * 1000:.0f} ms, where a flowlet may end): no verdict "
                           "on flowlets")


def one_spine(lab: LabContext, uplinks: Uplinks, frame: bytes, src: str, dst: str,
              what: str) -> str:
    """Send one frame; the spine it crossed."""
    before = uplinks.read()
    lab.exchange(src, [frame], expect={dst: [delivered(lab, frame, dst)]})
    after = uplinks.read()
    moved = [s for s in after if after[s] != before[s]]
    if len(moved) != 1:
        raise CheckFailed(f"{what} ({src} -> {dst}): went up to {moved or 'no'} spine(s)")
    return moved[0]


def registers(lab: LabContext, switch: str, name: str) -> list[int]:
    values = lab.switch(switch).register_read(name)
    assert isinstance(values, list)
    return values


def shares(taken: list[str], spines: list[str]) -> str:
    return ", ".join(f"{s} {taken.count(s)}/{len(taken)}" for s in spines)


class Fabric:
    """The leaves and spines, and the roles this run draws for them."""

    def __init__(self, lab: LabContext) -> None:
        self.lab = lab
        self.links = switch_links(lab.lab)
        self.leaves = ctl.tors(lab)
        self.spines = sorted(s for s in lab.lab.switches if s not in self.leaves)
        host_of = {h.switch: h.name for h in lab.hosts.values()}
        dst_tor = lab.rng.choice(self.leaves)
        first, second = lab.rng.sample([t for t in self.leaves if t != dst_tor], 2)
        self.dst, self.src, self.src2 = host_of[dst_tor], host_of[first], host_of[second]

    def other(self, spine: str) -> str:
        return next(s for s in self.spines if s != spine)


# -- checks ---------------------------------------------------------------------------

def check_probes(lab: LabContext, fab: Fabric) -> None:
    with lab.check("with probes running, every switch has a next hop for every other ToR, "
                   "the paths are loop-free, data gets through between all hosts and an "
                   "unknown destination reaches nobody"):
        probe_rounds(lab)
        for leaf in fab.leaves:
            hops = registers(lab, leaf, "best_hop")
            up = {p: other for p, other, _ in fab.links[leaf]}
            for dst in fab.leaves:
                d = ctl.tor_id(lab, dst)
                if dst != leaf and hops[d] not in up:
                    raise CheckFailed(f"{leaf}: best_hop[{d}] (toward {dst}) is {hops[d]}, not "
                                      f"one of its uplinks {sorted(up)}")
        for spine in fab.spines:
            hops = registers(lab, spine, "best_hop")
            down = {other: p for p, other, _ in fab.links[spine]}
            for dst in fab.leaves:
                d = ctl.tor_id(lab, dst)
                if hops[d] != down[dst]:
                    raise CheckFailed(f"{spine}: best_hop[{d}] is {hops[d]}, but {dst} is on "
                                      f"its port {down[dst]} (a loop or a dead end)")
        sends: dict[str, list[bytes]] = {}
        expect: dict[str, list[bytes]] = {h: [] for h in lab.hosts}
        for a in lab.hosts:
            for b in lab.hosts:
                if a != b:
                    frame = packet(lab, a, b, 5000)
                    sends.setdefault(a, []).append(frame)
                    expect[b].append(delivered(lab, frame, b))
        lab.exchange(sends, expect=expect, ordered=False)
        lab.exchange(fab.src, [packet(lab, fab.src, fab.dst, 5001, dst_ip="10.0.0.250")],
                     expect={})


def check_before_load(lab: LabContext, fab: Fabric) -> None:
    with lab.check(f"before any load, new flows between every pair of leaves each take one "
                   f"spine ({NEW_FLOWS} for {fab.src} -> {fab.dst})"):
        taken = []
        for i in range(NEW_FLOWS):
            uplinks = Uplinks(lab, lab.host(fab.src).switch)
            taken.append(one_spine(lab, uplinks, packet(lab, fab.src, fab.dst, 20000 + i),
                                   fab.src, fab.dst, f"new flow {i + 1}"))
        for a in lab.hosts:
            for b in lab.hosts:
                if a != b and (a, b) != (fab.src, fab.dst):
                    one_spine(lab, Uplinks(lab, lab.host(a).switch), packet(lab, a, b, 21000),
                              a, b, "a new flow")
        lab.note(f"path shares before the load: {shares(taken, fab.spines)}")


Flow = tuple[str, str, int]   # source host, destination host, UDP source port


@dataclass(frozen=True)
class Placed:
    """A flow that ran: the spine it took, its frame template and its last packet."""
    spine: str
    template: bytes
    last: Hop


def flow_hops(template: bytes, went_up: list[tuple[str, Crossing]],
              sent: dict[int, float]) -> list[Hop]:
    """The packets of the flow of `template` (numbered at offset 42) among the frames
    that went up, with their send times (packet number -> when)."""
    out = []
    for spine, c in went_up:
        if of_flow(c.data, template):
            seq = struct.unpack_from("!I", c.data, 42)[0]
            if seq in sent:
                out.append(Hop(seq, spine, sent[seq], c.time))
    return out


def load(lab: LabContext, flows: list[Flow], probers: list[str], count: int, gap_s: float,
         what: str, size: int = HEAVY_SIZE, sizes: list[int] | None = None,
         strides: list[int] | None = None, protos: list[str] | None = None,
         starts: list[int] | None = None, stops: list[int] | None = None,
         after: list[bytes] | None = None) -> tuple[list[Placed], list[str]]:
    """Paced flows, interleaved: in each of `count` steps `gap_s` apart, every flow
    that has started (at its step in `starts`, default 0), has not stopped (at its
    step in `stops`, default `count`) and whose stride divides the steps since sends
    a frame (of its size in `sizes`, default `size`; UDP unless
    `protos` says "tcp"), with a probe request from each of `probers` every
    PROBE_EVERY_S. Then, one per VARIANT_STEP_S, the frames `after` (new flows from
    the first flow's source; no more probes), each after a packet of every flow that
    ran to the end: the flows go on without a pause. Each flow must arrive complete
    and in order, and on one spine (taps on the spines tell which packet went where,
    and when). Returns each flow's spine, frame template and last packet, and the
    spine each of `after` took."""
    after = after or []
    sizes = sizes or [size] * len(flows)
    strides = strides or [1] * len(flows)
    protos = protos or ["udp"] * len(flows)
    starts = starts or [0] * len(flows)
    stops = stops or [count] * len(flows)
    # the sequence number goes at offset 42: UDP's payload, TCP's acknowledgment number
    templates = [packet(lab, src, dst, sport, payload=bytes(4), size=sz, proto=proto)
                 for (src, dst, sport), sz, proto in zip(flows, sizes, protos)]
    every = max(1, round(PROBE_EVERY_S / gap_s))
    plan: list[tuple[str, bytes]] = []
    due: list[float] = []
    at: list[dict[int, int]] = [{} for _ in flows]   # packet number -> place in the plan
    for i in range(count):
        for k, ((src, _, _), template, stride, first, stop) in enumerate(
                zip(flows, templates, strides, starts, stops)):
            if first <= i < stop and (i - first) % stride == 0:
                seq = (i - first) // stride
                at[k][seq] = len(plan)
                plan.append((src, template[:42] + struct.pack("!I", seq) + template[46:]))
                due.append(i * gap_s)
        if i % every == every - 1:
            plan += [(h, probe_request(lab.host(h))) for h in probers]
            due += [i * gap_s] * len(probers)
    for k, frame in enumerate(after):
        for (src, _, _), template, stop, places in zip(flows, templates, stops, at):
            if stop == count:
                places[len(places)] = len(plan)
                plan.append((src, template[:42] + struct.pack("!I", len(places) - 1)
                             + template[46:]))
                due.append(count * gap_s + k * VARIANT_STEP_S)
        plan.append((flows[0][0], frame))
        due.append(count * gap_s + (k + 0.5) * VARIANT_STEP_S)
    expect = {flows[0][1]: len(after)} if after else {}
    for (_, dst, _), places in zip(flows, at):
        expect[dst] = expect.get(dst, 0) + len(places)
    with UplinkTaps(lab, [lab.host(src).switch for src, _, _ in flows]) as taps:
        received = lab.burst(plan, expect=expect, due=due)
        went_up = taps.read()
    dst0 = flows[0][1]
    missing = Counter(delivered(lab, fr, dst0) for fr in after) - Counter(received[dst0])
    if missing:
        raise CheckFailed(f"{dst0} did not get {sum(missing.values())} of the {len(after)} "
                          "frames of new flows as sent (only the destination MAC may change)")
    out = []
    for (src, dst, _), template, places in zip(flows, templates, at):
        sent = {seq: lab.last_send_starts[j] for seq, j in places.items()}
        hops = flow_hops(template, went_up[lab.host(src).switch], sent)
        judge_moves(f"{what} {src} -> {dst}", path_moves(hops))
        n = len(places)
        order = [struct.unpack_from("!I", fr, 42)[0] for fr in received[dst]
                 if of_flow(fr, template)]
        if order != list(range(n)):
            first = next((i for i, v in enumerate(order) if v != i), len(order))
            raise CheckFailed(f"{what} {src} -> {dst}: {dst} got {len(order)} of {n} "
                              f"packets; first out of place at position {first}")
        if not hops:
            raise CheckFailed(f"{what} {src} -> {dst} went up to no spine")
        last = max(hops, key=lambda h: h.seq)
        out.append(Placed(last.spine, template, last))
    spine_of = {flow_key(c.data): spine for spine, c in went_up[lab.host(flows[0][0]).switch]}
    return out, [spine_of.get(flow_key(frame), "no spine") for frame in after]


def avoid(lab: LabContext, srcs: list[str], dst: str, loaded: str, first_port: int,
          spines: list[str], why: str,
          reprobe: tuple[int, float] | None = None) -> list[str]:
    """New one-packet flows from each of `srcs` to `dst`: at least SHARE of them must
    avoid `loaded`. With `reprobe` (flow i, when the loads ended), probe rounds come
    before flow i (the estimates of the links the flows crossed are read again).
    Returns the spines taken."""
    taken = []
    for i, src in enumerate(srcs):
        if reprobe is not None and i == reprobe[0]:
            probes_in_time(lab, reprobe[1], "the loads")
        uplinks = Uplinks(lab, lab.host(src).switch)
        taken.append(one_spine(lab, uplinks, packet(lab, src, dst, first_port + i), src, dst,
                               f"new flow {i + 1}"))
    if sum(1 for s in taken if s != loaded) < SHARE * len(taken):
        raise CheckFailed(f"new flows toward {dst} went {shares(taken, spines)}: {loaded} was "
                          f"not avoided ({why})")
    return taken


def variant_frames(lab: LabContext, fab: Fabric, extra_ips: list[str],
                   sport: int, tcp_sport: int) -> list[tuple[str, bytes]]:
    """Flows that differ from the running UDP flow (sport -> DPORT) in exactly one
    5-tuple field, VARIANTS per field, and from the running TCP flow (tcp_sport ->
    DPORT) in one of its ports (a program that parses no TCP ports keys every TCP
    flow between two hosts alike)."""
    rng = lab.rng
    src, dst = fab.src, fab.dst
    out: list[tuple[str, bytes]] = []
    taken = {h.ip for h in lab.hosts.values()} | set(extra_ips)
    spoofed = rng.sample([f"10.0.0.{n}" for n in range(20, 200) if f"10.0.0.{n}" not in taken],
                         VARIANTS)
    for i in range(VARIANTS):
        out.append(("source address", packet(lab, src, dst, sport, src_ip=spoofed[i])))
        out.append(("destination address", packet(lab, src, dst, sport, dst_ip=extra_ips[i])))
        out.append(("protocol", packet(lab, src, dst, sport, payload=bytes([i]), proto="tcp")))
        out.append(("source port", packet(lab, src, dst, sport ^ rng.randrange(1, 1 << 16))))
        out.append(("destination port", packet(lab, src, dst, sport,
                                               dport=DPORT ^ rng.randrange(1, 1 << 16))))
        out.append(("TCP source port", packet(lab, src, dst, tcp_sport ^ rng.randrange(1, 1 << 16),
                                              proto="tcp")))
        out.append(("TCP destination port", packet(lab, src, dst, tcp_sport, proto="tcp",
                                                   dport=DPORT ^ rng.randrange(1, 1 << 16))))
    for _ in range(SHARE_FILL):
        out.append(("all fields", packet(lab, src, dst, rng.randrange(1024, 65536),
                                         dport=rng.randrange(1024, 65536))))
    return out


SHARE_FILL = 5   # plain new flows besides the one-field variants


def add_host_routes(lab: LabContext, fab: Fabric, ips: list[str]) -> None:
    """More addresses behind the destination host, through the contract's hosts table."""
    dst = lab.host(fab.dst)
    for switch in fab.leaves:
        if switch == dst.switch:
            entries = [Entry({"hdr.ipv4.dstAddr": ip}, "to_host", {"mac": dst.mac,
                                                                  "port": dst.port})
                       for ip in ips]
        else:
            entries = [Entry({"hdr.ipv4.dstAddr": ip}, "to_tor",
                             {"tor": ctl.tor_id(lab, dst.switch)}) for ip in ips]
        lab.switch(switch).table_add_many("hosts", entries)
    for spine in fab.spines:
        port = next(p for p, other, _ in fab.links[spine] if other == dst.switch)
        lab.switch(spine).table_add_many("hosts", [
            Entry({"hdr.ipv4.dstAddr": ip}, "forward", {"port": port}) for ip in ips])


def prepare_variants(lab: LabContext, fab: Fabric, sport: int,
                     tcp_sport: int) -> list[tuple[str, bytes]]:
    """The one-field variants of the flow from port `sport`, in a seeded order, with
    host routes for the destination-address variants (installed now, so that nothing
    slow comes between the running flow's packets later)."""
    taken = {h.ip for h in lab.hosts.values()}
    extra = lab.rng.sample([f"10.0.0.{n}" for n in range(200, 250) if f"10.0.0.{n}" not in taken],
                           VARIANTS)
    add_host_routes(lab, fab, extra)
    flows = variant_frames(lab, fab, extra, sport, tcp_sport)
    lab.rng.shuffle(flows)
    return flows


def check_variants(lab: LabContext, loaded: str, other: str,
                   flows: list[tuple[str, bytes]], taken: list[str]) -> None:
    """New flows (`flows`: which field they change, frame) started while the running
    flows went on on `loaded` took the spines `taken`: those differing from a running
    flow in one field must mostly take the other spine."""
    placed: dict[str, list[str]] = {}
    for (fld, _), spine in zip(flows, taken):
        placed.setdefault(fld, []).append(spine)
    lab.note(f"new flows while {loaded} carries the running flow: "
             + ", ".join(f"{fld} {v.count(other)}/{len(v)} on {other}"
                         for fld, v in placed.items()))
    for fld, where in placed.items():
        if fld != "all fields" and where.count(other) < 2:
            raise CheckFailed(f"flows that differ from the running flow only in the {fld} "
                              f"went where it goes ({loaded}) {where.count(loaded)} of "
                              f"{len(where)} times: the flowlet key lacks the {fld}")
    if taken.count(other) < SHARE * len(taken):
        raise CheckFailed(f"only {taken.count(other)} of {len(taken)} new flows avoided "
                          f"{loaded}, which carried the heavy flow")


def wait_until(moment: float) -> None:
    """A real idle period the spec's time behaviour needs (no readiness signal exists
    for 'the estimator forgot')."""
    delay = moment - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def settle(lab: LabContext, idle_until: float) -> None:
    """Forget every earlier load, then let probe rounds bring each best path's
    recorded utilisation down to the idle value. Afterwards a program that sees no
    load on the heavy flow's path (it reads the wrong link, say) has no reason to
    change its best hops, so its new flows stay with the heavy flow: leftovers of the
    earlier checks' flows, decaying while the heavy flow runs, cannot move them away
    by chance."""
    wait_until(idle_until)
    probe_rounds(lab)


def set_best_hop(lab: LabContext, fab: Fabric, tor: str, toward: str, spine: str) -> None:
    """Point `tor`'s best hop toward host `toward`'s ToR at `spine` (through the
    contract's best_hop, which a new flowlet follows)."""
    lab.switch(tor).register_write("best_hop", ctl.tor_id(lab, lab.host(toward).switch),
                                   next(p for p, other, _ in fab.links[tor] if other == spine))


def settled_spines(lab: LabContext, fab: Fabric, idle_since: float) -> tuple[str, str]:
    """Both spines in an order drawn from the seed, once the loads before `idle_since`
    are forgotten and recorded as such (settle)."""
    first = lab.rng.choice(fab.spines)
    settle(lab, idle_since + IDLE_S)
    return first, fab.other(first)


def two_leaf_loads(lab: LabContext, fab: Fabric, first: str, second: str, steps: int,
                   what: str, **shape: Any) -> None:
    """Loads toward the destination ToR from both source leaves, src2's on spine
    `first` and src's on `second` (their best hops are pointed there), shaped by
    `shape` (load()'s sizes, strides, starts, stops), then probe rounds with no frame
    in flight: the estimates as the loads left them."""
    set_best_hop(lab, fab, lab.host(fab.src2).switch, fab.dst, first)
    set_best_hop(lab, fab, lab.host(fab.src).switch, fab.dst, second)
    placed, _ = load(lab, [(fab.src2, fab.dst, SMALL_SPORT), (fab.src, fab.dst, BIG_SPORT)],
                     [fab.dst], steps, SMALL_GAP_S, what, **shape)
    a, b = (p.spine for p in placed)
    if (a, b) != (first, second):
        raise CheckFailed(f"{what} started on {a} ({fab.src2}) and {b} ({fab.src}), not on "
                          f"{first} and {second}, which best_hop named (a new flowlet must "
                          "take the best hop)")
    probes_in_time(lab, max(p.last.sent for p in placed), what)


def check_unequal_loads(lab: LabContext, fab: Fabric, idle_since: float) -> None:
    """Both spines loaded toward the destination ToR, from different leaves: `busy`
    with four times the byte rate of `calm`, in frames a fifth of the size, started
    last and carrying fewer bytes in all. New flows from BOTH leaves must avoid
    `busy`: the leaf whose own uplink to `busy` is idle sees its load only in the
    utilisation the probe carries from the spine's link (the path's maximum), and an
    estimate of anything but bytes over time (the last frame's size, a count that
    does not decay) ranks the spines the other way."""
    busy, calm = settled_spines(lab, fab, idle_since)
    with lab.check(f"with both spines loaded toward {fab.dst} ({busy} by {fab.src2} with "
                   f"four times the byte rate {calm} gets from {fab.src}, in frames a fifth "
                   f"of the size, for the last 0.15 s of 0.8 s), at least {SHARE:.0%} of "
                   f"new flows from both leaves avoid {busy}: utilisation is bytes over "
                   "time, and a path's is its busiest link's"):
        two_leaf_loads(lab, fab, busy, calm, UNEQUAL_STEPS, "the unequal loads",
                       sizes=[SMALL_SIZE, BIG_SIZE], strides=[1, BIG_STRIDE],
                       starts=[SMALL_FROM, 0])
        taken = avoid(lab, [fab.src, fab.src2] * 4, fab.dst, busy, 32000, fab.spines,
                      f"{busy} carried four times the byte rate of {calm}, in smaller "
                      "frames, for a shorter time; "
                      f"{fab.src}'s own uplink to {busy} was idle")
        lab.note(f"path shares with {busy} carrying four times the byte rate of {calm}: "
                 f"{shares(taken, fab.spines)}")


def check_sparse_load(lab: LabContext, fab: Fabric, idle_since: float) -> None:
    """`sparse` carried two minimum-size frames toward the destination ToR, SPARSE_GAP_S
    apart (within TAU: the estimate decays from the first to the second, not
    restarts), `single` one full-size frame: in bytes over time `single` is the busier
    path, for any time constant. New flows from both leaves must avoid it. An
    estimate whose arithmetic wraps around on a frame that comes while it still
    decays reads a huge value for `sparse` (and a count of frames ranks it busier)."""
    sparse, single = settled_spines(lab, fab, idle_since)
    with lab.check(f"two {SPARSE_SIZE}-byte frames {SPARSE_GAP_S * 1000:.0f} ms apart are "
                   f"less utilisation than one {SINGLE_SIZE}-byte frame: after {fab.src2} -> "
                   f"{fab.dst} sends the first on {sparse} and {fab.src} -> {fab.dst} the "
                   f"second on {single}, at least {SHARE:.0%} of new flows from both leaves "
                   f"avoid {single}"):
        set_best_hop(lab, fab, lab.host(fab.src2).switch, fab.dst, sparse)
        set_best_hop(lab, fab, lab.host(fab.src).switch, fab.dst, single)
        went = []
        for k in range(2):
            if k:
                wait_until(time.perf_counter() + SPARSE_GAP_S)
            went.append(one_spine(lab, Uplinks(lab, lab.host(fab.src2).switch),
                                  packet(lab, fab.src2, fab.dst, SPARSE_SPORT,
                                         payload=bytes([k]), size=SPARSE_SIZE),
                                  fab.src2, fab.dst, f"small frame {k + 1}"))
        ended = time.perf_counter()
        went.append(one_spine(lab, Uplinks(lab, lab.host(fab.src).switch),
                              packet(lab, fab.src, fab.dst, SPARSE_SPORT, size=SINGLE_SIZE),
                              fab.src, fab.dst, "the large frame"))
        if went != [sparse, sparse, single]:
            raise CheckFailed(f"the frames took {went}, not {[sparse, sparse, single]}, which "
                              "best_hop named (a new flowlet must take the best hop)")
        probes_in_time(lab, ended, "the frames")
        taken = avoid(lab, [fab.src, fab.src2] * 4, fab.dst, single, 34000, fab.spines,
                      f"{single} carried {SINGLE_SIZE} bytes in one frame, {sparse} "
                      f"{2 * SPARSE_SIZE} bytes in two, {SPARSE_GAP_S * 1000:.0f} ms apart")
        lab.note(f"path shares after two small frames on {sparse}, one large on {single}: "
                 f"{shares(taken, fab.spines)}")


def check_ended_load(lab: LabContext, fab: Fabric, idle_since: float) -> None:
    """`gone` carried a load toward the destination ToR that ended ENDED_LEAD_S before
    the load on `live` (a tenth heavier, running as long) did; probes right after
    must show `gone` as the lighter path, whatever the estimator's time constant (a
    decaying estimate only falls once its load ends). New flows from both leaves
    must avoid `live`. An estimate that grows while a link is idle (until it is
    forgotten) ranks `gone` heavier."""
    gone, live = settled_spines(lab, fab, idle_since)
    with lab.check(f"a load that ended {ENDED_LEAD_S * 1000:.0f} ms ago never looks busier "
                   f"than a tenth heavier one still running: after {fab.src2} -> {fab.dst} "
                   f"on {gone} ends and {fab.src} -> {fab.dst} on {live} goes on, at least "
                   f"{SHARE:.0%} of new flows from both leaves avoid {live}"):
        lead = round(ENDED_LEAD_S / SMALL_GAP_S)
        two_leaf_loads(lab, fab, gone, live, ENDED_STEPS, "the loads",
                       sizes=[HEAVY_SIZE, HEAVY_SIZE * 11 // 10],
                       strides=[ENDED_STRIDE, ENDED_STRIDE],
                       stops=[ENDED_STEPS - lead, ENDED_STEPS])
        taken = avoid(lab, [fab.src, fab.src2] * 4, fab.dst, live, 33000, fab.spines,
                      f"{live} still carried a tenth more than {gone} had carried until "
                      f"{ENDED_LEAD_S * 1000:.0f} ms before")
        lab.note(f"path shares after {gone}'s load ended and {live}'s went on: "
                 f"{shares(taken, fab.spines)}")


def verify(lab: LabContext) -> None:
    fab = Fabric(lab)
    check_probes(lab, fab)
    check_before_load(lab, fab)

    loaded = ""
    running: list[Placed] = []
    last = 0.0
    idle = time.perf_counter() + IDLE_S
    heavy_sport = last_slot_sport(lab, fab.src, fab.dst)
    tcp_sport = heavy_sport ^ lab.rng.randrange(1, 1 << 16)
    flows = prepare_variants(lab, fab, heavy_sport, tcp_sport)
    settle(lab, idle)
    taken: list[str] = []
    with lab.check(f"a heavy flow {fab.src} -> {fab.dst} ({HEAVY_PACKETS} packets, with a "
                   "TCP flow alongside) stays on its spine and arrives complete and in order "
                   "while probes run, and after the load while new flows start beside it"):
        running, taken = load(
            lab, [(fab.src, fab.dst, heavy_sport), (fab.src, fab.dst, tcp_sport)],
            [h for h in lab.hosts if h != fab.src], HEAVY_PACKETS, HEAVY_GAP_S,
            "the heavy flow", strides=[1, TCP_STRIDE], protos=["udp", "tcp"],
            after=[frame for _, frame in flows])
        loaded = running[0].spine
        last = max(p.last.sent for p in running)
    if not loaded:
        return
    with lab.check(f"after the load, at least {SHARE:.0%} of new flows {fab.src} -> {fab.dst} "
                   f"avoid the loaded spine; flows differing from the running flow in one "
                   "5-tuple field each start their own flowlet"):
        check_variants(lab, loaded, fab.other(loaded), flows, taken)

    wait_until(last + IDLE_S)
    second = third = ""
    light_end = 0.0
    # the second destination's flow starts on the spine idle toward it but carrying no
    # light flow (written through the contract's best_hop, which a new flowlet follows),
    # so that a load toward one ToR cannot pass for a load toward another
    set_best_hop(lab, fab, lab.host(fab.src).switch, fab.src2, loaded)
    with lab.check(f"after {IDLE_S * 1000:.0f} ms idle, light flows {fab.src2} -> {fab.dst} "
                   f"and {fab.src} -> {fab.src2} (a second destination ToR, its best_hop set to "
                   f"{loaded}); the first takes the spine that was NOT loaded "
                   f"({fab.other(loaded)}), the second {loaded}; both complete and in order"):
        placed, _ = load(
            lab, [(fab.src2, fab.dst, LIGHT_SPORT), (fab.src, fab.src2, LIGHT_SPORT)],
            [fab.dst, fab.src2], LIGHT_PACKETS, LIGHT_GAP_S, "the light flow", LIGHT_SIZE)
        second, third = (p.spine for p in placed)
        light_end = placed[0].last.sent
        if second == loaded:
            raise CheckFailed(f"{fab.src2} -> {fab.dst} took {loaded}, which the last probes "
                              "before it had shown loaded (a new flowlet must take the best "
                              "path)")
        if third != loaded:
            raise CheckFailed(f"{fab.src} -> {fab.src2} took {third}, not {loaded}, which "
                              "best_hop named (a new flowlet must take the best hop)")
    if not second or second == loaded:
        return
    with lab.check(f"utilisation decays: {loaded}, idle for {IDLE_S * 1000:.0f} ms, is "
                   f"attractive again: at least {SHARE:.0%} of new flows {fab.src2} -> "
                   f"{fab.dst} avoid {second}"):
        # probe rounds after the first flow: the first frame over a link idle for
        # long must restart its estimate, not revive the load it carried before
        taken = avoid(lab, [fab.src2] * 8, fab.dst, second, 30000, fab.spines,
                      f"{loaded}'s load ended {IDLE_S * 1000:.0f} ms before {second} was "
                      "loaded: does utilisation decay, and restart after an idle period?",
                      reprobe=(1, light_end))
        lab.note(f"path shares after loading {second}: {shares(taken, fab.spines)}")
    with lab.check(f"toward a second destination ToR too: at least {SHARE:.0%} of new flows "
                   f"{fab.src} -> {fab.src2} avoid {third}, which carries the light flow there"):
        avoid(lab, [fab.src] * 5, fab.src2, third, 31000, fab.spines,
              f"it carries {fab.src} -> {fab.src2}")
    resume = time.perf_counter() + FLOWLET_IDLE
    wait_until(resume)
    with lab.check(f"a flow that pauses {FLOWLET_IDLE * 1000:.0f} ms (longer than the flowlet "
                   f"gap) takes the current best path: the light flow {fab.src2} -> {fab.dst} "
                   f"resumes on {loaded}"):
        frame = packet(lab, fab.src2, fab.dst, LIGHT_SPORT, payload=bytes(4), size=LIGHT_SIZE)
        spine = one_spine(lab, Uplinks(lab, lab.host(fab.src2).switch), frame, fab.src2,
                          fab.dst, "the resumed flow")
        if spine != loaded:
            raise CheckFailed(f"it stayed on {spine}: its flowlet did not end after a "
                              f"{FLOWLET_IDLE * 1000:.0f} ms pause")
    check_unequal_loads(lab, fab, time.perf_counter())
    check_ended_load(lab, fab, time.perf_counter())
    check_sparse_load(lab, fab, time.perf_counter())
