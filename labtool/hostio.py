"""Raw Ethernet I/O on the hosts' interfaces, from the labtool process itself.

A packet socket is opened *inside* each host's network namespace (by a thread
that enters it with setns; a socket keeps the namespace it was created in) and
used from the main thread afterwards. So capture is armed from the moment the
network is up, sending needs no subprocess per packet, and the kernel's drop
counter (PACKET_STATISTICS) tells whether a capture lost anything.
"""

from __future__ import annotations

import ctypes
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .errors import NetworkError
from .traffic import pace_until

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
AUXDATA = struct.Struct("IIIHHHH")  # struct tpacket_auxdata
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
RCVBUF_BYTES = 64 * 1024 * 1024  # room for thousands of frames while the sender is busy


def in_netns(pid: int, fn: Callable[[], T]) -> T:
    """Run `fn` in a thread that has joined the network namespace of process `pid`."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into the namespace of pid {pid}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{pid}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def packet_socket(ifname: str, options: Sequence[tuple[int, int, int]]) -> socket.socket:
    """A non-blocking packet socket bound to `ifname` (in the calling thread's network
    namespace) with `options` set (level, option, value), that does not receive its
    own transmissions where the kernel can leave them out (Linux >= 4.20; readers
    skip PACKET_OUTGOING copies otherwise)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        for level, option, value in options:
            sock.setsockopt(level, option, value)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:
            pass
        sock.bind((ifname, 0))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def waiting_frames(sock: socket.socket) -> list[tuple[bytes, list[tuple[int, int, bytes]]]]:
    """Every frame a non-blocking packet socket holds now that it received (not its
    own transmissions), with its ancillary data."""
    out: list[tuple[bytes, list[tuple[int, int, bytes]]]] = []
    while True:
        try:
            data, ancillary, _flags, addr = sock.recvmsg(65535, 64)
        except BlockingIOError:
            return out
        if addr[2] != PACKET_OUTGOING:
            out.append((data, ancillary))


def socket_drops(sock: socket.socket) -> int:
    """Frames the kernel dropped for a packet socket since the last call (its buffer
    was full)."""
    _packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return int(drops)


@dataclass
class Received:
    host: str
    data: bytes
    time: float


@dataclass
class HostPort:
    """One host's interface: send frames, receive what reaches it."""

    name: str
    ifname: str
    sock: socket.socket
    dropped: int = 0
    received: int = 0
    _pending: list[Received] = field(default_factory=list)

    @classmethod
    def open(cls, name: str, pid: int, ifname: str) -> HostPort:
        def make() -> socket.socket:
            return packet_socket(ifname, [
                (socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES),
                (socket.SOL_SOCKET, SO_SNDBUFFORCE, 4 * 1024 * 1024),
                # the kernel strips 802.1Q tags before packet sockets see a frame and
                # reports them as auxdata; read_ready() puts them back (as libpcap does)
                (SOL_PACKET, PACKET_AUXDATA, 1)])

        try:
            sock = in_netns(pid, make)
        except OSError as exc:
            raise NetworkError(f"{name}: cannot open a packet socket on {ifname}: {exc}") from None
        return cls(name, ifname, sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, frames: Sequence[bytes], gap_s: float = 0.0) -> int:
        """Send frames in order, optionally one per `gap_s` seconds (busy-wait pacing:
        sleep() granularity is far coarser than BMv2's per-packet time). Returns how
        many the kernel accepted."""
        sent = 0
        next_at = time.perf_counter()
        for frame in frames:
            if gap_s:
                pace_until(next_at)
                next_at += gap_s
            while True:
                try:
                    self.sock.send(frame)
                    sent += 1
                    break
                except BlockingIOError:
                    select.select([], [self.sock], [], 0.1)
        return sent

    def read_ready(self) -> list[Received]:
        """Everything waiting in the socket right now."""
        now = time.monotonic()
        out = [Received(self.name, restore_vlan_tag(data, ancillary), now)
               for data, ancillary in waiting_frames(self.sock)]
        self.received += len(out)
        return out

    def read_drops(self) -> int:
        """Frames the kernel dropped for this socket since the last call (buffer full)."""
        drops = socket_drops(self.sock)
        self.dropped += drops
        return drops

    def close(self) -> None:
        self.sock.close()


