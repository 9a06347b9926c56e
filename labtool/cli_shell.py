"""Interactive access to a running lab: the Mininet CLI (`labtool up`,
`labtool run --keep`)."""

from __future__ import annotations

import signal
import sys
from typing import Any

IPERF_GRACE_S = 15.0  # beyond the test's own seconds: the server reports, or it failed


def iperf(net: Any, hosts: list[Any] | None = None, l4_type: str = "TCP", udp_bw: str = "10M",
          seconds: int = 5, port: int = 5001) -> list[str]:
    """Mininet's iperf test, for iperf >= 2.1: Mininet probes the server with telnet and
    then waits for two bandwidth lines from it, but iperf 2.1 reports none for the probe
    ("read tcp flags (peer close) failed"), so Mininet's own `iperf` never returns. Here
    the server's "listening" line is the readiness signal and one report is awaited.
    No `killall iperf` either (Mininet's would kill every iperf on the machine)."""
    import re
    import time

    from mininet.log import error, output

    client, server = hosts or [net.hosts[0], net.hosts[-1]]
    output(f"*** Iperf: testing {l4_type} bandwidth between {client} and {server}\n")
    args = f"iperf -p {port} " + ("-u " if l4_type == "UDP" else "")
    server.sendCmd(args + "-s")
    deadline = time.monotonic() + IPERF_GRACE_S
    servout = ""
    while "listening" not in servout and server.waiting and time.monotonic() < deadline:
        servout += server.monitor(timeoutms=500)
    if "listening" not in servout:
        error(f"iperf server on {server} did not start: {servout.strip()}\n")
        if server.waiting:
            server.sendInt()
            server.waitOutput()
        return []
    bandwidth = f"-b {udp_bw} " if l4_type == "UDP" else ""
    cliout = client.cmd(f"{args}-t {seconds} -c {server.IP()} {bandwidth}")
    deadline = time.monotonic() + IPERF_GRACE_S
    while not re.search(r"[\d.]+ \w+/sec", servout.split("listening", 1)[1]) and \
            time.monotonic() < deadline:
        servout += server.monitor(timeoutms=500)
    server.sendInt()
    servout += server.waitOutput()
    result = [net._parseIperf(servout), net._parseIperf(cliout)]
    if l4_type == "UDP":
        result.insert(0, udp_bw)
    output(f"*** Results: {result}\n")
    return result


def _cli_class() -> Any:
    from mininet.cli import CLI
    from mininet.log import error

    class LabCLI(CLI):  # type: ignore[misc]
        """Mininet's CLI with an iperf that works with today's iperf (see iperf())."""

        def _hosts(self, names: list[str]) -> list[Any] | None:
            missing = [n for n in names if n not in self.mn]
            for name in missing:
                error(f"node '{name}' not in network\n")
            return None if missing else [self.mn[n] for n in names]

        def do_iperf(self, line: str) -> None:
            """Simple iperf TCP test between two (optionally specified) hosts.
               Usage: iperf node1 node2"""
            args = line.split()
            if len(args) not in (0, 2):
                error("invalid number of args: iperf src dst\n")
                return
            hosts = self._hosts(args) if args else None
            if not args or hosts:
                iperf(self.mn, hosts)

        def do_iperfudp(self, line: str) -> None:
            """Simple iperf UDP test between two (optionally specified) hosts.
               Usage: iperfudp bw node1 node2"""
            args = line.split()
            if len(args) not in (0, 3):
                error("invalid number of args: iperfudp bw src dst\nbw examples: 10M\n")
                return
            hosts = self._hosts(args[1:]) if args else None
            if not args or hosts:
                iperf(self.mn, hosts, "UDP", args[0] if args else "10M")

    return LabCLI


def mininet_cli(lab_run: Any) -> None:
    from mininet.log import setLogLevel

    setLogLevel("output")  # the CLI prints command output at this level
    net = lab_run.network.net
    cli = _cli_class()
    if sys.stdin.isatty():
        cli(net)
    else:  # commands piped on stdin run one by one, then teardown
        cli(net, stdin=sys.stdin)


def inspect_network(lab_run: Any) -> None:
    """After a failed run with --keep: show where things are and wait."""
    lab_run.network.enable_host_stacks()  # silent while verifying; now ping etc. should work
    print(f"--keep: the network stays up. Run directory: {lab_run.run_dir}", file=sys.stderr)
    print("  registers: sudo labtool registers <switch>   topology: "
          f"{lab_run.run_dir / 'topology.json'}", file=sys.stderr)
    if sys.stdin.isatty():
        print("  Mininet CLI below; 'exit' tears the network down.", file=sys.stderr)
        mininet_cli(lab_run)
    else:
        print("  press Ctrl-C (or send SIGTERM) to tear it down.", file=sys.stderr)
        signal.pause()
