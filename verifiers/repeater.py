"""Verifier for lab 1.2 (repeater).

Must prove: h1->h2 and h2->h1 frames arrive unchanged; forwarding is driven by the
table `repeater`, entry by entry; a port with no entry drops. After checking the
course's table (1 -> forward(2), 2 -> forward(1)) the verifier rewrites the table
through P4Runtime (modify, delete, insert) so that each host port takes each state
once, in a seeded order: forward to the other host, forward back to itself, forward
to a port without a host, drop(), no entry (the default action). A program that
hard-codes 1<->2, ignores forward()'s parameter or keeps only part of it, or does not
drop on a miss, sends some frame where the model (repeater_model.output) sends none,
or elsewhere. Both hosts send every step: IPv4 UDP/TCP/ICMP, ARP, IPv6, 802.1Q,
other EtherTypes, 60 and 1514 bytes, random payload; frames are compared whole.
Only the contract is used: table `repeater`, key standard_metadata.ingress_port,
actions forward(port) and drop().
"""

from pathlib import Path

from labtool.context import HostInfo, LabContext
from labtool.controlplane import SwitchControl
from labtool.loader import load_module

model = load_module(Path(__file__).with_name("repeater_model.py"), "repeater_model")

TABLE = "repeater"
KEY = "standard_metadata.ingress_port"


def rewrite(s1: SwitchControl, old: dict, new: dict, ports: tuple[int, ...]) -> None:
    """Turn the table from `old` into `new` entry by entry: modify where both have an
    entry, delete where `new` has none, insert where `old` had none."""
    for port in ports:
        before, after = old.get(port), new.get(port)
        if after is None:
            if before is not None:
                s1.table_delete(TABLE, {KEY: port})
            continue
        action, params = ("drop", {}) if after.port is None else ("forward", {"port": after.port})
        write = s1.table_add if before is None else s1.table_modify
        write(TABLE, {KEY: port}, action, params)


def traffic_check(lab: LabContext, table: dict, hosts: tuple[HostInfo, HostInfo]) -> None:
    """Both hosts send a mix addressed to each other; every host gets exactly what the
    model says (unchanged frames), everything else stays silent."""
    by_port = {h.port: h.name for h in hosts}
    sends = {src.name: model.frames_between(lab.rng, src.mac, dst.mac, src.ip, dst.ip)
             for src, dst in (hosts, hosts[::-1])}
    want: dict[str, list[bytes]] = {}
    for src in hosts:
        for frame in sends[src.name]:
            for port, out in model.output(table, src.port, frame):
                if port in by_port:  # a port without a host: the frame is gone
                    want.setdefault(by_port[port], []).append(out)
    lab.exchange(sends, expect=want, ordered=False)


def verify(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    hosts = (lab.host("h1"), lab.host("h2"))
    ports = tuple(h.port for h in hosts)
    table = dict(model.COURSE)  # what the controller installed
    with lab.check("course table (1 -> forward(2), 2 -> forward(1)): every kind of frame from "
                   "h1 and h2 arrives unchanged at the other host, exactly once"):
        traffic_check(lab, table, hosts)
    for step, new in enumerate(model.plan(lab.rng, ports), 1):
        with lab.check(f"rewritten table #{step} ({model.describe(new, ports)}): every frame goes "
                       "where its port's entry says, unchanged, and nowhere else"):
            rewrite(s1, table, new, ports)
            table = new
            traffic_check(lab, table, hosts)
