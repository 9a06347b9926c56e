"""Interactive access to a running lab: the Mininet CLI (`labtool up`,
`labtool run --keep`)."""

from __future__ import annotations

import signal
import sys
from typing import Any


def mininet_cli(lab_run: Any) -> None:
    from mininet.cli import CLI
    from mininet.log import setLogLevel

    setLogLevel("output")  # the CLI prints command output at this level
    net = lab_run.network.net
    if sys.stdin.isatty():
        CLI(net)
    else:  # commands piped on stdin run one by one, then teardown
        CLI(net, stdin=sys.stdin)


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
