"""Verifier for the Cheetah lab (stateless): clients h1, h2; backends h3..h6; VIP on s1.

Must prove, with real TCP connections from the clients' own Linux stacks to small
echo servers on the backends that answer with their own name: new connections
spread per the policy (round robin over the pool); every message of a connection is
answered by the same backend and no connection resets; while connections are open,
removing a backend from the pool keeps those connections working and steers new
ones elsewhere, and adding one back does not disturb old connections.

Beyond the course's configuration (the controller's VIP, MAC, salt, server ids and
pool), the verifier reconfigures the program through the contract with values drawn
from the run's seed (other salts, VIP address, VIP port, load balancer MAC, server
ids up to 0xFFFF, pools of one, of a few and of as many entries as the pool table
holds, round robin wrapping at its end) and checks again, so nothing of the course's
values may be built into the program. Every segment crossing s1 is captured on s1's
ports and compared byte for byte with the reference model (verifiers/cheetah_model.py):
cookie = hash_S(connection) XOR server id in the low 16 bits of TSval with the
server's high bits, VIP and load balancer MAC as sources, valid checksums, nothing
else changed. Connections end every way Linux ends them: FIN or RST, from the client
or from the server. Raw segments exercise the miss paths (a cookie naming no server,
traffic to another host, to an unknown host) and the corners: a RST whose checksum
makes the lab's incremental update carry (a fold missing or written wrong shows only
there), a RST without options whose payload looks like a timestamp option (it must
arrive unchanged). One connection per seeded configuration comes from the client
port whose cookie hash is 0xFFFF (hash_S modulo 65535 differs only there).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from labtool import hashes
from labtool.checks import CheckFailed, HarnessError
from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.loader import load_module
from labtool.manifest import host_intf
from labtool.pktdiff import summary

ctl: Any = load_module(Path(__file__).resolve().parents[1] / "controllers" / "cheetah.py",
                       "controller")
model: Any = load_module(Path(__file__).with_name("cheetah_model.py"), "cheetah_model")
TIMEOUT_S = 2.0
ENDS_WAIT_S = 1.0        # how long the servers may take to notice a connection's end
MAX_POOL = 1024          # pool entries the verifier installs at most (the table's size)
CLOSE_KINDS = ("client FIN", "client RST", "server FIN", "server RST")
SERVER_SEES = {"client FIN": ["fin"], "client RST": ["rst"], "server FIN": ["close"],
               "server RST": ["reset"]}


# -- configuration through the contract ------------------------------------------------

@dataclass
class Config:
    """Everything the control plane decides: the VIP, its MAC, the salt, server ids, pool."""

    vip: str
    lb_mac: str
    port: int
    salt: int
    ids: dict[str, int]
    pool: list[str]

    def server_id(self, backend: str) -> int:
        return self.ids[backend]

    def backend_of(self, server_id: int) -> str | None:
        return next((b for b, i in self.ids.items() if i == server_id), None)


def course_config(lab: LabContext) -> Config:
    return Config(ctl.VIP, ctl.VIP_MAC, ctl.VIP_PORT, ctl.current_salt(lab),
                  {b: ctl.server_id(b) for b in ctl.BACKENDS}, list(ctl.BACKENDS))


def draw_config(lab: LabContext, used_vips: set[str]) -> Config:
    """A configuration other than the course's: server ids far apart and up to the
    16-bit limit, another VIP address, port, MAC and salt."""
    rng = lab.rng
    ids = [0xFFFF, 0xFFFE] + rng.sample(range(1, 0xFFFE), len(ctl.BACKENDS) - 2)
    rng.shuffle(ids)
    taken = {h.ip for h in lab.hosts.values()} | used_vips
    vip = rng.choice([f"10.0.0.{n}" for n in range(7, 255) if f"10.0.0.{n}" not in taken])
    mac = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    port = rng.choice([1, 65535, rng.randrange(1024, 65535)])
    salt = rng.choice([0xFFFFFFFF, rng.getrandbits(32)])
    pool = rng.sample(ctl.BACKENDS, rng.randrange(2, len(ctl.BACKENDS) + 1))
    return Config(vip, mac, port, salt, dict(zip(ctl.BACKENDS, ids)), pool)


def apply_config(lab: LabContext, cfg: Config) -> None:
    """Install `cfg` with the contract's tables (servers, backends, pool, vip, rr_next)."""
    s1 = lab.switch("s1")
    s1.table_clear("servers")
    s1.table_add_many("servers", [
        Entry({"meta.server_id": cfg.ids[b]}, "to_server",
              {"ip": lab.host(b).ip, "mac": lab.host(b).mac, "port": lab.host(b).port})
        for b in ctl.BACKENDS])
    s1.table_clear("backends")
    s1.table_add_many("backends", [
        Entry({"hdr.ipv4.srcAddr": lab.host(b).ip}, "from_backend",
              {"server_id": cfg.ids[b], "salt": cfg.salt, "vip_ip": cfg.vip,
               "vip_mac": cfg.lb_mac})
        for b in ctl.BACKENDS])
    set_pool(lab, cfg, cfg.pool)
    for client in ctl.CLIENTS:
        done = lab.host_run(client, ["ip", "neigh", "replace", cfg.vip, "lladdr", cfg.lb_mac,
                                     "dev", f"{client}-eth0", "nud", "permanent"])
        if done.returncode != 0:
            raise HarnessError(f"{client}: static ARP for {cfg.vip}: {done.stderr.strip()}")


