"""topology.json of every lab, read with the p4-utils compatible load_topo, answers the
topology queries course controllers make consistently with the lab's manifest."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from labtool.bmv2 import SwitchProcess
from labtool.compiler import Artifacts
from labtool.manifest import Lab, find_lab, lab_names
from labtool.network import LabNetwork
from labtool.p4utils.helper import load_topo
from labtool.p4utils.topology import NetworkGraph, TopologyError
from tests.conftest import ROOT

LABS = lab_names(ROOT)


def write_topology(lab: Lab, run_dir: Path) -> Path:
    """The topology.json labtool writes for a started network, without starting one."""
    art = Artifacts(lab.program, run_dir / "prog.json", run_dir / "prog.p4info.txtpb", True, 0.0,
                    "")
    record = SimpleNamespace(private_dir=run_dir)
    net = LabNetwork(lab, run_dir, {s: art for s in lab.switches}, record)  # type: ignore[arg-type]
    for i, sw in enumerate(lab.switches.values()):
        net.switches[sw.name] = SwitchProcess(sw.name, sw.device_id, {}, run_dir, None, run_dir,
                                              thrift_port=30000 + i)
        net.grpc_ports[sw.name] = 20000 + i
    net.host_pid = lambda name: 4242  # type: ignore[method-assign]
    return net.write_topology()


@pytest.fixture(params=LABS)
def lab_topo(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Lab, NetworkGraph]:
    lab = find_lab(ROOT, request.param)
    return lab, load_topo(write_topology(lab, tmp_path))


def test_hosts(lab_topo: tuple[Lab, NetworkGraph]) -> None:
    lab, topo = lab_topo
    assert set(topo.get_hosts()) == set(lab.hosts)
    for host in lab.hosts.values():
        switch, port = lab.host_port[host.name]
        assert topo.get_host_ip(host.name) == host.ip
        assert topo.get_host_mac(host.name) == host.mac
        assert topo.get_host_name(host.ip) == host.name
        assert topo.get_host_gateway_name(host.name) == switch
        assert topo.node_to_node_port_num(switch, host.name) == port
        assert topo.node_to_node_port_num(host.name, switch) == 0
        assert topo.node_to_node_mac(host.name, switch) == host.mac
        assert topo.node_to_node_mac(switch, host.name) == lab.port_mac(switch, port)
        assert topo.interface_to_node(switch, f"{switch}-eth{port}") == host.name
        assert topo.port_to_node(switch, port) == host.name
        assert topo.subnet(host.name, switch) is not None
        assert topo.are_neighbors(host.name, switch)


def test_switches(lab_topo: tuple[Lab, NetworkGraph]) -> None:
    lab, topo = lab_topo
    assert list(topo.get_p4switches()) == list(lab.switches)
    assert list(topo.get_p4rtswitches()) == list(lab.switches)
    for i, sw in enumerate(lab.switches.values()):
        data = topo.get_p4rtswitches()[sw.name]
        assert data["device_id"] == sw.device_id == topo.get_p4switch_id(sw.name)
        assert data["grpc_port"] == 20000 + i == topo.get_grpc_port(sw.name)
        assert topo.get_thrift_port(sw.name) == 30000 + i
        assert {"p4rt_path", "json_path"} <= set(data)
        hosts = {h for h, (s, _) in lab.host_port.items() if s == sw.name}
        assert set(topo.get_hosts_connected_to(sw.name)) == hosts
        if sw.cpu_port is None:
            assert topo.get_cpu_port_index(sw.name, quiet=True) is None
        else:
            assert topo.get_cpu_port_index(sw.name) == sw.cpu_port


def test_switch_links_and_paths(lab_topo: tuple[Lab, NetworkGraph]) -> None:
    lab, topo = lab_topo
    for link in lab.links:
        a, b = link.a, link.b
        if a.node in lab.switches and b.node in lab.switches:
            assert topo.node_to_node_port_num(a.node, b.node) == a.port
            assert topo.node_to_node_port_num(b.node, a.node) == b.port
            assert topo.node_to_node_mac(b.node, a.node) == lab.port_mac(b.node, b.port or 0)
            assert b.node in topo.get_switches_connected_to(a.node)
    hosts = sorted(lab.hosts)
    for src in hosts:
        for dst in hosts:
            if src != dst:
                paths = topo.get_shortest_paths_between_nodes(src, dst)
                assert paths and all(p[0] == src and p[-1] == dst for p in paths)
                assert all(p[1] == lab.host_port[src][0] for p in paths)


def test_unknown_names_raise_with_the_valid_ones(tmp_path: Path) -> None:
    topo = load_topo(write_topology(find_lab(ROOT, "vlan"), tmp_path))
    with pytest.raises(TopologyError, match="no node 'h9'.*valid: h1, h2, h3, h4, s1"):
        topo.get_host_ip("h9")
    with pytest.raises(TopologyError, match="h1 has no link to h2"):
        topo.node_to_node_port_num("h1", "h2")
    with pytest.raises(TopologyError, match="s1 is not a host"):
        topo.get_host_ip("s1")
    with pytest.raises(TopologyError, match="does not exist"):
        load_topo(tmp_path / "nope.json")


def test_fields_networkx_style(tmp_path: Path) -> None:
    topo = load_topo(write_topology(find_lab(ROOT, "hh-v2"), tmp_path))
    assert topo.get_hosts(fields=["ip"]) == {"h1": "10.0.1.1/24", "h2": "10.0.2.2/24"}
    assert topo.get_p4switches(fields=["device_id", "thrift_port"])["s2"] == (2, 30001)
    assert "s1" in topo and sorted(topo.nodes) == ["h1", "h2", "s1", "s2"]
    assert topo.nodes["s1"]["device_id"] == 1
    assert sorted(topo.neighbors("s1")) == ["h1", "s2"]
    assert topo.get_all_paths_between_nodes("h1", "h2") == [("h1", "s1", "s2", "h2")]
    assert topo.total_number_of_paths() == 2
    topo.keep_only_p4switches()
    assert sorted(topo.nodes) == ["s1", "s2"] and topo.get_neighbors("s1") == ["s2"]
