"""Burst pacing, collection end conditions and the switch-idleness probe, without
root or a toolchain: fake ports and probes, real child processes for /proc."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labtool import hostio, netdev, switchidle, traffic
from labtool.hostio import Received


def test_send_offsets_back_to_back_then_paced() -> None:
    offsets = traffic.send_offsets(6, 0.001, allowance=3)
    assert offsets == [0, 0, 0, 0, 0.001, 0.002]
    assert traffic.send_offsets(3, 0.5, allowance=10) == [0, 0, 0]
    assert traffic.send_offsets(0, 0.5) == []


def test_wait_for_due_sleeps_only_when_worth_it() -> None:
    start = time.perf_counter()
    traffic.wait_for_due(start + 0.0002)  # under MIN_SLEEP_S: returns at once
    assert time.perf_counter() - start < traffic.MIN_SLEEP_S
    traffic.wait_for_due(time.perf_counter() + 0.02)
    assert time.perf_counter() - start >= 0.02


class FakePort:
    """A HostPort stand-in: a socketpair whose far end the test writes frames to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.near, self.far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.near.setblocking(False)

    def fileno(self) -> int:
        return self.near.fileno()

    def read_ready(self) -> list[Received]:
        out = []
        while True:
            try:
                out.append(Received(self.name, self.near.recv(2048), time.monotonic()))
            except BlockingIOError:
                return out

    def close(self) -> None:
        self.near.close()
        self.far.close()


class FakeSwitches:
    """Answers idle() from a script: busy for the first `busy_looks` looks."""

    def __init__(self, busy_looks: int, on_look: list[tuple[int, bytes]] | None = None,
                 port: FakePort | None = None) -> None:
        self.busy_looks = busy_looks
        self.looks = 0
        self.on_look = dict(on_look or [])
        self.port = port

    def reset(self) -> None:
        self.looks = 0

    def idle(self) -> bool:
        self.looks += 1
        if self.port is not None and self.looks in self.on_look:
            self.port.far.send(self.on_look[self.looks])
        return self.looks > self.busy_looks


@pytest.fixture
def port() -> Iterator[FakePort]:
    p = FakePort("h2")
    yield p
    p.close()


def test_collect_ends_once_complete_and_switches_idle(port: FakePort) -> None:
    port.far.send(b"frame")
    switches = FakeSwitches(busy_looks=3)
    start = time.monotonic()
    got = hostio.collect([port], lambda g: len(g["h2"]) >= 1, timeout=5, settle=1,
                         switches=switches)  # type: ignore[list-item]
    assert [r.data for r in got["h2"]] == [b"frame"]
    assert switches.looks == 4  # three busy looks, then one idle look ends it
    assert time.monotonic() - start < 1  # neither timeout nor settle was waited out


def test_collect_keeps_listening_while_the_switches_work(port: FakePort) -> None:
    # a late duplicate arrives while the switches are still busy: it must be captured
    switches = FakeSwitches(busy_looks=4, on_look=[(3, b"late")], port=port)
    port.far.send(b"frame")
    got = hostio.collect([port], lambda g: len(g["h2"]) >= 1, timeout=5, settle=1,
                         switches=switches)  # type: ignore[list-item]
    assert [r.data for r in got["h2"]] == [b"frame", b"late"]


def test_collect_gives_up_early_when_idle_and_incomplete(port: FakePort) -> None:
    switches = FakeSwitches(busy_looks=1)
    start = time.monotonic()
    got = hostio.collect([port], lambda g: len(g["h2"]) >= 1, timeout=5, settle=1,
                         switches=switches)  # type: ignore[list-item]
    assert got["h2"] == []
    assert switches.looks == 3  # idle twice in a row: nothing more can come
    assert time.monotonic() - start < 1


def test_collect_without_a_switch_view_waits_settle(port: FakePort) -> None:
    port.far.send(b"frame")
    start = time.monotonic()
    hostio.collect([port], lambda g: len(g["h2"]) >= 1, timeout=5, settle=0.05)  # type: ignore[list-item]
    assert 0.05 <= time.monotonic() - start < 1


class QuietRings:
    available = True

    def __init__(self) -> None:
        self.queued = 0

    def update(self) -> None:
        pass

    def in_kernel(self) -> int:
        return self.queued

    def waiting(self) -> bool:
        return False


