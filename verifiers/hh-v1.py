"""Verifier for lab 2.1 (heavy-hitter detector v1): h1-h3 on ports 1-3 send to h4 on
port 4 through s1; each source address may get N packets through (table
hhd_threshold, longest prefix match on the source), exactly N, then never again.

What is proven, against the reference model (hh-v1_model.py), with every frame
traced back by its IPv4 identification and compared byte for byte:
1. the course's thresholds (the controller's 100/1000/300): all three sources at
   once, one of them also from another host's port (the budget belongs to the
   address, not the port): exactly the FIRST N frames of each reach h4, unchanged,
   over UDP, TCP, ICMP and other IPv4 protocols mixed; 999 of 1000 lose nothing;
   an unknown source and non-IPv4 frames (ARP; a frame shaped like IPv4 under
   another EtherType) get nothing through; nothing leaves ports 1-3;
2. reconfigured through P4Runtime with seeded values: thresholds 0, 1, 2, near the
   course's values, 2^16+s (a 16-bit field would cut it) and 2^32-1, a short prefix
   giving each of its sources a budget of its own, overlapping prefixes (the longest
   wins, a drop() entry inside a prefix, a /32 budget inside the drop), a source
   outside every prefix: a program that hard-codes or derives thresholds fails;
3. after an idle period, blocked sources stay blocked ("forever"); sources below
   their threshold keep exactly what is left; a threshold raised with table_modify
   lets exactly the difference through.
Only the contract is used (table hhd_threshold, key hdr.ipv4.srcAddr, actions
set_hhd_threshold(threshold) and drop()); the counting register is not in the
contract, so every phase uses fresh source addresses where it needs fresh counts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from labtool.checks import CheckFailed
from labtool.context import HostInfo, LabContext
from labtool.controlplane import Entry
from labtool.loader import load_module
from labtool.pktdiff import first_difference, summary

_HERE = Path(__file__).resolve().parent
fr: Any = load_module(_HERE / "hh-v1_frames.py", "hh_frames")
hm: Any = load_module(_HERE / "hh-v1_model.py", "hh_model")

TABLE, KEY = "hhd_threshold", "hdr.ipv4.srcAddr"
SINK = "h4"
SENDERS = ("h1", "h2", "h3")
COURSE = {"h1": 100, "h2": 1000, "h3": 300}  # the controller's thresholds (LABS.md)
# "Every later one is dropped (forever)": a program whose counts decay or time out
# must show it within this idle period. The spec gives no time scale, so it is kept
# short; it is a real wait, nothing signals the end of a timeout that must not exist.
IDLE_S = 0.3
OTHER_PROTOCOLS = (47, 50, 132, 253)  # GRE, ESP, SCTP, experimental: IPv4 all the same
NOT_IPV4 = 0x88B5


@dataclass
class Stream:
    """The frames of one source address (or of one kind of frame), per sending host in
    send order, and how many of them the model lets through."""

    label: str
    frames: dict[str, list[bytes]]
    expected: int

    @property
    def sent(self) -> int:
        return sum(len(v) for v in self.frames.values())


class Traffic:
    """Frames toward h4, each with an IPv4 identification of its own."""

    def __init__(self, lab: LabContext, rng: Random) -> None:
        self.lab, self.rng = lab, rng
        self.sink = lab.host(SINK)
        self.idents = fr.Idents(rng.randrange(0x10000))

    def ipv4(self, host: HostInfo, source: str, size: int | None = None) -> bytes:
        """One IPv4 frame from `source` sent by `host`: a random protocol (the budget
        counts IPv4 packets, whatever they carry), header fields and size."""
        rng, ident, sink = self.rng, self.idents.take(), self.sink
        proto = rng.choice((fr.UDP, fr.UDP, fr.TCP, fr.ICMP, rng.choice(OTHER_PROTOCOLS)))
        l4_header = {fr.UDP: 8, fr.TCP: 20, fr.ICMP: 8}.get(proto, 0)
        tag = f"hh-v1 {source} {ident}".encode()
        size = size or rng.choice((fr.ETH_MIN, rng.randrange(fr.ETH_MIN, 200)))
        payload = tag + bytes(max(0, size - 34 - l4_header - len(tag)))
        if proto == fr.UDP:
            l4 = fr.udp_segment(source, sink.ip, rng.randrange(1, 65536), rng.randrange(1, 65536),
                                payload)
        elif proto == fr.TCP:
            l4 = fr.tcp_segment(source, sink.ip, rng.randrange(1, 65536), rng.randrange(1, 65536),
                                rng.randrange(1 << 32), rng.choice((fr.TCP_SYN, fr.TCP_ACK,
                                                                    fr.TCP_PSH | fr.TCP_ACK)),
                                payload)
        elif proto == fr.ICMP:
            l4 = fr.icmp_echo(rng.randrange(0x10000), ident, payload)
        else:
            l4 = payload
        fields = fr.IpFields(ttl=rng.randrange(1, 256), tos=rng.randrange(256), ident=ident,
                             dont_fragment=rng.random() < 0.5)
        return bytes(fr.ipv4_frame(sink.mac, host.mac, source, sink.ip, proto, l4, fields))

    def stream(self, label: str, source: str, per_host: dict[str, int], budgets: Any,
               big: bool = False) -> Stream:
        """per_host[h] frames from `source` sent by host h; the model says how many pass.
        big: one of them is a full 1514-byte frame."""
        frames = {h: [self.ipv4(self.lab.host(h), source) for _ in range(n)]
                  for h, n in per_host.items() if n}
        if big and frames:
            host = next(iter(frames))
            frames[host][len(frames[host]) // 2] = self.ipv4(self.lab.host(host), source, fr.ETH_MAX)
        expected = budgets.forward(fr.ip_int(source), sum(per_host.values()))
        return Stream(label, frames, expected)

    def not_ipv4(self, looks_like: str) -> Stream:
        """Frames no correct program forwards: an ARP request for h4 from each sender, and
        one frame per sender that is byte for byte an IPv4 packet from `looks_like` (a
        source with budget left) under another EtherType: a parser that does not check
        the EtherType takes it for IPv4."""
        frames: dict[str, list[bytes]] = {}
        for name in SENDERS:
            host = self.lab.host(name)
            arp = (fr.mac_bytes("ff:ff:ff:ff:ff:ff") + fr.mac_bytes(host.mac) + b"\x08\x06"
                   + b"\x00\x01\x08\x00\x06\x04\x00\x01" + fr.mac_bytes(host.mac)
                   + bytes(fr.ip_int(host.ip).to_bytes(4, "big")) + bytes(6)
                   + fr.ip_int(self.sink.ip).to_bytes(4, "big"))
            shaped = self.ipv4(host, looks_like)
            frames[name] = [arp + bytes(fr.ETH_MIN - len(arp)),
                            shaped[:12] + NOT_IPV4.to_bytes(2, "big") + shaped[14:]]
        return Stream(f"non-IPv4 frames (ARP; EtherType 0x{NOT_IPV4:04x} shaped like IPv4 "
                      f"from {looks_like})", frames, 0)


def schedule(rng: Random, streams: Iterable[Stream]) -> dict[str, list[bytes]]:
    """Per sending host, its streams' frames merged in a random order that keeps each
    stream's own order (burst() then interleaves the hosts round robin)."""
    queues: dict[str, list[list[bytes]]] = {}
    for stream in streams:
        for host, frames in stream.frames.items():
            queues.setdefault(host, []).append(list(frames))
    out: dict[str, list[bytes]] = {}
    for host, lists in queues.items():
        picks = [i for i, frames in enumerate(lists) for _ in frames]
        rng.shuffle(picks)
        cursors = [0] * len(lists)
        merged = []
        for i in picks:
            merged.append(lists[i][cursors[i]])
            cursors[i] += 1
        out[host] = merged
    return out


