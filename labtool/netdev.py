"""Segmentation offloads off on a switch port, before BMv2 opens it.

Why this matters: BMv2 reads each port with libpcap (immediate mode, default 2 MiB
buffer). libpcap sizes its packet ring's slots for the largest frame the interface
can hand it: with TSO/GSO/GRO on (the veth default) that is 64 KiB, so the 2 MiB
ring holds only ~31 frames and any few-millisecond stall of BMv2 loses frames at a
few thousand frames/s. With those offloads off a slot is MTU-sized and the same ring
holds ~1300 frames. The ioctl is used directly (three calls per port) instead of
spawning ethtool for every switch port.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct

SIOCETHTOOL = 0x8946
# ethtool's legacy per-feature commands (linux/ethtool.h): get/set TSO, GSO, GRO
ETHTOOL_GTSO, ETHTOOL_STSO = 0x1E, 0x1F
ETHTOOL_GGSO, ETHTOOL_SGSO = 0x23, 0x24
ETHTOOL_GGRO, ETHTOOL_SGRO = 0x2B, 0x2C
IFNAMSIZ = 16
IFREQ_SIZE = 40


class _EthtoolValue(ctypes.Structure):
    _fields_ = [("cmd", ctypes.c_uint32), ("data", ctypes.c_uint32)]


def _ethtool(sock: socket.socket, ifname: str, cmd: int, data: int = 0) -> int:
    value = _EthtoolValue(cmd, data)
    ifreq = struct.pack(f"{IFNAMSIZ}sP", ifname.encode(), ctypes.addressof(value))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq.ljust(IFREQ_SIZE, b"\0"))
    return int(value.data)


def disable_segmentation_offloads(ifname: str, sock: socket.socket) -> None:
    """TSO, GSO and GRO off on `ifname`, in the namespace `sock` (any datagram socket)
    was made in. Raises OSError if the kernel refuses."""
    for cmd in (ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO):
        _ethtool(sock, ifname, cmd, 0)


def segmentation_offloads(ifname: str, sock: socket.socket) -> dict[str, bool]:
    """The TSO/GSO/GRO state of `ifname` (in `sock`'s namespace), as libpcap will see it."""
    return {name: bool(_ethtool(sock, ifname, cmd))
            for name, cmd in (("tso", ETHTOOL_GTSO), ("gso", ETHTOOL_GGSO),
                              ("gro", ETHTOOL_GGRO))}
