"""Verifier for the Cheetah lab (stateless): clients h1, h2; backends h3..h6; VIP on s1.

Must prove, with real TCP connections from the clients' own Linux stacks to small
echo servers on the backends that answer with their own name: new connections
spread per the policy (round robin over the pool); every message of a connection is
answered by the same backend and no connection resets; the cookie in the TCP
timestamp is hash_S(connection) XOR server id with the salt the control plane set
(so the salt is not a constant of the program); while connections are open,
removing a backend from the pool keeps those connections working and steers new
ones elsewhere, and adding one back does not disturb old connections.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from labtool import hashes
from labtool.checks import CheckFailed
from labtool.context import LabContext
from labtool.loader import load_module

ctl: Any = load_module(Path(__file__).resolve().parents[1] / "controllers" / "cheetah.py",
                       "controller")
TIMEOUT_S = 2.0


class EchoServers:
    """On every backend, a TCP server in its namespace answering "<name>:<message>"."""

    def __init__(self, lab: LabContext, backends: tuple[str, ...], port: int) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listeners: list[socket.socket] = []
        for name in backends:
            sock = lab.host_socket(name)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((lab.host(name).ip, port))
            sock.listen(64)
            sock.settimeout(0.1)
            self.listeners.append(sock)
            self._start(self._accept, sock, name)

    def _start(self, fn: Any, *args: Any) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self, sock: socket.socket, name: str) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._start(self._echo, conn, name)

    def _echo(self, conn: socket.socket, name: str) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self.stop.is_set():
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(name.encode() + b":" + data)

    def close(self) -> None:
        self.stop.set()
        for sock in self.listeners:
            sock.close()
        for thread in self.threads:
            thread.join(1)


class Connection:
    """A client's TCP connection to the VIP."""

    def __init__(self, lab: LabContext, client: str, n: int) -> None:
        self.client, self.n = client, n
        self.sock = lab.host_socket(client)
        self.sock.settimeout(TIMEOUT_S)
        try:
            self.sock.connect((ctl.VIP, ctl.VIP_PORT))
        except OSError as exc:
            self.sock.close()
            raise CheckFailed(f"connection {n} from {client} to {ctl.VIP}:{ctl.VIP_PORT} "
                              f"failed: {exc.__class__.__name__}: {exc}") from None
        self.backend: str | None = None

    def ask(self, message: str) -> str:
        """Send a message, return the name of the backend that answered it."""
        try:
            self.sock.sendall(message.encode())
            reply = self.sock.recv(1024).decode(errors="replace")
        except OSError as exc:
            raise CheckFailed(f"connection {self.n} from {self.client}: {message!r}: "
                              f"{exc.__class__.__name__}: {exc}") from None
        name, _, echoed = reply.partition(":")
        if echoed != message:
            raise CheckFailed(f"connection {self.n} from {self.client}: sent {message!r}, "
                              f"got {reply!r}" + (" (connection closed)" if not reply else ""))
        if self.backend is None:
            self.backend = name
        elif name != self.backend:
            raise CheckFailed(f"connection {self.n} from {self.client}: answered by "
                              f"{self.backend}, then by {name}")
        return name

    def retransmissions(self) -> int:
        """Segments this connection had to send again (struct tcp_info's
        tcpi_total_retrans): on a loss-free emulated link, only a segment the switch
        dropped makes one, e.g. a SYN that found no backend."""
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return int(struct.unpack_from("I", info, 100)[0])

    def close(self) -> None:
        self.sock.close()


def no_retransmissions(conns: list[Connection]) -> None:
    for conn in conns:
        if conn.retransmissions():
            raise CheckFailed(f"connection {conn.n} from {conn.client} needed "
                              f"{conn.retransmissions()} retransmission(s): the switch dropped "
                              "a segment of it (a SYN it found no backend for?)")


def open_connections(lab: LabContext, count: int, first: int) -> list[Connection]:
    conns = []
    for i in range(count):
        conn = Connection(lab, ctl.CLIENTS[i % len(ctl.CLIENTS)], first + i)
        conns.append(conn)
        conn.ask(f"hello {first + i}")
    return conns


