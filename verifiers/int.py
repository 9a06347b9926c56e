"""Verifier for the INT lab: h1 -- s1 -- s2 -- s3 -- h2, collector c1 on s3.

Must prove (LABS.md "int"), against a reference model (int_model.py): h2 gets every
packet, watched or not, exactly as sent but for routing (TTL, IPv4 checksum, MACs:
no INT left, DSCP, ECN, lengths and UDP checksum as sent), and h1 gets h2's the same
way; each watched packet yields one report whose hops, switch ids, ports, remaining
hop count and exceeded flag are the model's, whose per-hop times are consistent
(egress >= ingress, hop latency = egress - ingress, each switch's clock never goes
back), and which equals the model's report frame byte for byte once those times are
filled in; unwatched flows (other ports, TCP, the reverse direction, flows that
differ from a watchlist entry in one field) produce no report and carry no INT.

First with the course's configuration (the controller's), then reconfigured through
the contract with values drawn from the run's seed: other switch ids (up to the
field's 32 bits), another clone session and collector MAC at the sink (the course's
session deleted), and a new watchlist whose entries have distinct instruction
bitmaps (all six instructions, and each one alone with a max hop that records it),
max-hop counts 0, 1, 2, 3 (the path length) and beyond, ternary masks, and decoy
entries that differ from a sent flow in exactly one field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import finsy as fy
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from labtool.checks import CheckFailed
from labtool.context import LabContext, compare
from labtool.controlplane import Entry
from labtool.loader import load_module
from labtool.pktdiff import first_difference
from labtool.routing import next_hops, switch_links, switch_path

HERE = Path(__file__).resolve()
controller: Any = load_module(HERE.parents[1] / "controllers" / "int.py", "controller")
collector: Any = load_module(HERE.parents[1] / "controllers" / "int_collector.py", "collector")
model: Any = load_module(HERE.with_name("int_model.py"), "int_model")

SENDER, RECEIVER, COLLECTOR = "h1", "h2", "c1"
ALL_BITMAP = 0xFC00  # all six instructions (int_model.ALL_INSTRUCTIONS)
KEY_FIELDS = (("src", "hdr.ipv4.srcAddr", 32), ("dst", "hdr.ipv4.dstAddr", 32),
              ("sport", "hdr.udp.srcPort", 16), ("dport", "hdr.udp.dstPort", 16))


@dataclass
class Config:
    """What the control plane installed, as the model needs it."""

    switch_ids: dict[str, int]
    entries: list[Any]  # model.WatchEntry
    collector_mac: str


@dataclass
class Traffic:
    """One burst: frames in send order and what the model expects of them."""

    sends: list[tuple[str, bytes]] = field(default_factory=list)
    watched: list[tuple[bytes, Any]] = field(default_factory=list)  # (frame, Telemetry)
    unwatched: int = 0

    def add(self, host: str, frame: bytes) -> None:
        self.sends.append((host, frame))


def path_hops(lab: LabContext, ids: dict[str, int]) -> list[Any]:
    """model.PathHop for every switch from h1 to h2, ports per the topology."""
    src, dst = lab.host(SENDER), lab.host(RECEIVER)
    path = switch_path(lab.lab, src.switch, dst.switch)
    links = switch_links(lab.lab)
    hops = []
    for i, sw in enumerate(path):
        ingress = src.port if i == 0 else \
            next(p for p, other, _ in links[sw] if other == path[i - 1])
        hops.append(model.PathHop(sw, ids[sw], ingress, next_hops(lab.lab, sw)[RECEIVER][1]))
    return hops


def ip_int(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def tos(lab: LabContext) -> int:
    """A DSCP other than the INT marker (a packet carrying the marker would be
    parsed as INT: not a flow the spec covers) and any ECN, non-zero mostly."""
    dscp = lab.rng.choice([d for d in range(64) if d != model.INT_DSCP])
    return dscp << 2 | lab.rng.choice((1, 2, 3, lab.rng.randrange(4)))


def udp_frame(lab: LabContext, src: str, dst: str, flow: Any | None = None, *,
              sport: int = 0, dport: int = 0) -> bytes:
    """A UDP frame from host src to host dst (flow overrides the addresses: a spoofed
    source), a payload of random length, random TOS, IP id and flags."""
    s, d = lab.host(src), lab.host(dst)
    if flow is not None:
        src_ip, dst_ip = str(ipaddress.IPv4Address(flow.src)), str(ipaddress.IPv4Address(flow.dst))
        sport, dport = flow.sport, flow.dport
    else:
        src_ip, dst_ip = s.ip, d.ip
    payload = lab.rng.randbytes(lab.rng.choice((1, 2, lab.rng.randrange(3, 400))))
    return bytes(Ether(src=s.mac, dst=lab.switch_mac(s.switch, s.port))
                 / IP(src=src_ip, dst=dst_ip, ttl=lab.rng.randrange(8, 256), tos=tos(lab),
                      id=lab.rng.randrange(1 << 16), flags=lab.rng.choice((0, 2)))
                 / UDP(sport=sport, dport=dport) / Raw(payload))


def tcp_frame(lab: LabContext, src: str, dst: str, sport: int, dport: int) -> bytes:
    s, d = lab.host(src), lab.host(dst)
    return bytes(Ether(src=s.mac, dst=lab.switch_mac(s.switch, s.port))
                 / IP(src=s.ip, dst=d.ip, ttl=64, tos=tos(lab))
                 / TCP(sport=sport, dport=dport, flags="PA") / Raw(b"tcp-carries-no-int"))


# -- configurations --------------------------------------------------------------------------

def course_config(lab: LabContext) -> Config:
    """The controller's configuration (controllers/int.py)."""
    full32, full16 = 0xFFFFFFFF, 0xFFFF
    entry = model.WatchEntry(
        model.Ternary(ip_int(lab.host(SENDER).ip), full32),
        model.Ternary(ip_int(lab.host(RECEIVER).ip), full32),
        model.Ternary(0, 0), model.Ternary(controller.WATCHED_PORT, full16),
        controller.MAX_HOP, controller.ALL_INSTRUCTIONS, 10)
    return Config({sw: controller.switch_id(lab, sw) for sw in lab.lab.switches}, [entry],
                  lab.host(COLLECTOR).mac)


