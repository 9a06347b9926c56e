"""labtool's control-plane API on real BMv2 beyond tables and registers: packet-out,
packet-in, digests, multicast groups and indexed counters (tests/fixtures/cpu)."""

from __future__ import annotations

from labtool import frames as f
from labtool.manifest import load_lab
from labtool.runner import LabRun, RunOptions
from labtool.workspace import workspace
from tests.e2e.helpers import ROOT, leftovers


def test_packet_io_digests_multicast_counters() -> None:
    ws = workspace()
    lab = load_lab(ROOT / "tests" / "fixtures" / "cpu" / "cpu.toml", ROOT)
    with LabRun(lab, ws, RunOptions()) as run:
        ctx = run.context()
        s1 = ctx.switch("s1")
        h1, h2, h3 = ctx.host("h1"), ctx.host("h2"), ctx.host("h3")

        # packet-out: the controller's frame leaves exactly the port it names
        frame = bytes(f.udp(h1, h3, b"from the controller"))
        ctx.drain()
        s1.packet_out(frame, egress_port=3, pad=0)
        got = ctx.capture(lambda g: len(g["h3"]) >= 1, 2.0, 0.1)
        assert got["h3"] == [frame] and got["h1"] == got["h2"] == []

        # packet-in: the switch hands the frame and its ingress port to the controller
        probe = f.ethertype(h2.mac, "ff:ff:ff:ff:ff:ff", 0x88B6, b"to the cpu")
        ctx.send("h2", [probe])
        msg = s1.packet_in(timeout=2.0)
        assert msg is not None
        assert msg.payload == bytes(probe) and msg.metadata["ingress_port"] == 2

        # multicast + digest + counter: group 1 (ports 2 and 3) copies h1's frame to h2
        # and h3; the digest reports who sent it where; the counter counts it
        s1.multicast_group(1, [2, 3])
        s1.table_set_default("forwarding", "flood", {"group": 1})
        s1.enable_digest("learn_t")
        data = bytes(f.udp(h1, h2, b"flooded"))
        got = ctx.exchange("h1", [data], expect={"h2": [data], "h3": [data]})
        assert got["h1"] == []
        learned = s1.digest(timeout=2.0)
        assert learned is not None and len(learned) == 1
        # digest fields come as integers (a MAC is its 48-bit value)
        assert learned[0]["srcAddr"] == int(h1.mac.replace(":", ""), 16)
        assert learned[0]["ingress_port"] == 1
        ctx.send("h1", [data] * 4)
        ctx.capture(lambda g: len(g["h2"]) >= 4 and len(g["h3"]) >= 4, 2.0, 0.1)
        packets, octets = s1.counter_read("port_counter", 1)
        assert packets == 5 and octets == 5 * len(data)
        assert s1.counter_read("port_counter", 2) == (0, 0)
    assert leftovers() == []