def set_pool(lab: LabContext, cfg: Config, pool: list[str], next_index: int = 0) -> None:
    """New connections go round robin over `pool`, starting at `next_index`."""
    s1 = lab.switch("s1")
    cfg.pool = list(pool)
    s1.table_clear("pool")
    s1.table_add_many("pool", [Entry({"meta.pool_index": i}, "pick",
                                     {"server_id": cfg.ids[b]}) for i, b in enumerate(pool)])
    s1.table_clear("vip")
    s1.table_add("vip", {"hdr.ipv4.dstAddr": cfg.vip}, "vip_hit",
                 {"salt": cfg.salt, "pool_size": len(pool)})
    s1.register_write("rr_next", 0, next_index)


def pool_capacity(lab: LabContext) -> int:
    """How many entries the program's pool table holds (its P4Info size)."""
    size = int(lab.switch("s1").schema.tables["pool"].size or 0)
    return min(size, MAX_POOL) if size > 0 else 64


# -- backends: echo servers that also end connections on request -----------------------

class EchoServers:
    """On every backend, TCP servers in its namespace answering "<name>:<message>" on
    each of `ports`. "!close" makes the server close after answering (FIN), "!reset"
    answer, then reset (RST) at the next message, "!half" answer and keep its side
    open after the client's FIN. `ends[(client ip, port)]` records how each
    connection ended as the server saw it: fin, rst, close, reset."""

    def __init__(self, lab: LabContext, backends: tuple[str, ...], ports: list[int]) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listeners: list[socket.socket] = []
        self.ends: dict[tuple[str, int], list[str]] = {}
        self.lock = threading.Lock()
        for name in backends:
            for port in ports:
                sock = lab.host_socket(name)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((lab.host(name).ip, port))
                sock.listen(128)
                sock.settimeout(0.1)
                self.listeners.append(sock)
                self._start(self._accept, sock, name)

    def _start(self, fn: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self, sock: socket.socket, name: str) -> None:
        while not self.stop.is_set():
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._start(self._echo, conn, name, (peer[0], peer[1]))

    def _end(self, peer: tuple[str, int], how: str) -> None:
        with self.lock:
            self.ends.setdefault(peer, []).append(how)

    def _echo(self, conn: socket.socket, name: str, peer: tuple[str, int]) -> None:
        conn.settimeout(0.2)
        mode = ""
        with conn:
            while not self.stop.is_set():
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                except OSError:
                    self._end(peer, "rst")
                    return
                if not data:
                    self._end(peer, "fin")
                    if mode == "!half":
                        self._wait_closed(conn)
                    return
                if mode == "!reset":
                    self._end(peer, "reset")
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                conn.sendall(name.encode() + b":" + data)
                mode = data.decode(errors="replace")
                if mode == "!close":
                    self._end(peer, "close")
                    return

    def _wait_closed(self, conn: socket.socket) -> None:
        """Keep a half-closed connection open until the client resets it."""
        deadline = time.monotonic() + ENDS_WAIT_S
        while time.monotonic() < deadline and not self.stop.is_set():
            if tcp_state(conn) == TCP_CLOSE:
                return
            time.sleep(0.005)

    def ends_of(self, peer: tuple[str, int]) -> list[str]:
        with self.lock:
            return list(self.ends.get(peer, []))

    def wait_ends(self, wanted: list[tuple[tuple[str, int], int]]) -> None:
        """Until each peer's connections have ended `count` times in all."""
        deadline = time.monotonic() + ENDS_WAIT_S
        while time.monotonic() < deadline:
            with self.lock:
                if all(len(self.ends.get(p, [])) >= n for p, n in wanted):
                    return
            time.sleep(0.005)

    def close(self) -> None:
        self.stop.set()
        for sock in self.listeners:
            sock.close()
        for thread in self.threads:
            thread.join(1)


TCP_CLOSE = 7


def tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


# -- clients ---------------------------------------------------------------------------

