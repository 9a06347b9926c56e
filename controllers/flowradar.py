"""FlowRadar control plane: /32 routes on every switch of the line.

    h1,h2 -- s1 ==== s2 ==== s3 -- h5,h6
                     |
                   h3,h4

A route to a host on this switch rewrites the destination MAC to the host's; a
route to a host further along goes out of the port toward it, addressed to the MAC
of the neighbouring switch's port (labtool gives switch ports fixed MACs:
lab.switch_mac(switch, port)). Next hops are found by walking the manifest's links,
so the same code routes any tree of switches.

The collector (controllers/flowradar_collector.py) reads the encoded flows.

Run by hand against `sudo labtool up flowradar`: sudo .venv/bin/python controllers/flowradar.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry


def neighbours(lab: LabContext) -> dict[str, list[tuple[int, str, int]]]:
    """switch -> [(out port, neighbour switch, neighbour's port)]"""
    out: dict[str, list[tuple[int, str, int]]] = {s: [] for s in lab.lab.switches}
    for link in lab.lab.links:
        a, b = link.a, link.b
        if a.node in lab.lab.switches and b.node in lab.lab.switches:
            assert a.port is not None and b.port is not None
            out[a.node].append((a.port, b.node, b.port))
            out[b.node].append((b.port, a.node, a.port))
    return out


def next_hops(lab: LabContext, switch: str) -> dict[str, tuple[str, int]]:
    """host -> (next-hop MAC, out port) at `switch`, by a walk of the switch graph."""
    links = neighbours(lab)
    hops: dict[str, tuple[str, int]] = {}
    seen = {switch}
    # (switch reached, (next-hop MAC, out port) of the first hop on the way there)
    frontier: list[tuple[str, tuple[str, int] | None]] = [(switch, None)]
    while frontier:
        current, first = frontier.pop()
        for host in lab.hosts.values():
            if host.switch == current:
                hops[host.name] = first or (host.mac, host.port)
        for port, other, other_port in links[current]:
            if other not in seen:
                seen.add(other)
                frontier.append((other, first or (lab.switch_mac(other, other_port), port)))
    return hops


def configure(lab: LabContext) -> None:
    for switch in lab.lab.switches:
        lab.switch(switch).table_add_many("ipv4_lpm", [
            Entry({"hdr.ipv4.dstAddr": f"{lab.host(h).ip}/32"}, "ipv4_forward",
                  {"dstAddr": mac, "port": port})
            for h, (mac, port) in sorted(next_hops(lab, switch).items())
        ])


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