def drawn_switch_ids(lab: LabContext) -> dict[str, int]:
    """Distinct 32-bit ids: one at the top of the field, the others far above the
    course's 101..103 and above 16 bits."""
    ids = [0xFFFFFFFF - lab.rng.randrange(4), lab.rng.randrange(1 << 16, 1 << 31),
           lab.rng.randrange(1 << 31, 0xFFFFFFF0)]
    lab.rng.shuffle(ids)
    return dict(zip(sorted(lab.lab.switches), ids))


WATCHED = 8  # watchlist entries with traffic (the rest are decoys)


def drawn_bitmaps(lab: LabContext, n: int) -> list[int]:
    """n distinct non-empty instruction subsets: all six first (every field checked
    under the drawn configuration), then single instructions (each one alone if n
    allows: for every two instructions some bitmap has one without the other, so a
    test of the wrong bit shows), then any others."""
    singles = lab.rng.sample((1, 2, 4, 8, 16, 32), min(6, max(1, n - 1)))
    picked = [0b111111, *singles]
    picked += lab.rng.sample(sorted(set(range(1, 64)) - set(picked)), n - len(picked))
    return [model.bitmap_of([b for b in range(6) if s >> (5 - b) & 1]) for s in picked]


def drawn_mask(lab: LabContext, width: int, keep_bit: int | None = None) -> int:
    """Exact, a prefix, random bits or a wildcard; `keep_bit` stays in the mask."""
    full = (1 << width) - 1
    kind = lab.rng.randrange(4)
    if kind == 0:
        mask = full
    elif kind == 1:
        mask = full ^ ((1 << lab.rng.randrange(1, width)) - 1)
    elif kind == 2:
        mask = lab.rng.randrange(1, full)
    else:
        mask = 0
    return mask | (1 << keep_bit if keep_bit is not None else 0)


def drawn_masks(lab: LabContext, differ: str | None, bit: int | None) -> dict[str, int]:
    """A mask per key field; src and dst always hold the low two bits (h1 is .1, h2
    .2: the reverse direction never matches) and the ports together at least 20 bits
    (an entry matches the flows it was drawn for, not the others of the run)."""
    while True:
        masks = {name: drawn_mask(lab, width, bit if name == differ else None)
                 for name, _, width in KEY_FIELDS}
        masks["src"] |= 0x3
        masks["dst"] |= 0x3
        if bin(masks["sport"]).count("1") + bin(masks["dport"]).count("1") >= 20:
            return masks


