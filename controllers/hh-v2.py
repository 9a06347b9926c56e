"""Heavy-hitter detector v2 control plane (lab 2.2): /32 routes on both switches.

    h1 --1-- s1 --2====2-- s2 --1-- h2

Each route rewrites the destination MAC to the next hop's: the host's own MAC
on its last hop, else the MAC of the next switch's port (labtool gives switch
ports fixed MACs: lab.switch_mac(switch, port)).

Run by hand against `sudo labtool up hh-v2`: sudo .venv/bin/python controllers/hh-v2.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry


def configure(lab: LabContext) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    routes = {
        # switch: [(destination, next-hop MAC, out port)]
        "s1": [(h1.ip, h1.mac, 1), (h2.ip, lab.switch_mac("s2", 2), 2)],
        "s2": [(h2.ip, h2.mac, 1), (h1.ip, lab.switch_mac("s1", 2), 2)],
    }
    for switch, entries in routes.items():
        lab.switch(switch).table_add_many("ipv4_lpm", [
            Entry({"hdr.ipv4.dstAddr": f"{dst}/32"}, "ipv4_forward",
                  {"dstAddr": mac, "port": port})
            for dst, mac, port in entries
        ])


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
