"""Whether the BMv2 switches have finished with every frame sent to them.

A verifier must not stop listening while a switch still holds frames (it would
miss late or extra frames, or read them into the next check), and waiting a
fixed "long enough" either wastes time or guesses wrong once the input rings
queue hundreds of frames. A frame can be in four places, each observed:

1. the kernel's backlog between a veth and BMv2's ring: the veth's rx counter
   is ahead of the ring's own counter (bmv2rings.InputRings.in_kernel);
2. BMv2's input ring: poll() on the borrowed socket (InputRings.waiting);
3. BMv2's internal queues and pipelines (input buffer of 1024 frames, egress
   queues): invisible from outside, but then a BMv2 packet thread is running or
   runnable. So: no BMv2 thread may have run since the previous look
   (/proc/<pid>/task/<tid>/schedstat, nanoseconds) and none may be runnable now;
4. the kernel path from BMv2 to a host's socket: done synchronously inside
   BMv2's send call, so it is over once BMv2's threads are idle.

Only BMv2's own threads count (named after the binary); gRPC's threads serve the
control plane. Idle threads still wake now and then (a 100 ms select timeout),
which makes a look answer "busy": the caller simply looks again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .bmv2rings import InputRings

THREAD_NAME = "simple_switch"  # BMv2 target threads; comm is cut at 15 characters


class SwitchIdleProbe:
    def __init__(self, pids: Iterable[int], rings: Iterable[InputRings]) -> None:
        self.pids = list(pids)
        self.rings = list(rings)
        self._last: int | None = None
        # (stat fd, schedstat fd) of each BMv2 packet thread, opened once: a look is then
        # a few preads per thread (~0.2 ms for two switches) instead of opens and listings
        self._threads: list[tuple[int, int]] = []
        self.available = all(r.available for r in self.rings) and bool(self.rings)
        if self.available:
            self._open_threads()

    def _open_threads(self) -> None:
        self.close()
        for pid in self.pids:
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                base = f"/proc/{pid}/task/{tid}"
                try:
                    with open(f"{base}/comm", "rb") as fh:
                        if not fh.read().startswith(THREAD_NAME.encode()):
                            continue
                    stat = os.open(f"{base}/stat", os.O_RDONLY)
                except OSError:
                    continue
                try:
                    sched = os.open(f"{base}/schedstat", os.O_RDONLY)
                except OSError:
                    os.close(stat)
                    continue
                self._threads.append((stat, sched))

    def _cpu(self) -> tuple[int, bool]:
        """(CPU nanoseconds BMv2's packet threads have used, whether one is runnable)."""
        total, runnable = 0, False
        for stat_fd, sched_fd in self._threads:
            try:
                total += int(os.pread(sched_fd, 128, 0).split()[0])
                stat = os.pread(stat_fd, 1024, 0)
            except (OSError, ValueError, IndexError):
                continue  # a thread ended (BMv2 died: check_switches reports it)
            runnable = runnable or stat[stat.rindex(b")") + 2:][:1] == b"R"
        return total, runnable

    def reset(self) -> None:
        """Forget the previous look (call before sending)."""
        self._last = None

    def idle(self) -> bool:
        """True if, since the previous call, no BMv2 thread ran, none is runnable now and
        no frame waits in the kernel or in a ring. The first call only takes a reference."""
        for rings in self.rings:
            rings.update()
        queued = any(r.in_kernel() or r.waiting() for r in self.rings)
        cpu, runnable = self._cpu()
        last, self._last = self._last, cpu
        return last is not None and cpu == last and not runnable and not queued

    def run_delays(self) -> list[int]:
        """Nanoseconds each BMv2 packet thread has spent runnable but not running (the
        second schedstat field): a thread that waited for a CPU this long may have
        taken a frame that long after it arrived (StallMeter samples it)."""
        out = []
        for _stat_fd, sched_fd in self._threads:
            try:
                out.append(int(os.pread(sched_fd, 128, 0).split()[1]))
            except (OSError, ValueError, IndexError):
                out.append(0)
        return out

    def close(self) -> None:
        for fds in self._threads:
            for fd in fds:
                os.close(fd)
        self._threads = []


class StallMeter:
    """The longest a BMv2 packet thread waited for a CPU in one go, approximately:
    run_delays() is sampled every few milliseconds, and consecutive samples in which
    a thread waited for most of the interval add up to one stall. A cumulative wait
    would count a busy machine's many short waits as one long pause."""

    SAMPLE_S = 0.005
    MOSTLY = 0.9  # a sample in which a thread waited (nearly) all of the interval

    def __init__(self, probe: SwitchIdleProbe, now: float) -> None:
        self.probe = probe
        self._at = now
        self._delays = probe.run_delays()
        self._streak = [0] * len(self._delays)
        self.longest_s = 0.0

    def sample(self, now: float, force: bool = False) -> None:
        if not force and now - self._at < self.SAMPLE_S:
            return
        delays = self.probe.run_delays()
        interval_ns = (now - self._at) * 1e9
        for i, (before, after) in enumerate(zip(self._delays, delays)):
            waited = after - before
            self._streak[i] = self._streak[i] + waited if waited >= self.MOSTLY * interval_ns \
                else waited
            self.longest_s = max(self.longest_s, self._streak[i] / 1e9)
        self._at, self._delays = now, delays
