"""`p4utils.mininetlib.network_API.NetworkAPI`, recording instead of starting.

A course exercise's `network_topo.py` builds its network with NetworkAPI calls and
ends with `net.startNetwork()`. labtool runs the script with this class in place of
p4-utils': every call is recorded, and `startNetwork()` completes the topology
exactly as p4-utils does before it starts Mininet (device ids, port numbers in
p4-utils' order, `l2()`/`mixed()`/`l3()` addresses, addresses for what is still
unset) and then ends the script. exercise.py turns the result into a labtool lab.

The graph is kept as Mininet's MultiGraph keeps it (a dict of nodes, a dict of
edges), because p4-utils' results depend on that order: ports are numbered over
the links in natural sort order, `l2()` walks the links in the graph's own order.
Calls labtool cannot honour either raise (OVS switches, routers, Tofino: the
network would not be the one described) or leave one line in `notes` (link
shaping with tc, task schedulers ...): they are listed, never silently dropped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from ..errors import LabtoolError
from .helper import ip_address_to_mac, next_element

Info = dict[str, Any]


class NetworkAPIError(LabtoolError):
    """A NetworkAPI call labtool cannot build, or that p4-utils itself would refuse."""


class StartNetwork(BaseException):  # noqa: N818 - not an error: the end of the description
    """Raised by startNetwork(): the description is complete, the script stops here."""


def natural(text: str) -> list[Any]:
    """Mininet's natural sort key: 'h10' after 'h9'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


class _MultiGraph:
    """Mininet's MultiGraph: node dict, edge dict src -> dst -> key -> info (shared by
    both directions), edges listed once each with src <= dst, in dict order."""

    def __init__(self) -> None:
        self.node: dict[str, Info] = {}
        self.edge: dict[str, dict[str, dict[int, Info]]] = {}

    def add_edge(self, src: str, dst: str, key: int | None, info: Info) -> int:
        self.node.setdefault(src, {})
        self.node.setdefault(dst, {})
        self.edge.setdefault(src, {})
        self.edge.setdefault(dst, {})
        self.edge[src].setdefault(dst, {})
        entry = self.edge[dst][src] = self.edge[src][dst]
        if key is None:
            key = max([0] + [k for k in entry if isinstance(k, int)]) + 1
        entry[key] = info
        return key

    def edges(self) -> Iterator[tuple[str, str, int, Info]]:
        for src, entry in list(self.edge.items()):
            for dst, keyed in list(entry.items()):
                if src > dst:
                    continue
                for key, info in list(keyed.items()):
                    yield src, dst, key, info


