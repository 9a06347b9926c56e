"""Verifier for lab 1.3 (VLAN handler). h1 is on the trunk (port 1); h2-h4 on
access ports 2-4.

Must prove every rule of the spec with several inner EtherTypes (IPv4, ARP,
a non-IP type) and non-zero PCP/DEI on incoming tags, and that nothing leaks
to ports that should stay silent. Relies on the controller's VID map only.
"""

from scapy.packet import Packet

from labtool import frames as f
from labtool.context import HostInfo, LabContext

VID_TO_HOST = {2: "h2", 20: "h2", 3: "h3", 30: "h3", 4: "h4", 40: "h4"}
PORT_VID = {"h2": 2, "h3": 3, "h4": 4}
UNKNOWN_VID = 99  # no entry: the default action sends it to port 2


def payloads(src: HostInfo, dst: HostInfo, tag: str) -> list[Packet]:
    """Untagged frames with three inner EtherTypes; sizes stay above the minimum even
    after a tag is removed (a veth does not pad)."""
    return [
        f.udp(src, dst, f"vlan-ipv4-{tag}".encode(), size=100),
        f.sized(f.arp_request(src, dst.ip), 80),
        f.ethertype(src.mac, dst.mac, 0x88B5, f"vlan-raw-{tag}".encode(), size=90),
    ]


def verify(lab: LabContext) -> None:
    h1 = lab.host("h1")
    access = [lab.host(n) for n in ("h2", "h3", "h4")]

    with lab.check("rule 1: untagged frames on the trunk (port 1) are dropped"):
        lab.exchange("h1", payloads(h1, access[0], "untagged-trunk"), expect={})

    with lab.check("rule 1: tagged frames on access ports 2-4 are dropped"):
        sends = {h.name: [f.tagged(p, PORT_VID[h.name]) for p in payloads(h, h1, "tag-acc")]
                 for h in access}
        lab.exchange(sends, expect={})

    with lab.check("rule 2: tagged frames from the trunk go to the port of their VID, "
                   "untagged, inner EtherType restored (PCP/DEI non-zero on input)"):
        sent: list[Packet] = []
        expect: dict[str, list[Packet]] = {h: [] for h in ("h2", "h3", "h4")}
        for n, (vid, host) in enumerate(VID_TO_HOST.items()):
            for frame in payloads(h1, lab.host(host), f"vid{vid}"):
                tagged = f.tagged(frame, vid, pcp=(n + 1) % 8, dei=n % 2)
                sent.append(tagged)
                expect[host].append(f.untagged(tagged))
        lab.exchange("h1", sent, expect=expect)

    with lab.check(f"rule 2: an unknown VID ({UNKNOWN_VID}) goes to port 2, untagged"):
        sent = [f.tagged(p, UNKNOWN_VID, pcp=5, dei=1) for p in payloads(h1, access[0], "unk")]
        lab.exchange("h1", sent, expect={"h2": [f.untagged(x) for x in sent]})

    with lab.check("rule 3: untagged frames from access ports reach the trunk tagged with "
                   "the port's VID, PCP 0, DEI 0, original EtherType inside"):
        sends = {h.name: payloads(h, h1, f"acc-{h.name}") for h in access}
        want = [f.tagged(p, PORT_VID[host]) for host, ps in sends.items() for p in ps]
        # frames from three ingress ports may interleave at the trunk: order-insensitive
        lab.exchange(sends, expect={"h1": want}, ordered=False)
