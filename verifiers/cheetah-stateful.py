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
a different connection, indexes outside the table, a backend's RST toward another
client port) and do not free that index; a server's FIN leaves the index in use
until the client ends too; indexes are freed exactly once, on FIN or RST from either
side: the table is filled, connections end every way (two with FIN then RST, the one
whose hash is 0xFFFF by its server's RST), and exactly as many new connections as
slots were freed work while the others keep working. Raw segments inside an open
connection (its cookie, out of its window): an ACK whose checksum update carries
reaches the backend as the model says, a segment without options is not read as
having some.
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
                   "0xFFFF; a backend's RST toward another client port does not free the "
                   "index it echoes; the connections they name keep their index"):
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
        forged_server_rst(lab, victims[0], conns)
        fresh = base.Connection(lab, ctl.CLIENTS[0], len(conns) + 1, cfg)
        conns.append(fresh)
        fresh.ask("after the forgeries")
        base.talk(victims, "forged")


def forged_server_rst(lab: LabContext, victim: Any, conns: list[Any]) -> None:
    """A RST from `victim`'s backend that echoes its index but is toward another port
    of its client: the stored hash does not match, so the index stays the victim's
    (the caller then opens a connection, which must get another index, and talks on
    the victim). It may reach that client (whose stack ignores it) or nobody."""
    backend, client = lab.host(victim.backend), lab.host(victim.client)
    busy = {c.addr[1] for c in conns}
    port = next(p for p in (victim.addr[1] ^ k for k in range(1, 64)) if p not in busy)
    frame = bytes(Ether(src=backend.mac, dst=client.mac) / IP(src=backend.ip, dst=client.ip)
                  / TCP(sport=victim.cfg.port, dport=port, flags="RA", seq=1, ack=1,
                        options=[("NOP", None), ("NOP", None),
                                 ("Timestamp", (123456, lab.rng.getrandbits(16) << 16
                                                | cookie_of(victim)))]))
    got = base.sent_alone(lab, victim.backend, frame, conns)
    if set(got) - {victim.client}:
        raise CheckFailed(f"a RST from {victim.backend} to {victim.client}:{port} echoing "
                          f"{victim}'s index reached {sorted(got)}")


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


def injected(lab: LabContext, tap: Any, conn: Any, frame: bytes) -> dict[str, list[bytes]]:
    """Send `frame`, a raw segment in `conn`'s addresses and ports, from its client:
    where that segment (its source address, port and sequence number) arrived. The
    tap leaves it out of the connection's own segments."""
    seg = base.model.parse(frame)
    key = (seg.src_ip, seg.sport, seg.seq)
    tap.injected.add(key)
    out: dict[str, list[bytes]] = base.sent_and_caught(
        lab, conn.client, frame,
        lambda got: got is not None and (got.src_ip, got.sport, got.seq) == key)
    return out


