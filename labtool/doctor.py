"""`labtool doctor`: is this machine able to run labs? One line per check, with
the fix when it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from . import toolchain


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _run(cmd: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def check_root() -> Finding:
    ok = os.geteuid() == 0
    return Finding("root", ok, "running as root" if ok else f"running as uid {os.geteuid()}",
                   "run labs with sudo (namespaces, veths and BMv2 need root)")


def check_p4c() -> Finding:
    path = toolchain.find_tool("p4c-bm2-ss")
    if path is None:
        return Finding("p4c", False, "p4c-bm2-ss not found", toolchain.HOW_TO_GET)
    driver = toolchain.find_tool("p4c")
    extra = "" if driver else " (the p4c driver is absent; labtool only needs p4c-bm2-ss)"
    return Finding("p4c", True, f"{toolchain.tool_version(path)} at {path}{extra}")


def check_switch() -> Finding:
    path = toolchain.find_tool("simple_switch_grpc")
    if path is None:
        return Finding("simple_switch_grpc", False, "not found", toolchain.HOW_TO_GET)
    help_text = _run([str(path), "--help"]).stdout
    if "--thrift-port" not in help_text:
        return Finding("simple_switch_grpc", False, f"{path} was built without Thrift",
                       "rebuild BMv2 with its Thrift runtime (registers need it)")
    return Finding("simple_switch_grpc", True, f"{toolchain.tool_version(path)} at {path}, "
                   "with Thrift")


def check_cli() -> Finding:
    path = toolchain.find_tool("simple_switch_CLI")
    if path is None:
        return Finding("simple_switch_CLI", False, "not found", "install BMv2's tools")
    proc = _run([str(path), "--help"])
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return Finding("simple_switch_CLI", False, f"does not start: {last}",
                       "install the Python 'thrift' module for the Python it runs with")
    return Finding("simple_switch_CLI", True, str(path))


def check_bm_runtime() -> Finding:
    try:
        toolchain.import_bm_runtime()
    except Exception as exc:  # noqa: BLE001 - reported as a finding
        return Finding("thrift runtime", False, str(exc).splitlines()[0],
                       "set LABTOOL_P4_PREFIX to BMv2's install prefix")
    import bm_runtime
    return Finding("thrift runtime", True, f"bm_runtime from {os.path.dirname(bm_runtime.__file__)}")


def check_mininet() -> Finding:
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        return Finding("mininet", False, "Python package missing", "pip install mininet")
    if shutil.which("mnexec") is None:
        return Finding("mininet", False, "mnexec not found (only the distribution package has it)",
                       "apt-get install mininet")
    return Finding("mininet", True, f"mnexec at {shutil.which('mnexec')}")


def check_tools() -> Finding:
    tools = ("ip", "ethtool", "sysctl", "nsenter", "unshare")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return Finding("host tools", False, f"missing: {', '.join(missing)}",
                       "apt-get install iproute2 ethtool procps util-linux")
    return Finding("host tools", True, ", ".join(tools))


def check_netns() -> Finding:
    """What every run does: a namespace of its own for the switches, a veth pair in it."""
    if os.geteuid() != 0:
        return Finding("netns/veth", False, "not checked (needs root)", "run doctor with sudo")
    from .errors import NetworkError
    from .netns import SwitchNamespace

    netns = SwitchNamespace()
    try:
        netns.start(lambda pid: None)
        netns.run(["ip", "link", "add", "d-eth1", "type", "veth", "peer", "name", "d-eth2"])
        return Finding("netns/veth", True, "created a run's switch namespace with a veth pair "
                                           "in it (and removed them)")
    except (NetworkError, OSError) as exc:
        return Finding("netns/veth", False, str(exc).splitlines()[0],
                       "a container needs --privileged (or CAP_NET_ADMIN + CAP_SYS_ADMIN)")
    finally:
        netns.stop()


CHECKS: list[Callable[[], Finding]] = [check_root, check_p4c, check_switch, check_cli,
                                       check_bm_runtime, check_mininet, check_tools, check_netns]

NOTE = ("note: each run's switches live in a network namespace of that run: BMv2's Thrift "
        "server is reachable only inside it, gRPC is a Unix socket readable by root only "
        "(`labtool up` forwards it to a 127.0.0.1 port for by-hand tools), and any number of "
        "runs may share the machine.")


def run_checks() -> list[Finding]:
    return [check() for check in CHECKS]