def flow_entry(lab: LabContext, flow: Any, max_hop: int, instructions: int, priority: int,
               differ: str | None = None) -> Any:
    """An entry matching `flow` (random masks), or, with `differ`, one whose value
    differs from the flow's in exactly one bit of that field, inside the mask."""
    width = dict((name, w) for name, _, w in KEY_FIELDS)
    bit = lab.rng.randrange(width[differ]) if differ else None
    masks = drawn_masks(lab, differ, bit)
    fields = {}
    for name, _, _ in KEY_FIELDS:
        value = getattr(flow, name) ^ (1 << bit if name == differ and bit is not None else 0)
        fields[name] = model.Ternary(value & masks[name], masks[name])
    return model.WatchEntry(fields["src"], fields["dst"], fields["sport"], fields["dport"],
                            max_hop, instructions, priority)


def entry_match(entry: Any) -> dict[str, str]:
    """The entry as labtool's table_add takes it (a field with mask 0 is left out)."""
    return {key: getattr(entry, name).entry_text(width) for name, key, width in KEY_FIELDS
            if getattr(entry, name).mask}


# -- traffic ---------------------------------------------------------------------------------

def course_traffic(lab: LabContext, config: Config) -> Traffic:
    """Watched UDP (any source port), unwatched UDP, TCP to the watched port, and UDP
    from h2 to h1 with the watched port on either side."""
    traffic = Traffic()
    h1, h2 = lab.host(SENDER), lab.host(RECEIVER)
    watched_port = controller.WATCHED_PORT
    for i in range(4):
        sport = (0, 65535, lab.rng.randrange(1, 65535), lab.rng.randrange(1, 65535))[i]
        traffic.add(SENDER, udp_frame(lab, SENDER, RECEIVER, sport=sport, dport=watched_port))
        other = watched_port ^ (1 << lab.rng.randrange(16))  # one bit away
        traffic.add(SENDER, udp_frame(lab, SENDER, RECEIVER, sport=sport, dport=other))
    traffic.add(SENDER, tcp_frame(lab, SENDER, RECEIVER, lab.rng.randrange(1, 65536),
                                  watched_port))
    traffic.add(RECEIVER, udp_frame(lab, RECEIVER, SENDER, sport=lab.rng.randrange(1, 65536),
                                    dport=watched_port))
    traffic.add(RECEIVER, udp_frame(lab, RECEIVER, SENDER, sport=watched_port,
                                    dport=lab.rng.randrange(1, 65536)))
    assert ip_int(h1.ip) != ip_int(h2.ip)
    return classify(lab, traffic, config)


def drawn_traffic(lab: LabContext, config_ids: dict[str, int], collector_mac: str) \
        -> tuple[Config, Traffic]:
    """A watchlist drawn from the seed and traffic for it: per real entry two
    matching packets (other values in the masked-out bits), per decoy entry a flow
    that differs from it in one field, a TCP twin of a watched flow, h2 -> h1."""
    for _ in range(100):
        config, traffic = _draw_once(lab, config_ids, collector_mac)
        if traffic is not None:
            return config, traffic
    raise RuntimeError("no watchlist drawn in 100 tries keeps decoys and watched flows apart")


