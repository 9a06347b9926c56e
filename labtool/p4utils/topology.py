"""p4-utils' topology object (`load_topo('topology.json')`), without networkx.

The file is networkx node-link JSON, as p4-utils and labtool's network.py write it.
Every query answers as p4-utils' NetworkGraph does: `node_to_node_port_num(a, b)`
is a's port toward b, `node_to_node_mac(a, b)` the MAC of a's interface toward b,
`get_p4rtswitches()` a dict of switch name to its attributes (device_id,
grpc_port, thrift_port, p4rt_path, json_path ...). A name that does not exist
raises with the valid names instead of a KeyError.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

from ..errors import LabtoolError, unknown_name

Attrs = dict[str, Any]


class TopologyError(LabtoolError):
    """A topology query named something the topology does not have."""


class NodeDoesNotExist(TopologyError):
    pass


class IntfDoesNotExist(TopologyError):
    pass


class InvalidHostIP(TopologyError):
    pass


def _reduce(items: dict[str, Attrs], fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """p4-utils' `fields` argument: one field gives its value, several a tuple."""
    if not fields:
        return items
    out: dict[str, Any] = {}
    for name, attrs in items.items():
        values = tuple(attrs.get(f) for f in fields)
        out[name] = values[0] if len(fields) == 1 else values
    return out


def normalise_node(attrs: Attrs) -> Attrs:
    """labtool writes the CPU port as its number (`cpu_port: 3`); p4-utils as a flag
    plus `cpu_port_num`. Both spellings are answered the p4-utils way."""
    cpu = attrs.get("cpu_port")
    if isinstance(cpu, int) and not isinstance(cpu, bool):
        attrs = {**attrs, "cpu_port": True, "cpu_port_num": cpu}
    elif cpu is None and attrs.get("isP4Switch"):
        attrs = {**attrs, "cpu_port": False}
    return attrs


class NodeView(dict[str, Attrs]):
    """`topo.nodes`: iterate names, `topo.nodes['s1']` for attributes, and callable
    like networkx's (`topo.nodes(data=True)`)."""

    def __call__(self, data: bool = False) -> list[Any]:
        return list(self.items()) if data else list(self)