class Connection:
    """A client's TCP connection to the VIP of `cfg`."""

    def __init__(self, lab: LabContext, client: str, n: int, cfg: Config,
                 timeout: float = TIMEOUT_S, port: int = 0) -> None:
        self.client, self.n, self.cfg = client, n, cfg
        self.sock = lab.host_socket(client)
        self.sock.settimeout(timeout)
        try:
            if port:   # (an earlier connection from it may still be in TIME_WAIT)
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.sock.bind((lab.host(client).ip, port))
            self.sock.connect((cfg.vip, cfg.port))
        except OSError as exc:
            self.sock.close()
            raise CheckFailed(f"connection {n} from {client} to {cfg.vip}:{cfg.port} "
                              f"failed: {exc.__class__.__name__}: {exc}") from None
        self.sock.settimeout(TIMEOUT_S)
        self.addr: tuple[str, int] = self.sock.getsockname()
        self.backend: str | None = None
        self.closed = False
        self.cookies: set[int] = set()   # cookies seen in its TSvals (stateful checks)

    def __repr__(self) -> str:
        return f"connection {self.n} ({self.client}:{self.addr[1]})"

    def _fail(self, what: str, exc: BaseException | None = None) -> CheckFailed:
        cause = f": {exc.__class__.__name__}: {exc}" if exc else ""
        return CheckFailed(f"{self} to {self.cfg.vip}:{self.cfg.port}"
                           f"{f' (backend {self.backend})' if self.backend else ''}: "
                           f"{what}{cause}")

    def ask(self, message: str) -> str:
        """Send a message, return the name of the backend that answered it."""
        try:
            self.sock.sendall(message.encode())
            reply = self.sock.recv(1024).decode(errors="replace")
        except OSError as exc:
            raise self._fail(f"{message!r}", exc) from None
        name, _, echoed = reply.partition(":")
        if echoed != message:
            raise self._fail(f"sent {message!r}, got {reply!r}"
                             + (" (connection closed)" if not reply else ""))
        if self.backend is None:
            self.backend = name
        elif name != self.backend:
            raise self._fail(f"answered by {self.backend}, then by {name}")
        return name

    def retransmissions(self) -> int:
        """Segments this connection had to send again (struct tcp_info's
        tcpi_total_retrans): on a loss-free emulated link, only a segment the switch
        dropped makes one, e.g. a SYN that found no backend."""
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return int(struct.unpack_from("I", info, 100)[0])

    def _expect_end(self, kind: str) -> None:
        """The server's side has ended (FIN: EOF; RST: reset)."""
        try:
            data = self.sock.recv(1024)
        except ConnectionResetError:
            data = None
        except OSError as exc:
            raise self._fail(f"waiting for the server's {kind}", exc) from None
        if kind == "FIN" and data != b"":
            raise self._fail("expected the server's FIN (end of stream), got "
                             + ("a reset" if data is None else repr(data)))
        if kind == "RST" and data is not None:
            raise self._fail(f"expected the server's RST, got {data!r}")

    def server_fin(self) -> None:
        """The server ends its side (FIN); the client's stays open until it ends it."""
        self.ask("!close")
        self._expect_end("FIN")

    def end(self, kind: str) -> None:
        """End the connection the way `kind` (one of CLOSE_KINDS) says."""
        self.closed = True
        if kind == "client FIN":      # FIN, the server answers with its own FIN
            self.sock.shutdown(socket.SHUT_WR)
            self._expect_end("FIN")
        elif kind == "client RST":    # SO_LINGER 0: close() resets
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "server FIN":
            self.server_fin()
        elif kind == "server RST":
            self.ask("!reset")
            try:
                self.sock.sendall(b"!go")
            except OSError as exc:
                raise self._fail("after !reset", exc) from None
            self._expect_end("RST")
        elif kind == "client FIN then RST":
            self.ask("!half")
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def no_retransmissions(conns: list[Connection]) -> None:
    for conn in conns:
        if not conn.closed and conn.retransmissions():
            raise CheckFailed(f"{conn} needed {conn.retransmissions()} retransmission(s): "
                              "the switch dropped a segment of it (a SYN it found no backend "
                              "for?)")


def open_connections(lab: LabContext, count: int, first: int, cfg: Config) -> list[Connection]:
    conns = []
    for i in range(count):
        conn = Connection(lab, ctl.CLIENTS[(first + i) % len(ctl.CLIENTS)], first + i, cfg)
        conns.append(conn)
        conn.ask(f"hello {first + i}")
    return conns


def expect_round_robin(conns: list[Connection], pool: list[str], start: int = 0) -> None:
    got = [c.backend for c in conns]
    want = [pool[(start + i) % len(pool)] for i in range(len(conns))]
    if got != want:
        raise CheckFailed(f"new connections went to {got}; round robin over the pool "
                          f"{shorten(pool)} from index {start} gives {want}")


def shorten(pool: list[str]) -> str:
    return str(pool) if len(pool) <= 8 else f"[{', '.join(pool[:3])}, ... ({len(pool)} entries)]"


def talk(conns: list[Connection], round_: str) -> None:
    for conn in conns:
        if not conn.closed:
            for k in range(2):
                conn.ask(f"{round_} {conn.n}.{k}")
    no_retransmissions(conns)


def end_connections(lab: LabContext, servers: EchoServers, conns: list[Connection],
                    kinds: tuple[str, ...] = CLOSE_KINDS) -> None:
    """End every open connection, cycling through `kinds`; each end must be seen by the
    other side as the kind it was."""
    ended = []
    for i, conn in enumerate(c for c in conns if not c.closed):
        kind = kinds[i % len(kinds)]
        before = servers.ends_of(conn.addr)   # a client port may serve several connections
        conn.end(kind)
        ended.append((conn, kind, before))
    servers.wait_ends([(c.addr, len(b) + 1) for c, _, b in ended])
    for conn, kind, before in ended:
        seen = servers.ends_of(conn.addr)[len(before):]
        if seen != SERVER_SEES[kind]:
            raise CheckFailed(f"{conn}, ended by {kind}: its backend saw "
                              f"{seen or 'nothing'} instead of {SERVER_SEES[kind]}")


# -- every frame crossing s1, compared with the model -----------------------------------

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33


SIOCGSKNS = 0x894C       # the network namespace of a socket, as a file descriptor
CLONE_NEWNET = 0x40000000


def _packet_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 * 1024 * 1024)
    sock.bind((host_intf(host), 0))
    sock.setblocking(False)
    return sock