class Delivery:
    """What one burst delivered, each frame traced back to the one sent (exact bytes,
    else its IPv4 identification: then it was altered)."""

    def __init__(self, streams: Sequence[Stream], got: dict[str, list[bytes]]) -> None:
        sent = {frame for s in streams for frames in s.frames.values() for frame in frames}
        by_ident = {fr.ident_of(f): f for f in sent if fr.is_ipv4(f)}
        self.delivered: Counter[bytes] = Counter()
        self.altered: list[tuple[bytes, bytes]] = []
        self.strangers: list[bytes] = []
        for frame in got.get(SINK, []):
            if frame in sent:
                self.delivered[frame] += 1
            elif fr.is_ipv4(frame) and fr.ident_of(frame) in by_ident:
                original = by_ident[fr.ident_of(frame)]
                self.delivered[original] += 1
                self.altered.append((original, frame))
            else:
                self.strangers.append(frame)
        self.elsewhere = {h: frames for h, frames in got.items() if h != SINK and frames}

    def problems(self, stream: Stream) -> list[str]:
        """Exactly `expected` of the stream's frames arrived, each once, and from every
        sending host the first ones (a prefix of what it sent)."""
        problems, total = [], 0
        for host, frames in stream.frames.items():
            passed = [i for i, frame in enumerate(frames) if self.delivered[frame]]
            total += sum(self.delivered[frame] for frame in frames)
            gap = next((k for k, i in enumerate(passed) if i != k), None)
            if gap is not None:
                problems.append(f"{stream.label}, sent by {host}: frame {gap + 1} of {len(frames)} "
                                f"was dropped but frame {passed[gap] + 1} after it was delivered "
                                "(the first N must pass, then none)")
            twice = sum(1 for frame in frames if self.delivered[frame] > 1)
            if twice:
                problems.append(f"{stream.label}, sent by {host}: {twice} frame(s) delivered "
                                "more than once")
        if total != stream.expected:
            problems.append(f"{stream.label}: expected exactly {stream.expected} of its "
                            f"{stream.sent} frames at {SINK}, got {total}")
        return problems

    def integrity(self) -> list[str]:
        problems = []
        if self.altered:
            original, got = self.altered[0]
            problems.append(f"{len(self.altered)} frame(s) reached {SINK} changed (frames must "
                            f"pass unchanged); first: {summary(original)}: "
                            f"{first_difference(original, got)}")
        if self.strangers:
            problems.append(f"{len(self.strangers)} frame(s) at {SINK} that were never sent; "
                            f"first: {summary(self.strangers[0])}")
        for host, frames in self.elsewhere.items():
            problems.append(f"{host} received {len(frames)} frame(s) (only port 4 may send); "
                            f"first: {summary(frames[0])}")
        return problems


