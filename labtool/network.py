"""The emulated network: Mininet hosts and BMv2 switches, exactly as a manifest says.

Hosts follow the course conventions: static ARP for every other host, IPv6
off, checksum/segmentation offloads off (Scapy would see bogus checksums
otherwise). While a verifier runs, the host kernels must stay silent (a kernel
would answer the verifier's ARP requests, send ICMP port-unreachable for its
UDP and RST for its TCP, and those frames would cross the switch): so in
`labtool run` the host interfaces carry no IPv4 address (with forwarding off,
such a kernel drops everything quietly) and the verifier's raw sockets do all
the talking. `labtool up` and `--keep` give hosts their addresses, ARP entries
and routes, so ping and other tools work. Switch ports get the numbers the
manifest gives. The switches and their ports live in the run's own switch
namespace (netns.py); nothing of a run is in the root namespace. Every process
is recorded in the run registry before it can matter, so a crash or kill -9
leaves nothing that the next run or `labtool clean` cannot find; the namespaces,
and every veth in them, go away with their processes.
"""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import time
from pathlib import Path
from typing import Any

from mininet.link import Intf
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import Host, Switch

from .bmv2 import READY_TIMEOUT_S, SwitchProcess
from .bmv2rings import InputRings
from .compiler import Artifacts
from .errors import NetworkError
from .manifest import Lab, host_intf, switch_intf
from .netdev import disable_segmentation_offloads
from .netns import SwitchNamespace
from .registry import RunRecord
from .switchidle import SwitchIdleProbe

THRIFT_BASE_PORT = 9090  # inside the switch namespace: switch i gets 9090 + i
# gRPC is a Unix socket; topology.json still gives each switch a TCP port, as course tools
# name switches by it: p4-utils' numbering (9559 + i) in a run, the forwarded loopback
# port under `labtool up` (forward.py)
NOMINAL_GRPC_BASE_PORT = 9559

OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro")


class QuietIntf(Intf):  # type: ignore[misc]
    """A veth end that never speaks on its own: IPv6 (router solicitations, MLD) is
    disabled before the link comes up, and checksum/segmentation offloads are off
    (on switch ends segmentation offloads only: they size BMv2's input ring). The
    MAC was given when the veth pair was created.

    Configuration is cheap and parallel: a host end is configured by one command
    sent to that host's shell without waiting (LabNetwork collects the answers),
    a switch end by a /proc write; switch ends are brought up together later."""

    def config(self, mac: str | None = None, ip: str | None = None, up: bool = True,
               **params: Any) -> dict[str, Any]:
        self.mac = mac
        name = self.name
        if isinstance(self.node, BMv2Node):  # the switch namespace: IPv6 is off by default
            disable_segmentation_offloads(name, self.node.ioctl_socket)  # see netdev.py
            return {}
        # runs in the host's namespace, where /proc/sys/net is the host's own; names are
        # validated by the manifest ([a-z][a-z0-9]*), so this string is safe
        conf = "/proc/sys/net/ipv6/conf"
        self.node.sendCmd(
            f"for c in all default {name}; do echo 1 > {conf}/$c/disable_ipv6; done; "
            f"ethtool -K {name} {' '.join(f'{o} off' for o in OFFLOADS)} >/dev/null 2>&1; "
            f"ip -batch - <<< $'link set dev lo up\\nlink set dev {name} up'")
        return {}


class QuickHost(Host):  # type: ignore[misc]
    """A Mininet host whose shell is started without waiting for its prompt, so all
    hosts start in parallel; `ready()` waits for the prompt (Mininet's own
    startShell waits, host after host)."""

    def startShell(self, mnopts: Any = None) -> None:  # noqa: N802 - Mininet's name
        # not "mininet:<name>" as Mininet names its shells: Mininet's and p4-utils'
        # clean-ups kill every process of that name on the machine
        cmd = ["mnexec", "-cdn", "env", "PS1=" + chr(127), "bash", "--norc", "--noediting",
               "-is", "labtool:" + self.name]
        self.master, self.slave = pty.openpty()
        self.shell = self._popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                 close_fds=False)
        self.stdin = os.fdopen(self.master, "r")
        self.stdout = self.stdin
        self.pid = self.shell.pid
        self.pollOut = select.poll()
        self.pollOut.register(self.stdout)
        self.outToNode[self.stdout.fileno()] = self
        self.inToNode[self.stdin.fileno()] = self
        self.execed = False
        self.lastCmd = None
        self.lastPid = None
        self.readbuf = ""

    def ready(self) -> None:
        while True:
            data = self.read(1024)
            if data and data[-1] == chr(127):
                break
            self.pollOut.poll()
        self.waiting = False
        self.cmd("unset HISTFILE; stty -echo; set +m")