def _draw_once(lab: LabContext, ids: dict[str, int], collector_mac: str) \
        -> tuple[Config, Traffic | None]:
    rng = lab.rng
    h1, h2 = ip_int(lab.host(SENDER).ip), ip_int(lab.host(RECEIVER).ip)
    # every bitmap with its own max hop; all six instructions with a limit that lets
    # every hop record (3, the path length, or more); each single instruction with a
    # limit of at least 1 (it must show in records: for any two instructions, some
    # recorded bitmap has one without the other); max hop 0 with the last bitmap
    bitmaps = drawn_bitmaps(lab, WATCHED + 4)
    big = rng.randrange(4, 256)
    full = rng.choice((3, big))
    others = [h for h in (1, 2, 3, big) if h != full]
    rng.shuffle(others)
    max_hops = [full] + others + [rng.randrange(1, 256)
                                  for _ in range(WATCHED - 2 - len(others))] + [0]
    # max hop 1 with a one-word instruction: the sink then finds a stack of exactly one
    # word (s1's), which a parser that takes one word left for none leaves in the payload
    one = max_hops.index(1)
    single = next(k for k in range(1, 7) if model.words_per_hop(bitmaps[k]) == 1)
    bitmaps[one], bitmaps[single] = bitmaps[single], bitmaps[one]
    entries, intended = [], []
    ports = rng.sample(range(1, 65536), 2 * (len(bitmaps) + 1))  # 0 -> 0: see below

    def flow(i: int) -> Any:
        src = h1 if rng.random() < 0.5 else rng.randrange(1, 0xFFFFFFFF) & ~0x3 | 0x1
        return model.UdpFlow(src, h2, ports[2 * i], ports[2 * i + 1])

    for i, max_hop in enumerate(max_hops):
        entry = flow_entry(lab, flow(i), max_hop, bitmaps[i], priority=100 + i)
        entries.append(entry)
        intended += [(flow_matching(lab, entry, h2), entry) for _ in range(2)]
    for j, differ in enumerate(name for name, _, _ in KEY_FIELDS):
        base = flow(len(max_hops) + j) if j < 3 else model.UdpFlow(h1, h2, *ports[-2:])
        entries.append(flow_entry(lab, base, rng.randrange(1, 256),
                                  bitmaps[len(max_hops) + j], 200 + j, differ=differ))
        intended.append((base, None))
    # h1 -> h2 with UDP ports 0 -> 0: no UDP flow sent uses them, but a program that looks
    # TCP up in the watchlist reads the ports of the UDP header it never parsed (0 on
    # BMv2) and gives the TCP packets below INT
    entries.append(model.WatchEntry(model.Ternary(h1, 0xFFFFFFFF), model.Ternary(h2, 0xFFFFFFFF),
                                    model.Ternary(0, 0xFFFF), model.Ternary(0, 0xFFFF),
                                    rng.randrange(1, 256), ALL_BITMAP, 1))
    config = Config(ids, entries, collector_mac)
    for f, entry in intended:
        if model.watching(entries, f) is not entry:
            return config, None
    traffic = Traffic()
    for f, _ in sorted(intended, key=lambda _: rng.random()):
        traffic.add(SENDER, udp_frame(lab, SENDER, RECEIVER, f))
    twin = intended[0][0]
    traffic.add(SENDER, tcp_frame(lab, SENDER, RECEIVER, twin.sport, twin.dport))
    traffic.add(SENDER, tcp_frame(lab, SENDER, RECEIVER, *rng.sample(range(1, 65536), 2)))
    traffic.add(RECEIVER, udp_frame(lab, RECEIVER, SENDER, sport=twin.dport, dport=twin.sport))
    traffic.add(RECEIVER, udp_frame(lab, RECEIVER, SENDER, sport=twin.sport, dport=twin.dport))
    for host, frame in traffic.sends:
        f = model.udp_flow_of(frame)
        if host == RECEIVER and f is not None and model.watching(entries, f) is not None:
            return config, None
    return config, classify(lab, traffic, config)


def flow_matching(lab: LabContext, entry: Any, dst: int) -> Any:
    """A flow to `dst` that the entry matches, random in every other bit its masks
    leave out (a spoofed source: routing looks at the destination only)."""
    values = {}
    for name, _, width in KEY_FIELDS:
        t = getattr(entry, name)
        values[name] = t.value & t.mask | lab.rng.randrange(1 << width) & ~t.mask
    return model.UdpFlow(values["src"], dst, values["sport"], values["dport"])


def classify(lab: LabContext, traffic: Traffic, config: Config) -> Traffic:
    """Which of h1's frames the source watches, and the telemetry each must yield."""
    path = path_hops(lab, config.switch_ids)
    for host, frame in traffic.sends:
        flow = model.udp_flow_of(frame)
        entry = model.watching(config.entries, flow) if host == SENDER and flow else None
        if entry is None:
            traffic.unwatched += 1
        else:
            traffic.watched.append((frame, model.telemetry(entry, path)))
    return traffic


# -- reconfiguring through the contract ------------------------------------------------------

