"""Verifier for the Cheetah lab, stateful variant: the same topology, pool and real TCP
connections as the stateless verifier (verifiers/cheetah.py, whose helpers it uses).

Must prove: new connections spread per the policy (round robin over the pool); every
message of a connection is answered by the same backend, no connection resets and no
segment is dropped; removing a backend from the pool keeps open connections working
and steers new ones elsewhere, adding one back does not disturb them; a forged cookie
(an index in use, but not this connection's) is dropped; indexes are freed on
FIN/RST (more connections, one after the other, than the table has slots).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from labtool.checks import CheckFailed
from labtool.context import LabContext
from labtool.loader import load_module

base: Any = load_module(Path(__file__).with_name("cheetah.py"), "helpers")
ctl = base.ctl
CONN_SLOTS = 32       # the program's connection table (index 0 unused)
SEQUENTIAL = 2 * CONN_SLOTS


def forged_segment(lab: LabContext, client: str, index: int) -> bytes:
    """An ACK to the VIP from a connection that does not exist, carrying a cookie (an
    index) that belongs to another, open connection."""
    c = lab.host(client)
    return bytes(Ether(src=c.mac, dst=ctl.VIP_MAC) / IP(src=c.ip, dst=ctl.VIP)
                 / TCP(sport=61000, dport=ctl.VIP_PORT, flags="A", seq=1, ack=1,
                       options=[("NOP", None), ("NOP", None),
                                ("Timestamp", (123456, 0x00AB0000 | index))]))


def verify(lab: LabContext) -> None:
    servers = base.EchoServers(lab, ctl.BACKENDS, ctl.VIP_PORT)
    conns: list[Any] = []
    try:
        pool = list(ctl.BACKENDS)
        with lab.check(f"new connections go round robin over the pool {pool}"):
            conns += base.open_connections(lab, 2 * len(pool), 1)
            base.expect_round_robin(conns, pool)
            base.no_retransmissions(conns)

        with lab.check("every message of a connection is answered by the same backend; "
                       "no connection resets"):
            if not conns:
                raise CheckFailed("no connection was established to test")
            base.talk(conns, "round 1")

        with lab.check("a forged cookie (another open connection's index) is dropped"):
            for index in (1, 2, 3):
                lab.exchange({"h1": [forged_segment(lab, "h1", index)]}, expect={})

        with lab.check("removing h4 from the pool: open connections (h4's too) keep working, "
                       "new ones go round robin over the rest"):
            rest = [b for b in pool if b != "h4"]
            ctl.set_pool(lab, rest)
            base.talk(conns, "round 2")
            new = base.open_connections(lab, 2 * len(rest), len(conns) + 1)
            conns += new
            base.expect_round_robin(new, rest)
            base.no_retransmissions(new)

        with lab.check("adding h4 back: open connections are not disturbed, new ones reach "
                       "h4 again"):
            ctl.set_pool(lab, pool)
            base.talk(conns, "round 3")
            new = base.open_connections(lab, len(pool), len(conns) + 1)
            conns += new
            base.expect_round_robin(new, pool)
            base.no_retransmissions(new)

        with lab.check(f"indexes are freed on FIN: {SEQUENTIAL} connections one after the "
                       f"other (the table has {CONN_SLOTS - 1} slots) all work"):
            for conn in conns:
                conn.close()
            conns.clear()
            for i in range(SEQUENTIAL):
                conn = base.Connection(lab, ctl.CLIENTS[i % 2], 1000 + i)
                try:
                    conn.ask(f"one of many {i}")
                finally:
                    conn.close()
    finally:
        for conn in conns:
            conn.close()
        servers.close()