def _in_namespace(ns_fd: int, make: Callable[[], socket.socket]) -> socket.socket:
    """make() run by a thread that joined the network namespace `ns_fd` (a socket keeps
    the namespace it was created in)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(ns_fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            box["sock"] = make()
        except OSError as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise HarnessError(f"cannot capture on a host's interface: {box['error']}")
    return box["sock"]  # type: ignore[no-any-return]


@dataclass
class Tapped:
    host: str          # the host on that port of s1
    to_host: bool      # s1 sent it to the host (else the host sent it to s1)
    seg: Any           # cheetah_model.Segment


class Tap:
    """Packet sockets on the hosts' interfaces that see both directions (what each
    host sent to s1 and what s1 sent it), independent of the program and of the
    hosts' own captures. Each is opened in its host's namespace, found from an
    ordinary socket of that host (ioctl SIOCGSKNS)."""

    def __init__(self, lab: LabContext) -> None:
        self.socks: dict[str, socket.socket] = {}
        # captured while still inside the switch: checked with the next capture
        self.carry: list[tuple[Connection, Tapped]] = []
        # raw segments a verifier injected into a real connection, (source address,
        # source port, sequence number): checked where they were sent, not as the
        # connection's own segments
        self.injected: set[tuple[str, int, int]] = set()
        for host in lab.hosts:
            anchor = lab.host_socket(host, socket.SOCK_DGRAM)
            try:
                ns = fcntl.ioctl(anchor.fileno(), SIOCGSKNS)
            finally:
                anchor.close()
            try:
                self.socks[host] = _in_namespace(ns, lambda h=host: _packet_socket(h))
            finally:
                os.close(ns)

    def read(self) -> list[Tapped]:
        out = []
        for host, sock in self.socks.items():
            while True:
                try:
                    data, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                seg = model.parse(data)
                if seg is not None and (seg.src_ip, seg.sport, seg.seq) not in self.injected:
                    # the host's own transmissions are toward s1
                    out.append(Tapped(host, addr[2] != PACKET_OUTGOING, seg))
            _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            if drops:
                raise HarnessError(f"the capture on {host}'s interface dropped {drops} frames")
        return out

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()


@dataclass
class Traffic:
    """Captured segments of known connections, by direction, keyed by the client end."""

    from_backend: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    to_client: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    from_client: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    to_backend: dict[tuple[Any, ...], list[tuple[str, Any]]] = field(default_factory=dict)


def sort_traffic(tapped: list[Tapped], clients: set[str]) -> Traffic:
    t = Traffic()
    for item in tapped:
        seg = item.seg
        if item.host in clients:
            if item.to_host:
                t.to_client.setdefault(_down_key(seg), []).append(seg)
            else:
                t.from_client.setdefault(_up_key(seg), []).append(seg)
        elif item.to_host:
            t.to_backend.setdefault(_up_key(seg), []).append((item.host, seg))
        else:
            t.from_backend.setdefault(_down_key(seg), []).append(seg)
    return t


def _down_key(seg: Any) -> tuple[Any, ...]:
    return (seg.dst_ip, seg.dport, seg.seq, seg.ack, seg.flags, seg.payload)


def _up_key(seg: Any) -> tuple[Any, ...]:
    return (seg.src_ip, seg.sport, seg.seq, seg.ack, seg.flags, seg.payload)


def describe(seg: Any) -> str:
    names = "".join(n for bit, n in zip((1, 2, 4, 8, 16), "FSRPA") if seg.flags & bit)
    return (f"{seg.src_ip}:{seg.sport} > {seg.dst_ip}:{seg.dport} [{names}] seq {seg.seq} "
            f"{len(seg.payload)} bytes")


CookieRule = Callable[["Connection", Any, Any], tuple[int, int | None]]


def check_frames(lab: LabContext, tap: Tap, conns: list[Connection],
                 cookie_of: CookieRule) -> int:
    """Every segment of `conns` crossing s1 in either direction is what the model
    says, byte for byte. cookie_of(conn, segment as the backend sent it, as the
    client got it) gives the low 16 bits TSval must carry and the TSecr the client
    must get (None: the backend's). Returns how many segments were compared."""
    by_addr = {c.addr: c for c in conns}
    owner = {id(item.seg): conn for conn, item in tap.carry}   # checked with their own
    earlier = [item for _, item in tap.carry] + tap.read()
    lab.capture(lambda _: True, 1.0, 0.01)   # until the switches hold no frame
    recent = tap.read()
    tap.carry = []
    late = {id(t.seg) for t in recent}
    traffic = sort_traffic(earlier + recent, set(ctl.CLIENTS))
    # On a loaded machine a frame can still be on its way out of s1 when it looks idle
    # (host stacks keep talking meanwhile): before calling a segment dropped, listen a
    # little longer for its other side; what arrives now is checked like `recent`.
    deadline = time.monotonic() + LATE_S
    while _unanswered(traffic, by_addr, owner, late) and time.monotonic() < deadline:
        lab.capture(lambda _: True, 0.2, 0.02)
        more = tap.read()
        late |= {id(t.seg) for t in more}
        recent += more
        traffic = sort_traffic(earlier + recent, set(ctl.CLIENTS))
    compared = 0

    def in_flight(conn: Connection, item: Tapped) -> bool:
        """A segment captured after the switches were seen idle may still be inside
        them: it is checked with the next capture instead."""
        if id(item.seg) in late:
            tap.carry.append((conn, item))
            return True
        return False

    for key, segs in traffic.from_backend.items():
        for seg in segs:
            conn = owner.get(id(seg)) or by_addr.get((key[0], key[1]))
            if conn is None or conn.backend is None:
                continue
            outs = traffic.to_client.get(key, [])
            if not outs and in_flight(conn, Tapped(conn.backend, False, seg)):
                continue
            compared += _check_down(conn, seg, outs, cookie_of)
    for key, segs in traffic.from_client.items():
        for seg in segs:
            conn = owner.get(id(seg)) or by_addr.get((key[0], key[1]))
            if conn is None or conn.backend is None or seg.dst_ip != conn.cfg.vip:
                continue
            outs2 = traffic.to_backend.get(key, [])
            if not outs2 and in_flight(conn, Tapped(conn.client, False, seg)):
                continue
            compared += _check_up(lab, conn, seg, outs2)
    return compared


LATE_S = 1.5  # how long check_frames waits for the other side of a segment at most (a
# machine loaded by other work was seen to need more than 0.5 s)


def _unanswered(traffic: Traffic, by_addr: dict[Any, Connection],
                owner: dict[int, Connection], late: set[int]) -> bool:
    """Whether a segment of a known connection, not itself just captured, has no
    counterpart on the other side of s1 yet."""
    for key, segs in traffic.from_backend.items():
        for seg in segs:
            conn = owner.get(id(seg)) or by_addr.get((key[0], key[1]))
            if conn is not None and conn.backend is not None and id(seg) not in late \
                    and not traffic.to_client.get(key):
                return True
    for key, segs in traffic.from_client.items():
        for seg in segs:
            conn = owner.get(id(seg)) or by_addr.get((key[0], key[1]))
            if conn is not None and conn.backend is not None and id(seg) not in late \
                    and seg.dst_ip == conn.cfg.vip and not traffic.to_backend.get(key):
                return True
    return False


def _check_down(conn: Connection, seg: Any, got: list[Any], cookie_of: CookieRule) -> int:
    """`seg`, sent by the backend, reached the client as the model says (one of the
    captured candidates with the same sequence numbers, which is then used up)."""
    if not got:
        raise CheckFailed(f"{conn}: the switch dropped {describe(seg)} from {conn.backend} "
                          f"(it never reached {conn.client})")
    for out in got:
        cookie, tsecr = cookie_of(conn, seg, out)
        if model.backend_to_client(seg, conn.cfg.vip, conn.cfg.lb_mac, cookie,
                                   tsecr) == out.frame:
            got.remove(out)
            if out.tsval is not None:
                conn.cookies.add(out.tsval & 0xFFFF)
            return 1
    out = got[0]
    cookie, tsecr = cookie_of(conn, seg, out)
    want = model.backend_to_client(seg, conn.cfg.vip, conn.cfg.lb_mac, cookie, tsecr)
    raise CheckFailed(f"{conn}: {describe(seg)} from {conn.backend} reached "
                      f"{conn.client} as\n  {segment_difference(want, out.frame, seg, out)}")


def _check_up(lab: LabContext, conn: Connection, seg: Any, got: list[tuple[str, Any]]) -> int:
    """`seg`, sent by the client, reached its backend as the model says."""
    if not got:
        raise CheckFailed(f"{conn}: the switch dropped {describe(seg)} (the client's "
                          f"segment never reached {conn.backend})")
    for host, out in got:
        backend = lab.host(host)
        if host == conn.backend and model.client_to_backend(
                seg, out, backend.ip, backend.mac, conn.cfg.lb_mac) == out.frame:
            got.remove((host, out))
            return 1
    host, out = got[0]
    if host != conn.backend:
        raise CheckFailed(f"{conn}: {describe(seg)} went to {host}, not to {conn.backend}")
    backend = lab.host(host)
    want = model.client_to_backend(seg, out, backend.ip, backend.mac, conn.cfg.lb_mac)
    raise CheckFailed(f"{conn}: {describe(seg)} reached {host} as\n  "
                      f"{segment_difference(want, out.frame, seg, out)}")


def segment_difference(want: bytes, got: bytes, sent: Any, out: Any) -> str:
    w = model.parse(want)
    if w is not None and w.tsval is not None and out.tsval is not None \
            and w.tsval != out.tsval:
        return (f"TSval {out.tsval:#010x} instead of {w.tsval:#010x} (the backend sent "
                f"{sent.tsval:#010x}; low 16 bits = cookie, high 16 bits = the server's)")
    if not model.checksums_ok(got):
        return "a frame with a wrong IPv4 or TCP checksum (a receiver would drop it)"
    from labtool.pktdiff import first_difference
    return first_difference(want, got) or model.first_byte_difference(want, got)


def stateless_cookie(conn: Connection, sent: Any, out: Any) -> tuple[int, int | None]:
    """cookie = hash_S(connection) XOR server id; TSecr as the backend sent it."""
    cfg = conn.cfg
    h = model.cookie_hash(conn.addr[0], conn.addr[1], cfg.vip, cfg.port, cfg.salt)
    return h ^ cfg.server_id(conn.backend), None


# -- raw segments: the miss paths -------------------------------------------------------

RST_TSVAL = 0x1234


def rst_segment(lab: LabContext, client: str, dst_ip: str, dst_mac: str, sport: int,
                dport: int, tsecr: int | None, window: int = 8192, flags: str = "RA",
                seq: int = 1000) -> bytes:
    """A RST (no host answers one; other `flags` make another raw segment) with Linux's
    NOP NOP timestamp layout."""
    c = lab.host(client)
    opts = [("NOP", None), ("NOP", None), ("Timestamp", (RST_TSVAL, tsecr))] \
        if tsecr is not None else []
    return bytes(Ether(src=c.mac, dst=dst_mac) / IP(src=c.ip, dst=dst_ip)
                 / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=1, window=window,
                       options=opts))


