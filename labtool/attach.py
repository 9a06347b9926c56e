"""Reaching a network started by `labtool up` from another process: a
controller run by hand, `labtool registers`. The live run is found through the
run registry; its topology.json has every address needed."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import finsy as fy

from .context import LabContext
from .controlplane import SwitchControl
from .errors import LabtoolError, unknown_name
from .hostio import HostPort, in_netns
from .manifest import find_lab
from .p4runtime import P4RuntimeSession
from .registry import RunRecord, live_records
from .thrift_runtime import ThriftRuntime

# Higher than the election id labtool itself uses, so a by-hand controller becomes primary.
ATTACH_ELECTION_ID = 2


def chosen_run() -> RunRecord:
    """The live network by-hand tools mean: the one `labtool up` (or LABTOOL_RUN, a
    labtool pid or lab name, when several are up)."""
    records = live_records()
    wanted = os.environ.get("LABTOOL_RUN")
    if wanted:
        match = [r for r in records if wanted in (str(r.owner.pid), r.lab)]
        if not match:
            raise LabtoolError(f"LABTOOL_RUN={wanted}: no live labtool run has that pid or lab",
                               hint=_listing(records))
        return match[-1]
    ups = [r for r in records if r.kind == "up"]
    if len(ups) == 1:
        return ups[0]
    if not ups:
        raise LabtoolError("no lab network is running", hint="start one with: sudo labtool up <lab>")
    raise LabtoolError("several lab networks are up: say which with LABTOOL_RUN=<pid or lab>",
                       hint=_listing(ups))


def _listing(records: list[RunRecord]) -> str:
    return "live runs: " + (", ".join(f"pid {r.owner.pid} ({r.lab}, {r.kind})" for r in records)
                            or "none")


def live_topology() -> tuple[Path, dict[str, Any]]:
    record = chosen_run()
    run_dir = Path(record.run_dir)
    topo_path = run_dir / "topology.json"
    if not topo_path.is_file():
        raise LabtoolError(f"the running lab has no {topo_path} yet (still starting?)")
    return run_dir, json.loads(topo_path.read_text())


def switch_nodes(topo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in topo["nodes"] if n.get("isP4Switch")}


def connect_switch(node: dict[str, Any], netns_pid: int,
                   p4runtime: bool = True) -> SwitchControl:
    """A control plane for one switch; Thrift connects inside the run's switch namespace
    (whose holder is `netns_pid`), gRPC through the switch's Unix socket."""
    schema = fy.P4Schema(Path(node["p4rt_path"]), Path(node["json_path"]))
    session = P4RuntimeSession(node["grpc_address"], node["device_id"], ATTACH_ELECTION_ID)
    if p4runtime:
        session.open()

    def make_socket(family: int, kind: int) -> socket.socket:
        return in_netns(netns_pid, lambda: socket.socket(family, kind))

    control = SwitchControl(node["id"], session, schema,
                            ThriftRuntime(node["thrift_port"], make_socket=make_socket))
    control.grpc_port = int(node["grpc_port"])
    return control


def netns_pid(topo: dict[str, Any]) -> int:
    """The pid holding the run's switch namespace (graph.switch_netns = /proc/<pid>/ns/net)."""
    return int(str(topo["graph"]["switch_netns"]).split("/")[2])


def attach_switch(name: str, p4runtime: bool = False) -> SwitchControl:
    _, topo = live_topology()
    nodes = switch_nodes(topo)
    if name not in nodes:
        raise LabtoolError(unknown_name("switch", name, nodes))
    return connect_switch(nodes[name], netns_pid(topo), p4runtime)


def attach_switches(p4runtime: bool = False) -> dict[str, SwitchControl]:
    """Every switch of the running network, for reading (registers need no P4Runtime
    session: a collector must not take over as primary controller)."""
    _, topo = live_topology()
    pid = netns_pid(topo)
    return {name: connect_switch(node, pid, p4runtime) for name, node in switch_nodes(topo).items()}


def attach_host_port(name: str) -> HostPort:
    """A raw packet socket on a host of the running network (e.g. to listen as a
    collector)."""
    _, topo = live_topology()
    hosts = {n["id"]: n for n in topo["nodes"] if n.get("isHost")}
    if name not in hosts:
        raise LabtoolError(unknown_name("host", name, hosts))
    return HostPort.open(name, hosts[name]["pid"], hosts[name]["interface"])


def attach(reset_tables: bool = True) -> LabContext:
    """A LabContext on the running network (switches only: packet ports stay with labtool).
    Table entries are cleared first so a controller run by hand starts from a clean slate
    (its inserts would otherwise collide with what the last run installed)."""
    run_dir, topo = live_topology()
    lab_name = topo["graph"]["lab"]
    from .workspace import workspace
    lab = find_lab(workspace().root, lab_name)
    pid = netns_pid(topo)
    switches = {name: connect_switch(node, pid) for name, node in switch_nodes(topo).items()}
    if reset_tables:
        for control in switches.values():
            control.clear_all_tables()
    pids = {n["id"]: int(n["pid"]) for n in topo["nodes"] if n.get("isHost")}
    return LabContext(lab, switches, host_pid=pids.__getitem__)