class BMv2Node(Switch):  # type: ignore[misc]
    """Mininet's view of a BMv2 switch; the process itself is a SwitchProcess.
    All switches of a run share the run's switch namespace, so unlike Mininet's
    switches this node starts no shell: Mininet's few commands for it (creating
    veths between two switches) run in that namespace directly."""

    def __init__(self, name: str, process: SwitchProcess, **params: Any) -> None:
        self.process = process
        self.netns: SwitchNamespace = params.pop("netns")
        self.ioctl_socket: socket.socket = params.pop("ioctl_socket")
        super().__init__(name, dpid=f"{process.device_id:016x}", **params)

    def startShell(self, mnopts: Any = None) -> None:  # noqa: N802 - Mininet's name
        # `ip link add ... netns <pid>` puts switch ends in the switch namespace
        self.pid = self.netns.pid

    def cmd(self, *args: Any, **kwargs: Any) -> str:
        # Mininet's own command strings (ip link add ... with interface names the
        # manifest validated as [a-z][a-z0-9]*-ethN and MACs labtool derived)
        command = " ".join(str(a) for a in args)
        try:
            return self.netns.run(["sh", "-c", command])
        except NetworkError as exc:
            return str(exc)

    def start(self, controllers: Any) -> None:
        self.process.start()

    def stop(self, deleteIntfs: bool = False) -> None:  # noqa: N803 - Mininet's signature
        self.process.stop()


