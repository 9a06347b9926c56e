"""How many frames BMv2 itself failed to take in, per switch port.

BMv2 reads each port through a libpcap packet socket with a ring buffer. When
BMv2 falls behind, the kernel drops frames at that ring (its input queues are
blocking, so this is the one place BMv2 loses frames). The veth counters count
such frames as received, so they cannot tell. The ring's own counter can:
labtool borrows BMv2's socket with pidfd_getfd (Linux >= 5.6, root) and reads
PACKET_STATISTICS from it. Reading resets the counter; BMv2 never reads it.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
from pathlib import Path

SYS_PIDFD_GETFD = 438  # same number on every architecture (new-style syscall table)
SOL_PACKET = 263
PACKET_STATISTICS = 6


def _ifindex(name: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{name}/ifindex").read_text())
    except OSError:
        return None


def packet_socket_inodes() -> dict[int, list[int]]:
    """ifindex -> inodes of the packet sockets bound to it (this network namespace)."""
    out: dict[int, list[int]] = {}
    for line in Path("/proc/net/packet").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 9:
            out.setdefault(int(fields[4]), []).append(int(fields[8]))
    return out


class PortDropCounters:
    """Borrowed copies of one BMv2 process's port sockets."""

    def __init__(self, switch: str, pid: int, ports: dict[int, str]) -> None:
        self.switch = switch
        self.socks: dict[int, socket.socket] = {}
        try:
            self._borrow(pid, ports)
        except OSError:
            self.close()  # unsupported kernel or no permission: drops stay unobserved
        self.available = bool(self.socks)

    def _borrow(self, pid: int, ports: dict[int, str]) -> None:
        inodes = packet_socket_inodes()
        wanted: dict[int, int] = {}  # inode -> port
        for port, ifname in ports.items():
            index = _ifindex(ifname)
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
                self.socks[wanted[inode]] = socket.socket(fileno=fd)
        finally:
            os.close(pidfd)

    def read(self) -> dict[int, int]:
        """Frames dropped at each port's ring since the last read."""
        out = {}
        for port, sock in self.socks.items():
            raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            out[port] = struct.unpack("II", raw)[1]
        return out

    def close(self) -> None:
        # closing our duplicate descriptor leaves BMv2's socket (its own fd) untouched
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()
