"""Verifier for the Cheetah lab, stateful variant: the same topology, pool, real TCP
connections and reconfiguration through the contract as the stateless verifier
(verifiers/cheetah.py, whose helpers it uses).

Must prove: new connections spread per the policy (round robin over the pool); every
message of a connection is answered by the same backend, no connection resets and no
segment is dropped; removing a backend from the pool keeps open connections working
and steers new ones elsewhere, adding one back does not disturb them; every segment
crossing s1 matches the model (VIP and load balancer MAC restored, checksums valid,
the server's high TSval bits kept), the cookie (the connection's table index) stays
the same for a connection's life and differs between open connections; forged
cookies are dropped (another open connection's index on an ACK, a FIN and a RST from
a different connection, indexes outside the table) and do not free that index;
indexes are freed exactly once, on FIN or RST from either side: the table is filled,
connections end every way (and two with FIN then RST), and exactly as many new
connections as slots were freed work while the others keep working.
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
CONN_SLOTS = 31       # the lab's connection table: 32 entries, index 0 never used
DOUBLE = "client FIN then RST"


def stateful_cookie(conn: Any, sent: Any, out: Any) -> tuple[int, int | None]:
    """Any cookie the program chose (its table index; the checks below compare them)
    and the TSecr it set (it restores the client's own timestamp there)."""
    return (out.tsval or 0) & 0xFFFF, out.tsecr


def cookie_of(conn: Any) -> int:
    cookies = conn.cookies
    if len(cookies) != 1:
        raise CheckFailed(f"{conn}: the cookies in its TSvals were "
                          f"{sorted(f'{c:#06x}' for c in cookies) or 'none'}; one index "
                          "for the whole connection expected")
    return int(next(iter(cookies)))


def distinct_cookies(conns: list[Any]) -> None:
    owner: dict[int, Any] = {}
    for conn in conns:
        if conn.closed:
            continue
        cookie = cookie_of(conn)
        if cookie in owner:
            raise CheckFailed(f"{owner[cookie]} and {conn}, both open, carry the same cookie "
                              f"{cookie:#06x}: one table index for two connections")
        owner[cookie] = conn


def forged(lab: LabContext, client: str, cfg: Any, index: int, flags: str,
           sport: int) -> bytes:
    """A segment to the VIP from a connection that does not exist, carrying `index`
    as its cookie."""
    c = lab.host(client)
    return bytes(Ether(src=c.mac, dst=cfg.lb_mac) / IP(src=c.ip, dst=cfg.vip)
                 / TCP(sport=sport, dport=cfg.port, flags=flags, seq=1, ack=1,
                       options=[("NOP", None), ("NOP", None),
                                ("Timestamp", (123456, lab.rng.getrandbits(16) << 16
                                               | index))]))


def check_forged(lab: LabContext, conns: list[Any]) -> None:
    with lab.check("forged cookies are dropped: another open connection's index on an "
                   "ACK, a FIN and a RST of a different connection, and indexes 0 and "
                   "0xFFFF; the connections they name keep their index"):
        open_ = [c for c in conns if not c.closed]
        if len(open_) < 3:
            raise CheckFailed("fewer than 3 open connections to forge cookies of (an "
                              "earlier check failed)")
        distinct_cookies(open_)
        victims = lab.rng.sample(open_, 3)
        cfg = victims[0].cfg
        for victim, flags in zip(victims, ("A", "FA", "RA")):
            client = lab.rng.choice(ctl.CLIENTS)
            sport = lab.rng.randrange(1024, 65536)
            base.expect_alone(lab, client, forged(lab, client, cfg, cookie_of(victim), flags,
                                                  sport), conns,
                              f"a forged {flags} from {client}:{sport} carrying {victim}'s "
                              f"cookie {cookie_of(victim):#06x}")
        for index in (0, 0xFFFF):
            base.expect_alone(lab, "h1", forged(lab, "h1", cfg, index, "RA", 4321), conns,
                              f"a RST carrying index {index:#06x} (outside the table)")
        fresh = base.Connection(lab, ctl.CLIENTS[0], len(conns) + 1, cfg)
        conns.append(fresh)
        fresh.ask("after the forgeries")
        base.talk(victims, "forged")


def stateful_raw(lab: LabContext, cfg: Any, conns: list[Any]) -> None:
    check_forged_quiet(lab, [c for c in conns if c.cfg is cfg], conns)
    base.check_other_destinations(lab, cfg, conns)


def check_forged_quiet(lab: LabContext, mine: list[Any], conns: list[Any]) -> None:
    """The forgeries again under the seeded configuration (inside the caller's check)."""
    open_ = [c for c in mine if not c.closed]
    if not open_:
        raise CheckFailed("no open connection to forge the cookie of (an earlier check failed)")
    distinct_cookies(open_)
    victim = lab.rng.choice(open_)
    for flags in ("A", "FA", "RA"):
        client = lab.rng.choice(ctl.CLIENTS)
        base.expect_alone(lab, client, forged(lab, client, victim.cfg, cookie_of(victim), flags,
                                              lab.rng.randrange(1024, 65536)), conns,
                          f"a forged {flags} carrying {victim}'s cookie")
    victim.ask("still mine")


def check_freeing(lab: LabContext, servers: Any, tap: Any, conns: list[Any], cfg: Any) -> None:
    """Fill the table, end connections every way (two with FIN then RST, first and
    last), then exactly as many new connections as indexes were freed."""
    kinds = [DOUBLE] + [k for k in base.CLOSE_KINDS for _ in range(2)] + [DOUBLE]
    fill: list[Any] = []
    new: list[Any] = []
    with lab.check(f"indexes are freed exactly once, on FIN or RST from either side: "
                   f"{CONN_SLOTS} connections fill the table; ending {len(kinds)} of them "
                   f"({', '.join(dict.fromkeys(kinds))}) lets exactly {len(kinds)} new "
                   "ones in, and every open connection keeps working"):
        base.set_pool(lab, cfg, list(ctl.BACKENDS))
        try:
            for i in range(CONN_SLOTS):
                conn = base.Connection(lab, ctl.CLIENTS[i % 2], len(conns) + i + 1, cfg)
                fill.append(conn)
                conn.ask(f"fill {i}")
        finally:
            conns += fill
        ending = lab.rng.sample(fill, len(kinds))
        before = [servers.ends_of(c.addr) for c in ending]
        for conn, kind in zip(ending, kinds):
            conn.end(kind)
        servers.wait_ends([(c.addr, len(b) + 1) for c, b in zip(ending, before)])
        for conn, kind, old in zip(ending, kinds, before):
            want = ["fin"] if kind == DOUBLE else base.SERVER_SEES[kind]
            seen = servers.ends_of(conn.addr)[len(old):]
            if seen[:1] != want:
                raise CheckFailed(f"{conn}, ended by {kind}: its backend saw "
                                  f"{seen or 'nothing'} instead of {want}")
        # the ended connections' segments are checked before a new connection may
        # reuse one of their client ports
        base.check_frames(lab, tap, fill, stateful_cookie)
        try:
            for i in range(len(kinds)):
                conn = base.Connection(lab, ctl.CLIENTS[i % 2], len(conns) + i + 1, cfg)
                new.append(conn)
                conn.ask(f"refill {i}")
        finally:
            conns += new
        base.talk([c for c in fill + new if not c.closed], "after the refill")
    if not lab.results[-1].passed:
        return
    base.frames_check(lab, tap, [c for c in fill + new if not c.closed], stateful_cookie,
                      "... and every segment of the filled table matches the model, one "
                      "distinct cookie per open connection")
    with lab.check("one cookie per open connection after the refill"):
        distinct_cookies(fill + new)


def verify(lab: LabContext) -> None:
    cfg = base.draw_config(lab, {ctl.VIP})
    servers = base.EchoServers(lab, ctl.BACKENDS, sorted({ctl.VIP_PORT, cfg.port}))
    tap = base.Tap(lab)
    conns: list[Any] = []
    rule = ("the cookie in TSval's low 16 bits (the connection's index), the server's "
            "high 16 bits kept")
    try:
        base.course_phase(lab, servers, tap, conns, stateful_cookie, rule, check_forged)
        base.seeded_phase(lab, servers, tap, conns, cfg, stateful_cookie, stateful_raw)
        check_freeing(lab, servers, tap, conns, cfg)
    finally:
        for conn in conns:
            conn.close()
        servers.close()
        tap.close()