def run(lab: LabContext, rng: Random, streams: Sequence[Stream]) -> Delivery:
    sends = schedule(rng, streams)
    got = lab.burst(sends, expect={SINK: sum(s.expected for s in streams)})
    return Delivery(streams, got)


def expect_streams(delivery: Delivery, streams: Iterable[Stream]) -> None:
    problems = [p for s in streams for p in delivery.problems(s)]
    if problems:
        raise CheckFailed("\n".join(problems))


def expect_integrity(delivery: Delivery) -> None:
    problems = delivery.integrity()
    if problems:
        raise CheckFailed("\n".join(problems))


# -- the seeded reconfiguration ---------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """A source of the reconfiguration phase: its address and what it sends."""

    label: str
    addr: int
    send: int
    hosts: tuple[str, ...]


@dataclass
class Reconfiguration:
    entries: list[Any]        # ThresholdEntry, in the order they are installed
    singles: list[Case]       # /32 budgets at the edges (the last sends N-1)
    lpm: list[Case]           # sources under prefixes shorter than /32
    # sources phase 3 sends again: at N-1, blocked at 1, blocked at its /32, 2^32-1
    near_threshold: Case
    one: Case
    exact_host: Case
    unlimited: Case


EDGE_PREFIXES = 8  # /16 prefixes tried for a source in the last hash cell
EDGE_CELLS = {("crc32", 256, 255), ("crc16", 256, 255)}  # the last of 1024, modulo 256