def rfc1624(checksum: int, old: int, new: int, words: int) -> tuple[int, bool]:
    """The lab's RFC 1624 update of a field of `words` 16-bit words, HC' = ~(~HC + ~m
    + m') folded twice: the new checksum, and whether the first fold carried (only
    then does the second one matter)."""
    total = ~checksum & 0xFFFF
    for k in range(words):
        total += (~old >> 16 * k & 0xFFFF) + (new >> 16 * k & 0xFFFF)
    first = (total & 0xFFFF) + (total >> 16)
    second = (first & 0xFFFF) + (first >> 16)
    return ~second & 0xFFFF, first > 0xFFFF


TS_KIND_LEN = model.TS_KIND << 8 | model.TS_LEN


def hiding_carries(checksum: int, tsecr: int) -> bool:
    """Whether one of the lab's 32-bit updates that hide a timestamp option (kind and
    length, then TSval, then TSecr, each replaced by NOPs) carries. (The 16-bit one,
    0x080A -> 0x0101, never can: its sum stays below 0x1F8F6.)"""
    checksum, _ = rfc1624(checksum, TS_KIND_LEN, 0x0101, 1)
    checksum, tsval_carries = rfc1624(checksum, RST_TSVAL, 0x01010101, 2)
    return tsval_carries or rfc1624(checksum, tsecr, 0x01010101, 2)[1]


