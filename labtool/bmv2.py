"""One BMv2 `simple_switch_grpc` process: start, wait until it accepts, stop.

The switch starts with `--no-p4`; the pipeline is pushed later over P4Runtime.
It runs inside the run's switch namespace (netns.py): its Thrift server (needed
for registers), which BMv2 binds to all addresses, is reachable only from inside
that namespace, and its gRPC server listens on a Unix socket in the run's private
directory (root only). Readiness is detected by connecting to both, never by
sleeping; a switch that exits early is reported with the tail of its output.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import toolchain
from .errors import NetworkError
from .netns import SwitchNamespace

READY_TIMEOUT_S = 15.0
STOP_GRACE_S = 2.0


# Switch ports are chosen below the kernel's ephemeral range: a port from that range
# can be taken by any outgoing connection (labtool's own readiness probes included)
# between choosing it and BMv2 binding it, which once made a switch's Thrift server
# fail to start.
PORT_FLOOR = 10000
_taken: set[int] = set()  # chosen by this process, maybe not bound yet


def ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port below the ephemeral range that nothing listens on or uses right now
    (on any address: BMv2's Thrift server binds all of them)."""
    top = ephemeral_floor()
    for _ in range(500 if top > PORT_FLOOR + 100 else 0):
        port = random.randrange(PORT_FLOOR, top)
        if port in _taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # no room below the range
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def unix_accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
            return True
        except OSError:
            return False


def accepts_in(netns: SwitchNamespace | None, port: int) -> bool:
    """A TCP connection to 127.0.0.1:port inside the namespace succeeds."""
    if netns is None:
        return port_accepts(port)
    with netns.socket() as sock:
        sock.settimeout(0.2)
        try:
            sock.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(f"    {line}" for line in text[-lines:]) or "    (no output)"


@dataclass
class SwitchProcess:
    name: str
    device_id: int
    ports: dict[int, str]  # port number -> interface name (in the switch namespace)
    run_dir: Path
    netns: SwitchNamespace | None  # None: this process's own namespace (tests)
    socket_dir: Path  # private to the run: the gRPC Unix socket lives here
    thrift_port: int  # inside the switch namespace: unique per switch of the run
    log_level: str = "info"
    pcap: bool = False
    cpu_port: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def grpc_socket(self) -> Path:
        return self.socket_dir / f"{self.name}.grpc"

    @property
    def grpc_address(self) -> str:
        return f"unix:{self.grpc_socket}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    @property
    def output_path(self) -> Path:
        return self.run_dir / f"{self.name}.out"

    def command(self) -> list[str]:
        # nsenter execs the switch in the run's namespace: same pid, nothing in between
        cmd = [] if self.netns is None else ["nsenter", f"--net={self.netns.path}", "--"]
        cmd += [str(toolchain.switch_binary()), "--no-p4", "--device-id", str(self.device_id)]
        for port, intf in sorted(self.ports.items()):
            cmd += ["-i", f"{port}@{intf}"]
        cmd += ["--thrift-port", str(self.thrift_port)]
        if self.log_level != "off":
            cmd += ["--log-file", str(self.log_path), "--log-level", self.log_level,
                    "--log-flush"]
        if self.pcap:
            pcap_dir = self.run_dir / "pcap"
            pcap_dir.mkdir(exist_ok=True)
            cmd += ["--pcap", str(pcap_dir)]
        cmd += ["--", "--grpc-server-addr", self.grpc_address]
        if self.cpu_port is not None:
            cmd += ["--cpu-port", str(self.cpu_port)]
        return cmd

    def start(self) -> None:
        self.grpc_socket.unlink(missing_ok=True)
        out = self.output_path.open("wb")
        try:
            # own session: a Ctrl-C in the terminal reaches labtool, which then stops the
            # switches in order instead of them dying mid-teardown
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            out.close()

    def wait_ready(self, deadline: float) -> None:
        """Block until gRPC and Thrift accept connections; raise if the switch died."""
        pending: list[tuple[str, Callable[[], bool]]] = [
                   ("gRPC", lambda: unix_accepts(self.grpc_socket)),
                   (f"Thrift port {self.thrift_port}",
                    lambda: accepts_in(self.netns, self.thrift_port))]
        while pending:
            self.check_alive()
            self.check_bound()
            if pending[0][1]():
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"{self.name}: BMv2 did not accept {pending[0][0]} connections within "
                    f"{READY_TIMEOUT_S:.0f} s; its output:\n{tail(self.output_path)}")
            time.sleep(0.005)

    def check_bound(self) -> None:
        """BMv2 keeps running when its Thrift server cannot bind; its output says so."""
        try:
            with self.output_path.open("rb") as fh:
                out = fh.read(65536)
        except OSError:
            return
        if b"Could not bind" in out:
            raise NetworkError(f"{self.name}: Thrift port {self.thrift_port} is busy in the run's "
                               f"namespace; its output:\n{tail(self.output_path)}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise NetworkError(
                f"{self.name}: simple_switch_grpc exited with status {self.proc.returncode}; "
                f"its output ({self.output_path}):\n{tail(self.output_path)}")

    def kill(self) -> None:
        """Start stopping without waiting (stop() waits): several switches die in parallel.
        With --pcap BMv2 gets SIGTERM so it can close its pcap files properly."""
        if self.proc is not None and self.proc.poll() is None:
            if self.pcap:
                self.proc.terminate()
            else:
                self.proc.kill()

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.kill()
        self.proc = None
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