def restore_vlan_tag(data: bytes, ancillary: list[tuple[int, int, bytes]]) -> bytes:
    """The frame as it was on the wire: re-insert the 802.1Q tag the kernel moved
    into the packet's auxdata."""
    for level, kind, payload in ancillary:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(payload) < AUXDATA.size:
            continue
        status, _len, _snaplen, _mac, _net, tci, tpid = AUXDATA.unpack_from(payload)
        if status & TP_STATUS_VLAN_VALID:
            tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100
            return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


class Closable(Protocol):
    name: str

    def close(self) -> None: ...


def close_all(ports: Iterable[Closable]) -> threading.Thread:
    """Close packet sockets in the background, all at once: each close waits for an RCU
    grace period in the kernel (packet_release -> synchronize_net, ~10 ms), and waits
    that run together share one. Join the returned thread before exiting."""
    closers = [threading.Thread(target=p.close, name=f"close-{p.name}") for p in ports]
    for t in closers:
        t.start()

    def join_all() -> None:
        for t in closers:
            t.join()

    joiner = threading.Thread(target=join_all, name="close-ports")
    joiner.start()
    return joiner


class SwitchIdleness(Protocol):
    """switchidle.SwitchIdleProbe: idle() is True once the switches hold no frame."""

    def reset(self) -> None: ...
    def idle(self) -> bool: ...


# How often collect() looks at the switches (a look is a few preads per BMv2 thread,
# ~0.1 ms per switch): often once everything expected is in, less often while frames
# are still awaited (the CPU is BMv2's then).
LOOK_DONE_S = 0.002
LOOK_WAITING_S = 0.005
GATHER_S = 0.003  # while frames stream in, read them in batches this far apart


def collect(ports: Iterable[HostPort], until: Callable[[dict[str, list[Received]]], bool],
            timeout: float, settle: float,
            switches: SwitchIdleness | None = None) -> dict[str, list[Received]]:
    """Read from all ports until `until(got)` holds and the switches hold no frame
    (then nothing more can arrive), or until the switches are idle twice in a row
    without `until` holding (what is missing is not coming), or `timeout`.

    Without a view of the switches (`switches` None): until `until(got)` holds, then
    `settle` seconds more to catch duplicates and strays, or `timeout`."""
    plist = list(ports)
    got: dict[str, list[Received]] = {p.name: [] for p in plist}
    start = time.monotonic()
    deadline = start + timeout
    if switches is None:
        settle_end: float | None = None
        while True:
            now = time.monotonic()
            if settle_end is None and until(got):
                settle_end = now + settle
            end = min(deadline, settle_end) if settle_end is not None else deadline
            if now >= end:
                break
            _read(plist, got, end - now)
    else:
        switches.reset()
        idle_looks = 0
        next_look = start
        while True:
            now = time.monotonic()
            if now >= next_look:
                done = until(got)
                idle_looks = idle_looks + 1 if switches.idle() else 0
                if idle_looks >= (1 if done else 2):
                    _read(plist, got, 0.001)  # a frame still in the kernel's hands
                    break
                next_look = now + (LOOK_DONE_S if done else LOOK_WAITING_S)
            if now >= deadline:
                break
            if _read(plist, got, min(next_look, deadline) - now):
                idle_looks = 0
                if until(got):  # the last expected frame came in: look again soon
                    next_look = min(next_look, time.monotonic() + LOOK_DONE_S)
                else:  # more are coming: let them gather (one wake-up per frame costs
                    time.sleep(GATHER_S)  # CPU that BMv2 needs)
    for port in plist:  # whatever raced in at the very end
        got[port.name].extend(port.read_ready())
    return got


def _read(ports: list[HostPort], got: dict[str, list[Received]], wait: float) -> int:
    """Wait up to `wait` s for frames on any port; add what arrived; return how many."""
    ready, _, _ = select.select(ports, [], [], max(wait, 0.0))
    n = 0
    for port in ready:
        frames = port.read_ready()
        got[port.name].extend(frames)
        n += len(frames)
    return n
