"""Lab manifests: `topologies/<lab>.toml`, loaded and validated.

A manifest names the lab's P4 program, controller, verifier and network
(hosts, switches, links with port numbers). Every problem is reported with the
file and the field, e.g. `topologies/vlan.toml: links[2]: port 0 out of range`.
The engine knows no lab by name: a lab is exactly the set of manifests here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from .contract import Contract, parse_contract
from .errors import LabtoolError, ManifestError, unknown_name
from .mutants import Mutant, load_mutants
from .p4utils.course import Course, CourseScript
from .traffic import DEFAULT_PACE_US

NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")  # keeps "<node>-eth<port>" within 15 chars
MAX_PORT = 510  # v1model ports are 9 bits; 511 is BMv2's drop port
TOP_KEYS = {"title", "program", "controller", "verifier", "mutants", "links", "hosts", "switches",
            "description", "log_level", "pace_us", "host_stacks", "contract", "course"}
HOST_KEYS = {"ip", "mac", "gateway"}
SWITCH_KEYS = {"device_id", "program", "cpu_port", "ports"}
PORT_KEYS = {"mac", "ip"}
COURSE_KEYS = {"scripts", "commands"}
LOG_LEVELS = ("off", "error", "warn", "info", "debug", "trace")


@dataclass(frozen=True)
class Host:
    name: str
    ip: str  # address without prefix length
    prefixlen: int
    mac: str
    gateway: str | None = None


@dataclass(frozen=True)
class Switch:
    name: str
    device_id: int
    program: Path
    cpu_port: int | None = None


@dataclass(frozen=True)
class Endpoint:
    node: str
    port: int | None  # None for a host's single interface


@dataclass(frozen=True)
class Link:
    a: Endpoint
    b: Endpoint


@dataclass(frozen=True)
class Lab:
    name: str
    path: Path
    root: Path
    title: str
    description: str
    program: Path
    controller: Path | None
    verifier: Path
    mutants_file: Path
    hosts: dict[str, Host]
    switches: dict[str, Switch]
    links: list[Link]
    log_level: str = "info"
    pace_us: int = DEFAULT_PACE_US  # verifier traffic: one frame per pace_us across all senders
    host_port: dict[str, tuple[str, int]] = field(default_factory=dict)  # host -> (switch, port)
    # the hosts' own IP stacks stay on while verifying (a verifier that opens real TCP
    # connections); otherwise hosts are silent and the verifier's raw sockets do all
    host_stacks: bool = False
    # the names (and widths, match kinds) the controller and verifier rely on
    contract: Contract = field(default_factory=Contract)
    # switch ports whose MAC (or address, for topology.json) is given, not derived;
    # p4-utils exercises set them (l2/l3 give the port facing a host 00:01:<host ip>)
    port_macs: dict[tuple[str, int], str] = field(default_factory=dict)
    port_ips: dict[tuple[str, int], str] = field(default_factory=dict)
    # the course's own code (p4-utils scripts, command files) run instead of `controller`
    course: Course | None = None

    def port_mac(self, switch: str, port: int) -> str:
        """The MAC of a switch port: as given, else labtool's fixed one."""
        return self.port_macs.get((switch, port)) or switch_port_mac(
            self.switches[switch].device_id, port)

    def with_course(self, course: Course) -> Lab:
        """The same lab with the course's code as its control plane (`--controller`,
        `--commands`): the lab's own controller does not run."""
        return dataclasses.replace(self, controller=None, course=course)

    def mutants(self) -> list[Mutant]:
        """The lab's mutants (edits of its solution, see mutants.py)."""
        return load_mutants(self.mutants_file)

    def alternatives(self) -> list[Mutant]:
        """Correct programs written differently from the solution: they must PASS."""
        return load_mutants(self.mutants_file, "alternative")

    def programs(self) -> list[Path]:
        """Distinct P4 programs the switches run, in switch order."""
        seen: dict[Path, None] = {}
        for sw in self.switches.values():
            seen.setdefault(sw.program, None)
        return list(seen)

    def with_program(self, program: Path) -> Lab:
        """The same lab with `program` replacing the lab's own program (`--p4 FILE`)."""
        switches = {
            n: Switch(s.name, s.device_id, program if s.program == self.program else s.program,
                      s.cpu_port)
            for n, s in self.switches.items()
        }
        return dataclasses.replace(self, program=program, switches=switches)