def carrying_rst(lab: LabContext, client: str, cfg: Config, sport: int, tsecr: int,
                 **segment: Any) -> bytes:
    """A RST like rst_segment's (`segment`: its flags and seq) whose window (free: a
    RST's is never read, nor an out-of-window segment's) sets its
    checksum so that the lab's incremental update of a 32-bit field carries in its
    first fold: the rare case (about 1 segment in 16,000) where a fold left out or
    written wrong gives a wrong checksum. Correct updates of any design, carrying or
    not, give the valid checksum the model recomputes."""
    def checksum_of(frame: bytes) -> int:
        off = model.parse(frame).tcp_off + 16
        return int.from_bytes(frame[off:off + 2], "big")

    # the window is one word of the ones'-complement sum: sum(w) = sum(0) +' w
    zero = ~checksum_of(rst_segment(lab, client, cfg.vip, cfg.lb_mac, sport, cfg.port, tsecr,
                                    0, **segment)) & 0xFFFF
    start = lab.rng.randrange(1 << 16)
    for k in range(1 << 16):
        window = (start + k) & 0xFFFF
        total = zero + window
        checksum = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
        if not hiding_carries(checksum, tsecr):
            continue
        frame = rst_segment(lab, client, cfg.vip, cfg.lb_mac, sport, cfg.port, tsecr, window,
                            **segment)
        if checksum_of(frame) == checksum:   # (ones' complement has two zeros)
            return frame
    raise ValueError("no window makes a 32-bit update carry")


def sent_and_caught(lab: LabContext, sender: str, frame: bytes,
                    keep: Callable[[model.Segment | None], bool]) -> dict[str, list[bytes]]:
    """Send one raw frame; what each host got that `keep` (given the parsed segment,
    or None) keeps."""
    lab.drain()
    lab.send(sender, [frame])
    out: dict[str, list[bytes]] = {}
    for host, frames in lab.capture(lambda _: False, 1.0, 0.1).items():
        for fr in frames:
            if keep(model.parse(fr)):
                out.setdefault(host, []).append(fr)
    return out


def sent_alone(lab: LabContext, sender: str, frame: bytes,
               conns: list[Connection]) -> dict[str, list[bytes]]:
    """Send one raw frame; what each host got, leaving out the segments of the real
    connections (a delayed ACK may cross at any time)."""
    known = {c.addr for c in conns}
    return sent_and_caught(lab, sender, frame, lambda seg: seg is None or (
        (seg.src_ip, seg.sport) not in known and (seg.dst_ip, seg.dport) not in known))


def expect_alone(lab: LabContext, sender: str, frame: bytes, conns: list[Connection],
                 what: str, to: str | None = None) -> bytes | None:
    """`frame` alone reaches host `to` (returned as received) or, to=None, nobody."""
    got = sent_alone(lab, sender, frame, conns)
    wrong = {h: f"{len(fs)} frame(s), first {summary(fs[0])}" for h, fs in got.items()
             if h != to or len(fs) != 1}
    if wrong or (to is not None and to not in got):
        where = f"only {to} should get it" if to else "nobody should get it"
        raise CheckFailed(f"{what}: {where}; got: {wrong or {to: 'nothing'}}")
    return got[to][0] if to is not None else None


def optionless_segment(lab: LabContext, client: str, cfg: Config, sport: int, tsecr: int,
                       flags: str = "RA", seq: int = 1000) -> bytes:
    """A segment (a RST by default) to the VIP without options (data offset 5) whose
    payload begins like Linux's NOP NOP timestamp layout, with `tsecr` in it."""
    c = lab.host(client)
    fake = bytes([1, 1, model.TS_KIND, model.TS_LEN]) + struct.pack("!II", RST_TSVAL, tsecr)
    return bytes(Ether(src=c.mac, dst=cfg.lb_mac) / IP(src=c.ip, dst=cfg.vip)
                 / TCP(sport=sport, dport=cfg.port, flags=flags, seq=seq, ack=1)
                 / Raw(fake + b"not options"))


def expect_payload_kept(sent: bytes, got: dict[str, list[bytes]], what: str) -> None:
    """Wherever `sent` (an optionless_segment) arrived, its payload is as sent: a
    parser that takes the payload for options rewrites it as a timestamp option."""
    payload = model.parse(sent).payload
    for host, frames in got.items():
        for frame in frames:
            seg = model.parse(frame)
            if seg is None or seg.payload != payload:
                raise CheckFailed(f"{what} reached {host} as {summary(frame)}: its payload "
                                  "was changed (the parser read options past the data "
                                  "offset)")


def check_optionless(lab: LabContext, cfg: Config, conns: list[Connection], client: str,
                     sport: int, tsecr: int, whose: str) -> None:
    """A RST to the VIP without options whose payload begins like Linux's NOP NOP
    timestamp layout, with `tsecr` (`whose` cookie) in it. It carries no cookie;
    wherever a program sends it, its payload must arrive as sent. Its sequence number
    is far from any real connection's window."""
    sent = optionless_segment(lab, client, cfg, sport, tsecr)
    expect_payload_kept(sent, sent_alone(lab, client, sent, conns),
                        f"a RST without options whose payload begins like NOP NOP TS (with "
                        f"{whose} cookie)")