def seeded_reconfiguration(rng: Random, pool: Any) -> Reconfiguration:
    course = hm.Prefix.of(fr.ip_int("10.0.0.0"), 8)  # the course's hosts: left alone
    used: list[Any] = [course]
    entries: list[Any] = []

    def host_choice(n: int = 1) -> tuple[str, ...]:
        return tuple(rng.sample(SENDERS, n))

    def fresh(length: int) -> Any:
        prefix = hm.random_prefix(rng, length, tuple(used))
        used.append(prefix)
        return prefix

    def single(threshold: int, send: int, hosts: tuple[str, ...]) -> Case:
        addr = hm.placed(pool, lambda: pool.draw(rng, fresh(24)))
        entries.append(hm.ThresholdEntry(hm.Prefix(addr, 32), threshold))
        return Case(f"{fr.ip_text(addr)}/32 (threshold {threshold})", addr, send, hosts)

    def extra() -> int:
        return rng.randrange(1, 4)

    def last_cell(algo: str, threshold: int) -> Case | None:
        """A source whose `algo` hash lands in the last of 1024 cells (the lab's register
        size): a program whose register is smaller than its hash range, or whose hash
        base is not 0, never counts it (BMv2 ignores a write past the end)."""
        for _ in range(EDGE_PREFIXES):  # a /16 may hold no candidate that fits the pool
            prefix = fresh(16)
            for _ in range(50000):
                addr = prefix.network | rng.randrange(prefix.size)
                if hm.plausible_hashes(addr)[algo] % 1024 == 1023 and pool.fits(addr):
                    pool.reserve(addr)
                    entries.append(hm.ThresholdEntry(hm.Prefix(addr, 32), threshold))
                    return Case(f"{fr.ip_text(addr)}/32 (threshold {threshold}; the last of "
                                f"1024 cells under {algo})", addr, threshold + extra(),
                                host_choice())
        return None  # a host's own address holds that cell (modulo 256): not this run

    # first: every other address taken makes the last cells (modulo 256 too) scarcer
    pool.release(EDGE_CELLS)
    edges = [c for c in (last_cell("crc32", rng.randrange(1, 6)),
                         last_cell("crc16", rng.randrange(1, 6))) if c is not None]
    near = [100 + rng.choice((-1, 1)) * rng.randrange(1, 10),
            300 + rng.choice((-1, 1)) * rng.randrange(1, 10)]
    wide = 0x10000 + rng.randrange(1, 5)  # a 16-bit threshold field would keep only 1-4
    one = single(1, 1 + extra(), host_choice())
    unlimited = single(hm.MAX_THRESHOLD, rng.randrange(4, 9), host_choice())
    near_threshold = single(near[1], near[1] - 1, host_choice())
    singles = [single(0, extra() + 1, host_choice()), one, single(2, 2 + extra(), host_choice()),
               single(near[0], near[0] + extra(), host_choice(2)),
               single(wide, wide - 0x10000 + 1 + extra(), host_choice()), unlimited,
               near_threshold, *edges]

    def shared_prefix() -> tuple[list[Any], list[Case]]:
        shared = fresh(rng.randrange(16, 29))
        t_shared = rng.randrange(3, 13)
        cases = []
        for _ in range(3):
            addr = pool.draw(rng, shared)
            cases.append(Case(f"{fr.ip_text(addr)} under {shared.text()} (threshold {t_shared} "
                              "per source)", addr, t_shared + extra(), host_choice()))
        return [hm.ThresholdEntry(shared, t_shared)], cases

    def overlapping() -> tuple[list[Any], list[Case]]:
        outer = fresh(rng.randrange(16, 23))
        inner = hm.sub_prefix(rng, outer, rng.randrange(24, 29))
        dropped = hm.sub_prefix(rng, outer, rng.randrange(24, 29), (inner,))
        t_outer, t_inner, t_host, t_hole = rng.sample(range(2, 16), 4)
        host_addr = pool.draw(rng, inner)
        hole_addr = pool.draw(rng, dropped)
        host32, hole32 = hm.Prefix(host_addr, 32), hm.Prefix(hole_addr, 32)
        sources = (
            (pool.draw(rng, outer, (inner, dropped)), f"only {outer.text()} (threshold {t_outer})",
             t_outer),
            (pool.draw(rng, inner, (host32,)),
             f"{inner.text()} inside {outer.text()} (threshold {t_inner})", t_inner),
            (host_addr, f"its /32 inside {inner.text()} (threshold {t_host})", t_host),
            (pool.draw(rng, dropped, (hole32,)), f"{dropped.text()}: drop() inside {outer.text()}",
             0),
            (hole_addr, f"its /32 inside the drop() of {dropped.text()} (threshold {t_hole})",
             t_hole))
        entries = [hm.ThresholdEntry(outer, t_outer), hm.ThresholdEntry(inner, t_inner),
                   hm.ThresholdEntry(host32, t_host), hm.ThresholdEntry(dropped, None),
                   hm.ThresholdEntry(hole32, t_hole)]
        return entries, [Case(f"{fr.ip_text(addr)} matching {what}", addr, n + extra(),
                              host_choice()) for addr, what, n in sources]

    shared_entries, lpm = hm.placed(pool, shared_prefix)
    overlap_entries, overlap_cases = hm.placed(pool, overlapping)
    entries += shared_entries + overlap_entries
    lpm += overlap_cases
    exact_host = overlap_cases[2]  # the /32 inside the inner prefix
    miss = hm.placed(pool, lambda: pool.draw(rng, fresh(24)))
    lpm.append(Case(f"{fr.ip_text(miss)} outside every prefix", miss, extra(), host_choice()))
    rng.shuffle(entries)
    return Reconfiguration(entries, singles, lpm, near_threshold, one, exact_host, unlimited)


