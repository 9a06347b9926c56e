"""The network namespace that holds one run's switches.

Every switch of a run (its BMv2 process and its ports) lives in one network
namespace of that run; hosts live in their own namespaces, as Mininet makes them.
Nothing of a run is in the machine's root namespace, so interface names,
Thrift ports and everything else of one run can never collide with another run
or another tool (p4-utils' or Mininet's clean-up deletes `*-ethN` links and
kills `mininet:` shells in the root namespace: none of them are ours), and
BMv2's Thrift server, which listens on all addresses, is reachable only from
inside the run. gRPC is served on a Unix socket in the run's private directory.

The namespace is held by a `sleep` started with `unshare --net`: it exists
before any switch starts, its interfaces are created directly inside it, and it
disappears with every veth in it when the holder and the switches exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from .errors import NetworkError
from .hostio import in_netns

T = TypeVar("T")
READY_TIMEOUT_S = 5.0
# /proc/net/dev columns after the interface name (see Documentation/filesystems/proc.rst)
DEV_COLUMNS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_fifo", "rx_frame",
               "rx_compressed", "rx_multicast", "tx_bytes", "tx_packets", "tx_errors",
               "tx_dropped", "tx_fifo", "tx_colls", "tx_carrier", "tx_compressed")


def netns_inode(pid: int | str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


class SwitchNamespace:
    """One run's switch namespace: created by start(), removed by stop()."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._dev_fd: int | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise NetworkError("the run's switch namespace is not started")
        return self.proc.pid

    @property
    def path(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    def start(self, on_spawn: Callable[[int], None]) -> None:
        """Create the namespace; on_spawn(pid) records the holder before it can matter."""
        self.proc = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        on_spawn(self.proc.pid)
        ours = netns_inode("self")
        deadline = time.monotonic() + READY_TIMEOUT_S
        # ready = the holder's namespace is no longer ours (unshare has run); it takes
        # well under a millisecond, so this polls a fact rather than waiting a guess
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise NetworkError(f"could not create the run's network namespace: {err.strip()}",
                                   hint="labtool needs root and util-linux's unshare")
            try:
                if netns_inode(self.proc.pid) != ours:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise NetworkError("the run's network namespace did not appear")
            time.sleep(0.0005)
        # loopback up (BMv2's Thrift server); IPv6 off for every interface created later
        # (no router solicitations or MLD from switch ports)
        self.run(["ip", "link", "set", "lo", "up"])
        self.call(_ipv6_off_by_default)
        self._dev_fd = os.open(f"/proc/{self.pid}/net/dev", os.O_RDONLY)

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        """Run a command inside the namespace (argv, no shell); its output, or raise."""
        proc = subprocess.run(["nsenter", f"--net={self.path}", "--", *argv], input=stdin,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise NetworkError(f"in the run's namespace, {' '.join(argv)} failed: "
                               f"{(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def call(self, fn: Callable[[], T]) -> T:
        """fn() in a thread that joined the namespace (sockets it makes stay in it)."""
        return in_netns(self.pid, fn)

    def socket(self, family: int = socket.AF_INET,
               kind: int = socket.SOCK_STREAM) -> socket.socket:
        return self.call(lambda: socket.socket(family, kind))

    def ifindex(self, name: str) -> int | None:
        try:
            return self.call(lambda: socket.if_nametoindex(name))
        except OSError:
            return None

    def counters(self) -> dict[str, dict[str, int]]:
        """Kernel counters of every interface in the namespace, by name
        (rx_packets, tx_packets, rx_dropped, ...): one read for all of them."""
        if self._dev_fd is None:
            return {}
        text = os.pread(self._dev_fd, 1 << 16, 0).decode()
        out = {}
        for line in text.splitlines()[2:]:
            name, _, values = line.partition(":")
            out[name.strip()] = dict(zip(DEV_COLUMNS, map(int, values.split())))
        return out

    def counter(self, name: str, counter: str) -> int:
        return self.counters().get(name, {}).get(counter, 0)

    def stop(self) -> None:
        if self._dev_fd is not None:
            os.close(self._dev_fd)
            self._dev_fd = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()


def _ipv6_off_by_default() -> None:
    for conf in ("all", "default"):
        with open(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6", "w") as fh:
            fh.write("1")