def check_cookie_steering(lab: LabContext, cfg: Config, conns: list[Connection]) -> None:
    """Raw RSTs to the VIP: a cookie naming each server reaches exactly that server as
    the model says (checksum included, where the lab's incremental update of a 32-bit
    field carries); a cookie naming no server (servers' miss) reaches nobody; a RST
    without options keeps its payload (check_optionless)."""
    rng = lab.rng
    client = rng.choice(ctl.CLIENTS)
    ip = lab.host(client).ip
    for backend in sorted(cfg.ids, key=lambda b: -cfg.ids[b])[:2]:  # ids 0xFFFF, 0xFFFE
        sport = rng.randrange(1024, 65536)
        h = model.cookie_hash(ip, sport, cfg.vip, cfg.port, cfg.salt)
        tsecr = rng.getrandbits(16) << 16 | (h ^ cfg.ids[backend])
        sent = carrying_rst(lab, client, cfg, sport, tsecr)
        got = expect_alone(lab, client, sent, conns, f"a RST from {ip}:{sport} with the "
                           f"cookie of server id {cfg.ids[backend]:#06x}", backend)
        s, o = model.parse(sent), model.parse(got or b"")
        want = model.client_to_backend(s, o, lab.host(backend).ip, lab.host(backend).mac,
                                       cfg.lb_mac)
        if want != o.frame:
            raise CheckFailed(f"a RST with the cookie of {backend} reached it as\n  "
                              f"{segment_difference(want, o.frame, s, o)}")
    sport = rng.randrange(1024, 65536)
    backend = sorted(cfg.ids)[0]
    h = model.cookie_hash(ip, sport, cfg.vip, cfg.port, cfg.salt)
    check_optionless(lab, cfg, conns, client, sport,
                     rng.getrandbits(16) << 16 | (h ^ cfg.ids[backend]), f"{backend}'s")
    unused = next(i for i in (0x8000, 0x7FFF, 0x1234) if cfg.backend_of(i) is None)
    sport = rng.randrange(1024, 65536)
    h = model.cookie_hash(ip, sport, cfg.vip, cfg.port, cfg.salt)
    sent = rst_segment(lab, client, cfg.vip, cfg.lb_mac, sport, cfg.port, h ^ unused)
    expect_alone(lab, client, sent, conns, f"a RST whose cookie names server id {unused:#06x}, "
                 "which no server has (the servers table's miss)")


def check_other_destinations(lab: LabContext, cfg: Config, conns: list[Connection]) -> None:
    """TCP to a host that is not the VIP is plain forwarding (vip's miss path): it
    arrives unchanged, its timestamps too (their low bits look like a cookie or a
    small table index); TCP to an address nobody has (forward's miss path) is
    dropped."""
    a = lab.rng.choice(ctl.CLIENTS)
    b = lab.rng.choice(sorted(h for h in lab.hosts if h != a))
    sent = rst_segment(lab, a, lab.host(b).ip, lab.host(b).mac, 40000, cfg.port,
                       lab.rng.getrandbits(16) << 16 | lab.rng.randrange(1, 32))
    got = expect_alone(lab, a, sent, conns, f"TCP from {a} to {b} (not the VIP)", b)
    if got != sent:
        from labtool.pktdiff import first_difference
        raise CheckFailed(f"TCP from {a} to {b} (not the VIP) was changed: "
                          f"{first_difference(sent, got or b'')}")
    taken = {h.ip for h in lab.hosts.values()} | {cfg.vip, ctl.VIP}
    nobody = next(f"10.0.0.{n}" for n in range(250, 7, -1) if f"10.0.0.{n}" not in taken)
    expect_alone(lab, a, rst_segment(lab, a, nobody, cfg.lb_mac, 40001, cfg.port, 77), conns,
                 f"TCP to {nobody}, which no host has (the forward table's miss)")


# -- the checks -------------------------------------------------------------------------

def top_hash_port(lab: LabContext, client: str, cfg: Config,
                  conns: list[Connection]) -> int:
    """A client port (1024 or above, not in use toward the VIP) whose connection's
    cookie hash is 0xFFFF, or 0 if there is none: hash_S is crc16 % 65536, and a
    program computing it modulo 65535 (or with another off-by-one) differs only there."""
    raw = model.cookie_key(lab.host(client).ip, 0, cfg.vip, cfg.port, cfg.salt)
    hashed = hashes.window_hash(hashes.crc16, raw, model.COOKIE_PORT_AT, 2)
    busy = {c.addr[1] for c in conns if c.client == client}
    return next((p for p in range(1024, 1 << 16) if hashed(p) == 0xFFFF and p not in busy), 0)


def opened(lab: LabContext, what: str, conns: list[Connection], count: int, cfg: Config,
           pool: list[str], start: int = 0, edge: bool = False) -> list[Connection]:
    """Open `count` new connections (appended to `conns`), which must go round robin
    over `pool` from index `start`, without a retransmission. With `edge`, the first
    one comes from the client port whose cookie hash is 0xFFFF."""
    new: list[Connection] = []
    with lab.check(what):
        try:
            for i in range(count):
                client = ctl.CLIENTS[(len(conns) + i) % len(ctl.CLIENTS)]
                port = top_hash_port(lab, client, cfg, conns) if edge and i == 0 else 0
                conn = Connection(lab, client, len(conns) + i + 1, cfg, port=port)
                new.append(conn)
                conn.ask(f"hello {conn.n}")
        finally:
            conns += new
        expect_round_robin(new, pool, start)
        no_retransmissions(new)
    return new


