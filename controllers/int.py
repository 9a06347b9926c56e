"""INT control plane: routes, roles and the watchlist.

    h1 -- s1 -- s2 -- s3 -- h2      collector c1 on s3

- every switch: /32 routes to every host (labtool.routing walks the links) and its
  INT switch id (switch_id(): 100 + the switch's device id);
- s1 (source): the watchlist: UDP h1 -> h2 to port WATCHED_PORT gets INT with
  every instruction (bits 0-5) and up to MAX_HOP hops;
- s3 (sink): packets leaving toward h2 are reported to the collector (clone session
  REPORT_SESSION to c1's port, addressed to c1's MAC) and stripped.

The collector (controllers/int_collector.py) decodes the reports.
Run by hand against `sudo labtool up int`: sudo .venv/bin/python controllers/int.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.routing import next_hops

WATCHED_PORT = 5001
MAX_HOP = 8
ALL_INSTRUCTIONS = 0xFC00  # bits 0-5: node id, ports, hop latency, queue, ingress/egress time
REPORT_SESSION = 100
SOURCE, SINK, SINK_HOST, COLLECTOR = "s1", "s3", "h2", "c1"


def switch_id(lab: LabContext, switch: str) -> int:
    return 100 + lab.lab.switches[switch].device_id


def watch(lab: LabContext, src: str, dst: str, dport: int, max_hop: int,
          instructions: int = ALL_INSTRUCTIONS) -> None:
    """Put UDP src -> dst:dport (any source port: a field left out is a wildcard) on
    the source's watchlist."""
    lab.switch(SOURCE).table_add("int_watchlist", {
        "hdr.ipv4.srcAddr": f"{lab.host(src).ip}&&&255.255.255.255",
        "hdr.ipv4.dstAddr": f"{lab.host(dst).ip}&&&255.255.255.255",
        "hdr.udp.dstPort": f"{dport}&&&0xffff",
    }, "int_source", {"max_hop": max_hop, "instructions": instructions}, priority=10)


def configure(lab: LabContext) -> None:
    for switch in lab.lab.switches:
        control = lab.switch(switch)
        control.table_add_many("ipv4_lpm", [
            Entry({"hdr.ipv4.dstAddr": f"{lab.host(h).ip}/32"}, "ipv4_forward",
                  {"dstAddr": mac, "port": port})
            for h, (mac, port) in sorted(next_hops(lab.lab, switch).items())
        ])
        control.table_set_default("int_switch", "int_set_switch_id",
                                  {"switch_id": switch_id(lab, switch)})
    watch(lab, "h1", "h2", WATCHED_PORT, MAX_HOP)
    sink = lab.switch(SINK)
    sink.clone_session(REPORT_SESSION, lab.host(COLLECTOR).port)
    sink.table_add("int_sink", {"standard_metadata.egress_spec": lab.host(SINK_HOST).port},
                   "int_sink_report", {"session": REPORT_SESSION,
                                       "collector_mac": lab.host(COLLECTOR).mac})


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
