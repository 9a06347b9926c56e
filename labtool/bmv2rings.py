"""BMv2's input rings, seen from outside: frames dropped there, frames still waiting.

BMv2 reads each port through a libpcap packet socket with a ring buffer (~1300
frames once segmentation offloads are off, see netdev.py). When BMv2 falls
behind, the kernel drops frames at that ring; its other queues are blocking or,
for egress, made deep enough (thrift_runtime.py), so this is the one place BMv2
loses frames. The veth counters count such frames as received, so they cannot
tell. The ring's own counter can: labtool borrows BMv2's socket with pidfd_getfd
(Linux >= 5.6, root) and reads PACKET_STATISTICS from it. Reading resets the
counter; BMv2 never reads it.

The same borrowed socket says whether BMv2 has taken every frame out of the ring:
for a ring, poll() reports POLLIN while the frame the kernel wrote last is still
owned by the reader (packet_poll in the kernel), and BMv2 takes frames in order.
That lets a verifier send faster than BMv2 forwards (the ring queues the excess)
and still know when BMv2 is done, instead of guessing with a long silence.
"""

from __future__ import annotations

import ctypes
import os
import select
import socket
import struct
from pathlib import Path

from .netns import SwitchNamespace

SYS_PIDFD_GETFD = 438  # same number on every architecture (new-style syscall table)
SOL_PACKET = 263
PACKET_STATISTICS = 6


def packet_socket_inodes(pid: int) -> dict[int, list[int]]:
    """ifindex -> inodes of the packet sockets bound to it, in the network namespace
    of process `pid`."""
    out: dict[int, list[int]] = {}
    for line in Path(f"/proc/{pid}/net/packet").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 9:
            out.setdefault(int(fields[4]), []).append(int(fields[8]))
    return out


class InputRings:
    """Borrowed copies of one BMv2 process's port sockets, with running totals of
    the frames each port's ring took in and dropped."""

    def __init__(self, switch: str, pid: int, ports: dict[int, str],
                 netns: SwitchNamespace) -> None:
        self.switch = switch
        self.ports = dict(ports)
        self.netns = netns  # where the ports are (their kernel counters)
        self.socks: dict[int, socket.socket] = {}
        self._poll = select.poll()
        self.entered: dict[int, int] = dict.fromkeys(ports, 0)  # reached the ring (or its drop)
        self.dropped: dict[int, int] = dict.fromkeys(ports, 0)
        try:
            self._borrow(pid, ports)
        except OSError:
            self.close()  # unsupported kernel or no permission: drops stay unobserved
        self._veth_base = self._veth_rx()
        self.available = bool(self.socks)

    def _borrow(self, pid: int, ports: dict[int, str]) -> None:
        inodes = packet_socket_inodes(pid)
        wanted: dict[int, int] = {}  # inode -> port
        for port, ifname in ports.items():
            index = self.netns.ifindex(ifname)
            for inode in inodes.get(index, []) if index is not None else []:
                wanted[inode] = port
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(pid)
        try:
            for entry in os.scandir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    continue
                if not target.startswith("socket:["):
                    continue
                inode = int(target[8:-1])
                if inode not in wanted:
                    continue
                fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(entry.name), 0)
                if fd < 0:
                    raise OSError(ctypes.get_errno(), "pidfd_getfd")
                sock = socket.socket(fileno=fd)
                # reading resets the ring's counters: from here on they and the veth
                # counters (read below) move together
                sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                self.socks[wanted[inode]] = sock
                self._poll.register(fd, select.POLLIN)
        finally:
            os.close(pidfd)

    def update(self) -> None:
        """Add what the rings counted since the last update to the totals (reading
        PACKET_STATISTICS resets it; its tp_packets already includes the drops)."""
        for port, sock in self.socks.items():
            packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.entered[port] += packets
            self.dropped[port] += drops

    def waiting(self) -> bool:
        """True while any port's ring holds frames BMv2 has not taken yet."""
        return any(events & select.POLLIN for _, events in self._poll.poll(0))

    def in_kernel(self) -> int:
        """Frames the veth took toward a switch port that have not reached its ring yet
        (queued in the kernel's backlog). Call update() first."""
        rx = self._veth_rx()
        return sum(max(0, rx.get(port, 0) - self._veth_base.get(port, 0) - self.entered[port])
                   for port in self.ports if port in self.socks)

    def _veth_rx(self) -> dict[int, int]:
        """rx_packets of each port's interface (0 for one that is gone)."""
        try:
            counters = self.netns.counters()
        except OSError:
            return {}
        return {port: counters.get(name, {}).get("rx_packets", 0)
                for port, name in self.ports.items()}

    def close(self) -> None:
        # closing our duplicate descriptor leaves BMv2's socket (its own fd) untouched
        for sock in self.socks.values():
            self._poll.unregister(sock)
            sock.close()
        self.socks.clear()
