"""Verifier for lab 2.2 (heavy-hitter detector v2), h1 -- s1 -- s2 -- h2, routed.

Every frame sent carries an IPv4 identification of its own; the reference model
(hh-v2_model.py) says where each one ends up and what it looks like there, and every
frame that arrives is compared with it WHOLE (destination MAC = the next hop's from
the table, TTL one lower per switch, recomputed checksum, everything else unchanged;
only the source MAC, which the spec leaves open, is masked). What is proven:
1. course routes (the controller's /32s): a TCP flow h1->h2 sending 999 loses
   nothing; a UDP flow h2->h1 gets exactly its first 1000 through; flows that differ
   from the blocked one in exactly ONE 5-tuple field (source port, destination port,
   protocol, source address) and its reverse flow get every frame through (a key
   missing any of these fields fails); flows that share exactly ONE Bloom-filter cell
   with the blocked flow (its crc16 or its crc32 cell, for the two usual orders of the
   5-tuple, reached by another source port, destination port or source address) get
   every frame through (a single-hash filter, one that blocks when any counter is full,
   or one whose other hash lacks that field fails; other hash choices only make them
   ordinary new flows); the blocked UDP flow sits in the last crc16 cell and the TCP
   flow in the last crc32 cell (a hash base other than 0 runs past the register); a
   third flow gets blocked whose two cells (ports solved for, hashes.solve_window)
   are the crc32 cell of the UDP flow sent as TCP and the crc16 cell of the TCP flow
   sent as UDP;
   ICMP and another IPv4 protocol are routed both ways (TTL and checksum too), never
   blocked;
2. routes reconfigured through P4Runtime with seeded values on both switches: next-hop
   MACs and ports from the table, the longest prefix winning (/32 over shorter ones,
   a drop() entry inside a prefix, a /32 inside the drop), a route back out of the
   ingress port, destinations a switch does not route (dropped); the TCP flow at 999
   gets exactly one more, and the same flow to another destination, from another
   source port or to another destination port passes; then flows that differ from a
   blocked one only in the destination (inside a /16 routed to h2, the address solved
   for so that one cell is the third blocked flow's) or only in the protocol pass
   although one of their counters is full (a hash that leaves that field out puts
   them in the blocked flow's own cell there, so both are full).
TTLs run from 3 to 255, TOS/DF/identification vary (a checksum over too few fields
fails). Only the contract is used: table ipv4_lpm (key hdr.ipv4.dstAddr), actions
ipv4_forward(dstAddr, port) and drop().
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from random import Random
from typing import Any

from labtool import hashes
from labtool.checks import CheckFailed
from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.loader import load_module
from labtool.pktdiff import first_difference, summary
from labtool.routing import next_hops

_HERE = Path(__file__).resolve().parent
fr: Any = load_module(_HERE / "hh-v1_frames.py", "hh_frames")
hm: Any = load_module(_HERE / "hh-v1_model.py", "hh_model")
m2: Any = load_module(_HERE / "hh-v2_model.py", "hh_v2_model")

TABLE, KEY = "ipv4_lpm", "hdr.ipv4.dstAddr"
THRESHOLD = m2.THRESHOLD
OTHER_PROTOCOL = 47  # GRE: IPv4 that is neither TCP nor UDP


@dataclass(frozen=True)
class Flow:
    host: str        # the sender
    src: str
    dst: str
    proto: int
    sport: int = 0   # ICMP: the echo identifier
    dport: int = 0

    def label(self) -> str:
        name = {fr.TCP: "TCP", fr.UDP: "UDP", fr.ICMP: "ICMP"}.get(self.proto, f"IPv4 proto {self.proto}")
        if self.proto in (fr.TCP, fr.UDP):
            return f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}"
        return f"{name} {self.src} -> {self.dst}"

    def but(self, **change: Any) -> Flow:
        return replace(self, **change)


@dataclass
class Sent:
    group: str
    host: str
    frame: bytes
    index: int                           # 1-based position in its group
    outcome: tuple[str, bytes] | None    # the model: receiving host, frame (src MAC zeroed)


class Traffic:
    """Frames of flows, each with its own IPv4 identification, and the model's verdict
    on each as it is queued (frames of one sender reach the switches in queue order)."""

    def __init__(self, lab: LabContext, rng: Random, network: Any) -> None:
        self.lab, self.rng, self.network = lab, rng, network
        self.idents = fr.Idents(rng.randrange(0x10000))
        # what a host addresses its frames to: the port of the switch it is attached to
        self.gateway = {h: lab.switch_mac(*lab.lab.host_port[h]) for h in lab.hosts}

    def frames(self, flow: Flow, n: int) -> list[bytes]:
        rng, host = self.rng, self.lab.host(flow.host)
        seq = rng.randrange(1 << 32)
        out = []
        for i in range(n):
            ident = self.idents.take()
            tag = f"hh-v2 {flow.label()} #{i + 1}".encode()
            size = fr.ETH_MAX if n >= 20 and i == n // 2 else \
                rng.choice((fr.ETH_MIN, rng.randrange(fr.ETH_MIN, 300)))
            header = {fr.UDP: 8, fr.TCP: 20, fr.ICMP: 8}.get(flow.proto, 0)
            payload = tag + bytes(max(0, size - 34 - header - len(tag)))
            if flow.proto == fr.TCP:
                l4 = fr.tcp_segment(flow.src, flow.dst, flow.sport, flow.dport, seq,
                                    rng.choice((fr.TCP_ACK, fr.TCP_PSH | fr.TCP_ACK)), payload,
                                    ack=rng.randrange(1 << 32))
                seq += len(payload)
            elif flow.proto == fr.UDP:
                l4 = fr.udp_segment(flow.src, flow.dst, flow.sport, flow.dport, payload)
            elif flow.proto == fr.ICMP:
                l4 = fr.icmp_echo(flow.sport, i, payload, reply=flow.dport == 0)
            else:
                l4 = payload
            fields = fr.IpFields(ttl=rng.choice((3, 255, rng.randrange(3, 256))),
                                 tos=rng.randrange(256), ident=ident,
                                 dont_fragment=rng.random() < 0.5)
            out.append(bytes(fr.ipv4_frame(self.gateway[flow.host], host.mac, flow.src, flow.dst,
                                           flow.proto, l4, fields)))
        return out


@dataclass
class Batch:
    """The frames of one burst, in the order each host sends them."""

    sends: dict[str, list[bytes]]
    groups: dict[str, list[tuple[str, bytes]]]   # group -> [(host, frame)] in send order

    @classmethod
    def of(cls, order: dict[str, list[tuple[str, bytes]]]) -> Batch:
        """order: host -> [(group, frame)] in send order."""
        sends = {h: [f for _, f in items] for h, items in order.items()}
        groups: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
        for host, items in order.items():
            for group, frame in items:
                groups[group].append((host, frame))
        return cls(sends, dict(groups))

    def judge(self, network: Any) -> list[Sent]:
        """The model's fate of every frame; each host's frames in its send order (the
        model's counts only depend on the order within a flow, and a flow has one sender)."""
        index: dict[str, int] = defaultdict(int)
        where = {frame: group for group, items in self.groups.items() for _, frame in items}
        out = []
        for host, frames in self.sends.items():
            for frame in frames:
                group = where[frame]
                index[group] += 1
                out.append(Sent(group, host, frame, index[group], network.send(host, frame)))
        return out


def merge(rng: Random, lists: Sequence[list[tuple[str, bytes]]]) -> list[tuple[str, bytes]]:
    """The lists merged in a random order that keeps each list's own order."""
    picks = [i for i, items in enumerate(lists) for _ in items]
    rng.shuffle(picks)
    cursors = [0] * len(lists)
    out = []
    for i in picks:
        out.append(lists[i][cursors[i]])
        cursors[i] += 1
    return out


def ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 7 -> '1-3, 7' (at most 6 pieces)."""
    pieces: list[str] = []
    start = prev = None
    for n in sorted(numbers):
        if start is None or prev is None or n != prev + 1:
            if start is not None:
                pieces.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = n
        prev = n
    if start is not None:
        pieces.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ", ".join(pieces[:6]) + (" ..." if len(pieces) > 6 else "")


class Outcome:
    """What one burst delivered, each frame traced back by its IPv4 identification."""

    def __init__(self, sent: list[Sent], got: dict[str, list[bytes]]) -> None:
        self.sent = sent
        self.by_ident = {fr.ident_of(s.frame): s for s in sent}
        self.arrived: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
        self.strangers: list[tuple[str, bytes]] = []
        for host, frames in got.items():
            for frame in frames:
                ident = fr.ident_of(frame) if fr.is_ipv4(frame) else None
                if ident is not None and ident in self.by_ident:
                    self.arrived[ident].append((host, frame))
                else:
                    self.strangers.append((host, frame))

    def expected(self, groups: Iterable[str]) -> int:
        wanted = set(groups)
        return sum(1 for s in self.sent if s.group in wanted and s.outcome is not None)

    def group_problems(self, group: str) -> list[str]:
        """Exactly the frames the model delivers arrived (each once), no other."""
        members = [s for s in self.sent if s.group == group]
        if not members:
            raise ValueError(f"no frames in group {group!r}")
        delivered = [s for s in members if self.arrived.get(fr.ident_of(s.frame))]
        arrived = {s.index for s in delivered}
        missing = [s.index for s in members if s.outcome is not None and s.index not in arrived]
        extra = [s.index for s in delivered if s.outcome is None]
        twice = [s.index for s in delivered if len(self.arrived[fr.ident_of(s.frame)]) > 1]
        want = sum(1 for s in members if s.outcome is not None)
        if not (missing or extra or twice):
            return []
        text = f"{group}: expected {want} of its {len(members)} frames delivered, got {len(delivered)}"
        if missing:
            text += f"; missing: frame(s) {ranges(missing)}"
        if extra:
            text += f"; should have been dropped: frame(s) {ranges(extra)}"
        if twice:
            text += f"; delivered more than once: frame(s) {ranges(twice)}"
        return [text]

    def integrity(self) -> list[str]:
        """Every delivered frame at the right host and equal to the model's, whole."""
        wrong_host: list[str] = []
        differs: list[str] = []
        for ident, arrivals in self.arrived.items():
            s = self.by_ident[ident]
            if s.outcome is None:
                continue  # reported by its group
            host, want = s.outcome
            for at, frame in arrivals:
                if at != host:
                    wrong_host.append(f"{s.group} frame {s.index} reached {at} instead of {host}")
                elif m2.masked(frame) != want:
                    differs.append(f"{s.group} frame {s.index} at {at}: "
                                   f"{first_difference(want, m2.masked(frame))}")
        problems = []
        if differs:
            problems.append(f"{len(differs)} delivered frame(s) differ from the model (source "
                            f"MAC not compared); first: {differs[0]}")
        if wrong_host:
            problems.append(f"{len(wrong_host)} frame(s) at the wrong host; first: {wrong_host[0]}")
        if self.strangers:
            host, frame = self.strangers[0]
            problems.append(f"{len(self.strangers)} frame(s) that were never sent; first at "
                            f"{host}: {summary(frame)}")
        return problems


def burst(lab: LabContext, network: Any, batch: Batch) -> Outcome:
    sent = batch.judge(network)
    want: dict[str, int] = defaultdict(int)
    for s in sent:
        if s.outcome is not None:
            want[s.outcome[0]] += 1
    got = lab.burst(batch.sends, expect=dict(want))
    return Outcome(sent, got)


def expect_groups(outcome: Outcome, groups: Iterable[str]) -> None:
    problems = [p for g in groups for p in outcome.group_problems(g)]
    if problems:
        raise CheckFailed("\n".join(problems))


def expect_integrity(outcome: Outcome) -> None:
    problems = outcome.integrity()
    if problems:
        raise CheckFailed("\n".join(problems))


def course_network(lab: LabContext) -> Any:
    """The model with the lab's links and the routes the controller installs (LABS.md:
    /32 routes to both hosts on both switches, next hop's MAC)."""
    ports: dict[tuple[str, int], tuple[str, ...]] = {}
    for link in lab.lab.links:
        for a, b in ((link.a, link.b), (link.b, link.a)):
            if a.node in lab.lab.switches and a.port is not None:
                ports[(a.node, a.port)] = ("host", b.node) if b.node in lab.lab.hosts else \
                    ("switch", b.node, b.port)
    network = m2.Network(ports, dict(lab.lab.host_port))
    for switch in lab.lab.switches:
        for host, (mac, port) in next_hops(lab.lab, switch).items():
            network.tables[switch].add(m2.Route(hm.Prefix(fr.ip_int(lab.host(host).ip), 32), mac, port))
    return network


def random_port(rng: Random, avoid: Iterable[int] = ()) -> int:
    taken = set(avoid)
    while True:
        port = rng.randrange(1, 65536)
        if port not in taken:
            return port


def random_mac(rng: Random) -> str:
    """A unicast MAC with high bytes set (a program keeping fewer than 48 bits loses them)."""
    raw = bytes([rng.randrange(0x10, 0x100) & 0xFE]) + bytes(rng.randrange(1, 256) for _ in range(5))
    return fr.mac_text(raw)


# -- flows that share exactly one Bloom-filter cell with another ---------------------------

BF_CELLS = 4096  # counters per hash (LABS.md)
# The orders in which a student lists the 5-tuple in hash(): the lab's, and the course
# template's (ports before the protocol).
FIELD_ORDERS = {"addresses, protocol, ports": ("src", "dst", "proto", "sport", "dport"),
                "addresses, ports, protocol": ("src", "dst", "sport", "dport", "proto")}
WIDTHS = {"src": 32, "dst": 32, "proto": 8, "sport": 16, "dport": 16}
LAB_ORDER = FIELD_ORDERS["addresses, protocol, ports"]
ALGORITHMS = {"crc16": hashes.crc16, "crc32": hashes.crc32}
VARIED = {"sport": "source port", "dport": "destination port", "src": "source address"}
HOST_ADDRESSES = {"10.0.1.1", "10.0.2.2"}  # LABS.md: h1, h2 (a spoofed source is neither)


def hash_input(flow: Flow, order: tuple[str, ...]) -> bytes:
    return hashes.fields(*((fr.ip_int(getattr(flow, f)) if f in ("src", "dst")
                            else getattr(flow, f), WIDTHS[f]) for f in order))


def bf_cells(flow: Flow, order: tuple[str, ...]) -> dict[str, int]:
    raw = hash_input(flow, order)
    return {name: algo(raw) % BF_CELLS for name, algo in ALGORITHMS.items()}


def field_offset(order: tuple[str, ...], field: str) -> int:
    """Where `field` starts in the hash input of the 5-tuple in `order` (bytes)."""
    return sum(WIDTHS[name] // 8 for name in order[:order.index(field)])


def cells_by_field(flow: Flow, order: tuple[str, ...],
                   field: str) -> dict[str, Callable[[int], int]]:
    """For each hash, the cell of with_field(flow, field, v) as a function of v (a
    search then tries values without building flows or hashing whole 5-tuples)."""
    offset = field_offset(order, field)
    if field == "src":
        offset += 2   # with_field varies the low 16 bits of the address
    raw = hash_input(flow, order)

    def cell_of(algo: Callable[[bytes], int]) -> Callable[[int], int]:
        hashed = hashes.window_hash(algo, raw, offset, 2)
        return lambda v: hashed(v) % BF_CELLS

    return {name: cell_of(algo) for name, algo in ALGORITHMS.items()}


def with_field(flow: Flow, field: str, value: int) -> Flow:
    if field == "src":  # the low 16 bits of the source address
        return flow.but(src=fr.ip_text(fr.ip_int(flow.src) & 0xFFFF0000 | value))
    return flow.but(**{field: value})


def sharing_one_cell(rng: Random, flow: Flow, algo: str, order: tuple[str, ...], field: str,
                     avoid: Iterable[Flow], heavy: Sequence[Flow]) -> Flow:
    """`flow` with another `field` (source port, destination port or the low bits of
    the source address) such that, with both hashes over `order`, it lands in the same
    `algo` cell as `flow` and in another cell of the other hash than either of
    `flow`'s (one array for both hashes included). A filter that takes the minimum of
    its two counters treats it as a new flow; one that reads a single hash, blocks
    when ANY counter is full, or leaves `field` out of its other hash, blocks it.
    With the lab's own hashes it must not land in two cells of the `heavy` flows."""
    mine = bf_cells(flow, order)
    other = next(a for a in ALGORITHMS if a != algo)
    cell = cells_by_field(flow, order, field)
    taken = set(avoid) | {flow}
    start = rng.randrange(1, 65536)
    for step in range(65535):
        value = (start + step) % 65535 + 1
        if cell[algo](value) != mine[algo] or cell[other](value) in mine.values():
            continue
        candidate = with_field(flow, field, value)
        if candidate in taken or (field == "src" and candidate.src in HOST_ADDRESSES) \
                or both_heavy(candidate, heavy):
            continue
        return candidate
    raise ValueError(f"no {field} shares only the {algo} cell of {flow.label()}")


def in_last_cell(rng: Random, flow: Flow, algo: str) -> Flow:
    """`flow` with a source port that puts it in the last `algo` cell (the lab's field
    order): a program whose hash base is not 0 indexes past its register's end there
    and never counts the flow."""
    cell = cells_by_field(flow, LAB_ORDER, "sport")[algo]
    start = rng.randrange(1, 65536)
    for step in range(65535):
        sport = (start + step) % 65535 + 1
        if cell(sport) == BF_CELLS - 1:
            return flow.but(sport=sport)
    raise ValueError(f"no source port puts {flow.label()} in the last {algo} cell")


def both_heavy(flow: Flow, heavy: Sequence[Flow]) -> bool:
    """Whether both of `flow`'s cells (the lab's hashes) are cells of `heavy` flows: the
    model counts each flow on its own (it knows no collisions), so a flow it lets
    through must not be blocked by other flows' counts in both of its cells."""
    mine = bf_cells(flow, LAB_ORDER)
    theirs = [bf_cells(h, LAB_ORDER) for h in heavy]
    return all(any(c[a] == mine[a] for c in theirs) for a in ALGORITHMS)


def solved(rng: Random, flow: Flow, window: str, wants: dict[str, int],
           heavy: Sequence[Flow] = ()) -> Flow:
    """`flow` with its `window` ("ports": both ports; "dst": the low 16 bits of the
    destination address) set so that its cells (the lab's field order) are `wants`
    (hash -> cell), drawn among the values that do (neither port 0, and not in two
    cells of the `heavy` flows)."""
    # the ports are adjacent in the lab's order; "dst" varies the address's low 16 bits
    offset, width = {"ports": (field_offset(LAB_ORDER, "sport"), 4),
                     "dst": (field_offset(LAB_ORDER, "dst") + 2, 2)}[window]
    raw = hash_input(flow, LAB_ORDER)
    for _ in range(50):
        value = hashes.solve_window(raw, offset, width, [(ALGORITHMS[a], BF_CELLS, c)
                                                         for a, c in wants.items()], rng)
        if value is None:
            break
        if window == "dst":
            candidate = flow.but(dst=fr.ip_text(fr.ip_int(flow.dst) & 0xFFFF0000 | value))
        elif value >> 16 and value & 0xFFFF:
            candidate = flow.but(sport=value >> 16, dport=value & 0xFFFF)
        else:
            continue
        if not both_heavy(candidate, heavy):
            return candidate
    raise ValueError(f"no {window} puts {flow.label()} in the cells {wants}")


def third_blocked(rng: Random, h1: str, h2: str, tcp: Flow, udp: Flow) -> Flow:
    """A UDP flow h1 -> h2 to block besides the two heavy ones, with a crc32 cell that
    the blocked UDP flow with TCP instead of UDP would use, and a crc16 cell that the
    blocked TCP flow with UDP would: once the three are blocked, each of these
    protocol variants has one full counter of its own, so a hash that leaves the
    protocol out (which puts the variant in its blocked flow's cell there) fills its
    other counter too. Both cells at once: ports solved for, not searched."""
    wants = {"crc32": bf_cells(udp.but(proto=fr.TCP), LAB_ORDER)["crc32"],
             "crc16": bf_cells(tcp.but(proto=fr.UDP), LAB_ORDER)["crc16"]}
    return solved(rng, Flow("h1", h1, h2, fr.UDP), "ports", wants)


# -- 1. the course's routes --------------------------------------------------------------

@dataclass
class Heavy:
    tcp: Flow     # sends THRESHOLD - 1 in phase 1
    udp: Flow     # sends THRESHOLD + extra in phase 1: blocked
    third: Flow   # sends THRESHOLD + extra in phase 1: blocked (third_blocked)


def course_phase(lab: LabContext, rng: Random, traffic: Traffic, network: Any) -> Heavy:
    h1, h2 = lab.host("h1"), lab.host("h2")
    # the two flows that get blocked sit in the last cell of one hash each
    tcp = in_last_cell(rng, Flow("h1", h1.ip, h2.ip, fr.TCP, 0, random_port(rng)), "crc32")
    while True:
        udp = in_last_cell(rng, Flow("h2", h2.ip, h1.ip, fr.UDP, 0, random_port(rng)),
                           "crc16")
        third = third_blocked(rng, h1.ip, h2.ip, tcp, udp)
        heavy = [tcp, udp, third]
        # no blocked flow, nor a protocol variant of the first two, in two full cells
        if not any(both_heavy(f, [h for h in heavy if h != f]) for f in heavy) and \
                not both_heavy(udp.but(proto=fr.TCP), heavy) and \
                not both_heavy(tcp.but(proto=fr.UDP), heavy):
            break
    spoofed = fr.ip_text(hm.Prefix.of(fr.ip_int(h2.ip), 24).network | rng.randrange(3, 255))
    variants = {
        "source port": udp.but(sport=random_port(rng, (udp.sport,))),
        "destination port": udp.but(dport=random_port(rng, (udp.dport,))),
        "protocol (TCP, same ports)": udp.but(proto=fr.TCP),
        f"source address ({spoofed})": udp.but(src=spoofed),
    }
    reverse = Flow("h1", udp.dst, udp.src, fr.UDP, udp.dport, udp.sport)
    one_cell: dict[str, Flow] = {}
    for order_name, order in FIELD_ORDERS.items():
        for algo in ALGORITHMS:
            for field, name in VARIED.items():
                used = [*variants.values(), *one_cell.values()]
                one_cell[f"{algo} cell ({order_name}; another {name})"] = \
                    sharing_one_cell(rng, udp, algo, order, field, used, heavy)
    extra = rng.randrange(5, 21)

    def frames(group: str, flow: Flow, n: int) -> list[tuple[str, bytes]]:
        return [(group, f) for f in traffic.frames(flow, n)]

    extra3 = rng.randrange(5, 21)
    groups = {"tcp": f"{tcp.label()} (999 sent)", "udp": f"{udp.label()} ({THRESHOLD + extra} sent)",
              "third": f"{third.label()} ({THRESHOLD + extra3} sent)"}
    variant_frames = [frames(f"{udp.label()} but {what}: {flow.label()}", flow, rng.randrange(15, 31))
                      for what, flow in variants.items()]
    reverse_frames = frames(f"reverse of {udp.label()}: {reverse.label()}", reverse,
                            rng.randrange(15, 31))
    # the source-port ones in the lab's order send more than half the threshold: a
    # counter that grows by 2 per packet in the array they do not share would block them
    many = {f"{algo} cell (addresses, protocol, ports; another source port)" for algo in ALGORITHMS}
    one_cell_frames = [frames(f"{flow.label()}: only the {what} of {udp.label()}", flow,
                              THRESHOLD // 2 + rng.randrange(50, 150) if what in many
                              else rng.randrange(4, 9)) for what, flow in one_cell.items()]
    others = {
        "h1": [frames(f"{Flow('h1', h1.ip, h2.ip, fr.ICMP).label()} (echo request)",
                      Flow("h1", h1.ip, h2.ip, fr.ICMP, rng.randrange(1 << 16), 8), 6),
               frames(Flow("h1", h1.ip, h2.ip, OTHER_PROTOCOL).label(),
                      Flow("h1", h1.ip, h2.ip, OTHER_PROTOCOL), 4)],
        "h2": [frames(f"{Flow('h2', h2.ip, h1.ip, fr.ICMP).label()} (echo reply)",
                      Flow("h2", h2.ip, h1.ip, fr.ICMP, rng.randrange(1 << 16), 0), 6),
               frames(Flow("h2", h2.ip, h1.ip, OTHER_PROTOCOL).label(),
                      Flow("h2", h2.ip, h1.ip, OTHER_PROTOCOL), 4)],
    }
    udp_frames = frames(groups["udp"], udp, THRESHOLD + extra)
    # a third of each variant's frames while the UDP flow still passes, the rest after
    # it was blocked (the spec's "a new flow ... still passes after another got blocked")
    early = [v[:len(v) // 3] for v in variant_frames]
    late = [v[len(v) // 3:] for v in variant_frames]
    cut = THRESHOLD - 200
    # the one-cell flows only once the UDP flow is blocked: its cells are full then
    h2_order = (udp_frames[:cut] + merge(rng, [udp_frames[cut:], *early])
                + merge(rng, late + one_cell_frames))
    h2_order = merge(rng, [h2_order, *others["h2"]])
    h1_order = merge(rng, [frames(groups["tcp"], tcp, THRESHOLD - 1), reverse_frames,
                           frames(groups["third"], third, THRESHOLD + extra3), *others["h1"]])
    outcome = burst(lab, network, Batch.of({"h1": h1_order, "h2": h2_order}))

    with lab.check(f"{tcp.label()}: 999 packets, one below the threshold of {THRESHOLD}, "
                   "all delivered"):
        expect_groups(outcome, [groups["tcp"]])
    with lab.check(f"{udp.label()}: exactly its first {THRESHOLD} of {THRESHOLD + extra} "
                   f"delivered, the rest dropped; so for {third.label()} (of {THRESHOLD + extra3})"):
        expect_groups(outcome, [groups["udp"], groups["third"]])
    with lab.check("flows differing from the blocked UDP flow in exactly one field (source "
                   "port, destination port, protocol, source address), and its reverse "
                   "flow, each get every frame through"):
        expect_groups(outcome, [items[0][0] for items in [*variant_frames, reverse_frames]])
    with lab.check("flows sharing exactly one Bloom-filter cell with the blocked UDP flow (its "
                   "crc16 cell or its crc32 cell, 5-tuple in either common order, "
                   f"{BF_CELLS} counters) get every frame through: a flow is blocked only "
                   "when BOTH of its counters reached the threshold"):
        expect_groups(outcome, [items[0][0] for items in one_cell_frames])
    with lab.check("ICMP (echo request and reply) and IPv4 protocol 47 are routed both ways"):
        expect_groups(outcome, [items[0][0] for items in others["h1"] + others["h2"]])
    with lab.check("course routes: every delivered frame equals the model's whole: destination "
                   "MAC of the next hop, TTL 2 lower, valid recomputed IPv4 checksum, the rest "
                   "unchanged (TTL 3-255, varied TOS/DF/identification; source MAC not "
                   "specified)"):
        expect_integrity(outcome)
    return Heavy(tcp, udp, third)


# -- 2. seeded routes --------------------------------------------------------------------

@dataclass
class Destinations:
    """Addresses whose fate the seeded routes decide."""

    via_prefix: str        # s1: the short prefix; s2: the middle one
    hole: str              # s1: /32 inside the drop() prefix
    dropped: str           # s1: the drop() prefix
    s2_miss: str           # s1 routes it (short prefix), s2 has no route
    s1_miss: str           # no route on s1
    s2_miss_from_h2: str   # no route on s2
    hairpin1: str          # s1 sends it back out of port 1 (to h1)
    hairpin2: str          # s2 sends it back out of port 1 (to h2)
    spare: Any             # a /16 both switches route toward h2 (addresses to solve for)


def seeded_routes(lab: LabContext, rng: Random) -> tuple[dict[str, list[Any]], Destinations, str]:
    h1, h2 = fr.ip_int(lab.host("h1").ip), fr.ip_int(lab.host("h2").ip)
    host1, host2 = hm.Prefix(h1, 32), hm.Prefix(h2, 32)
    short_len = rng.randrange(8, 21)
    middle_len = rng.randrange(short_len + 1, 27)
    short, middle = hm.Prefix.of(h2, short_len), hm.Prefix.of(h2, middle_len)
    dropped = hm.sub_prefix(rng, middle, rng.randrange(middle_len + 1, 31), (host2,))
    loop1 = hm.random_prefix(rng, rng.randrange(24, 31), (short, host1))
    loop2 = hm.random_prefix(rng, rng.randrange(24, 31), (short, host1, loop1))

    def inside(prefix: Any, avoid: tuple[Any, ...] = ()) -> int:
        for _ in range(1000):
            addr = prefix.network | rng.randrange(prefix.size)
            if addr not in (h1, h2) and not any(p.contains(addr) for p in avoid):
                return int(addr)
        raise ValueError(f"no address in {prefix.text()}")

    hole = inside(dropped)
    hole32 = hm.Prefix(hole, 32)
    outside_all = hm.random_prefix(rng, 24, (short, host1, loop1, loop2))
    spare = hm.random_prefix(rng, 16, (short, host1, loop1, loop2, outside_all))
    dest = Destinations(
        via_prefix=fr.ip_text(inside(middle, (dropped, host2))),
        hole=fr.ip_text(hole), dropped=fr.ip_text(inside(dropped, (hole32,))),
        s2_miss=fr.ip_text(inside(short, (middle, host1))),
        s1_miss=fr.ip_text(inside(outside_all)),
        s2_miss_from_h2=fr.ip_text(inside(outside_all)),
        hairpin1=fr.ip_text(inside(loop1)), hairpin2=fr.ip_text(inside(loop2)), spare=spare)
    macs = [random_mac(rng) for _ in range(11)]
    routes = {
        "s1": [m2.Route(host2, macs[0], 2), m2.Route(short, macs[1], 2), m2.Route(dropped, None),
               m2.Route(hole32, macs[2], 2), m2.Route(host1, macs[3], 1),
               m2.Route(loop1, macs[4], 1), m2.Route(spare, macs[9], 2)],
        "s2": [m2.Route(host2, macs[5], 1), m2.Route(middle, macs[6], 1),
               m2.Route(host1, macs[7], 2), m2.Route(loop2, macs[8], 1),
               m2.Route(spare, macs[10], 1)],
    }
    for entries in routes.values():
        rng.shuffle(entries)
    text = "; ".join(f"{sw}: " + ", ".join(
        f"{r.prefix.text()}->{'drop' if r.next_mac is None else f'{r.next_mac}@{r.port}'}"
        for r in entries) for sw, entries in routes.items())
    return routes, dest, text


def install(lab: LabContext, network: Any, routes: dict[str, list[Any]]) -> None:
    network.clear_routes()
    for switch, entries in routes.items():
        control = lab.switch(switch)
        control.table_clear(TABLE)
        control.table_add_many(TABLE, [
            Entry({KEY: r.prefix.text()}, "drop") if r.next_mac is None else
            Entry({KEY: r.prefix.text()}, "ipv4_forward", {"dstAddr": r.next_mac, "port": r.port})
            for r in entries])
        for r in entries:
            network.tables[switch].add(r)


def seeded_phase(lab: LabContext, rng: Random, traffic: Traffic, network: Any,
                 heavy: Heavy) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    routes, dest, text = seeded_routes(lab, rng)
    install(lab, network, routes)
    lab.note(f"seeded ipv4_lpm entries: {text}")

    def frames(group: str, flow: Flow, n: int) -> list[tuple[str, bytes]]:
        return [(group, f) for f in traffic.frames(flow, n)]

    queued: dict[str, list[list[tuple[str, bytes]]]] = {"h1": [], "h2": []}

    def light(host: str, src: str, dst: str, what: str) -> list[str]:
        """A few UDP, ICMP and TCP frames from `host` to `dst`; their group names."""
        flows = (Flow(host, src, dst, fr.UDP, random_port(rng), random_port(rng)),
                 Flow(host, src, dst, fr.ICMP, rng.randrange(1 << 16), 8),
                 Flow(host, src, dst, fr.TCP, random_port(rng), random_port(rng)))
        lists = [frames(f"{f.label()} ({what})", f, rng.randrange(3, 7)) for f in flows]
        queued[host] += lists
        return [items[0][0] for items in lists]

    tcp = heavy.tcp
    cont = frames(f"{tcp.label()} (at 999: one more passes)", tcp, 2 + rng.randrange(1, 4))
    other_dst = tcp.but(dst=dest.via_prefix)
    moved = frames(f"{tcp.label()} but destination address: {other_dst.label()} (after the "
                   "first one is blocked)", other_dst, rng.randrange(5, 11))
    for field in ("sport", "dport"):
        variant = tcp.but(**{field: random_port(rng, (getattr(tcp, field),))})
        moved += frames(f"{tcp.label()} but {VARIED[field]}: {variant.label()} (after the "
                        "first one is blocked)", variant, rng.randrange(5, 11))
    udp_again = frames(f"{heavy.udp.label()} (blocked)", heavy.udp, 3)
    routed = (light("h1", h1.ip, h2.ip, "/32 on s1 and s2")
              + light("h1", h1.ip, dest.via_prefix, "short prefix on s1, middle one on s2")
              + light("h1", h1.ip, dest.hole, "/32 inside a drop() prefix on s1")
              + light("h2", h2.ip, h1.ip, "/32 on s2 and s1"))
    hairpins = (light("h1", h1.ip, dest.hairpin1, "s1 routes it back out of port 1")
                + light("h2", h2.ip, dest.hairpin2, "s2 routes it back out of port 1"))
    dropped = (light("h1", h1.ip, dest.dropped, "drop() entry on s1")
               + light("h1", h1.ip, dest.s1_miss, "no route on s1")
               + light("h1", h1.ip, dest.s2_miss, "routed by s1, no route on s2")
               + light("h2", h2.ip, dest.s2_miss_from_h2, "no route on s2"))
    # one counter full (the third blocked flow's), the other the blocked flow's own cell
    # in a hash that leaves out the one field they differ in: destination or protocol
    third = bf_cells(heavy.third, LAB_ORDER)
    blocked = [tcp, heavy.udp, heavy.third]
    in_spare = tcp.but(dst=fr.ip_text(dest.spare.network))
    one_full = [
        ("destination address", solved(rng, in_spare, "dst", {"crc32": third["crc32"]}, blocked),
         "crc32"),
        ("destination address", solved(rng, in_spare, "dst", {"crc16": third["crc16"]}, blocked),
         "crc16"),
        ("protocol", tcp.but(proto=fr.UDP), "crc16"),
        ("protocol", heavy.udp.but(proto=fr.TCP), "crc32")]
    one_full_frames: dict[str, list[list[tuple[str, bytes]]]] = {"h1": [], "h2": []}
    one_full_groups = []
    for what, flow, algo in one_full:
        base = tcp if flow.host == tcp.host else heavy.udp
        group = (f"{base.label()} but {what}: {flow.label()} (its {algo} cell is "
                 f"{heavy.third.label()}'s)")
        one_full_frames[flow.host].append(frames(group, flow, rng.randrange(5, 11)))
        one_full_groups.append(group)
    # the blocked flow's last packets before the same flow to another destination
    h1_order = cont + moved + merge(rng, queued["h1"] + one_full_frames["h1"])
    h2_order = merge(rng, [udp_again, *queued["h2"], *one_full_frames["h2"]])
    outcome = burst(lab, network, Batch.of({"h1": h1_order, "h2": h2_order}))

    with lab.check("seeded routes on both switches (other next-hop MACs, prefixes of seeded "
                   "lengths): the longest prefix wins on each switch, MAC and port from the "
                   "table, both directions"):
        expect_groups(outcome, routed)
    with lab.check("seeded routes out of the ingress port (s1 back to h1, s2 back to h2)"):
        expect_groups(outcome, hairpins)
    with lab.check("a drop() entry, destinations without a route on s1 or on s2: nothing "
                   "delivered anywhere"):
        expect_groups(outcome, dropped)
    with lab.check(f"{tcp.label()} at 999 gets exactly one more (1000 in all); the same flow "
                   "to another destination, from another source port or to another "
                   f"destination port then passes; {heavy.udp.label()} stays blocked"):
        expect_groups(outcome, [cont[0][0], *dict.fromkeys(g for g, _ in moved),
                                udp_again[0][0]])
    with lab.check("a flow that differs from a blocked one only in its destination address "
                   "or only in its protocol passes although one of its two counters is full "
                   "(another blocked flow's): each hash covers every field of the 5-tuple"):
        expect_groups(outcome, one_full_groups)
    with lab.check("seeded routes: every delivered frame equals the model's whole (MACs from "
                   "the table, TTL, checksum, the rest unchanged)"):
        expect_integrity(outcome)


def verify(lab: LabContext) -> None:
    rng = lab.rng
    network = course_network(lab)
    traffic = Traffic(lab, rng, network)
    heavy = course_phase(lab, rng, traffic, network)
    seeded_phase(lab, rng, traffic, network, heavy)