class LabNetwork:
    """Build, start and stop one lab's network."""

    def __init__(self, lab: Lab, run_dir: Path, artifacts: dict[str, Artifacts],
                 record: RunRecord, log_level: str | None = None, pcap: bool = False,
                 host_stacks: bool = False) -> None:
        self.lab = lab
        self.run_dir = run_dir
        self.artifacts = artifacts
        self.record = record
        self.log_level = log_level or lab.log_level
        self.pcap = pcap
        self.host_stacks = host_stacks
        self.net: Mininet | None = None
        self.netns = SwitchNamespace()
        self.socket_dir = record.private_dir  # the switches' gRPC sockets (root only)
        self._ioctl: socket.socket | None = None
        self.switches: dict[str, SwitchProcess] = {}
        self.rings: dict[str, InputRings] = {}
        self._drops_seen: dict[str, int] = {}
        self._probe: SwitchIdleProbe | None = None
        self.timings: dict[str, float] = {}
        # root-namespace loopback ports forwarded to each switch's gRPC socket while
        # `labtool up` runs (forward.py); recorded in topology.json for course tools
        self.grpc_ports: dict[str, int] = {}

    def switch_interfaces(self) -> list[str]:
        names = []
        for link in self.lab.links:
            for end in (link.a, link.b):
                if end.node in self.lab.switches and end.port is not None:
                    names.append(switch_intf(end.node, end.port))
        return names

    def interface_counter(self, name: str, counter: str) -> int:
        """A kernel counter of a switch port (rx_packets, tx_packets, ...)."""
        return self.netns.counter(name, counter)

    def start(self) -> None:
        t0 = time.perf_counter()
        self.netns.start(lambda pid: self.record.add_process(pid, "switch namespace"))
        self._ioctl = self.netns.socket(socket.AF_INET, socket.SOCK_DGRAM)
        setLogLevel("error")
        lab = self.lab
        net = Mininet(topo=None, build=False, controller=None, autoSetMacs=False,
                      autoStaticArp=False, intf=QuietIntf, waitConnected=False)
        self.net = net
        for host in lab.hosts.values():
            node = net.addHost(host.name, cls=QuickHost, ip=None)
            self.record.add_process(node.pid, f"mininet host {host.name}")
        for node in net.hosts:
            node.ready()
        for index, sw in enumerate(lab.switches.values()):
            ports = {}
            for link in lab.links:
                for end in (link.a, link.b):
                    if end.node == sw.name and end.port is not None:
                        ports[end.port] = switch_intf(sw.name, end.port)
            proc = SwitchProcess(sw.name, sw.device_id, ports, self.run_dir, self.netns,
                                 self.socket_dir, THRIFT_BASE_PORT + index, self.log_level,
                                 self.pcap, sw.cpu_port)
            self.switches[sw.name] = proc
            self.grpc_ports.setdefault(sw.name, NOMINAL_GRPC_BASE_PORT + index)
            net.addSwitch(sw.name, cls=BMv2Node, process=proc, netns=self.netns,
                          ioctl_socket=self._ioctl)
        for link in lab.links:
            kwargs: dict[str, Any] = {}
            for i, end in ((1, link.a), (2, link.b)):
                if end.node in lab.hosts:
                    kwargs[f"intfName{i}"] = host_intf(end.node)
                    kwargs[f"port{i}"] = 0
                    kwargs[f"addr{i}"] = lab.hosts[end.node].mac
                else:
                    kwargs[f"intfName{i}"] = switch_intf(end.node, end.port or 0)
                    kwargs[f"port{i}"] = end.port
                    kwargs[f"addr{i}"] = lab.port_mac(end.node, end.port or 0)
            net.addLink(link.a.node, link.b.node, **kwargs)
        for node in net.hosts:  # answers of the interface configuration sent above
            if node.waiting:
                node.waitOutput()
        self.netns.run(["ip", "-batch", "-"],
                       stdin="".join(f"link set dev {n} up\n" for n in self.switch_interfaces()))
        net.built = True  # hosts are configured by QuietIntf and below, not by Mininet's build()
        if self.host_stacks:
            self.enable_host_stacks()
        self.timings["network"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        for name, proc in self.switches.items():
            net.get(name).start([])
            assert proc.proc is not None
            self.record.add_process(proc.proc.pid, f"simple_switch_grpc {name}")
        deadline = time.monotonic() + READY_TIMEOUT_S
        for proc in self.switches.values():
            proc.wait_ready(deadline)
        self.timings["switch_ready"] = time.perf_counter() - t1
        for name, proc in self.switches.items():
            assert proc.proc is not None
            self.rings[name] = InputRings(name, proc.proc.pid, proc.ports, self.netns)
        self.write_topology()

    def enable_host_stacks(self) -> None:
        """Give hosts their IPv4 address, static ARP for every other host, a default route."""
        assert self.net is not None
        hosts = self.lab.hosts
        for host in hosts.values():
            node = self.net.get(host.name)
            intf = host_intf(host.name)
            cmds = [f"ip addr replace {host.ip}/{host.prefixlen} dev {intf}"]
            cmds += [f"ip neigh replace {o.ip} lladdr {o.mac} dev {intf} nud permanent"
                    for o in hosts.values() if o.name != host.name]
            if host.gateway:
                # the gateway is the switch port facing the host (p4-utils' l3/mixed)
                port_mac = self.lab.port_mac(*self.lab.host_port[host.name])
                cmds.append(f"ip neigh replace {host.gateway} lladdr {port_mac} dev {intf} "
                            "nud permanent")
                cmds.append(f"ip route replace default via {host.gateway} dev {intf} onlink")
            else:
                cmds.append(f"ip route replace default dev {intf}")
            node.cmd(" ; ".join(cmds))
            # Mininet's own commands (pingall, iperf, dump) read addresses from its
            # interface objects, which were created without one
            node.intf(intf).ip, node.intf(intf).prefixLen = host.ip, host.prefixlen

    def host_pid(self, name: str) -> int:
        assert self.net is not None
        return int(self.net.get(name).pid)

    def switch_input_drops(self) -> dict[str, int] | None:
        """Frames each switch port's input ring dropped since the last call, keyed
        "s1:2"; None if this kernel does not let labtool observe them."""
        if not self.rings or not all(c.available for c in self.rings.values()):
            return None
        out = {}
        for sw, rings in self.rings.items():
            rings.update()
            for port, total in rings.dropped.items():
                key = f"{sw}:{port}"
                out[key] = total - self._drops_seen.get(key, 0)
                self._drops_seen[key] = total
        return out

    def switch_frames_in(self) -> int:
        """Frames all switch ports' input rings took in (or dropped) so far."""
        total = 0
        for rings in self.rings.values():
            rings.update()
            total += sum(rings.entered.values())
        return total

    def idle_probe(self) -> SwitchIdleProbe | None:
        """A view of whether the switches still hold frames; None if this kernel does
        not let labtool observe BMv2's rings."""
        if self._probe is None:
            self._probe = SwitchIdleProbe([p.proc.pid for p in self.switches.values() if p.proc],
                                          self.rings.values())
        return self._probe if self._probe.available else None

    def check_switches(self) -> None:
        """Raise if any switch died (with its output tail)."""
        for proc in self.switches.values():
            proc.check_alive()

    def write_topology(self) -> Path:
        """topology.json in networkx node-link form with the fields p4-utils' load_topo
        users expect, so course-style control planes can be pointed at this network."""
        nodes: list[dict[str, Any]] = []
        for host in self.lab.hosts.values():
            nodes.append({"id": host.name, "isHost": True, "ip": f"{host.ip}/{host.prefixlen}",
                          "mac": host.mac, "gateway": host.gateway, "pid": self.host_pid(host.name),
                          "interface": host_intf(host.name)})
        for sw in self.lab.switches.values():
            proc = self.switches[sw.name]
            art = self.artifacts[sw.name]
            nodes.append({"id": sw.name, "isSwitch": True, "isP4Switch": True,
                          "isP4RuntimeSwitch": True, "device_id": sw.device_id,
                          "grpc_port": self.grpc_ports[sw.name],
                          "grpc_address": proc.grpc_address,
                          "thrift_port": proc.thrift_port, "thrift_ip": "127.0.0.1",
                          "json_path": str(art.json), "p4rt_path": str(art.p4info),
                          "p4_src": str(art.program), "cpu_port": sw.cpu_port,
                          "log_path": str(proc.log_path) if self.log_level != "off" else None})
        links = []
        for link in self.lab.links:
            ends: list[tuple[str, int | None, str, str | None, str | None]] = []
            for end in (link.a, link.b):
                if end.node in self.lab.hosts:
                    host = self.lab.hosts[end.node]
                    ends.append((end.node, 0, host_intf(end.node), host.mac,
                                 f"{host.ip}/{host.prefixlen}"))
                else:
                    mac = self.lab.port_mac(end.node, end.port or 0)
                    ends.append((end.node, end.port, switch_intf(end.node, end.port or 0), mac,
                                 self.lab.port_ips.get((end.node, end.port or 0))))
            (n1, p1, i1, a1, ip1), (n2, p2, i2, a2, ip2) = ends
            links.append({"source": n1, "target": n2, "node1": n1, "node2": n2, "port1": p1,
                          "port2": p2, "intfName1": i1, "intfName2": i2, "addr1": a1,
                          "addr2": a2, "ip1": ip1, "ip2": ip2})
        topo = {"directed": False, "multigraph": False,
                "graph": {"lab": self.lab.name, "run_dir": str(self.run_dir),
                          # Thrift ports are inside this namespace (attach.py joins it)
                          "switch_netns": self.netns.path if self.netns.proc else None},
                "nodes": nodes, "links": links}
        path = self.run_dir / "topology.json"
        path.write_text(json.dumps(topo, indent=2))
        return path

    def stop(self) -> None:
        """Switches first (all in parallel), then the switch namespace's holder: the
        namespace and every veth in it go with it; then the host shells (their
        namespaces go with them)."""
        net, self.net = self.net, None
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        for rings in self.rings.values():
            rings.close()
        self.rings.clear()
        for proc in self.switches.values():  # all switches die in parallel
            proc.kill()
        for proc in self.switches.values():
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - keep tearing down the rest
                pass
        if self._ioctl is not None:
            self._ioctl.close()
            self._ioctl = None
        self.netns.stop()
        if net is None:
            return
        for host in net.hosts:
            try:
                host.terminate()
            except Exception:  # noqa: BLE001 - a shell that already died
                pass