def install(lab: LabContext, config: Config, session: int, old_session: int) -> None:
    """Switch ids on every switch, the sink's report session and collector MAC (the
    old session deleted: a program that ignores the parameter reports to nobody), and
    the source's watchlist, all through the contract."""
    for sw, switch_id in config.switch_ids.items():
        lab.switch(sw).table_set_default("int_switch", "int_set_switch_id",
                                         {"switch_id": switch_id})
    sink = lab.switch(lab.host(RECEIVER).switch)
    sink.clone_session(session, lab.host(COLLECTOR).port)
    delete_clone_session(sink, old_session)
    sink.table_modify("int_sink", {"standard_metadata.egress_spec": lab.host(RECEIVER).port},
                      "int_sink_report", {"session": session,
                                          "collector_mac": config.collector_mac})
    source = lab.switch(lab.host(SENDER).switch)
    source.table_clear("int_watchlist")
    source.table_add_many("int_watchlist", [
        Entry(entry_match(e), "int_source",
              {"max_hop": e.max_hop, "instructions": e.instructions}, e.priority)
        for e in config.entries])


def delete_clone_session(control: Any, session: int) -> None:
    entity = fy.P4CloneSessionEntry(session)
    control.session.write([(-entity).encode_update(control.schema)],
                          f"delete clone session {session}")


# -- checks ----------------------------------------------------------------------------------

def expected_deliveries(lab: LabContext, traffic: Traffic, got: dict[str, list[bytes]],
                        hops: int) -> dict[str, list[bytes]]:
    """Each host's frames as the model says (the source MAC of each is whatever the
    last switch put there: routing conventions differ and the contract does not fix
    it)."""
    want: dict[str, list[bytes]] = {}
    for host, frame in traffic.sends:
        dst = RECEIVER if host == SENDER else SENDER
        want.setdefault(dst, []).append(frame)
    out = {}
    for host, frames in want.items():
        received = got.get(host, [])
        out[host] = [model.routed(frame, hops, mac_bytes(lab.host(host).mac),
                                  received[i][6:12] if i < len(received) else bytes(6))
                     for i, frame in enumerate(frames)]
    return out


def decode_reports(reports: list[bytes]) -> list[Any]:
    records = []
    for n, frame in enumerate(reports, 1):
        try:
            records.append(collector.decode(frame))
        except collector.ReportError as exc:
            raise CheckFailed(f"c1: report {n} is not a valid INT report: {exc}") from None
    return records


def check_telemetry(n: int, rec: Any, sent: bytes, tele: Any) -> None:
    """The report's flow, payload, INT-MD header and per-hop ids and ports."""
    flow = model.udp_flow_of(sent)
    where = f"c1: report {n} ({flow.describe()}, instructions {tele.instructions:#06x})"
    sent_payload = bytes(Ether(sent)[UDP].payload)
    if (ip_int(rec.src), ip_int(rec.dst), rec.sport, rec.dport, rec.payload) != \
            (flow.src, flow.dst, flow.sport, flow.dport, sent_payload):
        raise CheckFailed(f"{where}: carries {rec.src}:{rec.sport} -> {rec.dst}:{rec.dport} "
                          f"with {len(rec.payload)} payload bytes, not the watched packet's "
                          f"{len(sent_payload)}")
    if rec.instructions != tele.instructions:
        raise CheckFailed(f"{where}: instruction bitmap {rec.instructions:#06x}")
    want_ids = [h.switch_id for h in tele.hops]
    got_ids = [h.switch_id for h in rec.hops]
    if len(rec.hops) != len(tele.hops) or (model.instruction_bits(tele.instructions)[:1] == [0]
                                           and got_ids != want_ids):
        raise CheckFailed(f"{where}: {len(rec.hops)} hop records (switch ids {got_ids}), "
                          f"expected {len(tele.hops)}: "
                          f"{', '.join(f'{h.switch} = {h.switch_id}' for h in tele.hops)}")
    if (rec.remaining_hop_cnt, rec.exceeded) != (tele.remaining_hop_cnt, tele.exceeded):
        raise CheckFailed(f"{where}: remaining hop count {rec.remaining_hop_cnt}, exceeded "
                          f"flag {rec.exceeded}; expected {tele.remaining_hop_cnt}, "
                          f"{tele.exceeded} (max hop {tele.remaining_hop_cnt + len(tele.hops)}"
                          f", path of 3)")
    if 1 in model.instruction_bits(tele.instructions):
        for hop, want in zip(rec.hops, tele.hops):
            if (hop.ingress_port, hop.egress_port) != (want.ingress_port, want.egress_port):
                raise CheckFailed(f"{where}: {want.switch} recorded ports in {hop.ingress_port}"
                                  f" / out {hop.egress_port}, expected in {want.ingress_port} "
                                  f"/ out {want.egress_port}")


