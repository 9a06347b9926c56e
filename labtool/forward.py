"""Loopback TCP ports forwarded to the switches' gRPC sockets while `labtool up` runs.

A run's switches serve P4Runtime on Unix sockets in the run's private directory
(netns.py, bmv2.py). Course tools and by-hand controllers (p4runtime-sh,
p4-utils' `load_topo` users) expect `127.0.0.1:<port>`; `labtool up` listens on
one free loopback port per switch and relays bytes both ways. Only 127.0.0.1:
nothing of a run becomes reachable from another machine. The relay is a byte
pipe (gRPC's HTTP/2 passes through unchanged), one thread per direction.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from .bmv2 import free_port

CHUNK = 1 << 16


class UnixForwarder:
    """Listen on 127.0.0.1:<port>; every connection is relayed to a Unix socket."""

    def __init__(self, target: Path, port: int | None = None) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port or free_port()))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name=f"forward-{self.port}",
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(self.target))
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)  # the other direction may still carry data

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._open = list(self._open), set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thread.join(timeout=1.0)
