"""BMv2's Thrift runtime: registers (`bm_runtime.standard`) and egress queue depth
(`sswitch_runtime`, simple_switch's own service), over one connection.

BMv2 does not implement P4Runtime register reads/writes, so this is the only
way to look at registers. Register names here are the fully qualified names
from the P4Info/BMv2 JSON (SwitchControl resolves short names first).

Egress queues: simple_switch keeps 64 frames per egress port and silently drops
beyond that (nothing counts those drops). A burst that BMv2's ingress takes in
faster than its egress sends out overflowed them in measurements (tens of frames
lost at 5-7 kpps with no counter moving), so labtool makes them deep enough that
every frame of a burst fits: then the only place BMv2 can lose a frame is its
input ring, which labtool observes (bmv2rings).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from . import toolchain
from .errors import ControlPlaneError

CONTEXT = 0  # BMv2 context id; simple_switch has one
# Frames per egress queue: more than any burst a verifier sends (BMv2 allocates per frame
# queued, not per slot, so a deep queue costs nothing while it is empty).
EGRESS_QUEUE_DEPTH = 65536


SocketFactory = Callable[[int, int], socket.socket]


class ThriftRuntime:
    """`make_socket(family, type)` creates the connection's socket: BMv2's Thrift server
    is reachable only inside the run's switch namespace, so labtool makes the socket
    there (netns.SwitchNamespace.socket); the connection then works from any thread."""

    def __init__(self, port: int, host: str = "127.0.0.1",
                 make_socket: SocketFactory | None = None) -> None:
        toolchain.import_bm_runtime()
        from bm_runtime.standard import Standard
        from sswitch_runtime import SimpleSwitch
        from thrift.protocol import TBinaryProtocol, TMultiplexedProtocol
        from thrift.transport import TSocket, TTransport

        class NamespacedSocket(TSocket.TSocket):  # type: ignore[misc]
            def _do_open(self, family: int, socktype: int) -> socket.socket:
                return (make_socket or socket.socket)(family, socktype)

        self.port = port
        sock = NamespacedSocket(host, port)
        sock.setTimeout(10_000)
        self._transport = TTransport.TBufferedTransport(sock)
        binary = TBinaryProtocol.TBinaryProtocol(self._transport)
        self._client: Any = Standard.Client(
            TMultiplexedProtocol.TMultiplexedProtocol(binary, "standard"))
        self._switch: Any = SimpleSwitch.Client(
            TMultiplexedProtocol.TMultiplexedProtocol(binary, "simple_switch"))
        try:
            self._transport.open()
        except Exception as exc:  # noqa: BLE001 - thrift raises TTransportException subclasses
            raise ControlPlaneError(f"cannot reach BMv2's Thrift server on port {port}: {exc}") \
                from None

    def _call(self, what: str, method: str, *args: Any) -> Any:
        try:
            return getattr(self._client, method)(CONTEXT, *args)
        except Exception as exc:  # noqa: BLE001 - InvalidRegisterOperation and transport errors
            code = getattr(exc, "code", None)
            raise ControlPlaneError(f"{what} failed (Thrift port {self.port}): "
                                    f"{type(exc).__name__}{f' code {code}' if code else ''}") \
                from None

    def read(self, name: str, index: int) -> int:
        return int(self._call(f"read {name}[{index}]", "bm_register_read", name, index))

    def read_all(self, name: str) -> list[int]:
        return [int(v) for v in self._call(f"read {name}", "bm_register_read_all", name)]

    def write(self, name: str, index: int, value: int) -> None:
        self._call(f"write {name}[{index}]", "bm_register_write", name, index, value)

    def reset(self, name: str) -> None:
        self._call(f"reset {name}", "bm_register_reset", name)

    def write_range(self, name: str, start: int, end: int, value: int) -> None:
        """BMv2's own range write (simple_switch_CLI's register_write with [start, end])."""
        self._call(f"write {name}[{start}:{end}]", "bm_register_write_range", name, start, end,
                   value)

    def standard(self, what: str, method: str, *args: Any) -> Any:
        """Any other call of BMv2's standard service (context 0 prepended)."""
        return self._call(what, method, *args)

    def simple_switch(self, what: str, method: str, *args: Any) -> Any:
        """A call of simple_switch's own service (queues, time)."""
        try:
            return getattr(self._switch, method)(*args)
        except Exception as exc:  # noqa: BLE001 - transport errors
            raise ControlPlaneError(f"{what} failed (Thrift port {self.port}): "
                                    f"{type(exc).__name__}") from None

    def set_egress_queue_depth(self, frames: int = EGRESS_QUEUE_DEPTH) -> None:
        """Depth of every egress queue of the switch, in frames."""
        try:
            status = self._switch.set_all_egress_queue_depths(frames)
        except Exception as exc:  # noqa: BLE001 - transport errors
            raise ControlPlaneError(f"setting egress queue depth failed (Thrift port "
                                    f"{self.port}): {type(exc).__name__}") from None
        if status != 0:
            raise ControlPlaneError(f"BMv2 refused egress queue depth {frames} (status {status})")

    def close(self) -> None:
        try:
            self._transport.close()
        except Exception:  # noqa: BLE001 - closing a socket to a dead switch
            pass
