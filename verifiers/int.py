"""Verifier for the INT lab: h1 -- s1 -- s2 -- s3 -- h2, collector c1 on s3.

Must prove: h2 gets every packet of watched and unwatched flows with the original
UDP payload and ports (only MACs, TTL and the IPv4 checksum changed by routing: no
INT left, lengths and DSCP restored); each watched packet yields one report with
hops s1, s2, s3 in order, the switch ids the control plane set and the right
ports, egress >= ingress time within each hop; unwatched flows produce no report;
a max-hop limit smaller than the path is honoured (fewer hop records, exceeded
flag set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import LabContext, compare
from labtool.loader import load_module
from labtool.routing import next_hops, switch_links, switch_path

HERE = Path(__file__).resolve().parents[1] / "controllers"
controller: Any = load_module(HERE / "int.py", "controller")
collector: Any = load_module(HERE / "int_collector.py", "collector")
TTL = 64
UNWATCHED_PORT = 6000
LIMITED_PORT = 5002  # watched with a max hop count of 2, below the path's 3 switches
WORDS_PER_HOP = 8    # all six instructions: 1 + 1 + 1 + 1 + 2 + 2


def routed(lab: LabContext, frame: bytes, hops: int, src_mac: str) -> bytes:
    """`frame` as h2 must receive it: addressed to h2, TTL lower by one per switch, IPv4
    checksum recomputed, everything else (UDP ports, length, checksum, payload) as
    sent. The source MAC is whatever the last switch put there (routing conventions
    differ; the contract does not fix it)."""
    pkt = Ether(frame)
    pkt[Ether].dst, pkt[Ether].src = lab.host("h2").mac, src_mac
    pkt[IP].ttl -= hops
    del pkt[IP].chksum
    return bytes(pkt)


def expected_ports(lab: LabContext, src: str, dst: str) -> list[tuple[str, int, int]]:
    """(switch, ingress port, egress port) along the path from host src to host dst."""
    path = switch_path(lab.lab, lab.host(src).switch, lab.host(dst).switch)
    links = switch_links(lab.lab)
    out = []
    for i, sw in enumerate(path):
        if i == 0:
            ingress = lab.host(src).port
        else:
            ingress = next(p for p, other, _ in links[sw] if other == path[i - 1])
        out.append((sw, ingress, next_hops(lab.lab, sw)[dst][1]))
    return out


def decode_all(reports: list[bytes]) -> list[Any]:
    records = []
    for n, frame in enumerate(reports, 1):
        try:
            records.append(collector.decode(frame))
        except collector.ReportError as exc:
            raise CheckFailed(f"c1: report {n} is not a valid INT report: {exc}") from None
    return records


def check_path(lab: LabContext, rec: Any, n: int, switches: list[tuple[str, int, int]]) -> None:
    ids = [controller.switch_id(lab, sw) for sw, _, _ in switches]
    got_ids = [h.switch_id for h in rec.hops]
    if got_ids != ids:
        raise CheckFailed(f"c1: report {n}: hop switch ids {got_ids}, expected {ids} "
                          f"({', '.join(sw for sw, _, _ in switches)} in path order)")
    for hop, (sw, ingress, egress) in zip(rec.hops, switches):
        if (hop.ingress_port, hop.egress_port) != (ingress, egress):
            raise CheckFailed(f"c1: report {n}: {sw} recorded ports in {hop.ingress_port} / "
                              f"out {hop.egress_port}, expected in {ingress} / out {egress}")


def verify(lab: LabContext) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    gateway = lab.switch_mac(h1.switch, h1.port)
    path = expected_ports(lab, "h1", "h2")

    def udp(dport: int, payload: bytes, sport: int, dscp: int = 0) -> bytes:
        return bytes(f.udp(h1, h2, payload, sport=sport, dport=dport, ttl=TTL,
                           dst_mac=gateway, tos=dscp << 2))

    watched = [udp(controller.WATCHED_PORT, b"watched-%d" % i * (1 + 7 * i), 40000 + i,
                   dscp=i % 3) for i in range(6)]
    unwatched = [udp(UNWATCHED_PORT, b"unwatched-%d" % i, 41000 + i) for i in range(3)]
    tcp = [bytes(f.tcp(h1, h2, b"tcp-not-int", sport=42000, dport=controller.WATCHED_PORT,
                       ttl=TTL, dst_mac=gateway))]
    sent = [x for pair in zip(watched, unwatched + tcp + [b""] * 2) for x in pair if x]
    got = lab.burst({"h1": sent}, expect={"h2": len(sent), "c1": len(watched)})

    with lab.check("h2 gets every packet, watched or not, as sent but for routing (MACs, "
                   "TTL - 3, IPv4 checksum): no INT left, lengths and DSCP restored"):
        src = Ether(got["h2"][0]).src if got["h2"] else "00:00:00:00:00:00"
        problems = compare("h2", [routed(lab, x, len(path), src) for x in sent], got["h2"])
        if problems:
            raise CheckFailed("\n".join(problems))

    with lab.check("one report per watched packet reaches the collector, carrying the "
                   "original UDP ports and payload; unwatched packets produce none"):
        if got["h1"]:
            raise CheckFailed(f"h1: expected nothing, got {len(got['h1'])} frame(s)")
        records = decode_all(got["c1"])
        if len(records) != len(watched):
            raise CheckFailed(f"c1: {len(records)} reports for {len(watched)} watched packets "
                              f"(and {len(sent) - len(watched)} unwatched)")
        for n, (rec, frame) in enumerate(zip(records, watched), 1):
            want = Ether(frame)
            if (rec.sport, rec.dport, rec.payload) != (want.sport, want.dport, bytes(want.load)):
                raise CheckFailed(f"c1: report {n} carries UDP {rec.sport} -> {rec.dport} with "
                                  f"{len(rec.payload)} payload bytes; watched packet {n} was "
                                  f"{want.sport} -> {want.dport} with {len(want.load)}")

    with lab.check("each report lists hops s1, s2, s3 in path order, with the switch ids "
                   "the control plane set and each hop's ingress and egress ports"):
        for n, rec in enumerate(records, 1):
            check_path(lab, rec, n, path)

    with lab.check("within every hop egress time >= ingress time and hop latency = egress "
                   "- ingress; INT-MD header: 8 words per hop, remaining hop count "
                   f"{controller.MAX_HOP} - 3, not exceeded"):
        for n, rec in enumerate(records, 1):
            if (rec.hop_ml, rec.remaining_hop_cnt, rec.exceeded) != \
                    (WORDS_PER_HOP, controller.MAX_HOP - len(path), False):
                raise CheckFailed(f"c1: report {n}: hop_ml {rec.hop_ml}, remaining hop count "
                                  f"{rec.remaining_hop_cnt}, exceeded {rec.exceeded}; expected "
                                  f"{WORDS_PER_HOP}, {controller.MAX_HOP - len(path)}, False")
            for hop, (sw, _, _) in zip(rec.hops, path):
                if None in (hop.ingress_ts, hop.egress_ts, hop.hop_latency):
                    raise CheckFailed(f"c1: report {n}: {sw}'s record lacks timestamps or "
                                      f"hop latency (instructions {rec.instructions:#06x})")
                if hop.egress_ts < hop.ingress_ts or \
                        hop.hop_latency != hop.egress_ts - hop.ingress_ts:
                    raise CheckFailed(f"c1: report {n}: {sw}: ingress {hop.ingress_ts} µs, "
                                      f"egress {hop.egress_ts} µs, hop latency "
                                      f"{hop.hop_latency} µs")

    with lab.check("a max-hop limit of 2 on a 3-switch path: reports hold s1 and s2 only, "
                   "the exceeded flag is set, h2 still gets the original packets"):
        controller.watch(lab, "h1", "h2", LIMITED_PORT, max_hop=2)
        limited = [udp(LIMITED_PORT, b"limited-%d" % i, 43000 + i) for i in range(3)]
        got = lab.burst({"h1": limited}, expect={"h2": len(limited), "c1": len(limited)})
        src = Ether(got["h2"][0]).src if got["h2"] else "00:00:00:00:00:00"
        problems = compare("h2", [routed(lab, x, len(path), src) for x in limited], got["h2"])
        if problems:
            raise CheckFailed("\n".join(problems))
        records = decode_all(got["c1"])
        if len(records) != len(limited):
            raise CheckFailed(f"c1: {len(records)} reports for {len(limited)} watched packets")
        for n, rec in enumerate(records, 1):
            check_path(lab, rec, n, path[:2])
            if not rec.exceeded or rec.remaining_hop_cnt != 0:
                raise CheckFailed(f"c1: report {n}: exceeded flag {rec.exceeded}, remaining hop "
                                  f"count {rec.remaining_hop_cnt}; expected True, 0")
