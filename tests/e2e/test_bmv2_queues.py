"""BMv2's queues as labtool sets them up, on the real repeater network (in-process):
a large back-to-back burst is forwarded without loss, the switches are seen busy
while they work and idle only once everything came out."""

from __future__ import annotations

import socket
import time

from labtool import frames as f
from labtool.hostio import collect
from labtool.manifest import find_lab
from labtool.netdev import segmentation_offloads
from labtool.runner import LabRun, RunOptions
from labtool.workspace import workspace
from tests.e2e.helpers import leftovers

BURST = 1200  # far beyond the ~31 frames BMv2's ring held with offloads on


def test_back_to_back_burst_is_forwarded_whole_and_idleness_is_exact() -> None:
    ws = workspace()
    lab = find_lab(ws.root, "repeater")
    with LabRun(lab, ws, RunOptions()) as run:
        ctx = run.context()
        run.run_controller(ctx)
        assert run.network is not None
        ioctl = run.network.netns.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with ioctl:
            for name in run.network.switch_interfaces():
                assert not any(segmentation_offloads(name, ioctl).values()), name
        probe = run.network.idle_probe()
        assert probe is not None, "BMv2's rings cannot be observed on this kernel"
        h1, h2 = ctx.host("h1"), ctx.host("h2")
        frame = bytes(f.udp(h1, h2, b"burst"))
        ctx.drain()
        probe.reset()
        probe.idle()
        ctx.port("h1").send([frame] * BURST)
        assert probe.idle() is False  # hundreds of frames are still queued
        # count arrivals without the probe, then ask it: idle must mean all are out
        got = collect([ctx.port("h2")], lambda g: len(g["h2"]) >= BURST, 10, 0.0)["h2"]
        assert len(got) == BURST
        assert run.network.switch_input_drops() == {"s1:1": 0, "s1:2": 0}
        deadline = time.monotonic() + 2
        while not probe.idle():
            assert time.monotonic() < deadline, "switch never became idle"
            time.sleep(0.002)
        assert ctx.port("h2").read_ready() == [] and ctx.port("h1").read_ready() == []
    assert leftovers() == []