class NetworkGraph:
    def __init__(self, data: dict[str, Any]) -> None:
        self.graph: Attrs = dict(data.get("graph") or {})
        self.nodes = NodeView()
        self._adj: dict[str, dict[str, Attrs]] = {}
        for node in data.get("nodes", []):
            name = node["id"]
            self.nodes[name] = normalise_node({k: v for k, v in node.items() if k != "id"})
            self._adj[name] = {}
        for link in data.get("links", []):
            a, b = link.get("source", link.get("node1")), link.get("target", link.get("node2"))
            attrs = {k: v for k, v in link.items() if k not in ("source", "target")}
            attrs.setdefault("node1", a)
            attrs.setdefault("node2", b)
            attrs.setdefault("weight", 1)
            for end in (a, b):
                if end not in self.nodes:
                    raise TopologyError(f"topology: link {a}-{b} names node {end!r}, which is "
                                        "not among the nodes")
            self._adj[a][b] = attrs
            self._adj[b][a] = attrs
        self.edge_to_intf: dict[str, dict[str, Attrs]] = {n: {} for n in self.nodes}
        self.node_to_intf: dict[str, dict[str, Attrs]] = {n: {} for n in self.nodes}
        self.ip_to_host: dict[str, Attrs] = {}
        for name, attrs in self.nodes.items():
            ip = attrs.get("ip")
            if attrs.get("isHost") and ip:
                self.ip_to_host[str(ip).split("/")[0]] = {"name": name, **attrs}
            for neighbor in self._adj[name]:
                intf = self._edge_to_intf(name, neighbor)
                self.edge_to_intf[name][neighbor] = intf
                if intf.get("intfName") is not None:
                    self.node_to_intf[name][intf["intfName"]] = intf

    def _edge_to_intf(self, node: str, neighbor: str) -> Attrs:
        """The link seen from `node`: its own fields without the digit (port, addr,
        intfName, ip), the other end's with `_neigh` (node_neigh, port_neigh ...)."""
        link = self._adj[node][neighbor]
        mine, theirs = ("1", "2") if link["node1"] == node else ("2", "1")
        intf: Attrs = {}
        for key, value in link.items():
            if key.endswith(mine) and not key.endswith(theirs):
                intf[key[:-1]] = value
            elif key.endswith(theirs):
                intf[key[:-1] + "_neigh"] = value
            else:
                intf[key] = value
        return intf

    # -- networkx-like basics ------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> dict[str, Attrs]:
        self.checkNode(name)
        return self._adj[name]

    def neighbors(self, name: str) -> Iterator[str]:
        self.checkNode(name)
        return iter(self._adj[name])

    @property
    def edges(self) -> list[tuple[str, str]]:
        seen: set[frozenset[str]] = set()
        out = []
        for a, nbrs in self._adj.items():
            for b in nbrs:
                if frozenset((a, b)) not in seen:
                    seen.add(frozenset((a, b)))
                    out.append((a, b))
        return out

    # -- node sets -----------------------------------------------------------------------
    def _subset(self, flag: str, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
        return _reduce({n: a for n, a in self.nodes.items() if a.get(flag)}, fields)

    def get_nodes(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return _reduce(dict(self.nodes), fields)

    def get_switches(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self._subset("isSwitch", fields)

    def get_p4switches(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self._subset("isP4Switch", fields)

    def get_p4rtswitches(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self._subset("isP4RuntimeSwitch", fields)

    def get_hosts(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self._subset("isHost", fields)

    def get_routers(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self._subset("isRouter", fields)

    def get_intfs(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return {n: _reduce(v, fields) for n, v in self.edge_to_intf.items()}

    def get_node_intfs(self, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return {n: _reduce(v, fields) for n, v in self.node_to_intf.items()}

    # -- node kinds ------------------------------------------------------------------------
    def isNode(self, name: str) -> bool:  # noqa: N802 - p4-utils' names
        return name in self.nodes

    def checkNode(self, name: str) -> None:  # noqa: N802
        if name not in self.nodes:
            raise NodeDoesNotExist("topology: " + unknown_name("node", str(name), self.nodes))

    def isIntf(self, node1: str, node2: str) -> bool:  # noqa: N802
        return node2 in self.edge_to_intf.get(node1, {})

    def checkIntf(self, node1: str, node2: str) -> None:  # noqa: N802
        self.checkNode(node1)
        self.checkNode(node2)
        if not self.isIntf(node1, node2):
            raise IntfDoesNotExist(f"topology: {node1} has no link to {node2} (its neighbours: "
                                   f"{', '.join(self._adj[node1]) or 'none'})")

    def _is(self, name: str, flag: str) -> bool:
        self.checkNode(name)
        return bool(self.nodes[name].get(flag, False))

    def isHost(self, name: str) -> bool:  # noqa: N802
        return self._is(name, "isHost")

    def isSwitch(self, name: str) -> bool:  # noqa: N802
        return self._is(name, "isSwitch")

    def isP4Switch(self, name: str) -> bool:  # noqa: N802
        return self._is(name, "isP4Switch")

    def isP4RuntimeSwitch(self, name: str) -> bool:  # noqa: N802
        return self._is(name, "isP4RuntimeSwitch")

    def isRouter(self, name: str) -> bool:  # noqa: N802
        return self._is(name, "isRouter")

    def isType(self, name: str, node_type: str) -> bool:  # noqa: N802
        kinds = {"host": "isHost", "switch": "isSwitch", "p4switch": "isP4Switch",
                 "p4rtswitch": "isP4RuntimeSwitch", "router": "isRouter"}
        if node_type not in kinds:
            raise TopologyError("topology: " + unknown_name("node type", node_type, kinds))
        return self._is(name, kinds[node_type])

    def _require(self, name: str, flag: str, what: str) -> Attrs:
        if not self._is(name, flag):
            kinds = [n for n, a in self.nodes.items() if a.get(flag)]
            raise TopologyError(f"topology: {name} is not a {what} ({what}s: "
                                f"{', '.join(kinds) or 'none'})")
        return self.nodes[name]

    # -- interfaces ------------------------------------------------------------------------
    def _node_interface(self, node: str, intf: str) -> Attrs:
        self.checkNode(node)
        intfs = self.node_to_intf[node]
        if intf not in intfs:
            raise IntfDoesNotExist("topology: " + unknown_name(f"interface of {node}", intf, intfs))
        return intfs[intf]

    def get_neighbors(self, name: str) -> list[str]:
        self.checkNode(name)
        return list(self._adj[name])

    def are_neighbors(self, node1: str, node2: str) -> bool:
        self.checkNode(node1)
        self.checkNode(node2)
        return node1 in self._adj[node2]

    def node_to_node_port_num(self, node1: str, node2: str) -> Any:
        self.checkIntf(node1, node2)
        return self.edge_to_intf[node1][node2].get("port")

    def node_to_node_mac(self, node1: str, node2: str) -> Any:
        self.checkIntf(node1, node2)
        return self.edge_to_intf[node1][node2].get("addr")

    def node_to_node_interface_ip(self, node1: str, node2: str) -> Any:
        self.checkIntf(node1, node2)
        return self.edge_to_intf[node1][node2].get("ip")

    def node_to_node_interface_bw(self, node1: str, node2: str) -> Any:
        self.checkIntf(node1, node2)
        bw = self.edge_to_intf[node1][node2].get("bw")
        return -1 if bw is None else bw

    def node_interface_ip(self, node: str, intf: str) -> str | None:
        ip = self._node_interface(node, intf).get("ip")
        return None if ip is None else str(ip).split("/")[0]

    def node_interface_bw(self, node: str, intf: str) -> Any:
        bw = self._node_interface(node, intf).get("bw")
        return -1 if bw is None else bw

    def subnet(self, node1: str, node2: str) -> str | None:
        ip = self.node_to_node_interface_ip(node1, node2)
        return None if ip is None else ip_interface(ip).network.with_prefixlen

    def get_interfaces(self, name: str) -> list[str]:
        self.checkNode(name)
        return list(self.node_to_intf[name])

    def get_interfaces_to_node(self, node: str) -> dict[str, str]:
        self.checkNode(node)
        return {intf: attrs["node_neigh"] for intf, attrs in self.node_to_intf[node].items()}

    def interface_to_node(self, node: str, intf: str) -> Any:
        return self._node_interface(node, intf)["node_neigh"]

    def interface_to_port(self, node: str, intf: str) -> Any:
        return self._node_interface(node, intf)["port"]

    def port_to_node(self, node: str, port: int) -> str:
        for neighbor in self.get_neighbors(node):
            if self.node_to_node_port_num(node, neighbor) == port:
                return neighbor
        ports = sorted(str(self.node_to_node_port_num(node, n)) for n in self._adj[node])
        raise TopologyError(f"topology: {node} has no port {port} (its ports: {', '.join(ports)})")

    # -- switches --------------------------------------------------------------------------
    def get_cpu_port_intf(self, name: str, quiet: bool = False) -> Any:
        attrs = self.nodes.get(name, {})
        if self.isP4Switch(name) and attrs.get("cpu_port"):
            return attrs.get("cpu_intf")
        if not quiet:
            print(f"Switch {name} has no cpu port.")
        return None

    def get_cpu_port_index(self, name: str, quiet: bool = False) -> Any:
        attrs = self.nodes.get(name, {})
        if self.isP4Switch(name) and attrs.get("cpu_port"):
            return attrs.get("cpu_port_num")
        if not quiet:
            print(f"Switch {name} has no cpu port.")
        return None

    def get_ctl_cpu_intf(self, name: str) -> Any:
        attrs = self._require(name, "isP4Switch", "P4 switch")
        if not attrs.get("cpu_port"):
            raise TopologyError(f"topology: switch {name} has no cpu port")
        return attrs.get("cpu_ctl_intf")

    def get_thrift_port(self, name: str) -> Any:
        return self._require(name, "isP4Switch", "P4 switch")["thrift_port"]

    def get_thrift_ip(self, name: str) -> str:
        return str(self._require(name, "isP4Switch", "P4 switch").get("thrift_ip", "0.0.0.0"))

    def get_grpc_port(self, name: str) -> Any:
        return self._require(name, "isP4RuntimeSwitch", "P4Runtime switch")["grpc_port"]

    def get_grpc_ip(self, name: str) -> str:
        attrs = self._require(name, "isP4RuntimeSwitch", "P4Runtime switch")
        return str(attrs.get("grpc_ip", "0.0.0.0"))

    def get_p4switch_id(self, name: str) -> Any:
        return self._require(name, "isP4Switch", "P4 switch")["device_id"]

    # -- hosts -----------------------------------------------------------------------------
    def get_host_name(self, ip: str) -> str:
        host = self.ip_to_host.get(ip)
        if host is None:
            raise InvalidHostIP("topology: " + unknown_name("host IP", ip, self.ip_to_host))
        return str(host["name"])

    def get_host_first_interface(self, name: str) -> str:
        self._require(name, "isHost", "host")
        intfs = list(self.node_to_intf[name])
        if not intfs:
            raise TopologyError(f"topology: host {name} has no interface")
        return intfs[0]

    def get_host_gateway_name(self, name: str) -> Any:
        return self._node_interface(name, self.get_host_first_interface(name))["node_neigh"]

    def get_host_ip(self, name: str) -> str | None:
        ip = self._require(name, "isHost", "host").get("ip")
        return None if ip is None else str(ip).split("/")[0]

    def get_host_mac(self, name: str) -> Any:
        self.checkNode(name)
        return self._node_interface(name, self.get_host_first_interface(name))["addr"]

    def _connected(self, name: str, flag: str) -> list[str]:
        self.checkNode(name)
        return [n for n in self._adj[name] if self.nodes[n].get(flag)]

    def get_hosts_connected_to(self, name: str) -> list[str]:
        return self._connected(name, "isHost")

    def get_switches_connected_to(self, name: str) -> list[str]:
        return self._connected(name, "isSwitch")

    def get_p4switches_connected_to(self, name: str) -> list[str]:
        return self._connected(name, "isP4Switch")

    def get_routers_connected_to(self, name: str) -> list[str]:
        return self._connected(name, "isRouter")

    def get_direct_host_networks_from_switch(self, name: str) -> set[str | None]:
        return {self.subnet(host, name) for host in self.get_hosts_connected_to(name)}

    # -- paths (link attribute `weight`, 1 unless the topology says otherwise) -------------
    def _weight(self, a: str, b: str) -> float:
        return float(self._adj[a][b].get("weight", 1) or 1)

    def get_shortest_paths_between_nodes(self, node1: str, node2: str) -> list[tuple[str, ...]]:
        """Every shortest path from node1 to node2 (Dijkstra keeping all predecessors)."""
        self.checkNode(node1)
        self.checkNode(node2)
        dist = {node1: 0.0}
        preds: dict[str, list[str]] = {node1: []}
        heap = [(0.0, node1)]
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist[node]:
                continue
            for nbr in self._adj[node]:
                nd = d + self._weight(node, nbr)
                if nbr not in dist or nd < dist[nbr]:
                    dist[nbr] = nd
                    preds[nbr] = [node]
                    heapq.heappush(heap, (nd, nbr))
                elif nd == dist[nbr]:
                    preds[nbr].append(node)
        if node2 not in dist:
            return []

        def back(node: str) -> list[list[str]]:
            if node == node1:
                return [[node1]]
            return [p + [node] for prev in preds[node] for p in back(prev)]

        return [tuple(p) for p in back(node2)]

    def get_all_paths_between_nodes(self, node1: str, node2: str) -> list[tuple[str, ...]]:
        """Every simple path, shortest first."""
        self.checkNode(node1)
        self.checkNode(node2)
        paths: list[tuple[float, tuple[str, ...]]] = []

        def walk(path: list[str], cost: float) -> None:
            here = path[-1]
            if here == node2:
                paths.append((cost, tuple(path)))
                return
            for nbr in self._adj[here]:
                if nbr not in path:
                    walk(path + [nbr], cost + self._weight(here, nbr))

        walk([node1], 0.0)
        paths.sort(key=lambda item: (item[0], len(item[1])))
        return [p for _, p in paths]

    def total_number_of_paths(self) -> int:
        hosts = list(self.get_hosts())
        return sum(len(self.get_shortest_paths_between_nodes(a, b))
                   for a in hosts for b in hosts if a != b)

    # -- reductions ------------------------------------------------------------------------
    def _keep(self, keep: set[str]) -> None:
        for name in [n for n in self.nodes if n not in keep]:
            del self.nodes[name]
            for nbr in self._adj.pop(name):
                self._adj[nbr].pop(name, None)
            self.edge_to_intf.pop(name, None)
            self.node_to_intf.pop(name, None)
        for name in self.nodes:
            self.edge_to_intf[name] = {n: i for n, i in self.edge_to_intf[name].items() if n in keep}
            self.node_to_intf[name] = {k: i for k, i in self.node_to_intf[name].items()
                                       if i.get("node_neigh") in keep}

    def keep_only_switches(self) -> None:
        self._keep(set(self.get_switches()))

    def keep_only_p4switches(self) -> None:
        self._keep(set(self.get_p4switches()))

    def keep_only_p4switches_and_hosts(self) -> None:
        self._keep(set(self.get_p4switches()) | set(self.get_hosts()))


def load_topo(json_path: str | Path) -> NetworkGraph:
    """p4-utils' load_topo: the topology a network wrote (labtool's run directory holds
    it; a course script runs with that directory as its working directory)."""
    path = Path(json_path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise TopologyError(f"load_topo: {path} does not exist (working directory "
                            f"{Path.cwd()})") from None
    except (OSError, ValueError) as exc:
        raise TopologyError(f"load_topo: cannot read {path}: {exc}") from None
    return NetworkGraph(data)
