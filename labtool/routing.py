"""Next hops toward every host, from a manifest's links: the routes a routed lab's
controller installs, for any tree of switches (a line, a star ...).

A host on the switch itself is reached directly (its own MAC, its port); a host
further away through the neighbouring switch on the way (that switch port's MAC,
the port toward it). Switch-port MACs are the manifest's (Lab.port_mac).
"""

from __future__ import annotations

from .manifest import Lab


def switch_links(lab: Lab) -> dict[str, list[tuple[int, str, int]]]:
    """switch -> [(its port, neighbour switch, the neighbour's port)]"""
    out: dict[str, list[tuple[int, str, int]]] = {s: [] for s in lab.switches}
    for link in lab.links:
        a, b = link.a, link.b
        if a.node in lab.switches and b.node in lab.switches:
            assert a.port is not None and b.port is not None
            out[a.node].append((a.port, b.node, b.port))
            out[b.node].append((b.port, a.node, a.port))
    return out


def next_hops(lab: Lab, switch: str) -> dict[str, tuple[str, int]]:
    """host -> (next-hop MAC, out port) at `switch`, by a breadth-first walk."""
    links = switch_links(lab)
    hops: dict[str, tuple[str, int]] = {}
    first: dict[str, tuple[str, int] | None] = {switch: None}  # first hop toward each switch
    order = [switch]
    for current in order:
        for host, (sw, port) in lab.host_port.items():
            if sw == current:
                hops[host] = first[current] or (lab.hosts[host].mac, port)
        for port, other, other_port in links[current]:
            if other not in first:
                first[other] = first[current] or (
                    lab.port_mac(other, other_port), port)
                order.append(other)
    return hops


def switch_path(lab: Lab, a: str, b: str) -> list[str]:
    """The switches from a to b, both included."""
    links = switch_links(lab)
    paths = {a: [a]}
    order = [a]
    for current in order:
        for _, other, _ in links[current]:
            if other not in paths:
                paths[other] = paths[current] + [other]
                order.append(other)
    return paths[b]