def probe_for(proc: subprocess.Popen[bytes], name: str, rings: QuietRings,
              monkeypatch: pytest.MonkeyPatch) -> switchidle.SwitchIdleProbe:
    monkeypatch.setattr(switchidle, "THREAD_NAME", name)
    return switchidle.SwitchIdleProbe([proc.pid], [rings])  # type: ignore[list-item]


def wait_sleeping(pid: int) -> None:
    """Until the freshly started process has finished starting and sleeps."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
        if stat[stat.rindex(")") + 2] == "S" and "sleep" in stat:
            return
        time.sleep(0.005)
    raise AssertionError("the child never went to sleep")


def test_probe_sees_a_sleeping_process_as_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen(["sleep", "30"])
    rings = QuietRings()
    try:
        wait_sleeping(proc.pid)
        probe = probe_for(proc, "sleep", rings, monkeypatch)
        assert probe._threads, "the process's thread was not found"
        assert probe.idle() is False  # the first look is only a reference
        time.sleep(0.01)
        assert probe.idle() is True
        rings.queued = 1  # a frame still in the kernel's backlog
        assert probe.idle() is False
        probe.close()
    finally:
        proc.kill()
        proc.wait()


def test_probe_sees_a_running_process_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with open(f"/proc/{proc.pid}/comm") as fh:
            name = fh.read().strip()
        probe = probe_for(proc, name, QuietRings(), monkeypatch)
        probe.idle()
        time.sleep(0.02)
        assert probe.idle() is False
        probe.close()
    finally:
        proc.kill()
        proc.wait()


def test_segmentation_offloads_readable_without_root() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        state = netdev.segmentation_offloads("lo", sock)
    assert set(state) == {"tso", "gso", "gro"}
    assert all(isinstance(v, bool) for v in state.values())


def test_stall_meter_adds_up_consecutive_waits_only() -> None:
    """Many short waits on a busy machine are not one pause; a thread that waited for
    most of several samples in a row is."""
    from typing import Any

    from labtool.switchidle import StallMeter

    class Probe:
        delays = [0, 0]

        def run_delays(self) -> list[int]:
            return list(self.delays)

    probe: Any = Probe()
    meter = StallMeter(probe, 0.0)
    ms = 1_000_000
    for step in range(1, 11):  # thread 0: 2 ms of every 10 ms; thread 1: 9.5 of 10 ms
        probe.delays = [probe.delays[0] + 2 * ms, probe.delays[1] + (19 * ms // 2 if step > 6 else 0)]
        meter.sample(step * 0.010)
    assert 0.037 < meter.longest_s < 0.039  # thread 1's four samples in a row
    meter.sample(0.101)  # too soon after the last sample: ignored
    assert meter.longest_s < 0.039


class LoopbackPort(FakePort):
    """A host port whose sent frames come straight back to it (the switch's part),
    recording when each was sent and counting them on the switch side."""

    def __init__(self, name: str, counters: dict[str, int]) -> None:
        super().__init__(name)
        self.sent_at: list[float] = []
        self.counters = counters

    def send(self, frames: list[bytes]) -> int:
        for frame in frames:
            self.sent_at.append(time.perf_counter())
            self.far.send(frame)
            self.counters["rx_packets"] += 1
        return len(frames)

    def read_drops(self) -> int:
        return 0


def test_burst_sends_each_frame_at_its_due_time(repo_root: Path) -> None:
    """A burst with explicit send times (traffic whose rate changes) keeps them: frames
    due together go together, the rest wait for their time."""
    from labtool.context import LabContext
    from labtool.errors import LabtoolError
    from labtool.manifest import find_lab

    counters = {"rx_packets": 0, "tx_packets": 0}
    port = LoopbackPort("h1", counters)
    try:
        ctx = LabContext(find_lab(repo_root, "reflector"), {}, ports={"h1": port},
                         intf_counter=lambda _ifname, counter: counters[counter])
        due = [0.0, 0.0, 0.04, 0.04, 0.1]
        got = ctx.burst([("h1", bytes([n]) * 60) for n in range(5)], expect={"h1": 5},
                        due=due, settle=0.0)
        assert [f[0] for f in got["h1"]] == [0, 1, 2, 3, 4]
        offsets = [t - port.sent_at[0] for t in port.sent_at]
        for offset, wanted in zip(offsets, due):
            assert wanted <= offset + 0.001 and offset < wanted + 0.03, (offsets, due)
        assert ctx.last_stall_s < 0.03
        with pytest.raises(LabtoolError, match="2 send times for 3 frames"):
            ctx.burst([("h1", b"x" * 60)] * 3, due=[0.0, 0.1])
    finally:
        port.close()