def mac_from_ip(ip: str) -> str:
    """00:00 followed by the four IPv4 bytes, as p4-utils derives host MACs."""
    octets = ipaddress.IPv4Address(ip).packed
    return "00:00:" + ":".join(f"{b:02x}" for b in octets)


def switch_port_mac(device_id: int, port: int) -> str:
    """The MAC of a switch port's interface: locally administered, derived from the
    device id and port, so controllers can compute next-hop MACs."""
    return "02:00:" + ":".join(f"{b:02x}" for b in (device_id >> 8 & 0xFF, device_id & 0xFF,
                                                     port >> 8 & 0xFF, port & 0xFF))


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ManifestError:
        return ManifestError(f"{self.path}: {where}: {problem}")

    def keys(self, where: str, table: dict[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(where, unknown_name("field", key, allowed))

    def typed(self, where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
            raise self.fail(where, f"expected {what}, got {value!r}")
        return value

    def file(self, where: str, root: Path, rel: Any) -> Path:
        text: str = self.typed(where, rel, str, "a path relative to the lab repository")
        path = (root / text).resolve()
        if not path.is_file():
            raise self.fail(where, f"file {rel} does not exist")
        return path


def _endpoint(chk: _Checker, where: str, text: Any) -> Endpoint:
    chk.typed(where, text, str, 'a node name ("h1") or switch port ("s1:2")')
    node, sep, port = text.partition(":")
    if not sep:
        return Endpoint(node, None)
    if not port.isdigit() or not 1 <= int(port) <= MAX_PORT:
        raise chk.fail(where, f"port {port!r} of {text!r} must be a number from 1 to {MAX_PORT}")
    return Endpoint(node, int(port))


def load_lab(path: Path, root: Path) -> Lab:
    chk = _Checker(path.relative_to(root) if path.is_relative_to(root) else path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise chk.fail("syntax", str(exc)) from None
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from None
    chk.keys("top level", data, TOP_KEYS)
    name = path.stem
    for key in ("program", "verifier", "hosts", "switches", "links"):
        if key not in data:
            raise chk.fail(key, "missing (required)")
    program = chk.file("program", root, data["program"])
    verifier = chk.file("verifier", root, data["verifier"])
    controller = chk.file("controller", root, data["controller"]) if "controller" in data else None
    mutants_rel = data.get("mutants", f"p4src/mutants/{name}.toml")
    chk.typed("mutants", mutants_rel, str, "a path to the lab's mutants file")
    contract = parse_contract(chk.typed("contract", data.get("contract", {}), dict, "a table"),
                              lambda field, problem: chk.fail(f"contract.{field}", problem))
    log_level = chk.typed("log_level", data.get("log_level", "info"), str, "a log level")
    if log_level not in LOG_LEVELS:
        raise chk.fail("log_level", unknown_name("log level", log_level, LOG_LEVELS))

    hosts: dict[str, Host] = {}
    chk.typed("hosts", data["hosts"], dict, "a table of hosts")
    for hname, hdata in data["hosts"].items():
        where = f"hosts.{hname}"
        if not NODE_NAME.match(hname):
            raise chk.fail(where, "node names are a lowercase letter then up to 7 letters/digits")
        chk.typed(where, hdata, dict, "a table")
        chk.keys(where, hdata, HOST_KEYS)
        if "ip" not in hdata:
            raise chk.fail(f"{where}.ip", "missing (required), e.g. ip = \"10.0.0.1/24\"")
        try:
            iface = ipaddress.IPv4Interface(chk.typed(f"{where}.ip", hdata["ip"], str, "a.b.c.d/len"))
        except ValueError as exc:
            raise chk.fail(f"{where}.ip", str(exc)) from None
        if "/" not in hdata["ip"]:
            raise chk.fail(f"{where}.ip", f"give the prefix length, e.g. \"{hdata['ip']}/24\"")
        mac = chk.typed(f"{where}.mac", hdata.get("mac", mac_from_ip(str(iface.ip))), str, "a MAC")
        if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac):
            raise chk.fail(f"{where}.mac", f"{mac!r} is not a lowercase MAC like 00:00:0a:00:00:01")
        gateway = hdata.get("gateway")
        if gateway is not None:
            try:
                ipaddress.IPv4Address(chk.typed(f"{where}.gateway", gateway, str, "an address"))
            except ValueError as exc:
                raise chk.fail(f"{where}.gateway", str(exc)) from None
        hosts[hname] = Host(hname, str(iface.ip), iface.network.prefixlen, mac, gateway)

    switches: dict[str, Switch] = {}
    port_macs: dict[tuple[str, int], str] = {}
    port_ips: dict[tuple[str, int], str] = {}
    chk.typed("switches", data["switches"], dict, "a table of switches")
    used_ids: set[int] = set()
    for index, (sname, sdata) in enumerate(data["switches"].items()):
        where = f"switches.{sname}"
        if not NODE_NAME.match(sname):
            raise chk.fail(where, "node names are a lowercase letter then up to 7 letters/digits")
        if sname in hosts:
            raise chk.fail(where, f"{sname!r} is already a host")
        chk.typed(where, sdata, dict, "a table")
        chk.keys(where, sdata, SWITCH_KEYS)
        device_id = chk.typed(f"{where}.device_id", sdata.get("device_id", index + 1), int, "an int")
        if device_id in used_ids or device_id < 0:
            raise chk.fail(f"{where}.device_id", f"{device_id} is negative or already used")
        used_ids.add(device_id)
        sw_program = chk.file(f"{where}.program", root, sdata["program"]) if "program" in sdata \
            else program
        cpu_port = sdata.get("cpu_port")
        if cpu_port is not None:
            chk.typed(f"{where}.cpu_port", cpu_port, int, "a port number")
        switches[sname] = Switch(sname, device_id, sw_program, cpu_port)
        _ports(chk, where, sname, sdata.get("ports", {}), port_macs, port_ips)
    if not switches:
        raise chk.fail("switches", "a lab needs at least one switch")

    links: list[Link] = []
    used_ports: dict[tuple[str, int], int] = {}
    host_port: dict[str, tuple[str, int]] = {}
    chk.typed("links", data["links"], list, 'a list like [["h1", "s1:1"], ...]')
    for i, item in enumerate(data["links"]):
        where = f"links[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise chk.fail(where, f'expected a pair like ["h1", "s1:1"], got {item!r}')
        ends = (_endpoint(chk, where, item[0]), _endpoint(chk, where, item[1]))
        for end in ends:
            if end.node not in hosts and end.node not in switches:
                raise chk.fail(where, unknown_name("node", end.node, [*hosts, *switches]))
            if end.node in switches:
                if end.port is None:
                    raise chk.fail(where, f"switch end {end.node!r} needs a port: \"{end.node}:N\"")
                if (end.node, end.port) in used_ports:
                    raise chk.fail(where, f"{end.node}:{end.port} is already used by "
                                          f"links[{used_ports[(end.node, end.port)]}]")
                used_ports[(end.node, end.port)] = i
            elif end.port is not None:
                raise chk.fail(where, f"host {end.node!r} has one interface; write \"{end.node}\"")
        if all(e.node in hosts for e in ends):
            raise chk.fail(where, "a link joins a host to a switch or two switches")
        for end, other in (ends, ends[::-1]):
            if end.node in hosts:
                if end.node in host_port:
                    raise chk.fail(where, f"host {end.node!r} is linked twice")
                assert other.port is not None
                host_port[end.node] = (other.node, other.port)
        links.append(Link(*ends))
    for hname in hosts:
        if hname not in host_port:
            raise chk.fail(f"hosts.{hname}", "host is not linked to any switch")
    for sname, sw in switches.items():
        if sw.cpu_port is not None and (sname, sw.cpu_port) in used_ports:
            raise chk.fail(f"switches.{sname}.cpu_port", f"port {sw.cpu_port} is also a link port")

    pace_us = chk.typed("pace_us", data.get("pace_us", DEFAULT_PACE_US), int, "microseconds between frames")
    if not 50 <= pace_us <= 100_000:
        raise chk.fail("pace_us", f"{pace_us} is outside 50..100000")
    host_stacks = chk.typed("host_stacks", data.get("host_stacks", False), bool, "true or false")
    title = chk.typed("title", data.get("title", name), str, "a string")
    description = chk.typed("description", data.get("description", ""), str, "a string")
    for (sname, port) in port_macs.keys() | port_ips.keys():
        if (sname, port) not in used_ports and port != switches[sname].cpu_port:
            raise chk.fail(f"switches.{sname}.ports.{port}", "no link uses this port")
    course = _course(chk, root, data.get("course"), switches)
    return Lab(name, path, root, title, description, program, controller, verifier,
               (root / mutants_rel).resolve(), hosts, switches, links, log_level, pace_us,
               host_port, host_stacks, contract, port_macs, port_ips, course)


def _ports(chk: _Checker, where: str, switch: str, ports: Any,
           macs: dict[tuple[str, int], str], ips: dict[tuple[str, int], str]) -> None:
    """`ports = { 1 = { mac = "00:01:0a:00:00:01", ip = "10.0.1.1/24" } }`"""
    chk.typed(f"{where}.ports", ports, dict, "a table of port numbers")
    for key, pdata in ports.items():
        pwhere = f"{where}.ports.{key}"
        if not str(key).isdigit() or not 1 <= int(key) <= MAX_PORT:
            raise chk.fail(pwhere, f"port {key!r} must be a number from 1 to {MAX_PORT}")
        chk.typed(pwhere, pdata, dict, "a table like { mac = \"...\" }")
        chk.keys(pwhere, pdata, PORT_KEYS)
        if "mac" in pdata:
            mac = chk.typed(f"{pwhere}.mac", pdata["mac"], str, "a MAC")
            if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac):
                raise chk.fail(f"{pwhere}.mac", f"{mac!r} is not a lowercase MAC")
            macs[(switch, int(key))] = mac
        if "ip" in pdata:
            try:
                ipaddress.IPv4Interface(chk.typed(f"{pwhere}.ip", pdata["ip"], str, "a.b.c.d/len"))
            except ValueError as exc:
                raise chk.fail(f"{pwhere}.ip", str(exc)) from None
            ips[(switch, int(key))] = pdata["ip"]


def _course(chk: _Checker, root: Path, data: Any, switches: dict[str, Switch]) -> Course | None:
    """`[course]`: p4-utils scripts and simple_switch_CLI command files (paths relative
    to the lab repository, or to the manifest's directory for a manifest given by path)."""
    if data is None:
        return None
    chk.typed("course", data, dict, "a table")
    chk.keys("course", data, COURSE_KEYS)
    scripts = []
    for i, command in enumerate(chk.typed("course.scripts", data.get("scripts", []), list,
                                          'a list like ["control_plane.py"]')):
        chk.typed(f"course.scripts[{i}]", command, str, "a command like \"control_plane.py\"")
        try:
            scripts.append(CourseScript.parse(command, root))
        except LabtoolError as exc:
            raise chk.fail(f"course.scripts[{i}]", exc.message) from None
    commands = {}
    for sname, rel in chk.typed("course.commands", data.get("commands", {}), dict,
                                'a table like { s1 = "s1-commands.txt" }').items():
        if sname not in switches:
            raise chk.fail(f"course.commands.{sname}", unknown_name("switch", sname, switches))
        commands[sname] = chk.file(f"course.commands.{sname}", root, rel)
    return Course(tuple(scripts), commands)


def host_intf(host: str) -> str:
    """A host's interface name (inside its namespace)."""
    return f"{host}-eth0"


def switch_intf(switch: str, port: int) -> str:
    """A switch port's interface name (root namespace)."""
    return f"{switch}-eth{port}"


def lab_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "topologies").glob("*.toml"))


def find_lab(root: Path, name: str) -> Lab:
    """A lab of the repository by name, or a manifest given by path (`labtool import`
    writes them next to an exercise): its paths are relative to its own directory."""
    given = Path(name)
    if name.endswith(".toml") and given.is_file():
        given = given.resolve()
        return load_lab(given, given.parent)
    path = root / "topologies" / f"{name}.toml"
    if not path.is_file():
        raise LabtoolError(unknown_name("lab", name, lab_names(root)))
    return load_lab(path, root)
