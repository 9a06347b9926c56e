"""FlowRadar control plane: /32 routes on every switch of the line.

    h1,h2 -- s1 ==== s2 ==== s3 -- h5,h6
                     |
                   h3,h4

A route to a host on this switch rewrites the destination MAC to the host's; a
route to a host further along goes out of the port toward it, addressed to the MAC
of the neighbouring switch's port (labtool gives switch ports fixed MACs:
lab.switch_mac(switch, port)). labtool.routing finds the next hops by walking the
manifest's links.

The collector (controllers/flowradar_collector.py) reads the encoded flows.

Run by hand against `sudo labtool up flowradar`: sudo .venv/bin/python controllers/flowradar.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.routing import next_hops


def configure(lab: LabContext) -> None:
    for switch in lab.lab.switches:
        lab.switch(switch).table_add_many("ipv4_lpm", [
            Entry({"hdr.ipv4.dstAddr": f"{lab.host(h).ip}/32"}, "ipv4_forward",
                  {"dstAddr": mac, "port": port})
            for h, (mac, port) in sorted(next_hops(lab.lab, switch).items())
        ])


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