def expect_round_robin(conns: list[Connection], pool: list[str]) -> None:
    got = [c.backend for c in conns]
    want = [pool[i % len(pool)] for i in range(len(conns))]
    if got != want:
        raise CheckFailed(f"new connections went to {got}; round robin over the pool "
                          f"{pool} gives {want}")


def talk(conns: list[Connection], round_: str) -> None:
    for conn in conns:
        for k in range(3):
            conn.ask(f"{round_} {conn.n}.{k}")
    no_retransmissions(conns)


def cookie_problem(lab: LabContext, frames: list[bytes], conns: list[Connection],
                   salt: int) -> str | None:
    """Every segment from the VIP to a client carries cookie = crc16(client IP, client
    port, VIP, VIP port, salt) XOR server id in the low 16 bits of TSval."""
    backend_of = {(c.sock.getsockname()[0], c.sock.getsockname()[1]): c.backend for c in conns}
    seen = 0
    for frame in frames:
        pkt = Ether(frame)
        if IP not in pkt or TCP not in pkt or pkt[IP].src != ctl.VIP:
            continue
        key = (pkt[IP].dst, pkt[TCP].dport)
        if key not in backend_of or backend_of[key] is None:
            continue
        tsval = next((v[0] for k, v in pkt[TCP].options if k == "Timestamp"), None)
        if tsval is None:
            return f"a segment from the VIP to {key[0]}:{key[1]} has no timestamp option"
        h = hashes.crc16(hashes.fields((int(ipaddress.IPv4Address(key[0])), 32), (key[1], 16),
                                       (int(ipaddress.IPv4Address(ctl.VIP)), 32),
                                       (ctl.VIP_PORT, 16), (salt, 32)))
        want = h ^ ctl.server_id(backend_of[key])
        if tsval & 0xFFFF != want:
            return (f"segment to {key[0]}:{key[1]} (backend {backend_of[key]}): TSval low bits "
                    f"{tsval & 0xFFFF:#06x}, expected hash_S XOR server id = {want:#06x} with "
                    f"the control plane's salt {salt:#010x}")
        seen += 1
    return None if seen else "no segment from the VIP to a client was captured"


def verify(lab: LabContext) -> None:
    servers = EchoServers(lab, ctl.BACKENDS, ctl.VIP_PORT)
    conns: list[Connection] = []
    try:
        for client in ctl.CLIENTS:  # what arrives at the clients from now on is inspected
            lab.port(client).read_ready()
        pool = list(ctl.BACKENDS)
        with lab.check(f"new connections go round robin over the pool {pool}"):
            conns += open_connections(lab, 2 * len(pool), 1)
            expect_round_robin(conns, pool)
            no_retransmissions(conns)

        with lab.check("every message of a connection is answered by the same backend; "
                       "no connection resets"):
            if not conns:
                raise CheckFailed("no connection was established to test")
            talk(conns, "round 1")

        with lab.check("the TCP timestamp cookie is crc16(client, VIP, salt) XOR server id, "
                       "with the salt the control plane set"):
            frames = [r.data for c in ctl.CLIENTS for r in lab.port(c).read_ready()]
            problem = cookie_problem(lab, frames, conns, ctl.current_salt(lab))
            if problem:
                raise CheckFailed(problem)

        with lab.check("removing h4 from the pool: open connections (h4's too) keep working, "
                       "new ones go round robin over the rest"):
            rest = [b for b in pool if b != "h4"]
            ctl.set_pool(lab, rest)
            talk(conns, "round 2")
            new = open_connections(lab, 2 * len(rest), len(conns) + 1)  # wraps around
            conns += new
            expect_round_robin(new, rest)
            no_retransmissions(new)

        with lab.check("adding h4 back: open connections are not disturbed, new ones reach "
                       "h4 again"):
            ctl.set_pool(lab, pool)
            talk(conns, "round 3")
            new = open_connections(lab, len(pool), len(conns) + 1)
            conns += new
            expect_round_robin(new, pool)
            no_retransmissions(new)
    finally:
        for conn in conns:
            conn.close()
        servers.close()
