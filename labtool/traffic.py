"""Fast, accounted traffic for exact-count checks (thousands of frames).

Frames are prebuilt bytes sent from raw sockets, interleaved round-robin
across the sending hosts and paced so BMv2's input ring never overflows (see
DEFAULT_PACE_US). Every frame is accounted for at each stage it crosses:

    sender socket -> [veth] -> switch port rx  ... BMv2 ...  switch port tx -> [veth] -> host socket

The kernel counters of the switch-side veth ends say how many frames reached
BMv2's port and how many BMv2 transmitted; the receiving socket's drop counter
says whether capture lost any. A frame missing before BMv2 or after it is the
harness's loss, reported as such (HarnessError), never blamed on the program.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# How a burst is paced: the first BURST_ALLOWANCE frames go back to back (BMv2's
# input ring queues them: ~1300 frames per port with segmentation offloads off, see
# netdev.py), the rest one per pace (default 300 µs across all senders; a manifest's
# pace_us overrides). BMv2 forwards 3.5-5 kpps on 2 cores, so the ring drains while
# the paced part arrives and the burst takes about as long as BMv2 needs for it.
# Measured with hh-v2 (two BMv2 in a row, logging off, 3000 frames,
# benchmarks/hh_rate.py): back to back, everything beyond ~1350 frames was lost at
# the first ring; one per 100 µs and slower lost nothing. Every loss is at a BMv2
# input ring (bmv2rings), so it is detected, and the runner redoes such a run at half
# the pace. The sender sleeps between paced frames: a busy-waiting sender takes a
# whole core from BMv2.
DEFAULT_PACE_US = 300
BURST_ALLOWANCE = 1000


def pace_until(deadline: float) -> None:
    """Wait until perf_counter() reaches `deadline`: sleep most of the way (so the
    sender leaves the CPU to BMv2), spin the last 100 µs (sleep is too coarse)."""
    remaining = deadline - time.perf_counter()
    if remaining > 150e-6:
        time.sleep(remaining - 100e-6)
    while time.perf_counter() < deadline:
        pass

Classifier = Callable[[bytes], Hashable | None]


# A paced burst sleeps at least this long between sends and then sends every frame that
# is due: BMv2's input ring absorbs the unevenness, and fewer wake-ups leave the CPU to
# BMv2 (2 cores run two switches and the verifier).
MIN_SLEEP_S = 0.001


def wait_for_due(deadline: float) -> None:
    """Sleep until `deadline` (perf_counter) if it is at least MIN_SLEEP_S away."""
    remaining = deadline - time.perf_counter()
    if remaining >= MIN_SLEEP_S:
        time.sleep(remaining)


def send_offsets(n: int, gap_s: float, allowance: int = BURST_ALLOWANCE) -> list[float]:
    """When each of n frames is due, in seconds from the start of the burst."""
    return [max(0, i - allowance) * gap_s for i in range(n)]


def interface_counter(ifname: str, counter: str) -> int:
    return int(Path(f"/sys/class/net/{ifname}/statistics/{counter}").read_text())


@dataclass
class StageCounts:
    """Frames seen at each stage of one burst, per host."""

    requested: dict[str, int]
    sent: dict[str, int]
    switch_rx: dict[str, int]  # frames the switch-side veth of each sender received
    switch_tx: dict[str, int]  # frames BMv2 transmitted toward each host
    captured: dict[str, int]
    socket_drops: dict[str, int]

    def harness_losses(self) -> list[str]:
        """Frames lost outside BMv2 (never the program's fault)."""
        out = []
        for host, n in self.requested.items():
            if self.sent[host] != n:
                out.append(f"{host}: sent only {self.sent[host]} of {n} frames")
            elif self.switch_rx[host] < n:
                out.append(f"{host}: {n - self.switch_rx[host]} of {n} frames lost between "
                           f"the host and the switch port")
        for host, tx in self.switch_tx.items():
            if self.socket_drops.get(host):
                out.append(f"{host}: capture socket dropped {self.socket_drops[host]} frames")
            elif self.captured.get(host, 0) < tx:
                out.append(f"{host}: the switch port sent {tx} frames but the host captured "
                           f"{self.captured.get(host, 0)}")
        return out


def interleave(sends: Mapping[str, Sequence[bytes]]) -> list[tuple[str, bytes]]:
    """Round-robin order across senders: host A frame 0, host B frame 0, A 1, B 1, ..."""
    order: list[tuple[str, bytes]] = []
    longest = max((len(v) for v in sends.values()), default=0)
    for i in range(longest):
        for host, frames in sends.items():
            if i < len(frames):
                order.append((host, frames[i]))
    return order


def tally(frames: Sequence[bytes], classify: Classifier) -> Counter[Hashable]:
    counts: Counter[Hashable] = Counter()
    for frame in frames:
        key = classify(frame)
        if key is not None:
            counts[key] += 1
    return counts