def check_raw_in_connection(lab: LabContext, tap: Any, conns: list[Any]) -> None:
    """Raw segments with an open connection's addresses, ports and cookie (so the
    table validates them), their sequence numbers far outside its window (its
    backend's stack answers with a duplicate ACK at most): an ACK whose checksum
    update carries in its first fold must reach the backend as the model says (a
    fold left out or written wrong breaks the checksum only then, about once in
    16,000 segments), and a segment without options whose payload begins like NOP NOP
    TS with the connection's cookie must not be read as carrying it (wherever it
    goes, its payload arrives as sent)."""
    with lab.check("raw segments inside an open connection (its cookie, a sequence number "
                   "outside its window): an ACK whose checksum update carries reaches the "
                   "backend as the model says; a segment without options whose payload looks "
                   "like a timestamp option is not read as one"):
        open_ = [c for c in conns if not c.closed and c.backend is not None]
        if not open_:
            raise CheckFailed("no open connection (an earlier check failed)")
        victim = lab.rng.choice(open_)
        cfg, backend = victim.cfg, lab.host(victim.backend)
        tsecr = lab.rng.getrandbits(16) << 16 | cookie_of(victim)
        sent = base.carrying_rst(lab, victim.client, cfg, victim.addr[1], tsecr, flags="A",
                                 seq=lab.rng.getrandbits(32))
        got = injected(lab, tap, victim, sent)
        if set(got) != {victim.backend} or len(got[victim.backend]) != 1:
            raise CheckFailed(f"an ACK in {victim} carrying its cookie (outside its window): "
                              f"only {victim.backend} should get it, once; got "
                              f"{ {h: len(fs) for h, fs in got.items()} or 'nothing'}")
        s, o = base.model.parse(sent), base.model.parse(got[victim.backend][0])
        want = base.model.client_to_backend(s, o, backend.ip, backend.mac, cfg.lb_mac)
        if want != o.frame:
            raise CheckFailed(f"an ACK in {victim} whose checksum update carries reached "
                              f"{victim.backend} as\n  {base.segment_difference(want, o.frame, s, o)}")
        bare = base.optionless_segment(lab, victim.client, cfg, victim.addr[1], tsecr,
                                       flags="A", seq=lab.rng.getrandbits(32))
        base.expect_payload_kept(bare, injected(lab, tap, victim, bare),
                                 f"a segment in {victim} without options, whose payload "
                                 "begins like NOP NOP TS with its cookie,")
        victim.ask("after raw segments in it")


def check_server_fin_first(lab: LabContext, tap: Any, conns: list[Any], cfg: Any) -> None:
    """A server's FIN does not end the client's side: its index stays the connection's
    until the client's FIN or RST. A connection opened after the server's FIN must get
    another index, and the client's own FIN must still reach the backend (a program
    that frees the index on the server's FIN gives it to the new connection, and then
    drops the old one's FIN as a forgery)."""
    with lab.check("a server's FIN leaves the index in use until the client ends too: a "
                   "connection opened in between gets another index, and the client's FIN "
                   "then reaches the backend"):
        base.set_pool(lab, cfg, list(ctl.BACKENDS))
        pair: list[Any] = []
        try:
            old = base.Connection(lab, ctl.CLIENTS[0], len(conns) + 1, cfg)
            pair.append(old)
            old.ask("before the server's FIN")
            old.server_fin()
            new = base.Connection(lab, ctl.CLIENTS[1], len(conns) + 2, cfg)
            pair.append(new)
            new.ask("after the other's server FIN")
            old.end("client FIN")   # after the server's FIN: the client's alone
            base.check_frames(lab, tap, pair, stateful_cookie)
            if cookie_of(old) == cookie_of(new):
                raise CheckFailed(f"{new}, opened after the server of {old} sent its FIN, got "
                                  f"its index {cookie_of(old):#06x} while the client could "
                                  "still send")
            new.end("client FIN")
        finally:
            conns += pair


def check_freeing(lab: LabContext, servers: Any, tap: Any, conns: list[Any], cfg: Any) -> None:
    """Fill the table, end connections every way (two with FIN then RST, first and
    last; a server's RST ends the connection whose hash is 0xFFFF), then exactly as
    many new connections as indexes were freed."""
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
                # the first from the client port whose hash is 0xFFFF: its server's RST
                # frees its index only where both sides compute hash_S alike
                port = base.top_hash_port(lab, ctl.CLIENTS[0], cfg, conns) if i == 0 else 0
                conn = base.Connection(lab, ctl.CLIENTS[i % 2], len(conns) + i + 1, cfg,
                                       port=port)
                fill.append(conn)
                conn.ask(f"fill {i}")
        finally:
            conns += fill
        others = lab.rng.sample(fill[1:], len(kinds) - 1)
        at = kinds.index("server RST")
        ending = others[:at] + [fill[0]] + others[at:]
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
        check_server_fin_first(lab, tap, conns, cfg)
        check_freeing(lab, servers, tap, conns, cfg)
        check_raw_in_connection(lab, tap, conns)
    finally:
        for conn in conns:
            conn.close()
        servers.close()
        tap.close()
