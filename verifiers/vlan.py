"""Verifier for lab 1.3 (VLAN handler). h1 is on the trunk (port 1); h2-h4 on
access ports 2-4.

Must prove every rule of the spec for every configuration the contract allows, not
only the course's: after checking the controller's VID map, the verifier rewrites
vlan_table and port_to_vlan through P4Runtime with a seeded configuration (cleared and
refilled), then edits it entry by entry (modify, delete, insert). The configurations
remap every course VID (VID v and 10*v to different places, none to its course
port), use VIDs 0, 1, 4094, 4095 and VIDs one bit away from the course's, explicit
forward(2) next to the default path, drop() entries, a forward to a port without a
host, VIDs without an entry (the default: port 2), access ports tagging with 4095,
0/1/4094 and random VIDs, an access port with drop() and one without an entry (its
frames must be dropped). In each configuration the trunk sends one tagged frame per
VID of interest with PCP/DEI through all 16 values and every inner EtherType (IPv4
UDP/TCP/ICMP, ARP, IPv6, other, 802.3 length, a doubly tagged frame) plus untagged
frames (incl. an 802.1ad S-tag), and every access port sends untagged frames of every
kind and a tagged one; each output frame is compared whole with the reference model
(vlan_model.output: exact tag PCP 0, DEI 0, VID, inner EtherType), and every host
that should stay silent must receive nothing. Relies on the contract names only.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from labtool.context import HostInfo, LabContext
from labtool.controlplane import Entry, SwitchControl
from labtool.loader import load_module

model = load_module(Path(__file__).with_name("vlan_model.py"), "vlan_model")

VID_KEY = "hdr.vlan.vid"
PORT_KEY = "standard_metadata.ingress_port"


def vid_entry(vid: int, port: int | None) -> Entry:
    return Entry({VID_KEY: vid}, "drop") if port is None else \
        Entry({VID_KEY: vid}, "forward", {"port": port})


def port_entry(port: int, vid: int | None) -> Entry:
    return Entry({PORT_KEY: port}, "drop") if vid is None else \
        Entry({PORT_KEY: port}, "add_vlan_hdr", {"vid": vid})


def rewrite(s1: SwitchControl, table: str, old: dict[int, int | None], new: dict[int, int | None],
            entry: Callable[[int, int | None], Entry]) -> None:
    """Turn `table` from `old` into `new` entry by entry: modify where both have the key
    with different actions, delete where `new` lacks it, insert where `old` did."""
    for key in sorted(set(old) | set(new)):
        if key not in new:
            s1.table_delete(table, dict(entry(key, old[key]).match))
        elif key not in old:
            e = entry(key, new[key])
            s1.table_add(table, e.match, e.action, e.params)
        elif old[key] != new[key]:
            e = entry(key, new[key])
            s1.table_modify(table, e.match, e.action, e.params)


def install(s1: SwitchControl, old: Any, phase: Any) -> None:
    """Make the tables hold `phase`'s configuration (`old` is what they hold now)."""
    new = phase.config
    if phase.clear_first:
        for table in ("vlan_table", "port_to_vlan"):
            s1.table_clear(table)
        s1.table_add_many("vlan_table", [vid_entry(v, p) for v, p in new.vid_port.items()])
        s1.table_add_many("port_to_vlan", [port_entry(p, v) for p, v in new.port_vid.items()])
        return
    rewrite(s1, "vlan_table", old.vid_port, new.vid_port, vid_entry)
    rewrite(s1, "port_to_vlan", old.port_vid, new.port_vid, port_entry)


def station(host: HostInfo) -> Any:
    return model.Station(host.name, host.mac, host.ip, host.port)


def verify(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    trunk = station(lab.host("h1"))
    access = [station(lab.host(n)) for n in ("h2", "h3", "h4")]
    host_at = {st.port: st.name for st in (trunk, *access)}
    port_of = {st.name: st.port for st in (trunk, *access)}
    void_port = lab.rng.randrange(5, 511)  # no host there; 511 is BMv2's drop port
    current = model.COURSE  # what the controller installed
    for phase in model.plan(lab.rng, void_port):
        lab.note(f"{phase.title}: {model.describe(phase.config)}")
        sends = model.traffic(lab.rng, phase, trunk, access)
        want: dict[str, list[bytes]] = {}
        for host, frames in sends.items():
            for frame in frames:
                for port, out in model.output(phase.config, port_of[host], frame):
                    if port in host_at:
                        want.setdefault(host_at[port], []).append(out)
        with lab.check(f"{phase.title} ({model.summary(phase.config)}): trunk frames reach "
                       "their VID's port untagged (unknown VID: port 2), access frames reach "
                       "the trunk tagged PCP 0 DEI 0 with their port's VID, wrong-side frames "
                       "and drop()/no-entry ports are dropped; nothing else arrives"):
            install(s1, current, phase)
            current = phase.config
            lab.exchange(sends, expect=want, ordered=False)
