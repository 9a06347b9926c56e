"""The recording NetworkAPI assigns what p4-utils assigns (device ids, ports in natural
link order, l2/mixed/l3 addresses), and exercises become labs and manifests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labtool.errors import LabtoolError
from labtool.manifest import load_lab
from labtool.p4utils.exercise import load_exercise
from labtool.p4utils.importer import write_manifest
from labtool.p4utils.network_api import NetworkAPI, NetworkAPIError, StartNetwork

COURSE = Path(__file__).resolve().parents[1] / "fixtures" / "course"


def started(net: NetworkAPI) -> NetworkAPI:
    with pytest.raises(StartNetwork):
        net.startNetwork()
    return net


def ports(net: NetworkAPI) -> dict[tuple[str, str], int]:
    out = {}
    for a, b, info in net.links(withInfo=True):
        out[(a, b)], out[(b, a)] = info["port1"], info["port2"]
    return out


def host_ip(net: NetworkAPI, host: str) -> str:
    return str(net.getNode(host)["ip"])


def test_default_numbering_follows_p4utils() -> None:
    net = NetworkAPI()
    for h in ("h1", "h2", "h3"):
        net.addHost(h)
    net.addP4Switch("s1")
    net.addP4RuntimeSwitch("s2")
    net.addLink("h1", "s1")
    net.addLink("s2", "h3")
    net.addLink("s1", "s2")
    net.addLink("h2", "s1", port2=7)
    started(net)
    p = ports(net)
    # links in natural order: h1-s1, h2-s1 (port 7 given), s1-s2, s2-h3
    assert (p[("s1", "h1")], p[("s1", "h2")], p[("s1", "s2")]) == (1, 7, 2)
    assert (p[("s2", "s1")], p[("s2", "h3")], p[("h1", "s1")]) == (1, 2, 0)
    assert [host_ip(net, h) for h in ("h1", "h2", "h3")] == ["10.0.0.1/8", "10.0.0.2/8",
                                                             "10.0.0.3/8"]
    assert net.getNode("s1")["device_id"] == 1 and net.getNode("s2")["device_id"] == 2


def test_l2() -> None:
    net = NetworkAPI()
    net.addP4RuntimeSwitch("s1")
    for h in ("h1", "srv", "h300"):
        net.addHost(h)
        net.addLink("s1", h)
    net.l2()
    started(net)
    assert host_ip(net, "h1") == "10.0.0.1/16"
    assert host_ip(net, "h300") == "10.0.1.44/16"
    assert host_ip(net, "srv") == "10.0.0.2/16"  # the first free one; 10.0.0.1 is h1's
    link, _ = net.getLink("s1", "h1")
    assert (link["addr1"], link["addr2"]) == ("00:01:0a:00:00:01", "00:00:0a:00:00:01")


def test_mixed() -> None:
    net = NetworkAPI()
    net.addP4Switch("s1")
    net.addP4Switch("s2")
    for h, s in (("h1", "s1"), ("h2", "s1"), ("h3", "s2")):
        net.addHost(h)
        net.addLink(h, s)
    net.addLink("s1", "s2")
    net.mixed()
    started(net)
    assert host_ip(net, "h2") == "10.0.1.2/24" and host_ip(net, "h3") == "10.0.2.3/24"
    assert net.getNode("h3")["defaultRoute"] == "via 10.0.2.254"
    link, _ = net.getLink("s1", "s2")
    assert (link["sw_ip1"], link["sw_ip2"]) == ("20.1.2.1/24", "20.1.2.2/24")


def test_routing_exercise_l3_and_command_files() -> None:
    ex = load_exercise(COURSE / "exercise-routing")
    lab = ex.lab
    h1, h2 = lab.hosts["h1"], lab.hosts["h2"]
    assert (h1.ip, h1.prefixlen, h1.mac, h1.gateway) == ("10.1.1.2", 24, "00:00:0a:01:01:02",
                                                        "10.1.1.1")
    assert (h2.ip, h2.gateway) == ("10.2.2.2", "10.2.2.1")
    assert lab.host_port == {"h1": ("s1", 1), "h2": ("s2", 1)}
    assert lab.port_mac("s1", 1) == "00:01:0a:01:01:02"
    assert lab.port_ips[("s1", 2)] == "20.1.2.1/24"
    assert lab.course is not None and set(lab.course.commands) == {"s1", "s2"}
    assert ex.notes == ["setBw(): labtool does not shape links (tc); ignored"]


def test_repeater_exercise_runs_its_control_plane() -> None:
    ex = load_exercise(COURSE / "exercise-repeater" / "network_topo.py")
    assert ex.pcap and ex.lab.log_level == "trace"
    assert ex.lab.course is not None
    assert [s.name for s in ex.lab.course.scripts] == ["control_plane.py"]
    assert ex.lab.host_port == {"h1": ("s1", 1), "h2": ("s1", 2)}


def test_cpu_port_is_numbered_like_a_link() -> None:
    net = NetworkAPI()
    net.addP4RuntimeSwitch("s1")
    net.setP4Source("s1", "x.p4")
    for h in ("h1", "h2"):
        net.addHost(h)
        net.addLink("s1", h)
    net.enableCpuPort("s1")
    net.l2()
    started(net)
    assert ports(net)[("s1", "sw-cpu")] == 3


def test_what_labtool_cannot_build() -> None:
    net = NetworkAPI()
    with pytest.raises(NetworkAPIError, match="Open vSwitch"):
        net.addSwitch("s1")
    with pytest.raises(NetworkAPIError, match="routers are not supported"):
        net.addRouter("r1")
    net.addP4Switch("s1")
    net.addHost("h1")
    net.addLink("s1", "h1")
    net.setDelay("s1", "h1", "5ms")
    net.setBwAll(10)
    assert len(net.notes) == 2 and all("tc" in n for n in net.notes)
    with pytest.raises(AttributeError, match="did you mean 'addLink'"):
        net.addLnk("s1", "h1")  # type: ignore[attr-defined]


def test_exercise_without_program(tmp_path: Path) -> None:
    (tmp_path / "network_topo.py").write_text(
        "from p4utils.mininetlib.network_API import NetworkAPI\n"
        "net = NetworkAPI()\nnet.addP4Switch('s1')\nnet.addHost('h1')\n"
        "net.addLink('s1', 'h1')\nnet.startNetwork()\n")
    with pytest.raises(LabtoolError, match="switch s1 has no P4 program"):
        load_exercise(tmp_path)
    (tmp_path / "network_topo.py").write_text("x = 1\n")
    with pytest.raises(LabtoolError, match="never calls net.startNetwork"):
        load_exercise(tmp_path)


def test_import_writes_a_manifest_labtool_loads(tmp_path: Path) -> None:
    exercise = tmp_path / "exercise-routing"
    shutil.copytree(COURSE / "exercise-routing", exercise)
    ex = load_exercise(exercise)
    manifest, verifier = write_manifest(ex)
    assert manifest == exercise / "exercise-routing.toml" and verifier == exercise / "verify.py"
    lab = load_lab(manifest, manifest.parent)
    assert lab.hosts == ex.lab.hosts and lab.links == ex.lab.links
    assert lab.port_macs == ex.lab.port_macs and lab.port_ips == ex.lab.port_ips
    assert {n: s.device_id for n, s in lab.switches.items()} == {"s1": 1, "s2": 2}
    assert lab.course == ex.lab.course and lab.host_stacks
    assert "note: setBw()" in manifest.read_text()
    # a second import keeps the verifier the student edited
    (exercise / "verify.py").write_text("def verify(lab):\n    pass\n")
    assert write_manifest(ex)[1] is None