class NetworkAPI:
    """Records a p4-utils network description (see the module docstring)."""

    def __init__(self, *args: Any, **params: Any) -> None:
        self.g = _MultiGraph()
        self.notes: list[str] = []
        self.scripts: list[dict[str, Any]] = []
        self.cli_enabled = True
        self.topoFile = "./topology.json"
        self.ipv4_net = ipaddress.IPv4Network("10.0.0.0/8")
        self.auto_gw_arp = True
        self.auto_arp_tables = True
        self.log_level = "info"
        self.compiler_options: dict[str, Any] = {}
        self.started = False

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- general options -------------------------------------------------------------------
    def setLogLevel(self, logLevel: str) -> None:  # noqa: N802,N803 - p4-utils' names
        self.log_level = logLevel

    def setIpBase(self, ipBase: str) -> None:  # noqa: N802,N803
        self.ipv4_net = ipaddress.IPv4Network(ipBase)

    def setCompiler(self, compilerClass: Any = None, **kwargs: Any) -> None:  # noqa: N802,N803
        if compilerClass is not None:
            self._note("setCompiler(compilerClass=...): labtool compiles with p4c-bm2-ss itself")
        self.compiler_options.update(kwargs)

    def setNet(self, netClass: Any = None, **kwargs: Any) -> None:  # noqa: N802,N803
        self._note("setNet(): labtool builds the network with its own Mininet classes")

    def setSwitchClient(self, swclientClass: Any = None, **kwargs: Any) -> None:  # noqa: N802,N803
        self._note("setSwitchClient(): command files are applied by labtool over P4Runtime")

    def printPortMapping(self) -> None:  # noqa: N802
        pass  # labtool prints the network when it is up

    def describeP4Nodes(self) -> None:  # noqa: N802
        pass

    def execScript(self, cmd: str, out_file: str | None = None,  # noqa: N802
                   reboot: bool = True) -> None:
        if out_file is not None:
            self._note(f"execScript({cmd!r}, out_file=...): the script's output is shown, not "
                       "written to a file")
        self.scripts.append({"cmd": cmd, "reboot_run": reboot, "out_file": out_file})

    def setTopologyFile(self, topoFile: str) -> None:  # noqa: N802,N803
        self.topoFile = topoFile
        self._note("setTopologyFile(): labtool writes topology.json into the run directory, "
                   "the working directory of the scripts")

    def enableCli(self) -> None:  # noqa: N802
        self.cli_enabled = True

    def disableCli(self) -> None:  # noqa: N802
        self.cli_enabled = False

    def enableArpTables(self) -> None:  # noqa: N802
        self.auto_arp_tables = True

    def disableArpTables(self) -> None:  # noqa: N802
        self.auto_arp_tables = False
        self._note("disableArpTables(): labtool always gives hosts static ARP entries")

    def enableGwArp(self) -> None:  # noqa: N802
        self.auto_gw_arp = True

    def disableGwArp(self) -> None:  # noqa: N802
        self.auto_gw_arp = False
        self._note("disableGwArp(): labtool always gives hosts a static ARP entry for their "
                   "gateway")

    def startNetwork(self) -> None:  # noqa: N802
        self.auto_assignment()
        self.started = True
        raise StartNetwork(self)

    def stopNetwork(self) -> None:  # noqa: N802
        pass

    # -- nodes -----------------------------------------------------------------------------
    def addNode(self, name: str, **opts: Any) -> str:  # noqa: N802
        opts.pop("cls", None)
        self.g.node[name] = opts
        return name

    def getNode(self, name: str) -> Info:  # noqa: N802
        self._check(name)
        return self.g.node[name]

    def updateNode(self, name: str, **opts: Any) -> str:  # noqa: N802
        info = self.popNode(name, remove_links=False)
        info.update(opts)
        return self.addNode(name, **info)

    def deleteNode(self, name: str, remove_links: bool = True) -> None:  # noqa: N802
        self._check(name)
        if remove_links:
            self.g.edge.pop(name, None)
            for other in self.g.edge:
                self.g.edge[other].pop(name, None)
        self.g.node.pop(name)

    def popNode(self, name: str, remove_links: bool = True) -> Info:  # noqa: N802
        info = dict(self.getNode(name))
        self.deleteNode(name, remove_links=remove_links)
        return info

    def isNode(self, name: str) -> bool:  # noqa: N802
        return name in self.g.node

    def _check(self, name: str) -> None:
        if name not in self.g.node:
            from ..errors import unknown_name

            raise NetworkAPIError("NetworkAPI: " + unknown_name("node", name, self.g.node))

    def nodes(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        names = sorted(self.g.node, key=natural) if sort else list(self.g.node)
        return [(n, self.g.node[n]) for n in names] if withInfo else names

    def _kind(self, flag: str, sort: bool, with_info: bool) -> list[Any]:
        return [n for n in self.nodes(sort, with_info)
                if self.g.node[n[0] if with_info else n].get(flag)]

    def addHost(self, name: str, **opts: Any) -> str:  # noqa: N802
        opts["isHost"] = True
        return self.addNode(name, **opts)

    def isHost(self, name: str) -> bool:  # noqa: N802
        return bool(self.getNode(name).get("isHost", False))

    def hosts(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        return self._kind("isHost", sort, withInfo)

    def addSwitch(self, name: str, **opts: Any) -> str:  # noqa: N802
        if not opts.get("isP4Switch"):
            raise NetworkAPIError(f"addSwitch({name!r}): Open vSwitch / Linux bridge switches are "
                                  "not supported by labtool (BMv2 only): use addP4Switch or "
                                  "addP4RuntimeSwitch")
        opts["isSwitch"] = True
        return self.addNode(name, **opts)

    def isSwitch(self, name: str) -> bool:  # noqa: N802
        return bool(self.getNode(name).get("isSwitch", False))

    def switches(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        return self._kind("isSwitch", sort, withInfo)

    def setSwitchDpid(self, name: str, dpid: str) -> None:  # noqa: N802
        raise NetworkAPIError(f"setSwitchDpid({name!r}): P4 switches take device ids "
                              "(setP4SwitchId); labtool has no other switches")

    def addP4Switch(self, name: str, **opts: Any) -> str:  # noqa: N802
        device_id = opts.get("device_id")
        if device_id is not None and device_id in self.switch_ids():
            raise NetworkAPIError(f"addP4Switch({name!r}): switch id {device_id} already in use")
        opts["isP4Switch"] = True
        return self.addSwitch(name, **opts)

    def isP4Switch(self, name: str) -> bool:  # noqa: N802
        return bool(self.getNode(name).get("isP4Switch", False))

    def p4switches(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        return self._kind("isP4Switch", sort, withInfo)

    def addP4RuntimeSwitch(self, name: str, **opts: Any) -> str:  # noqa: N802
        opts["isP4RuntimeSwitch"] = True
        return self.addP4Switch(name, **opts)

    def isP4RuntimeSwitch(self, name: str) -> bool:  # noqa: N802
        return bool(self.getNode(name).get("isP4RuntimeSwitch", False))

    def p4rtswitches(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        return self._kind("isP4RuntimeSwitch", sort, withInfo)

    def addRouter(self, name: str, **opts: Any) -> str:  # noqa: N802
        raise NetworkAPIError(f"addRouter({name!r}): FRRouting routers are not supported by "
                              "labtool")

    def isRouter(self, name: str) -> bool:  # noqa: N802
        return bool(self.getNode(name).get("isRouter", False))

    def routers(self, sort: bool = True, withInfo: bool = False) -> list[Any]:  # noqa: N803
        return []

    def addTofino(self, name: str, **opts: Any) -> str:  # noqa: N802
        raise NetworkAPIError(f"addTofino({name!r}): Tofino switches are not supported by "
                              "labtool (BMv2 only)")

    def isTofino(self, name: str) -> bool:  # noqa: N802
        return False

    def _p4(self, name: str, what: str) -> None:
        if not self.isP4Switch(name):
            raise NetworkAPIError(f"{what}({name!r}): {name} is not a P4 switch")

    def setP4Source(self, name: str, p4_src: str) -> None:  # noqa: N802
        self._p4(name, "setP4Source")
        self.updateNode(name, p4_src=p4_src)

    def setP4SourceAll(self, p4_src: str) -> None:  # noqa: N802
        for switch in self.p4switches():
            self.setP4Source(switch, p4_src)

    def setP4CliInput(self, name: str, cli_input: str) -> None:  # noqa: N802
        self._p4(name, "setP4CliInput")
        self.updateNode(name, cli_input=cli_input)

    def setP4SwitchId(self, name: str, id: int) -> None:  # noqa: N802,A002
        self._p4(name, "setP4SwitchId")
        self.updateNode(name, device_id=id)

    def setThriftPort(self, name: str, port: int) -> None:  # noqa: N802
        self._p4(name, "setThriftPort")
        self.updateNode(name, thrift_port=port)
        self._note("setThriftPort()/setGrpcPort(): labtool picks free ports at every run; "
                   "scripts find them in topology.json")

    def setGrpcPort(self, name: str, port: int) -> None:  # noqa: N802
        self._p4(name, "setGrpcPort")
        self.updateNode(name, grpc_port=port)
        self._note("setThriftPort()/setGrpcPort(): labtool picks free ports at every run; "
                   "scripts find them in topology.json")

    def setPriorityQueueNum(self, name: str, queue_num: int) -> None:  # noqa: N802
        self._p4(name, "setPriorityQueueNum")
        self._note("setPriorityQueueNum(): labtool runs BMv2 with one queue per port; ignored")

    def _debugger(self, *args: Any) -> None:
        self._note("enableDebugger(): the BMv2 debugger is not started by labtool; ignored")

    enableDebugger = enableDebuggerAll = _debugger  # noqa: N815
    disableDebugger = disableDebuggerAll = _debugger  # noqa: N815

    def enablePcapDump(self, name: str, pcap_dir: str = "./pcap") -> None:  # noqa: N802
        self._p4(name, "enablePcapDump")
        self.updateNode(name, pcap_dump=True, pcap_dir=pcap_dir)

    def disablePcapDump(self, name: str) -> None:  # noqa: N802
        self._p4(name, "disablePcapDump")
        self.updateNode(name, pcap_dump=False)

    def enablePcapDumpAll(self, pcap_dir: str = "./pcap") -> None:  # noqa: N802
        for switch in self.p4switches():
            self.enablePcapDump(switch, pcap_dir)

    def disablePcapDumpAll(self) -> None:  # noqa: N802
        for switch in self.p4switches():
            self.disablePcapDump(switch)

    def enableLog(self, name: str, log_dir: str = "./log") -> None:  # noqa: N802
        self.updateNode(name, log_enabled=True, log_dir=log_dir)

    def disableLog(self, name: str) -> None:  # noqa: N802
        self.updateNode(name, log_enabled=False)

    def enableLogAll(self, log_dir: str = "./log") -> None:  # noqa: N802
        for switch in self.p4switches():
            self.enableLog(switch, log_dir)

    def disableLogAll(self) -> None:  # noqa: N802
        for switch in self.p4switches():
            self.disableLog(switch)

    def hasCpuPort(self, name: str) -> bool:  # noqa: N802
        self._p4(name, "hasCpuPort")
        return bool(self.getNode(name).get("cpu_port", False))

    def enableCpuPort(self, name: str) -> None:  # noqa: N802
        """p4-utils links the switch to a `sw-cpu` bridge; the port gets its number like
        any link. labtool makes that port BMv2's CPU port (P4Runtime packet-in/out)."""
        self._p4(name, "enableCpuPort")
        if "sw-cpu" not in self.g.node:
            self.g.node["sw-cpu"] = {"isSwitch": True, "isCpuBridge": True}
        self.addLink(name, "sw-cpu", intfName1=f"{name}-cpu-eth0",
                     intfName2=f"{name}-cpu-eth1")
        self.updateNode(name, cpu_port=True)

    def disableCpuPort(self, name: str) -> None:  # noqa: N802
        if self.hasCpuPort(name):
            self.deleteLink(name, "sw-cpu")
            self.updateNode(name, cpu_port=False)
            if not any(self.hasCpuPort(s) for s in self.p4switches()):
                self.deleteNode("sw-cpu")

    def enableCpuPortAll(self) -> None:  # noqa: N802
        for switch in self.p4switches():
            self.enableCpuPort(switch)

    def disableCpuPortAll(self) -> None:  # noqa: N802
        for switch in self.p4switches():
            self.disableCpuPort(switch)

    # -- hosts -------------------------------------------------------------------------------
    def setDefaultRoute(self, name: str, default_route: str) -> None:  # noqa: N802
        self._check(name)
        self.updateNode(name, defaultRoute=f"via {default_route}")

    def areNeighbors(self, node1: str, node2: str) -> bool:  # noqa: N802
        return node2 in self.g.edge.get(node1, {})

    def _unsupported_host(self, *args: Any) -> None:
        self._note("enableDhcp(): labtool gives hosts static addresses; ignored")

    enableDhcp = disableDhcp = enableDhcpAll = disableDhcpAll = _unsupported_host  # noqa: N815

    def _scheduler(self, *args: Any, **kwargs: Any) -> None:
        self._note("task schedulers and addTask()/addTaskFile() are not supported by labtool; "
                   "run traffic from the Mininet CLI instead")

    enableScheduler = disableScheduler = enableSchedulerAll = _scheduler  # noqa: N815
    disableSchedulerAll = addTask = addTaskFile = _scheduler  # noqa: N815

    def hasScheduler(self, name: str) -> bool:  # noqa: N802
        return False

    # -- links -----------------------------------------------------------------------------
    def node_ports(self) -> dict[str, dict[int, tuple[str, str, int]]]:
        ports: dict[str, dict[int, tuple[str, str, int]]] = {}
        for _, _, key, info in self.g.edges():
            for me, other, field in ((info["node1"], info["node2"], "port1"),
                                     (info["node2"], info["node1"], "port2")):
                ports.setdefault(me, {})
                if info.get(field) is not None:
                    ports[me][info[field]] = (me, other, key)
        return ports

    def node_intfs(self) -> dict[str, dict[str, tuple[str, str, int]]]:
        intfs: dict[str, dict[str, tuple[str, str, int]]] = {}
        for _, _, key, info in self.g.edges():
            for me, other, field in ((info["node1"], info["node2"], "intfName1"),
                                     (info["node2"], info["node1"], "intfName2")):
                intfs.setdefault(me, {})
                if info.get(field) is not None:
                    intfs[me][info[field]] = (me, other, key)
        return intfs

    def addLink(self, node1: str, node2: str, port1: int | None = None,  # noqa: N802
                port2: int | None = None, key: int | None = None, **opts: Any) -> int:
        self._check(node1)
        self._check(node2)
        ports = self.node_ports()
        for node, port in ((node1, port1), (node2, port2)):
            if port is not None and port in ports.get(node, {}):
                raise NetworkAPIError(f"addLink({node1!r}, {node2!r}): port {port} already "
                                      f"present on node {node!r}")
        opts.pop("cls", None)
        opts.setdefault("weight", 1)
        for shaping in ("bw", "delay", "loss", "max_queue_size", "jitter"):
            if opts.get(shaping) is not None:
                self._note(f"addLink(..., {shaping}=...): labtool does not shape links (tc); "
                           "ignored")
        opts.update(node1=node1, node2=node2, port1=port1, port2=port2)
        return self.g.add_edge(node1, node2, key, opts)

    def _entry(self, node1: str, node2: str, key: int | None) -> tuple[dict[int, Info], int]:
        self._check(node1)
        self._check(node2)
        entry = self.g.edge.get(node1, {}).get(node2)
        if not entry:
            raise NetworkAPIError(f"NetworkAPI: there is no link between {node1} and {node2}")
        return entry, min(entry) if key is None else key

    def getLink(self, node1: str, node2: str, key: int | None = None) -> tuple[Info, int]:  # noqa: N802
        entry, key = self._entry(node1, node2, key)
        return entry[key], key

    def deleteLink(self, node1: str, node2: str, key: int | None = None) -> None:  # noqa: N802
        entry, key = self._entry(node1, node2, key)
        entry.pop(key)
        if not entry:
            for a, b in ((node1, node2), (node2, node1)):
                self.g.edge[a].pop(b)
                if not self.g.edge[a]:
                    self.g.edge.pop(a)

    def popLink(self, node1: str, node2: str, key: int | None = None) -> tuple[Info, int]:  # noqa: N802
        info, key = self.getLink(node1, node2, key)
        self.deleteLink(node1, node2, key)
        return info, key

    def updateLink(self, node1: str, node2: str, key: int | None = None,  # noqa: N802
                   **opts: Any) -> int:
        info, key = self.popLink(node1, node2, key)
        if node1 == info["node2"]:  # the caller names the link the other way round
            swap = str.maketrans("12", "21")
            opts = {k.translate(swap) if ("1" in k or "2" in k) else k: v
                    for k, v in opts.items()}
        first, second = info.pop("node1"), info.pop("node2")
        for name, value in opts.items():
            if isinstance(value, dict) and isinstance(info.get(name), dict):
                info[name] = {**info[name], **value}
            else:
                info[name] = value
        port1, port2 = info.pop("port1", None), info.pop("port2", None)
        return self.addLink(first, second, port1, port2, key=key, **info)

    def links(self, sort: bool = False, withKeys: bool = False,  # noqa: N803
              withInfo: bool = False) -> list[Any]:  # noqa: N803
        items = [(i["node1"], i["node2"], k, i) for _, _, k, i in self.g.edges()]
        if sort:
            items.sort(key=lambda item: [natural(str(x)) for x in item[:3]])
        if withKeys:
            return [item if withInfo else item[:3] for item in items]
        return [(a, b, i) if withInfo else (a, b) for a, b, _, i in items]

    def _shaping(self, what: str) -> None:
        self._note(f"{what}(): labtool does not shape links (tc); ignored")

    def setBw(self, node1: str, node2: str, bw: float, key: int | None = None) -> None:  # noqa: N802
        self._shaping("setBw")

    def setDelay(self, node1: str, node2: str, delay: Any, key: int | None = None) -> None:  # noqa: N802
        self._shaping("setDelay")

    def setLoss(self, node1: str, node2: str, loss: float, key: int | None = None) -> None:  # noqa: N802
        self._shaping("setLoss")

    def setMaxQueueSize(self, node1: str, node2: str, max_queue_size: int,  # noqa: N802
                        key: int | None = None) -> None:
        self._shaping("setMaxQueueSize")

    def setBwAll(self, bw: float) -> None:  # noqa: N802
        self._shaping("setBwAll")

    def setDelayAll(self, delay: Any) -> None:  # noqa: N802
        self._shaping("setDelayAll")

    def setLossAll(self, loss: float) -> None:  # noqa: N802
        self._shaping("setLossAll")

    def setMaxQueueSizeAll(self, max_queue_size: int) -> None:  # noqa: N802
        self._shaping("setMaxQueueSizeAll")

    def setIntfName(self, node1: str, node2: str, intfName: str,  # noqa: N802,N803
                    key: int | None = None) -> int:
        if intfName in self.node_intfs().get(node1, {}):
            raise NetworkAPIError(f"interface {intfName!r} already present on node {node1!r}")
        return self.updateLink(node1, node2, key=key, intfName1=intfName)

    def setIntfPort(self, node1: str, node2: str, port: int,  # noqa: N802
                    key: int | None = None) -> int:
        if port in self.node_ports().get(node1, {}):
            raise NetworkAPIError(f"port {port} already present on node {node1!r}")
        return self.updateLink(node1, node2, key=key, port1=port)

    def setIntfIp(self, node1: str, node2: str, ip: str, key: int | None = None) -> int:  # noqa: N802
        if self.isSwitch(node1):
            return self.updateLink(node1, node2, key=key, sw_ip1=ip)
        return self.updateLink(node1, node2, key=key, params1={"ip": ip})

    def setIntfMac(self, node1: str, node2: str, mac: str, key: int | None = None) -> int:  # noqa: N802
        return self.updateLink(node1, node2, key=key, addr1=mac)

    # -- automatic assignment (p4-utils' rules) ------------------------------------------------
    def switch_ids(self) -> set[int]:
        ids: set[int] = set()
        for _, info in self.nodes(withInfo=True):
            if info.get("isP4Switch") and info.get("device_id") is not None:
                ids.add(int(info["device_id"]))
            elif info.get("isCpuBridge"):
                ids.add(0x1000000000000000)  # p4-utils' sw-cpu bridge dpid
        return ids

    def auto_switch_id(self, base: int = 1) -> int:
        return next_element(sorted(self.switch_ids()), minimum=base)

    def auto_port_num(self, node: str, base: int = 0) -> int:
        ports = self.node_ports().get(node)
        return next_element(list(ports), minimum=base) if ports else base

    def ip_addresses(self) -> set[str]:
        ips = set()
        for _, _, _, info in self.g.edges():
            for node, field in ((info["node1"], "params1"), (info["node2"], "params2")):
                params = info.get(field) or {}
                if not self.g.node.get(node, {}).get("isSwitch") and params.get("ip"):
                    ips.add(str(params["ip"]).split("/")[0])
        return ips

    def auto_ip_address(self) -> str:
        used = self.ip_addresses()
        for ip in self.ipv4_net.hosts():
            if str(ip) not in used:
                return f"{ip}/{self.ipv4_net.prefixlen}"
        raise NetworkAPIError(f"no free address left in {self.ipv4_net}")

    def auto_assignment(self) -> None:
        for node, info in self.nodes(withInfo=True):
            if info.get("isP4Switch") and info.get("device_id") is None:
                self.setP4SwitchId(node, self.auto_switch_id())
        for node1, node2, key in self.links(sort=True, withKeys=True):
            for me, other, port_field in ((node1, node2, "port1"), (node2, node1, "port2")):
                current = self.getLink(node1, node2, key)[0]
                if current.get(port_field) is None:
                    base = 0 if self.g.node[me].get("isHost") else 1
                    self.setIntfPort(me, other, self.auto_port_num(me, base), key=key)
            for me, other, params_field in ((node1, node2, "params1"), (node2, node1, "params2")):
                current = self.getLink(node1, node2, key)[0]
                if self.g.node[me].get("isHost") and not (current.get(params_field) or {}).get("ip"):
                    self.setIntfIp(me, other, self.auto_ip_address(), key=key)
        # a host's first interface gives the host its ip (and mac, when one was assigned)
        for node1, node2, info in self.links(withInfo=True):
            for me, port, params, addr in ((node1, "port1", "params1", "addr1"),
                                           (node2, "port2", "params2", "addr2")):
                if self.g.node[me].get("isHost"):
                    first = min(self.node_ports().get(me, {0: None}))
                    if info.get(port) == first:
                        self.g.node[me]["ip"] = info[params]["ip"]
                        if info.get(addr):
                            self.g.node[me]["mac"] = info[addr]

    # -- assignment strategies -------------------------------------------------------------------
    @staticmethod
    def _host_number(name: str) -> int | None:
        return int(name[1:]) if name[:1] == "h" and name[1:].isdigit() else None

    def _host_links(self) -> list[tuple[str, str]]:
        """(host, its switch) for every host-switch link, in the graph's order."""
        out = []
        for node1, node2 in self.links():
            if "sw-cpu" in (node1, node2):
                continue
            if self.isHost(node1):
                host, switch = node1, node2
            elif self.isHost(node2):
                host, switch = node2, node1
            else:
                continue
            if not self.isSwitch(switch):
                raise NetworkAPIError(f"{host} is linked to {switch}, which is not a switch: the "
                                      "l2/mixed/l3 strategies need hosts on switches")
            out.append((host, switch))
        return out

    def _check_simple(self, strategy: str) -> None:
        for _, _, keyed in ((a, b, k) for a, e in self.g.edge.items() for b, k in e.items()):
            if len(keyed) > 1:
                raise NetworkAPIError(f"{strategy}(): parallel links are not allowed")

    def _switch_id(self, switch: str) -> int:
        info = self.getNode(switch)
        if info.get("device_id") is None:
            self.setP4SwitchId(switch, self.auto_switch_id())
        return int(self.getNode(switch)["device_id"])

    def _set_host(self, host: str, switch: str, ip: str, prefix: int,
                  gateway: str | None) -> None:
        self.setIntfMac(host, switch, ip_address_to_mac(ip) % 0)
        self.setIntfMac(switch, host, ip_address_to_mac(ip) % 1)
        self.setIntfIp(host, switch, f"{ip}/{prefix}")
        if gateway is not None:
            self.setIntfIp(switch, host, f"{gateway}/{prefix}")
            self.setDefaultRoute(host, gateway)

    def _switch_links(self, ids: dict[str, int]) -> None:
        for node1, node2 in self.links():
            if "sw-cpu" in (node1, node2):
                continue
            if self.isSwitch(node1) and self.isSwitch(node2):
                self.setIntfIp(node1, node2, f"20.{ids[node1]}.{ids[node2]}.1/24")
                self.setIntfIp(node2, node1, f"20.{ids[node1]}.{ids[node2]}.2/24")

    def l2(self) -> None:
        """Every host in 10.0.0.0/16: hN gets 10.0.N>>8.N&255, others the next free
        address; host MAC 00:00:<ip>, the switch port facing it 00:01:<ip>."""
        self._check_simple("l2")
        generator = ipaddress.IPv4Network("10.0.0.0/16").hosts()
        reserved = {h: f"10.0.{n >> 8 & 0xff}.{n & 0xff}" for h in self.hosts()
                    if (n := self._host_number(h)) is not None}
        assigned: set[str] = set()
        for host, switch in self._host_links():
            if host in reserved:
                ip = reserved[host]
                if ip in assigned:
                    raise NetworkAPIError(f"l2(): IP {ip} has been already assigned to a host")
            else:
                ip = str(next(generator))
                while ip in assigned or ip in reserved.values():
                    ip = str(next(generator))
            assigned.add(ip)
            self._set_host(host, switch, ip, 16, None)

    def mixed(self) -> None:
        """Hosts of one switch share 10.<id>.0/24 (hN gets .N), gateway .254 on the
        switch port; switch-to-switch links get 20.<id1>.<id2>.1 and .2."""
        self._check_simple("mixed")
        ids = {s: self._switch_id(s) for s in self.switches()}
        generators = {s: ipaddress.IPv4Network(f"10.{i >> 8 & 0xff}.{i & 0xff}.0/24").hosts()
                      for s, i in ids.items()}
        links = self._host_links()
        reserved = {}
        for host, switch in links:
            n = self._host_number(host)
            if n is not None:
                if n >= 254:
                    raise NetworkAPIError(f"mixed(): host number {n} is not below 254")
                i = ids[switch]
                reserved[host] = f"10.{i >> 8 & 0xff}.{i & 0xff}.{n}"
        assigned: set[str] = set()
        for host, switch in links:
            i = ids[switch]
            if host in reserved:
                ip = reserved[host]
                if ip in assigned:
                    raise NetworkAPIError(f"mixed(): IP {ip} has been already assigned to a host")
            else:
                ip = str(next(generators[switch]))
                while ip in assigned or ip in reserved.values():
                    ip = str(next(generators[switch]))
            assigned.add(ip)
            self._set_host(host, switch, ip, 24, f"10.{i >> 8 & 0xff}.{i & 0xff}.254")
        self._switch_links(ids)

    def l3(self) -> None:
        """Each host its own 10.<switch id>.<N>.0/24: host .2, gateway .1 on the
        switch port; switch-to-switch links get 20.<id1>.<id2>.1 and .2."""
        self._check_simple("l3")
        ids = {s: self._switch_id(s) for s in self.switches()}
        links = self._host_links()
        taken: dict[str, list[int]] = {s: [] for s in ids}
        for host, switch in links:
            n = self._host_number(host)
            if n is not None:
                if n >= 254:
                    raise NetworkAPIError(f"l3(): host number {n} is not below 254")
                taken[switch].append(n)
        assigned: set[str] = set()
        for host, switch in links:
            if ids[switch] >= 254:
                raise NetworkAPIError(f"l3(): switch id {ids[switch]} is not below 254")
            n = self._host_number(host)
            if n is None:
                n = next_element(taken[switch], minimum=1, maximum=254)
                taken[switch].append(n)
            ip, gateway = f"10.{ids[switch]}.{n}.2", f"10.{ids[switch]}.{n}.1"
            for address in (ip, gateway):
                if address in assigned:
                    raise NetworkAPIError(f"l3(): IP {address} has been already assigned")
                assigned.add(address)
            self._set_host(host, switch, ip, 24, gateway)
        self._switch_links(ids)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from .common import did_you_mean

        methods = [m for m in dir(type(self)) if not m.startswith("_")]
        raise AttributeError(did_you_mean(
            f"NetworkAPI.{name}: not part of p4-utils' NetworkAPI as labtool knows it", name,
            methods))
