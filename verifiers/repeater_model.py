"""Reference model and seeded plan of lab 1.2 (repeater), pure Python.

Spec (LABS.md): table `repeater` keyed on the ingress port (exact) decides the output
port of every frame: forward(port) sends it out of `port` unchanged, drop() discards
it, and a port without an entry hits the default action, drop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from labtool import framemix as fm

DROP_PORT = 511  # BMv2's drop port: never a forward() target in the plan

# What a port's table entry does, per plan step.
CROSS, SELF, VOID, DROP, MISS = "cross", "self", "void", "drop", "miss"
STATES = (CROSS, SELF, VOID, DROP, MISS)


@dataclass(frozen=True)
class Action:
    """A table entry's action: forward(port), or drop() when port is None."""

    port: int | None = None

    def __str__(self) -> str:
        return "drop()" if self.port is None else f"forward({self.port})"


# ingress port -> its entry's action; a port that is not a key has no entry (miss)
Table = dict[int, Action]
COURSE: Table = {1: Action(2), 2: Action(1)}


def output(table: Table, ingress: int, frame: bytes) -> list[tuple[int, bytes]]:
    """What leaves the switch for `frame` entering `ingress`: (port, bytes) pairs."""
    action = table.get(ingress)  # miss: the default action, drop()
    if action is None or action.port is None:
        return []
    return [(action.port, frame)]


def describe(table: Table, ports: tuple[int, ...]) -> str:
    return ", ".join(f"{p} -> {table[p]}" if p in table else f"{p} -> no entry (miss)"
                     for p in ports)


def plan(rng: random.Random, host_ports: tuple[int, int]) -> list[Table]:
    """Table contents to go through after the course's: each host port takes each state
    once (forward to the other host, to itself, to a port without a host, drop(), no
    entry), in a seeded order per port, so every step changes both ports' entries and
    every state meets several states of the other port. A port without a host is 257
    or 258 for one of the ports (a forward() that keeps only 8 bits of the port would
    reach a host) and any other unused port otherwise."""
    a, b = host_ports
    orders = {p: rng.sample(STATES, len(STATES)) for p in host_ports}
    void = {a: rng.choice((257, 258)), b: rng.choice([p for p in range(3, DROP_PORT)
                                                      if p not in (257, 258)])}
    other = {a: b, b: a}
    tables = []
    for step in range(len(STATES)):
        table: Table = {}
        for port in host_ports:
            state = orders[port][step]
            if state == MISS:
                continue
            table[port] = {CROSS: Action(other[port]), SELF: Action(port),
                           VOID: Action(void[port]), DROP: Action(None)}[state]
        tables.append(table)
    return tables


def frames_between(rng: random.Random, src_mac: str, dst_mac: str, src_ip: str,
                   dst_ip: str) -> list[bytes]:
    """A mix a repeater must carry unchanged: IPv4 UDP and TCP or ICMP, ARP, IPv6, an
    802.1Q-tagged frame, another EtherType; one frame of 60 and one of 1514 bytes."""
    ends = fm.Ends(src_mac, dst_mac, src_ip, dst_ip)
    kinds = ["ipv4_udp", rng.choice(("ipv4_tcp", "ipv4_icmp")), "arp", "ipv6", "other"]
    frames = [fm.build(rng, kind, ends, rng.randrange(fm.MIN_SIZE[kind], fm.ETH_MAX + 1))
              for kind in kinds]
    frames.append(fm.build(rng, rng.choice(("ipv4_udp", "arp", "other", "llc")), ends, fm.ETH_MIN))
    frames.append(fm.build(rng, rng.choice(fm.KINDS), ends, fm.ETH_MAX))
    inner = fm.build(rng, "ipv4_udp", ends, rng.randrange(fm.ETH_MIN, fm.ETH_MAX - fm.TAG_LEN))
    frames.append(fm.tag(inner, rng.randrange(4096), rng.randrange(8), rng.randrange(2)))
    rng.shuffle(frames)
    return frames