def measured(rec: Any) -> tuple[Any, ...]:
    return tuple(model.Measured(h.hop_latency, h.queue_id, h.queue_occupancy, h.ingress_ts,
                                h.egress_ts) for h in rec.hops)


def check_timing(records: list[Any], watched: list[tuple[bytes, Any]], queue_limit: int) -> None:
    """Per hop: plausible times, latency = egress - ingress; per switch: its clock
    never goes back from one report to the next (packets pass each switch in the
    order they were sent)."""
    last_ingress: dict[str, tuple[int, int]] = {}
    for n, (rec, (_, tele)) in enumerate(zip(records, watched), 1):
        names = [h.switch for h in tele.hops]
        problems = model.timing_problems(measured(rec), names, queue_limit)
        if problems:
            raise CheckFailed(f"c1: report {n}: " + "; ".join(problems))
        qids = {h.queue_id for h in rec.hops} - {None, 0}
        if qids:
            raise CheckFailed(f"c1: report {n}: queue id {qids.pop()}, but simple_switch has "
                              "one queue per port, id 0")
        for name, hop in zip(names, rec.hops):
            if hop.ingress_ts is None:
                continue
            earlier = last_ingress.get(name)
            if earlier is not None and hop.ingress_ts < earlier[1]:
                raise CheckFailed(f"c1: report {n}: {name}'s ingress time {hop.ingress_ts} µs "
                                  f"is before report {earlier[0]}'s {earlier[1]} µs")
            last_ingress[name] = (n, hop.ingress_ts)
    # BMv2 takes some microseconds from ingress to egress: latencies that are all 0 at a
    # switch mean both times are one clock reading (e.g. the ingress time taken in egress)
    spans: dict[str, list[int]] = {}
    for rec, (_, tele) in zip(records, watched):
        for name, h in zip((hop.switch for hop in tele.hops), rec.hops):
            if h.hop_latency is not None:
                spans.setdefault(name, []).append(h.hop_latency)
            elif h.ingress_ts is not None and h.egress_ts is not None:
                spans.setdefault(name, []).append(h.egress_ts - h.ingress_ts)
    for name, values in spans.items():
        if len(values) >= 3 and not any(values):
            raise CheckFailed(f"c1: {name}'s hop latency (egress - ingress time) is 0 in all "
                              f"{len(values)} reports: its ingress time is not the packet's "
                              "arrival")


def check_report_frames(reports: list[bytes], records: list[Any],
                        watched: list[tuple[bytes, Any]], collector_mac: str) -> None:
    """Every report byte for byte as the model builds it (source MAC, TTL after two
    or three routing hops and UDP checksum as they arrived; times as checked)."""
    for n, (frame, rec, (sent, tele)) in enumerate(zip(reports, records, watched), 1):
        ttl = frame[22]
        if ttl not in (sent[22] - 2, sent[22] - 3):
            raise CheckFailed(f"c1: report {n}: TTL {ttl}, sent with {sent[22]} over 3 switches")
        if rec.hop_ml not in model.hop_ml_choices(tele):
            raise CheckFailed(f"c1: report {n}: hop_ml {rec.hop_ml}, expected "
                              f"{model.words_per_hop(tele.instructions)} words per hop")
        got = model.ReportFrame(frame[6:12], ttl, int.from_bytes(frame[40:42], "big"),
                                rec.hop_ml, measured(rec))
        want = model.report(sent, tele, mac_bytes(collector_mac), got)
        if want != frame:
            raise CheckFailed(f"c1: report {n} ({model.udp_flow_of(sent).describe()}): "
                              f"{report_difference(want, frame)}")


def report_difference(want: bytes, got: bytes) -> str:
    """The first differing field of the Ethernet, IPv4 and UDP headers; past them,
    the first differing byte and the part of the INT data it is in."""
    headers = model.ETH + model.IPV4 + model.UDP_LEN
    diff = first_difference(want[:headers], got[:headers])
    if diff:
        return diff
    offset = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b),
                  min(len(want), len(got)))
    stack_end = headers + 4 * want[headers + 1]
    part = ("shim" if offset < headers + 4 else "INT-MD header" if offset < headers + 16
            else "metadata stack" if offset < stack_end else "payload")
    return (f"byte {offset} ({part}): expected {want[offset:offset + 4].hex() or 'nothing'}, "
            f"got {got[offset:offset + 4].hex() or 'nothing'} (lengths {len(want)} / "
            f"{len(got)})")


