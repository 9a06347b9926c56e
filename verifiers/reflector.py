"""Verifier for lab 1.1 (reflector).

Must prove: every frame that enters port p leaves port p exactly once, MACs swapped,
everything after the MACs byte-identical; nothing from one host ever reaches the
other. Both hosts send, interleaved, every kind of frame (IPv4 UDP/TCP/ICMP, ARP,
IPv6, 802.1Q and QinQ tags, other EtherTypes, 802.3 length frames, an IPv4 EtherType
over random bytes), to broadcast, multicast and foreign destinations, from group and
foreign source MACs, at 60, 61, 1513 and 1514 bytes and random sizes in between, with
random payload bytes (lab.rng: `--seed N` replays the traffic). Every output frame is
compared whole with the reference model (reflector_model.reflect).
"""

from pathlib import Path

from labtool.checks import CheckFailed
from labtool.context import LabContext, compare
from labtool.loader import load_module

model = load_module(Path(__file__).with_name("reflector_model.py"), "reflector_model")


def verify(lab: LabContext) -> None:
    h1, h2 = (model.Station(h.name, h.mac, h.ip, h.port) for h in map(lab.host, ("h1", "h2")))
    sends = {h1.name: model.frames_from(lab.rng, h1, h2),
             h2.name: model.frames_from(lab.rng, h2, h1)}
    by_port = {h.port: h.name for h in (h1, h2)}
    want: dict[str, list[bytes]] = {h1.name: [], h2.name: []}
    for host, port in ((h1.name, h1.port), (h2.name, h2.port)):
        for frame in sends[host]:
            for out_port, out in model.reflect(port, frame):
                want[by_port[out_port]].append(out)
    n = len(sends[h1.name])
    with lab.check(f"h1 and h2 each send {n} frames interleaved (IPv4 UDP/TCP/ICMP, ARP, IPv6, "
                   "802.1Q, QinQ, other EtherTypes, 802.3; broadcast/multicast/foreign MACs; "
                   "60..1514 bytes): each comes back to its sender exactly once, MACs swapped, "
                   "rest byte-identical; nothing reaches the other host"):
        got = lab.burst(sends, expect={h: len(w) for h, w in want.items()})
        problems = [p for host in want for p in compare(host, want[host], got.get(host, []),
                                                         ordered=False)]
        if problems:
            raise CheckFailed("\n".join(problems))
