"""p4-utils' APIs beyond tables on real BMv2 (tests/fixtures/cpu): multicast built from
Thrift nodes, digests, counters, mirroring, reset_state, all over the run's P4Runtime
control plane."""

from __future__ import annotations

from labtool import frames as f
from labtool.manifest import load_lab
from labtool.p4utils.p4runtime_api import SimpleSwitchP4RuntimeAPI
from labtool.p4utils.script import bound
from labtool.p4utils.thrift_api import SimpleSwitchThriftAPI
from labtool.runner import LabRun, RunOptions
from labtool.workspace import workspace
from tests.e2e.helpers import ROOT, leftovers


def test_multicast_digests_counters_mirroring() -> None:
    ws = workspace()
    lab = load_lab(ROOT / "tests" / "fixtures" / "cpu" / "cpu.toml", ROOT)
    with LabRun(lab, ws, RunOptions()) as run, bound(run.switches) as binding:
        ctx = run.context()
        address = binding.addresses["s1"]
        thrift = SimpleSwitchThriftAPI(address.thrift_port)
        p4 = SimpleSwitchP4RuntimeAPI(address.device_id, address.grpc_port)
        h1, h2 = ctx.host("h1"), ctx.host("h2")
        data = bytes(f.udp(h1, h2, b"flooded"))

        # a group from Thrift-style nodes: node 0 (rid 0) on ports 2 and 3
        thrift.mc_mgrp_create(1)
        node = thrift.mc_node_create(0, [2, 3])
        thrift.mc_node_associate(1, node)
        thrift.table_set_default("forwarding", "flood", ["1"])
        p4.digest_enable("learn_t")
        ctx.exchange("h1", [data], expect={"h2": [data], "h3": [data]})
        thrift.mc_node_update(node, [3])
        ctx.exchange("h1", [data], expect={"h3": [data]})

        # the digest of the first frame: a p4.v1 DigestList, acknowledged
        digest = p4.get_digest_list(timeout=2)
        assert digest is not None and len(digest.data) == 1
        src = digest.data[0].struct.members[0].bitstring
        assert int.from_bytes(src, "big") == int(h1.mac.replace(":", ""), 16)

        # counters: (bytes, packets) in p4-utils' order, written and reset
        assert p4.counter_read("port_counter", 1) == (2 * len(data), 2)
        thrift.counter_write("port_counter", 1, pkts=7, byts=70)
        assert thrift.counter_read("port_counter", 1) == (70, 7)
        p4.counter_reset("port_counter")
        assert p4.counter_read("port_counter", 1) == (0, 0)

        # mirroring: created, replaced, removed without a second controller
        thrift.mirroring_add(5, 3)
        thrift.mirroring_add(5, 2)
        thrift.mirroring_delete(5)
        p4.cs_create(6, [2, 3])

        # reset_state: back to the program's defaults (no flooding any more)
        thrift.reset_state()
        ctx.exchange("h1", [data], expect={})
    assert leftovers() == []