def frames_check(lab: LabContext, tap: Tap, conns: list[Connection],
                 cookie_of: CookieRule, what: str) -> None:
    with lab.check(what):
        if not check_frames(lab, tap, conns, cookie_of):
            raise CheckFailed("no segment of the connections was captured on the links of s1")


def course_phase(lab: LabContext, servers: EchoServers, tap: Tap, conns: list[Connection],
                 cookie_of: CookieRule, cookie_rule: str,
                 forged: Callable[[LabContext, list[Connection]], None] | None = None) -> None:
    """The course's configuration (the controller's), pool changes with open connections;
    `forged` adds checks while the first connections are open."""
    cfg = course_config(lab)
    pool = list(cfg.pool)
    opened(lab, f"new connections go round robin over the pool {pool}", conns, 2 * len(pool),
           cfg, pool)
    with lab.check("every message of a connection is answered by the same backend; "
                   "no connection resets"):
        if not conns:
            raise CheckFailed("no connection was established to test")
        talk(conns, "round 1")
    frames_check(lab, tap, conns, cookie_of,
                 f"every segment crossing s1 is what the model says: {cookie_rule}, VIP and "
                 "load balancer MAC as sources toward clients, the server's address toward "
                 "it, valid checksums, nothing else changed")
    if forged is not None:
        forged(lab, conns)
    rest = [b for b in pool if b != "h4"]
    with lab.check("removing h4 from the pool: open connections (h4's too) keep working"):
        ctl.set_pool(lab, rest)
        talk(conns, "round 2")
    opened(lab, f"... and new ones go round robin over the rest {rest}", conns,
           2 * len(rest), cfg, rest)
    with lab.check("adding h4 back: open connections are not disturbed"):
        ctl.set_pool(lab, pool)
        talk(conns, "round 3")
    opened(lab, "... and new ones reach h4 again", conns, len(pool), cfg, pool)
    with lab.check(f"connections end every way Linux ends them ({', '.join(CLOSE_KINDS)}): "
                   "the other side sees exactly that end"):
        end_connections(lab, servers, conns)
    frames_check(lab, tap, conns, cookie_of,
                 "the segments of the pool changes and of every kind of end match the model")


def seeded_phase(lab: LabContext, servers: EchoServers, tap: Tap, conns: list[Connection],
                 cfg: Config, cookie_of: CookieRule,
                 raw_checks: Callable[[LabContext, Config, list[Connection]], None]) -> None:
    """A configuration drawn from the seed, installed through the contract."""
    ids = ", ".join(f"{b}={cfg.ids[b]:#06x}" for b in ctl.BACKENDS)
    with lab.check(f"reconfigured through the contract: VIP {cfg.vip}:{cfg.port}, MAC "
                   f"{cfg.lb_mac}, salt {cfg.salt:#010x}, server ids {ids}"):
        apply_config(lab, cfg)
    pool = list(cfg.pool)
    mine = opened(lab, f"new connections go round robin over the pool {pool} (the first "
                  "from the client port whose cookie hash is 0xFFFF)", conns, 2 * len(pool),
                  cfg, pool, edge=True)
    with lab.check("every message is answered by the connection's backend"):
        talk(mine, "seeded")
    frames_check(lab, tap, mine, cookie_of,
                 "every segment matches the model with the new salt, VIP, port, MAC and ids")
    with lab.check("raw segments: cookies steer to their server, a cookie naming no server "
                   "reaches nobody, other destinations are plain forwarding, unknown ones "
                   "dropped"):
        raw_checks(lab, cfg, conns)
    single = [lab.rng.choice(ctl.BACKENDS)]
    set_pool(lab, cfg, single)
    mine += opened(lab, f"a pool of one ({single[0]}): every new connection goes there",
                   conns, 2, cfg, single)
    size = pool_capacity(lab)
    full = wrapping_pool(lab, size)
    set_pool(lab, cfg, full, size - 2)
    mine += opened(lab, f"a pool of {size} entries (the pool table's size), round robin "
                   f"from index {size - 2}: wraps to index 0", conns, 4, cfg, full, size - 2)
    with lab.check("the seeded connections end every way Linux ends them"):
        talk(mine, "before the end")
        end_connections(lab, servers, mine)
    frames_check(lab, tap, mine, cookie_of, "... and all their segments match the model")


def wrapping_pool(lab: LabContext, size: int) -> list[str]:
    """`size` entries where the four around the wrap (size-2, size-1, 0, 1) differ
    from their neighbours, so an off-by-one shows as the wrong backend or a miss."""
    pool = [lab.rng.choice(ctl.BACKENDS) for _ in range(size)]
    if size < 4:
        return pool
    edge = lab.rng.sample(ctl.BACKENDS, 4)
    pool[size - 2], pool[size - 1], pool[0], pool[1 % size] = edge
    return pool


def stateless_raw(lab: LabContext, cfg: Config, conns: list[Connection]) -> None:
    check_cookie_steering(lab, cfg, conns)
    check_other_destinations(lab, cfg, conns)


def verify(lab: LabContext) -> None:
    first = draw_config(lab, {ctl.VIP})
    second = draw_config(lab, {ctl.VIP, first.vip})
    servers = EchoServers(lab, ctl.BACKENDS, sorted({ctl.VIP_PORT, first.port, second.port}))
    tap = Tap(lab)
    conns: list[Connection] = []
    rule = "cookie = crc16(client, VIP, salt) XOR server id in TSval's low 16 bits"
    try:
        course_phase(lab, servers, tap, conns, stateless_cookie, rule)
        for cfg in (first, second):
            seeded_phase(lab, servers, tap, conns, cfg, stateless_cookie, stateless_raw)
    finally:
        for conn in conns:
            conn.close()
        servers.close()
        tap.close()
