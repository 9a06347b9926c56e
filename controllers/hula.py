"""HULA control plane: roles, host routes, probe flooding groups.

- a ToR (a switch with a host) gets its id = its device id (tor_config), a route to
  its own host (to_host) and, for every other host, the host's ToR (to_tor): which
  spine to take is the data plane's choice;
- a spine routes every host to the port toward the host's ToR (forward);
- probe flooding: on a ToR, group 1 = its uplinks; on a spine, group p = every ToR
  port except p (a probe never goes back where it came from);
- one round of probes at the end, requested from every host, so that paths exist from
  the start (also under `labtool up hula`; the verifier sends its own rounds).

Run by hand against `sudo labtool up hula`: sudo .venv/bin/python controllers/hula.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.routing import switch_links


def tors(lab: LabContext) -> list[str]:
    return sorted({h.switch for h in lab.hosts.values()})


def tor_id(lab: LabContext, switch: str) -> int:
    return lab.lab.switches[switch].device_id


PROBE_TYPE = 0x4855


def request_probes(lab: LabContext) -> None:
    """Every host asks its ToR for a probe (EtherType 0x4855, origin 0, utilisation 0)."""
    for host in lab.hosts.values():
        frame = (b"\xff" * 6 + bytes.fromhex(host.mac.replace(":", ""))
                 + PROBE_TYPE.to_bytes(2, "big")).ljust(60, b"\x00")
        lab.send(host.name, [frame])


def configure(lab: LabContext) -> None:
    links = switch_links(lab.lab)
    leaves = tors(lab)
    for switch in lab.lab.switches:
        control = lab.switch(switch)
        ports = sorted(p for p, _, _ in links[switch])
        if switch in leaves:
            control.table_set_default("tor_config", "set_tor", {"tor_id": tor_id(lab, switch)})
            control.table_add_many("hosts", [
                Entry({"hdr.ipv4.dstAddr": h.ip}, "to_host", {"mac": h.mac, "port": h.port})
                if h.switch == switch else
                Entry({"hdr.ipv4.dstAddr": h.ip}, "to_tor", {"tor": tor_id(lab, h.switch)})
                for h in lab.hosts.values()
            ])
            control.multicast_group(1, ports)
        else:
            toward = {other: port for port, other, _ in links[switch]}
            control.table_add_many("hosts", [
                Entry({"hdr.ipv4.dstAddr": h.ip}, "forward", {"port": toward[h.switch]})
                for h in lab.hosts.values()
            ])
            for port in ports:
                control.multicast_group(port, [p for p in ports if p != port])
    request_probes(lab)


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
