"""Verifier for lab 1.2 (repeater).

Must prove: h1->h2 and h2->h1 frames arrive unchanged; forwarding is driven by
the table `repeater` (after the verifier modifies or deletes an entry through
P4Runtime, traffic from that port moves or stops); a port with no entry drops.
Only the contract is used: table `repeater`, key standard_metadata.ingress_port,
actions forward(port) and drop().
"""

from scapy.packet import Packet

from labtool import frames as f
from labtool.context import HostInfo, LabContext

TABLE = "repeater"
KEY = "standard_metadata.ingress_port"


def traffic(src: HostInfo, dst: HostInfo) -> list[Packet]:
    return [
        f.udp(src, dst, b"repeater-udp"),
        f.arp_request(src, dst.ip),
        f.ethertype(src.mac, dst.mac, 0x88B5, b"non-ip"),
        f.udp(src, dst, b"big", size=f.ETH_MAX),
    ]


def verify(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    h1, h2 = lab.host("h1"), lab.host("h2")

    with lab.check("h1 -> h2: frames arrive unchanged, exactly once; nothing back at h1"):
        sent = traffic(h1, h2)
        lab.exchange("h1", sent, expect={"h2": sent})
    with lab.check("h2 -> h1: frames arrive unchanged, exactly once; nothing back at h2"):
        sent = traffic(h2, h1)
        lab.exchange("h2", sent, expect={"h1": sent})

    with lab.check("table-driven: after modifying port 1's entry to forward(1), h1's "
                   "frames come back to h1 and none reach h2"):
        s1.table_modify(TABLE, {KEY: h1.port}, "forward", {"port": h1.port})
        sent = traffic(h1, h2)
        lab.exchange("h1", sent, expect={"h1": sent})

    with lab.check("a port with no entry drops: after deleting port 1's entry nothing from "
                   "h1 arrives anywhere"):
        s1.table_delete(TABLE, {KEY: h1.port})
        lab.exchange("h1", traffic(h1, h2), expect={})

    with lab.check("h2 -> h1 still works with port 1's entry gone (entries are per port)"):
        sent = traffic(h2, h1)
        lab.exchange("h2", sent, expect={"h1": sent})

    with lab.check("re-adding port 1's entry restores h1 -> h2"):
        s1.table_add(TABLE, {KEY: h1.port}, "forward", {"port": h2.port})
        sent = traffic(h1, h2)
        lab.exchange("h1", sent, expect={"h2": sent})
