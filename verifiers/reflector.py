"""Verifier for lab 1.1 (reflector).

Must prove: frames of several kinds sent by h1 come back to h1 exactly once,
MACs swapped, everything after the MACs byte-identical; the same from h2; and
nothing from one host ever reaches the other.
"""

from scapy.packet import Packet

from labtool import frames as f
from labtool.context import HostInfo, LabContext


def kinds(src: HostInfo, other: HostInfo) -> list[Packet]:
    """One frame of each kind the spec names, sent by `src`."""
    to_broadcast = HostInfo(other.name, other.ip, f.BROADCAST, other.prefixlen, other.switch,
                            other.port)
    return [
        f.udp(src, other, b"ipv4-udp"),                                # IPv4/UDP, unicast
        f.arp_request(src, other.ip),                                  # ARP request, broadcast
        f.ethertype(src.mac, other.mac, 0x88B5, b"non-ip ethertype"),  # not IP at all
        f.udp(src, to_broadcast, b"udp-to-broadcast-mac"),             # broadcast destination
        f.udp(src, other, b"m", size=f.ETH_MIN),                       # minimum size: 60 bytes
        f.udp(src, other, b"big", size=f.ETH_MAX),                     # 1514 bytes (1500 MTU)
    ]


def verify(lab: LabContext) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    for src, dst in ((h1, h2), (h2, h1)):
        sent = kinds(src, dst)
        with lab.check(f"{src.name}: {len(sent)} kinds of frames come back exactly once, "
                       f"MACs swapped, rest identical; nothing reaches {dst.name}"):
            lab.exchange(src.name, sent, expect={src.name: [f.swap_macs(x) for x in sent]})
