"""Frames that reached a switch port, and when they did.

Kernel counters say how many frames crossed a link; a timing-sensitive verdict
(flowlets) needs which frames and when: a flow may change paths only after a pause
longer than its flowlet gap, and the pause a switch saw is bounded from above by
when the earlier frame was handed to the sender's socket and when the later one
reached the next hop. A tap is a packet socket on the receiving end of a link, in
the run's switch namespace, opened around the traffic it watches: it costs the
switches nothing (the kernel copies the frame to the socket), and the kernel's
receive timestamp is taken as the frame arrives, not when labtool reads it.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from .checks import HarnessError
from .errors import NetworkError
from .hostio import SO_RCVBUFFORCE, packet_socket, socket_drops, waiting_frames

SO_TIMESTAMPNS = 35        # asm-generic; SCM_TIMESTAMPNS has the same value
RCVBUF_BYTES = 32 * 1024 * 1024  # thousands of frames between two reads
TIMESPEC = struct.Struct("qq")


@dataclass(frozen=True)
class Crossing:
    data: bytes
    time: float  # time.perf_counter() clock: when the frame reached the port


class TapLost(HarnessError):
    """The tap's socket overflowed: what it read is not all that crossed (the
    harness's loss, so no verdict)."""


class PortTap:
    """Frames arriving at one interface from its link (not those it sends)."""

    def __init__(self, name: str, sock: socket.socket) -> None:
        self.name = name
        self.sock = sock

    @classmethod
    def open(cls, ifname: str, in_namespace: Callable[[Callable[[], socket.socket]],
                                                       socket.socket]) -> PortTap:
        """A tap on `ifname`, its socket made by `in_namespace` (which runs the factory
        where the interface lives)."""
        def make() -> socket.socket:
            return packet_socket(ifname, [(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES),
                                          (socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)])

        try:
            sock = in_namespace(make)
        except OSError as exc:
            raise NetworkError(f"cannot tap {ifname}: {exc}") from None
        return cls(ifname, sock)

    def read(self) -> list[Crossing]:
        """Every frame that arrived since the last read, oldest first."""
        # realtime timestamps onto perf_counter's clock (both read now: microseconds apart)
        offset = time.perf_counter() - time.time()
        out = [Crossing(data, _arrival(ancillary, offset))
               for data, ancillary in waiting_frames(self.sock)]
        drops = socket_drops(self.sock)
        if drops:
            raise TapLost(f"the tap on {self.name} lost {drops} frame(s) (socket buffer full)")
        return out

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> PortTap:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _arrival(ancillary: list[tuple[int, int, bytes]], offset: float) -> float:
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and \
                len(payload) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(payload)
            return float(sec + nsec * 1e-9 + offset)
    # no timestamp: the latest it can have arrived (an upper bound, as callers need)
    return time.perf_counter()