def run_phase(lab: LabContext, title: str, config: Config, traffic: Traffic) -> None:
    path = path_hops(lab, config.switch_ids)
    got = lab.burst(traffic.sends, expect={RECEIVER: sum(h == SENDER for h, _ in traffic.sends),
                                           SENDER: sum(h == RECEIVER for h, _ in traffic.sends),
                                           COLLECTOR: len(traffic.watched)})
    with lab.check(f"{title}: h2 gets each of h1's {len(traffic.sends)} packets and h1 each "
                   "of h2's exactly as sent but for routing (TTL - 3, IPv4 checksum, MACs): "
                   "no INT left, DSCP, ECN, lengths and UDP checksum as sent"):
        want = expected_deliveries(lab, traffic, got, len(path))
        problems = [p for host in (RECEIVER, SENDER)
                    for p in compare(host, want.get(host, []), got[host])]
        if problems:
            raise CheckFailed("\n".join(problems))

    records: list[Any] = []
    with lab.check(f"{title}: one report per watched packet ({len(traffic.watched)}), in "
                   f"order, none for the {traffic.unwatched} unwatched ones; each names the "
                   "watched flow, carries its payload, its instruction bitmap, one record "
                   "per hop allowed by its max-hop count with the switch ids and ports "
                   "configured, the remaining hop count and the exceeded flag"):
        records = decode_reports(got[COLLECTOR])
        if len(records) != len(traffic.watched):
            raise CheckFailed(f"c1: {len(records)} reports for {len(traffic.watched)} watched "
                              f"packets (and {traffic.unwatched} unwatched)")
        for n, (rec, (sent, tele)) in enumerate(zip(records, traffic.watched), 1):
            check_telemetry(n, rec, sent, tele)

    with lab.check(f"{title}: per hop egress >= ingress time, hop latency = egress - ingress, "
                   "48-bit times, each switch's times rising from packet to packet"):
        if len(records) != len(traffic.watched):
            raise CheckFailed("no reports to check (see above)")
        check_timing(records, traffic.watched, len(traffic.sends))

    with lab.check(f"{title}: every report equals the model's frame byte for byte (addressed "
                   "to the collector MAC; DSCP = INT marker, ECN as sent; IPv4 and UDP "
                   "lengths grown by the shim's length in words; shim and INT-MD header "
                   "fields; stack newest hop first, fields in bitmap order; payload)"):
        if len(records) != len(traffic.watched):
            raise CheckFailed("no reports to check (see above)")
        check_report_frames(got[COLLECTOR], records, traffic.watched, config.collector_mac)


def verify(lab: LabContext) -> None:
    config = course_config(lab)
    run_phase(lab, "course configuration", config, course_traffic(lab, config))

    ids = drawn_switch_ids(lab)
    collector_mac = "02:" + ":".join(f"{b:02x}" for b in lab.rng.randbytes(5))
    session = lab.rng.choice([s for s in range(1, 512) if s != controller.REPORT_SESSION])
    drawn, traffic = drawn_traffic(lab, ids, collector_mac)
    lab.note("reconfigured: switch ids " + ", ".join(f"{sw} {v:#x}" for sw, v in ids.items())
             + f"; report session {session} to {collector_mac}; watchlist "
             + ", ".join(f"{e.instructions:#06x} max hop {e.max_hop}"
                         for e in drawn.entries[:WATCHED])
             + f" and {len(drawn.entries) - WATCHED} decoys one field off a sent flow")
    title = "reconfigured"
    with lab.check("reconfigured through the contract with values drawn from the seed "
                   "(int_switch default: switch ids up to 32 bits; a new clone session and "
                   "collector MAC in int_sink, the course's session deleted; int_watchlist: "
                   "eight bitmaps with max hops 0, 1, 2, 3 and more, every instruction "
                   "alone where hops record, four decoys)"):
        install(lab, drawn, session, controller.REPORT_SESSION)
    run_phase(lab, title, drawn, traffic)