def split(rng: Random, n: int, hosts: Sequence[str]) -> dict[str, int]:
    """n frames over `hosts`, each host at least a third of them."""
    if len(hosts) == 1:
        return {hosts[0]: n}
    first = rng.randrange(n // 3, n - n // 3 + 1)
    return {hosts[0]: first, hosts[1]: n - first}


def install(lab: LabContext, entries: Iterable[Any]) -> None:
    lab.switch("s1").table_add_many(TABLE, [
        Entry({KEY: e.prefix.text()}, "drop") if e.threshold is None else
        Entry({KEY: e.prefix.text()}, "set_hhd_threshold", {"threshold": e.threshold})
        for e in entries])


# -- the verifier -----------------------------------------------------------------------

@dataclass
class Session:
    """What the phases share: the model (table and budgets), the traffic, the pool of
    source addresses and the unknown source."""

    lab: LabContext
    rng: Random
    traffic: Traffic
    table: Any      # ThresholdTable, as installed on s1
    budgets: Any    # BudgetModel
    pool: Any       # AddressPool
    unknown: str

    def streams(self, cases: Iterable[Case]) -> list[Stream]:
        return [self.traffic.stream(c.label, fr.ip_text(c.addr), split(self.rng, c.send, c.hosts),
                                    self.budgets) for c in cases]


def start(lab: LabContext) -> Session:
    """The model with the controller's thresholds; the course hosts' addresses and an
    unknown one (in the hosts' /24, no entry) taken from the pool."""
    rng = lab.rng
    table = hm.ThresholdTable()
    pool = hm.AddressPool()
    for name, n in COURSE.items():
        addr = pool.reserve(fr.ip_int(lab.host(name).ip))
        table.add(hm.ThresholdEntry(hm.Prefix(addr, 32), n))
    # the last hash cells (modulo 256 too) stay free until the seeded phase draws its
    # sources there: an address drawn before could otherwise take them, and then no
    # source fits the last cell that run
    pool.hold(EDGE_CELLS)
    sink = hm.Prefix(fr.ip_int(lab.host(SINK).ip), 32)
    unknown = fr.ip_text(pool.draw(rng, hm.Prefix.of(sink.network, 24), (sink,)))
    return Session(lab, rng, Traffic(lab, rng), table, hm.BudgetModel(table), pool, unknown)


def course_phase(ses: Session) -> None:
    """The controller's thresholds, every source at once."""
    lab, rng, traffic, budgets = ses.lab, ses.rng, ses.traffic, ses.budgets
    h1, h2, h3 = (lab.host(n) for n in SENDERS)
    roamer = rng.choice(("h2", "h3"))  # also sends h1's address from its own port
    s1 = traffic.stream(f"{h1.ip} (threshold 100)", h1.ip,
                        split(rng, 100 + rng.randrange(2, 11), ("h1", roamer)), budgets, big=True)
    s2 = traffic.stream(f"{h2.ip} (threshold 1000, sends 999)", h2.ip, {"h2": 999}, budgets,
                        big=True)
    s3 = traffic.stream(f"{h3.ip} (threshold 300)", h3.ip, {"h3": 300 + rng.randrange(2, 11)},
                        budgets, big=True)
    stranger = traffic.stream(f"unknown source {ses.unknown}", ses.unknown,
                              {rng.choice(SENDERS): rng.randrange(5, 11)}, budgets)
    not_ipv4 = traffic.not_ipv4(h2.ip)
    course = run(lab, rng, [s1, s2, s3, stranger, not_ipv4])
    with lab.check(f"course thresholds, all sources at once ({h1.ip} also from {roamer}'s "
                   f"port): exactly the first 100 of {h1.ip} and the first 300 of {h3.ip} "
                   "reach h4 (UDP, TCP, ICMP, other IPv4 mixed), later ones are dropped"):
        expect_streams(course, [s1, s3])
    with lab.check(f"{h2.ip} below its threshold (999 of 1000) loses nothing"):
        expect_streams(course, [s2])
    with lab.check(f"an unknown source ({ses.unknown}) and non-IPv4 frames (ARP, EtherType "
                   f"0x{NOT_IPV4:04x} shaped like IPv4) get nothing through"):
        expect_streams(course, [stranger, not_ipv4])
    with lab.check("course thresholds: delivered frames are byte-identical to those sent "
                   "and leave by port 4 only"):
        expect_integrity(course)


def seeded_phase(ses: Session) -> Reconfiguration:
    """Seeded entries added through the contract (the course's stay), every source at once."""
    lab = ses.lab
    plan = seeded_reconfiguration(ses.rng, ses.pool)
    install(lab, plan.entries)
    for e in plan.entries:
        ses.table.add(e)
    lab.note("seeded hhd_threshold entries: " + ", ".join(
        f"{e.prefix.text()}->{'drop' if e.threshold is None else e.threshold}"
        for e in plan.entries))
    singles, lpm = ses.streams(plan.singles), ses.streams(plan.lpm)
    seeded = run(lab, ses.rng, singles + lpm)
    with lab.check("reconfigured /32 thresholds (0, 1, 2, near 100, 2^16+s, 2^32-1, near 300 "
                   "sending N-1): exactly min(N, sent) of each, the first ones"):
        expect_streams(seeded, singles)
    with lab.check("reconfigured prefixes: a short prefix gives each of its sources its own "
                   "budget; the longest prefix wins (a /32 inside a longer prefix inside a "
                   "short one); drop() inside a prefix drops and a /32 inside it has its "
                   "budget; a source outside every prefix gets nothing"):
        expect_streams(seeded, lpm)
    with lab.check("reconfigured thresholds: delivered frames are byte-identical to those "
                   "sent and leave by port 4 only"):
        expect_integrity(seeded)
    return plan


def later_phase(ses: Session, plan: Reconfiguration) -> None:
    """After a modified entry and an idle period: what is blocked stays blocked, what is
    left is left."""
    lab, rng, traffic, budgets = ses.lab, ses.rng, ses.traffic, ses.budgets
    h1, h2, h3 = (lab.host(n) for n in SENDERS)
    raised = 1000 + rng.randrange(1, 6)
    lab.switch("s1").table_modify(TABLE, {KEY: f"{h2.ip}/32"}, "set_hhd_threshold",
                                  {"threshold": raised})
    ses.table.modify(hm.Prefix(fr.ip_int(h2.ip), 32), raised)
    time.sleep(IDLE_S)
    near = plan.near_threshold
    blocked = [traffic.stream(f"{h1.ip} (blocked at 100)", h1.ip, {"h1": 3}, budgets),
               traffic.stream(f"{h3.ip} (blocked at 300)", h3.ip, {rng.choice(SENDERS): 3}, budgets),
               *ses.streams(Case(c.label + ", blocked", c.addr, 3, c.hosts)
                            for c in (plan.one, plan.exact_host)),
               traffic.stream(f"unknown source {ses.unknown}", ses.unknown, {"h3": 2}, budgets)]
    remaining = [traffic.stream(f"{h2.ip} (at 999, threshold raised to {raised} with "
                                "table_modify)", h2.ip, {"h2": raised - 999 + 2}, budgets),
                 *ses.streams([Case(near.label + " (at N-1)", near.addr, 3, near.hosts),
                               Case(plan.unlimited.label, plan.unlimited.addr, 3,
                                    plan.unlimited.hosts)])]
    later = run(lab, rng, blocked + remaining)
    with lab.check(f"after {IDLE_S * 1000:.0f} ms idle, blocked sources stay blocked "
                   "(forever: no decay, no timeout, no reset)"):
        expect_streams(later, blocked)
    with lab.check("sources below their threshold keep exactly what is left: one more at "
                   f"N-1; {raised - 999} more for {h2.ip} after table_modify raised its "
                   "threshold; 2^32-1 still passes everything"):
        expect_streams(later, remaining)
    with lab.check("after the idle period: delivered frames are byte-identical and leave by "
                   "port 4 only"):
        expect_integrity(later)


def verify(lab: LabContext) -> None:
    ses = start(lab)
    course_phase(ses)
    plan = seeded_phase(ses)
    later_phase(ses, plan)
