"""A p4-utils exercise (network_topo.py + control plane + .p4) as a labtool lab.

`labtool up path/to/network_topo.py` (or the exercise's directory) runs the
NetworkAPI script with the recording NetworkAPI (network_api.py), then builds the
lab it describes: hosts with p4-utils' addresses, BMv2 switches with their device
ids and programs, links on p4-utils' port numbers, switch port MACs/addresses as
assigned, the CPU port, and the `execScript` control planes and
`setP4CliInput` command files as the lab's course code. `labtool import` writes
the same lab as a manifest next to the script.
"""

from __future__ import annotations

import ipaddress
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LabtoolError
from ..manifest import NODE_NAME, Endpoint, Host, Lab, Link, Switch, mac_from_ip
from . import aliases
from .course import Course, CourseScript
from .network_api import NetworkAPI, NetworkAPIError, StartNetwork
from .script import script_traceback

SCRIPT_NAMES = ("network_topo.py", "network.py", "topology.py", "topo.py")
CPU_BRIDGE = "sw-cpu"


@dataclass
class Exercise:
    script: Path
    lab: Lab
    pcap: bool = False
    notes: list[str] = field(default_factory=list)
    cli_enabled: bool = True


def find_script(target: Path) -> Path:
    """The NetworkAPI script: the file given, or the one of SCRIPT_NAMES in a directory
    (several network scripts in one directory: name the one to use)."""
    if target.is_file():
        return target.resolve()
    if not target.is_dir():
        raise LabtoolError(f"{target}: no such file or directory")
    found = [target / n for n in SCRIPT_NAMES if (target / n).is_file()]
    if not found:
        scripts = sorted(p.name for p in target.glob("*.py")
                         if "NetworkAPI" in p.read_text(errors="replace"))
        if len(scripts) == 1:
            return (target / scripts[0]).resolve()
        hint = f" (candidates: {', '.join(scripts)})" if scripts else ""
        raise LabtoolError(f"{target}: no network script ({' or '.join(SCRIPT_NAMES)}) "
                           f"here{hint}; name the file to use")
    return found[0].resolve()


def record(script: Path) -> NetworkAPI:
    """Run the NetworkAPI script up to its startNetwork()."""
    here, argv, path0 = os.getcwd(), sys.argv, list(sys.path)
    sys.argv = [str(script)]
    sys.path.insert(0, str(script.parent))
    os.chdir(script.parent)  # p4-utils resolves the script's relative paths from here
    try:
        with aliases.installed():
            runpy.run_path(str(script), run_name="__main__")
    except StartNetwork as started:
        net = started.args[0]
        assert isinstance(net, NetworkAPI)
        return net
    except NetworkAPIError as exc:
        raise LabtoolError(f"{script.name}: {script_traceback(exc, script)}") from None
    except SystemExit as exc:
        raise LabtoolError(f"{script.name} exited (status {exc.code}) before "
                           "net.startNetwork()") from None
    except Exception as exc:  # noqa: BLE001 - the student's script: show its traceback
        raise LabtoolError(f"{script.name} raised:\n{script_traceback(exc, script)}") from None
    finally:
        os.chdir(here)
        sys.argv = argv
        sys.path[:] = path0
    raise LabtoolError(f"{script.name} never calls net.startNetwork(): the network is not "
                       "complete without it")


def _name(name: str, what: str) -> str:
    if not NODE_NAME.match(name):
        raise LabtoolError(f"{what} {name!r}: labtool names nodes with a lowercase letter then "
                           "up to 7 letters/digits (interface names must fit 15 characters)")
    return name


