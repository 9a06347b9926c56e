"""The object a lab's controller and verifier receive: its switches (control
plane), its hosts (addresses, raw packet ports) and, for verifiers, named
checks and packet expectations with timeouts."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .checks import CheckFailed, CheckResult, HarnessError, VerdictReached
from .controlplane import SwitchControl
from .errors import ControlPlaneError, LabtoolError, unknown_name
from .hostio import HostPort, Received, SwitchIdleness, collect, in_netns
from .linktap import PortTap
from .loader import user_traceback
from .manifest import Lab, host_intf
from .pktdiff import FrameLike, first_difference, summary, to_bytes
from .switchidle import StallMeter, SwitchIdleProbe
from .traffic import (
    BURST_ALLOWANCE,
    Classifier,
    StageCounts,
    interface_counter,
    interleave,
    send_offsets,
    tally,
    wait_for_due,
)

DEFAULT_TIMEOUT_S = 1.0


@dataclass
class Exchange:
    """What one exchange/burst sent and awaited (recorded for benchmarks' floor replay)."""

    sends: list[tuple[str, bytes]]
    expected: int
    gap_s: float  # pace after the first `allowance` frames
    allowance: int


# Benchmarks set this to a list to record every exchange and burst.
RECORDER: list[Exchange] | None = None
# Collection ends when the switches hold no frame any more (switchidle.py). Only where
# that cannot be observed (no pidfd_getfd): after the expected frames are in, keep
# listening this long for duplicates and strays (BMv2 forwards a frame in well under a
# millisecond when idle; bursts leave more queued).
DEFAULT_SETTLE_S = 0.1
BURST_SETTLE_S = 0.2


@dataclass(frozen=True)
class HostInfo:
    name: str
    ip: str
    mac: str
    prefixlen: int
    switch: str
    port: int


class LabContext:
    def __init__(self, lab: Lab, switches: Mapping[str, SwitchControl],
                 ports: Mapping[str, HostPort] | None = None,
                 health: Callable[[], None] | None = None,
                 switch_intf: Callable[[str, int], str] | None = None,
                 switch_drops: Callable[[], dict[str, int] | None] | None = None,
                 switch_idleness: SwitchIdleness | None = None,
                 host_pid: Callable[[str], int] | None = None,
                 switch_frames_in: Callable[[], int] | None = None,
                 seed: int | None = None,
                 intf_counter: Callable[[str, str], int] | None = None,
                 open_tap: Callable[[str], PortTap] | None = None) -> None:
        self.lab = lab
        # kernel counters of switch-port interfaces (they live in the run's namespace)
        self._intf_counter = intf_counter or interface_counter
        # Everything a verifier varies (configuration, traffic, order) comes from rng, so
        # `--seed N` replays a run exactly; the seed is printed with every verdict.
        self.seed = random.randrange(1 << 31) if seed is None else seed
        self.rng = random.Random(self.seed)
        self._host_pid = host_pid
        self._switch_frames_in = switch_frames_in or (lambda: 0)
        self._frames_in0 = 0   # switches' input rings since the last drain() ...
        self._sent = 0         # ... and frames the verifier sent since then
        self._idleness = switch_idleness
        # of the last burst(): the longest the sender fell behind between two frames, or
        # a BMv2 packet thread waited for a CPU in one go (switchidle.StallMeter): how
        # much later than sent the switch may have seen a frame. Verifiers of timing-
        # sensitive programs (flowlets) use it to tell a machine pause from a program's
        # fault.
        self.last_stall_s = 0.0
        # of the last burst(): when each frame (in plan order) was handed to its socket,
        # just before: no switch can have seen it earlier (with a tap's arrival times,
        # an upper bound on the pause a switch saw between two frames)
        self.last_send_starts: list[float] = []
        self._open_tap = open_tap
        self._switch_drops = switch_drops or (lambda: None)
        self.pace_s = lab.pace_us * 1e-6  # one frame per pace_s across all senders...
        # ...after this many back to back; only when the end of the switches' work is
        # observable (switchidle.py): a fixed silence could not cover a queued backlog
        self.allowance = BURST_ALLOWANCE if switch_idleness is not None else 0
        self._switch_intf = switch_intf or (lambda sw, port: f"{sw}-eth{port}")
        self.last_stages: StageCounts | None = None
        self._switches = dict(switches)
        self._ports = dict(ports or {})
        self._health = health or (lambda: None)
        self.results: list[CheckResult] = []
        # Mutation analysis needs a mutant's verdict, not every reason: the first failed
        # check ends the verifier (checks of broken programs often wait out timeouts).
        self.stop_at_failure = False
        self.notes: list[str] = []  # what a verifier reports besides its checks
        self.hosts = {
            h.name: HostInfo(h.name, h.ip, h.mac, h.prefixlen, *lab.host_port[h.name])
            for h in lab.hosts.values()
        }

    # -- lookup ----------------------------------------------------------------------------
    def switch(self, name: str) -> SwitchControl:
        if name not in self._switches:
            raise LabtoolError(unknown_name("switch", name, self._switches))
        return self._switches[name]

    @property
    def switches(self) -> dict[str, SwitchControl]:
        return dict(self._switches)

    def host(self, name: str) -> HostInfo:
        if name not in self.hosts:
            raise LabtoolError(unknown_name("host", name, self.hosts))
        return self.hosts[name]

    def port(self, host: str) -> HostPort:
        self.host(host)
        if host not in self._ports:
            raise LabtoolError(f"host {host!r} has no packet port in this context")
        return self._ports[host]

    def note(self, text: str) -> None:
        """A line for the report besides the checks (e.g. measured path shares)."""
        self.notes.append(text)

    def switch_port_counter(self, switch: str, port: int, counter: str = "rx_packets") -> int:
        """A kernel counter of a switch port's interface (rx_packets: frames that reached
        the switch on that port; tx_packets: frames it sent out of it). Counts what
        crossed a link without relying on anything in the program."""
        self.switch(switch)
        return self._intf_counter(self._switch_intf(switch, port), counter)

    def tap(self, switch: str, port: int) -> PortTap:
        """Frames that reach `switch` on `port` from its link from now on, with their
        arrival times (linktap.py; the caller closes it, e.g. with `with`)."""
        self.switch(switch)
        if self._open_tap is None:
            raise LabtoolError("this context cannot tap switch ports")
        return self._open_tap(self._switch_intf(switch, port))

    def host_socket(self, name: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """An IPv4 socket living in host `name`'s network namespace: real TCP/UDP through
        that host's own kernel stack (labs with host_stacks = true; the caller closes
        it). Usable from any thread."""
        self.host(name)
        pid = self._require_pid(name)
        return in_netns(pid, lambda: socket.socket(socket.AF_INET, kind))

    def host_run(self, name: str, argv: Sequence[str],
                 timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """Run a command in host `name`'s network namespace (no shell: argv as given)."""
        self.host(name)
        pid = self._require_pid(name)
        return subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "--", *argv],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def _require_pid(self, name: str) -> int:
        if self._host_pid is None:
            raise LabtoolError(f"host {name}: no network namespace to reach (not a live run)")
        return self._host_pid(name)

    def switch_mac(self, switch: str, port: int) -> str:
        """MAC address of a switch port (see manifest.switch_port_mac)."""
        if switch not in self.lab.switches:
            raise LabtoolError(unknown_name("switch", switch, self.lab.switches))
        return self.lab.port_mac(switch, port)

    # -- checks ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[None]:
        """A named check: passes if the block completes, fails on CheckFailed or on a
        control-plane error (e.g. the program lacks a contract table)."""
        start = time.perf_counter()
        try:
            yield
        except CheckFailed as exc:
            self._failed(name, str(exc), start)
        except ControlPlaneError as exc:
            self._failed(name, f"control plane: {exc}", start)
        except (LabtoolError, HarnessError, VerdictReached):
            raise
        except Exception as exc:  # noqa: BLE001 - see unexpected_output
            self._failed(name, unexpected_output(exc), start)
        else:
            self.results.append(CheckResult(name, True, "", time.perf_counter() - start))

    def _failed(self, name: str, detail: str, start: float) -> None:
        self.results.append(CheckResult(name, False, detail, time.perf_counter() - start))
        if self.stop_at_failure:
            raise VerdictReached(name)

    # -- packets ---------------------------------------------------------------------------
    def drain(self) -> None:
        """Discard anything already captured, so an exchange sees only its own traffic;
        zero the drop counters."""
        for port in self._ports.values():
            port.read_ready()
            port.read_drops()
        self._switch_drops()
        self._frames_in0, self._sent = self._switch_frames_in(), 0

    def send(self, sender: str, frames: Sequence[FrameLike], gap_s: float = 0.0) -> int:
        """Send raw frames from a host. Without a packet port of its own (a controller
        under `labtool up` or run by hand), a port is opened in the host's namespace
        for the call."""
        raw = [to_bytes(f) for f in frames]
        self.host(sender)
        if sender not in self._ports and self._host_pid is not None:
            port = HostPort.open(sender, self._host_pid(sender), host_intf(sender))
            try:
                sent = port.send(raw, gap_s)
            finally:
                port.close()
        else:
            sent = self.port(sender).send(raw, gap_s)
        self._sent += sent
        if sent != len(raw):
            raise HarnessError(f"{sender}: only {sent} of {len(raw)} frames could be sent")
        return sent

    def _check_capture(self) -> None:
        self._health()
        for port in self._ports.values():
            if port.read_drops():
                raise HarnessError(f"capture on {port.name} dropped frames (socket buffer full): "
                                   "counts would be wrong, so no verdict is given")
        self._check_switch_inputs()

    def _check_switch_inputs(self) -> None:
        drops = {k: n for k, n in (self._switch_drops() or {}).items() if n}
        if not drops:
            return
        where = ", ".join(f"{n} at {k}" for k, n in sorted(drops.items()))
        # Loop-free forwarding hands a frame to each switch at most once per copy, and a
        # switch makes at most one copy per port: beyond that bound, the switches are
        # feeding each other (a forwarding loop, a flood that never ends): the program's
        # doing, not a busy machine's.
        ports = max((sum(1 for lk in self.lab.links for e in (lk.a, lk.b) if e.node == sw)
                     for sw in self.lab.switches), default=1)
        bound = max(self._sent, 1) * len(self.lab.switches) * ports
        arrived = self._switch_frames_in() - self._frames_in0
        if arrived > bound:
            raise CheckFailed(f"the switches took in {arrived} frames for the {self._sent} the "
                              f"verifier sent and still dropped some ({where}): the program "
                              "multiplies frames (a forwarding loop, or a flood that never "
                              "stops)")
        raise HarnessError(f"BMv2 could not keep up and dropped frames at its input ({where}): "
                           "the machine is too busy for this pace, so no verdict is given")

    def capture(self, until: Callable[[dict[str, list[Received]]], bool],
                timeout: float, settle: float) -> dict[str, list[bytes]]:
        got = collect(self._ports.values(), until, timeout, settle, self._idleness)
        self._check_capture()
        return {h: [r.data for r in rs] for h, rs in got.items()}

    def exchange(self, sender: str | Mapping[str, Sequence[FrameLike]],
                 frames: Sequence[FrameLike] = (),
                 expect: Mapping[str, Sequence[FrameLike]] | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT_S, settle: float = DEFAULT_SETTLE_S,
                 ordered: bool = True) -> dict[str, list[bytes]]:
        """Send `frames` from `sender` (or {host: frames} from several hosts, each in
        turn); each host in `expect` must receive exactly the given frames
        (byte-identical, in order unless ordered=False) and every other host nothing
        at all. Raises CheckFailed naming the first differing field."""
        expect = expect or {}
        for name in expect:
            self.host(name)
        want = {h: [to_bytes(f) for f in fs] for h, fs in expect.items()}
        sends = {sender: frames} if isinstance(sender, str) else dict(sender)
        if RECORDER is not None:
            RECORDER.append(Exchange([(h, to_bytes(x)) for h, fs in sends.items() for x in fs],
                                     sum(len(w) for w in want.values()), 0.0, 0))
        self.drain()
        for host, batch in sends.items():
            self.send(host, batch)  # a handful of frames: BMv2's input ring queues them

        def complete(got: dict[str, list[Received]]) -> bool:
            return all(len(got[h]) >= len(w) for h, w in want.items())

        got = self.capture(complete, timeout, settle)
        problems = []
        for host in self._ports:
            problems += compare(host, want.get(host, []), got[host], ordered)
        if problems:
            raise CheckFailed("\n".join(problems))
        return got

    def burst(self, sends: Mapping[str, Sequence[FrameLike]] | Sequence[tuple[str, FrameLike]],
              *, expect: Mapping[str, int] | None = None, gap_s: float | None = None,
              back_to_back: int | None = None, timeout: float = 5.0,
              settle: float = BURST_SETTLE_S,
              due: Sequence[float] | None = None) -> dict[str, list[bytes]]:
        """Send many frames from several hosts and return every frame each host captured.
        `sends` is {host: frames} (interleaved round robin) or a list of (host, frame) in
        the order to send them. The first `back_to_back` frames (default: as many as
        BMv2's input ring safely queues) go at once, the rest one per `gap_s` (default:
        the lab's pace); back_to_back=0 paces them all, e.g. to spread a traffic mix
        over real time. `expect` (host -> frame count) lets collection stop once that
        many arrived and the switches are idle. `due` (with a plan list) gives each
        frame's send time in seconds from the start instead, for traffic whose rate
        changes. Frames lost outside BMv2 raise HarnessError with the stage where they
        vanished."""
        gap_s = self.pace_s if gap_s is None else gap_s
        allowance = self.allowance if back_to_back is None else min(back_to_back, self.allowance)
        if isinstance(sends, Mapping):
            raw = {h: [to_bytes(f) for f in fs] for h, fs in sends.items()}
            plan = interleave(raw)
        else:
            plan = [(h, to_bytes(f)) for h, f in sends]
            raw = {}
            for h, frame in plan:
                raw.setdefault(h, []).append(frame)
        for host in raw:
            self.port(host)
        if due is None:
            offsets = send_offsets(len(plan), gap_s, allowance)
        else:
            if len(due) != len(plan):
                raise LabtoolError(f"burst: {len(due)} send times for {len(plan)} frames")
            offsets = list(due)
            gap_s = offsets[-1] / max(len(plan) - 1, 1) if plan else 0.0  # the mean pace
        sender_if = {h: self._switch_intf(*self.lab.host_port[h]) for h in raw}
        receiver_if = {h: self._switch_intf(*self.lab.host_port[h]) for h in self._ports}
        if RECORDER is not None:
            RECORDER.append(Exchange(plan, sum((expect or {}).values()), gap_s, allowance))
        self.drain()
        counter = self._intf_counter
        rx0 = {h: counter(i, "rx_packets") for h, i in sender_if.items()}
        tx0 = {h: counter(i, "tx_packets") for h, i in receiver_if.items()}
        sent = dict.fromkeys(raw, 0)
        start = previous = time.perf_counter()
        stalls = StallMeter(self._idleness, start) if isinstance(self._idleness,
                                                                   SwitchIdleProbe) else None
        longest_late = 0.0  # the longest time between two sends beyond the planned one
        planned_before = 0.0
        self.last_send_starts = []
        for (host, frame), offset in zip(plan, offsets):
            if offset:
                wait_for_due(start + offset)
            self.last_send_starts.append(time.perf_counter())
            sent[host] += self._ports[host].send([frame])
            now = time.perf_counter()
            planned = offset - planned_before if due is not None else gap_s
            longest_late, previous = max(longest_late, now - previous - planned), now
            planned_before = offset
            if stalls is not None:
                stalls.sample(now)
        self._sent += sum(sent.values())
        want = dict(expect or {})

        def complete(got: dict[str, list[Received]]) -> bool:
            return bool(want) and all(len(got[h]) >= n for h, n in want.items())

        got = collect(self._ports.values(), complete, timeout if want or self._idleness else settle,
                      settle, self._idleness)
        if stalls is not None:
            stalls.sample(time.perf_counter(), force=True)
        self.last_stall_s = max(longest_late, stalls.longest_s if stalls else 0.0)
        self._health()
        self._check_switch_inputs()
        drops = {h: p.read_drops() for h, p in self._ports.items()}
        stages = StageCounts(
            requested={h: len(v) for h, v in raw.items()}, sent=sent,
            switch_rx={h: counter(i, "rx_packets") - rx0[h] for h, i in sender_if.items()},
            switch_tx={h: counter(i, "tx_packets") - tx0[h] for h, i in receiver_if.items()},
            captured={h: len(v) for h, v in got.items()}, socket_drops=drops)
        self.last_stages = stages
        losses = stages.harness_losses()
        if losses:
            raise HarnessError("frames lost outside the switch, so no verdict on the program: "
                               + "; ".join(losses))
        return {h: [r.data for r in rs] for h, rs in got.items()}

    @staticmethod
    def count(frames: Sequence[bytes], classify: Classifier) -> Counter[Hashable]:
        """How many of `frames` fall in each class (classify returns None to ignore one)."""
        return tally(frames, classify)


def compare(host: str, want: list[bytes], got: list[bytes], ordered: bool = True) -> list[str]:
    """Problems (one line each) between what `host` should and did receive."""
    if not want and got:
        return [f"{host}: expected nothing, got {len(got)} frame(s), first: {summary(got[0])}"]
    problems = []
    if not ordered:
        remaining = list(got)
        unmatched = []
        for frame in want:
            if frame in remaining:
                remaining.remove(frame)
            else:
                unmatched.append(frame)
        pairs = list(zip(unmatched, remaining))
        want, got = unmatched, remaining
    else:
        pairs = list(zip(want, got))
    for i, (exp, rcv) in enumerate(pairs):
        diff = first_difference(exp, rcv)
        if diff:
            problems.append(f"{host}: frame {i + 1} of {len(want)} ({summary(exp)}) differs: {diff}")
            break
    if len(got) < len(want):
        problems.append(f"{host}: expected {len(want)} frame(s), got {len(got)}"
                        f"{'' if got else ' (nothing arrived)'}")
    elif len(got) > len(want):
        problems.append(f"{host}: expected {len(want)} frame(s), got {len(got)}; extra: "
                        f"{summary(got[len(want)])}")
    return problems


def unexpected_output(exc: BaseException) -> str:
    """The detail of a check that a verifier could not finish. Verifiers are run against
    the lab's solution and alternatives by selftest, so an exception while checking a
    student's program almost always comes from output the verifier did not foresee (a
    truncated header, a missing layer): that is a FAIL of the program, and the traceback
    stays in the detail in case it is a verifier bug after all."""
    return (f"the program's behaviour stopped the verifier ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no message'}); if the program "
            f"looks right, this may be a verifier bug:\n{user_traceback(exc)}")