def build_lab(script: Path, net: NetworkAPI) -> Exercise:
    """The lab the recorded network describes."""
    base = script.parent
    notes = list(net.notes)
    nodes = dict(net.nodes(withInfo=True))
    links = [info for _, _, _, info in net.links(sort=True, withKeys=True, withInfo=True)]
    switches: dict[str, Switch] = {}
    port_macs: dict[tuple[str, int], str] = {}
    port_ips: dict[tuple[str, int], str] = {}
    cpu_ports: dict[str, int] = {}
    for info in links:
        for me, other, n in ((info["node1"], info["node2"], "1"),
                             (info["node2"], info["node1"], "2")):
            if other == CPU_BRIDGE and me != CPU_BRIDGE:
                cpu_ports[me] = int(info[f"port{n}"])
    for name, info in nodes.items():
        if not info.get("isP4Switch"):
            continue
        _name(name, "switch")
        if not info.get("p4_src"):
            raise LabtoolError(f"{script.name}: switch {name} has no P4 program "
                               f"(net.setP4Source({name!r}, 'program.p4'))")
        program = (base / info["p4_src"]).resolve()
        if not program.is_file():
            raise LabtoolError(f"{script.name}: the P4 program of {name}, {program}, does not "
                               "exist")
        switches[name] = Switch(name, int(info["device_id"]), program, cpu_ports.get(name))
        if name in cpu_ports:
            notes.append(f"{name}: the CPU port ({cpu_ports[name]}) is BMv2's P4Runtime "
                         f"packet-in/out port; labtool builds no {name}-cpu-eth1 interface to "
                         "sniff")
    if not switches:
        raise LabtoolError(f"{script.name}: the network has no P4 switch")

    hosts: dict[str, Host] = {}
    lab_links: list[Link] = []
    host_port: dict[str, tuple[str, int]] = {}
    for info in links:
        if CPU_BRIDGE in (info["node1"], info["node2"]):
            continue
        ends = []
        for n in ("1", "2"):
            node, port = info[f"node{n}"], info.get(f"port{n}")
            if nodes[node].get("isHost"):
                ends.append(Endpoint(node, None))
            else:
                ends.append(Endpoint(node, int(port)))
                if info.get(f"addr{n}"):
                    port_macs[(node, int(port))] = str(info[f"addr{n}"]).lower()
                if info.get(f"sw_ip{n}"):
                    port_ips[(node, int(port))] = str(info[f"sw_ip{n}"])
            if info.get(f"intfName{n}") and info[f"intfName{n}"] != f"{node}-eth{port}":
                notes.append(f"setIntfName(): {node} keeps labtool's interface name "
                             f"{node}-eth{port if not nodes[node].get('isHost') else 0}")
        a, b = ends
        for end, other in ((a, b), (b, a)):
            if end.port is None:
                if end.node in host_port:
                    raise LabtoolError(f"{script.name}: host {end.node} has several links; "
                                       "labtool hosts have one interface")
                if other.port is None:
                    raise LabtoolError(f"{script.name}: {end.node} and {other.node} are both "
                                       "hosts; link hosts to switches")
                host_port[end.node] = (other.node, other.port)
        lab_links.append(Link(a, b))
    for name, info in nodes.items():
        if not info.get("isHost"):
            continue
        _name(name, "host")
        if name not in host_port:
            raise LabtoolError(f"{script.name}: host {name} is not linked to any switch")
        hosts[name] = _host(name, info, links)

    first = sorted(switches.values(), key=lambda s: s.device_id)[0]
    logs = any(nodes[s].get("log_enabled") for s in switches)
    pcap = any(nodes[s].get("pcap_dump") for s in switches)
    scripts = tuple(CourseScript.parse(s["cmd"], base) for s in net.scripts)
    commands = {}
    for name in switches:
        if nodes[name].get("cli_input"):
            path = (base / nodes[name]["cli_input"]).resolve()
            if not path.is_file():
                raise LabtoolError(f"{script.name}: the command file of {name}, {path}, does not "
                                   "exist")
            commands[name] = path
    lab = Lab(name=base.name, path=script, root=base,
              title=f"p4-utils exercise {base.name} ({script.name})", description="",
              program=first.program, controller=None,
              verifier=script,  # `labtool up` verifies nothing; `labtool import` writes one
              mutants_file=base / "mutants.toml", hosts=hosts, switches=switches,
              links=lab_links, log_level="trace" if logs else "off", host_port=host_port,
              host_stacks=True, port_macs=port_macs, port_ips=port_ips,
              course=Course(scripts, commands))
    return Exercise(script, lab, pcap, notes, net.cli_enabled)


def _host(name: str, info: dict[str, Any], links: list[dict[str, Any]]) -> Host:
    ip = info.get("ip")
    mac = info.get("mac")
    for link in links:
        for n in ("1", "2"):
            if link[f"node{n}"] == name:
                ip = ip or (link.get(f"params{n}") or {}).get("ip")
                mac = mac or link.get(f"addr{n}")
    if not ip:
        raise LabtoolError(f"host {name} has no address")
    iface = ipaddress.IPv4Interface(ip)
    route = str(info.get("defaultRoute") or "")
    gateway = route.split()[-1] if route else None
    return Host(name, str(iface.ip), iface.network.prefixlen,
                str(mac).lower() if mac else mac_from_ip(str(iface.ip)), gateway)


def load_exercise(target: Path) -> Exercise:
    script = find_script(target)
    return build_lab(script, record(script))
