"""One lab run, start to finish: compile → network → pipeline → controller →
verifier → teardown. Each phase is timed; any failure or Ctrl-C ends in a full
teardown. The CLI (`labtool run/up/test/selftest`) is a thin layer over this."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import finsy as fy

from . import compiler
from .checks import CheckFailed, CheckResult, HarnessError, Verdict, VerdictReached
from .context import LabContext, unexpected_output
from .contract import check as check_contract
from .contract import program_names
from .controlplane import SwitchControl
from .errors import CompileError, ControllerError, ControlPlaneError, LabtoolError
from .hostio import HostPort, close_all
from .linktap import PortTap
from .loader import load_function, user_traceback
from .manifest import Lab, host_intf, switch_intf
from .network import LabNetwork
from .p4runtime import P4RuntimeSession
from .p4utils.course import Course
from .registry import RunRegistration
from .thrift_runtime import ThriftRuntime
from .traffic import BURST_ALLOWANCE
from .workspace import Workspace

if TYPE_CHECKING:
    from .p4utils.script import BackgroundScript


@dataclass
class RunOptions:
    program: Path | None = None  # --p4 FILE
    pcap: bool = False
    keep: bool = False
    log_level: str | None = None
    use_cache: bool = True
    host_stacks: bool = False  # hosts' own IP stacks answer (labtool up); silent while verifying
    quiet: bool = False
    seed: int | None = None  # the verifier's configuration and traffic; None: a fresh one
    kind: str = "run"  # "up": a network by-hand tools attach to (registry.py)
    verdict_only: bool = False  # mutants: the first failed check ends the verifier


@dataclass
class Phases:
    times: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - start


def require_root() -> None:
    import os
    if os.geteuid() != 0:
        raise LabtoolError("this command needs root (network namespaces, veths, BMv2 ports)",
                           hint="run it with sudo, e.g. sudo .venv/bin/labtool run <lab>")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI timeouts, kill) takes the same teardown path as Ctrl-C."""
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Teardown must finish even if Ctrl-C is pressed again."""
    mask = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, mask)


def compile_lab(lab: Lab, ws: Workspace, use_cache: bool = True) -> dict[str, compiler.Artifacts]:
    """Artifacts per switch (each distinct program compiled once)."""
    by_program = {p: compiler.compile_program(p, ws.cache_dir, use_cache) for p in lab.programs()}
    return {name: by_program[sw.program] for name, sw in lab.switches.items()}


class LabRun:
    """A running lab network with its control plane; use as a context manager."""

    def __init__(self, lab: Lab, ws: Workspace, options: RunOptions,
                 label: str | None = None) -> None:
        require_root()
        self.lab = lab if options.program is None else lab.with_program(options.program)
        self.ws = ws
        self.options = options
        self.phases = Phases()
        self.run_dir = ws.new_run_dir(label or lab.name)
        self.network: LabNetwork | None = None
        self.switches: dict[str, SwitchControl] = {}
        self.ports: dict[str, HostPort] = {}
        self._stack = contextlib.ExitStack()
        self.artifacts: dict[str, compiler.Artifacts] = {}
        self.background: list[BackgroundScript] = []  # course scripts still running (up)

    def __enter__(self) -> LabRun:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        with self.phases.timed("compile"):
            self.artifacts = compile_lab(self.lab, self.ws, self.options.use_cache)
        self.phases.times["compile_cached"] = float(all(a.cached for a in self.artifacts.values()))
        self._stack.enter_context(sigterm_as_interrupt())
        record = self._stack.enter_context(RunRegistration(self.lab.name, self.run_dir,
                                                           self.options.kind))
        self.network = LabNetwork(self.lab, self.run_dir, self.artifacts, record,
                                  self.options.log_level, self.options.pcap,
                                  self.options.host_stacks or self.lab.host_stacks)
        with self.phases.timed("network"):
            self.network.start()
        self.phases.times["switch_ready"] = self.network.timings["switch_ready"]
        self.phases.times["network"] -= self.network.timings["switch_ready"]
        with self.phases.timed("pipeline"):
            self._push_pipelines()

    def _push_pipelines(self) -> None:
        assert self.network is not None
        for name, proc in self.network.switches.items():
            art = self.artifacts[name]
            schema = fy.P4Schema(art.p4info, art.json)
            session = P4RuntimeSession(proc.grpc_address, proc.device_id)
            control = SwitchControl(name, session, schema, None)
            control.grpc_port = self.network.grpc_ports[name]
            self.switches[name] = control
            session.open()
            session.set_pipeline(schema)
            control._registers = ThriftRuntime(proc.thrift_port,
                                               make_socket=self.network.netns.socket)
            control._registers.set_egress_queue_depth()  # see thrift_runtime.py

    def context(self, packet_ports: bool = True) -> LabContext:
        """The controller/verifier view; packet_ports opens the hosts' raw sockets."""
        assert self.network is not None
        netns = self.network.netns
        if packet_ports and not self.ports:
            for host in self.lab.hosts:
                self.ports[host] = HostPort.open(host, self.network.host_pid(host), host_intf(host))
        return LabContext(self.lab, self.switches, self.ports, self.network.check_switches,
                          switch_intf, self.network.switch_input_drops,
                          self.network.idle_probe(), self.network.host_pid,
                          self.network.switch_frames_in, seed=self.options.seed,
                          intf_counter=self.network.interface_counter,
                          open_tap=lambda ifname: PortTap.open(ifname, netns.call))

    def run_controller(self, ctx: LabContext, background: bool = False) -> None:
        """The lab's controller, or the course's code when the lab has some (`background`:
        course scripts may run on, as p4-utils' execScript lets them, once they finished
        configuring or wait for the switches: labtool up)."""
        if self.lab.course is not None:
            with self.phases.timed("controller"):
                self.run_course(self.lab.course, background)
            return
        if self.lab.controller is None:
            return
        with self.phases.timed("controller"):
            configure = load_function(self.lab.controller, "configure", "controller")
            try:
                configure(ctx)
            except ControlPlaneError as exc:
                raise ControllerError(f"controller {self.lab.controller.name}: {exc}") from None
            except LabtoolError:
                raise
            except Exception as exc:  # noqa: BLE001 - the lab's code: show its traceback
                raise ControllerError(f"controller {self.lab.controller.name} raised:\n"
                                      f"{user_traceback(exc)}") from None

    def run_course(self, course: Course, background: bool) -> None:
        """Command files first, then the scripts in order (as p4-utils programs switches
        before it runs execScript), all through the run's own control planes."""
        from .p4utils.cli_commands import apply_command_file
        from .p4utils.script import BackgroundScript, bound, run_script

        assert self.network is not None
        for name, path in course.commands.items():
            if name not in self.switches:
                raise LabtoolError(f"--commands {name}={path}: no switch {name!r} in this lab "
                                   f"(switches: {', '.join(self.switches)})")
            apply_command_file(self.switches[name], path)
        if not course.scripts:
            return
        # the binding stays for the whole run: a script left running (labtool up) may
        # create API objects later
        active = self._stack.enter_context(bound(self.switches))
        for script in course.scripts:
            if background:
                job = BackgroundScript(script, self.run_dir, active)
                self.background.append(job)
                job.start_and_settle()
            else:
                run_script(script, self.run_dir)

    def run_verifier(self, ctx: LabContext) -> None:
        with self.phases.timed("verifier"):
            verify = load_function(self.lab.verifier, "verify", "verifier")
            try:
                verify(ctx)
            except VerdictReached:
                pass  # a failed check ended a run that needs only its verdict
            except (LabtoolError, HarnessError, KeyboardInterrupt):
                raise
            except CheckFailed as exc:  # from traffic sent outside any named check
                ctx.results.append(CheckResult("the verifier's traffic", False, str(exc), 0.0))
            except Exception as exc:  # noqa: BLE001 - see context.unexpected_output
                ctx.results.append(CheckResult("the verifier's processing of the program's "
                                               "behaviour", False, unexpected_output(exc), 0.0))

    def close(self) -> None:
        with no_interrupts(), self.phases.timed("teardown"):
            closing = close_all(self.ports.values())  # in parallel with the rest
            self.ports.clear()
            for control in self.switches.values():
                control.close()
            self.switches.clear()
            try:
                if self.network is not None:
                    self.network.stop()
                    self.network = None
            finally:
                closing.join()
            self._stack.close()


HARNESS_RETRIES = 2  # a run that lost frames outside the program is redone, slower


def new_seed() -> int:
    return secrets.randbelow(1 << 31)


def program_check(lab: Lab, ws: Workspace, options: RunOptions) -> Verdict | None:
    """A FAIL verdict when the program under test does not compile or breaks the lab's
    contract (both are the program's fault, not the machine's); None when it is fit to
    run. Runs before any network exists, so such a FAIL costs a compile."""
    program = options.program or lab.program
    verdict = Verdict(lab.name, str(program), seed=options.seed)
    start = time.perf_counter()
    try:
        art = compiler.compile_program(program, ws.cache_dir, options.use_cache)
    except CompileError as exc:
        verdict.checks = [CheckResult("compile", False, str(exc), time.perf_counter() - start)]
        return verdict
    try:
        schema = fy.P4Schema(art.p4info)
    except Exception as exc:  # noqa: BLE001 - finsy rejects P4Info it cannot represent
        # p4c accepted the program but P4Runtime cannot drive it (e.g. one field twice
        # in a table key): the program's fault, not the machine's
        verdict.checks = [CheckResult("P4Runtime", False, "the control plane cannot use this "
                                      f"program's P4Info: {type(exc).__name__}: {exc}",
                                      time.perf_counter() - start)]
        return verdict
    if lab.contract.empty:
        return None
    problems = check_contract(lab.contract, program_names(schema))
    if not problems:
        return None
    verdict.checks = [CheckResult("contract", False, "the program breaks the lab's control-plane "
                                  "contract (LABS.md):\n" + "\n".join(problems),
                                  time.perf_counter() - start)]
    return verdict


def run_lab(lab: Lab, ws: Workspace, options: RunOptions,
            on_failure: Callable[[LabRun], None] | None = None) -> Verdict:
    """Run and verify one lab. A user or environment problem raises LabtoolError;
    a wrong program yields a FAIL verdict (also one that does not compile or breaks the
    contract). When the harness lost frames (BMv2 could not keep up on a busy machine),
    the whole run is repeated from a fresh network, with the same seed, at half the
    pace and with half as many frames sent back to back, so a verdict never rests on
    lost frames."""
    require_root()
    if options.seed is None:
        options = dataclasses.replace(options, seed=new_seed())
    rejected = program_check(lab, ws, options)
    if rejected is not None:
        return rejected
    slowdown = 1
    notes: list[str] = []
    for attempt in range(HARNESS_RETRIES + 1):
        verdict = _run_once(lab, ws, options, on_failure, slowdown)
        if verdict.error is None or not verdict.error.startswith("harness:") or \
                attempt == HARNESS_RETRIES:
            break
        slowdown *= 2
        notes.append(f"attempt {attempt + 1}: {verdict.error}; rerunning at one frame per "
                     f"{lab.pace_us * slowdown} µs, at most {BURST_ALLOWANCE // slowdown} "
                     "back to back")
    verdict.notes = notes + verdict.notes
    return verdict


def _run_once(lab: Lab, ws: Workspace, options: RunOptions,
              on_failure: Callable[[LabRun], None] | None, slowdown: int) -> Verdict:
    program = options.program or lab.program
    run = LabRun(lab, ws, options)
    verdict = Verdict(lab.name, str(program), run_dir=str(run.run_dir), seed=options.seed)
    with run:
        ctx = run.context()
        # slower than the lab's own pace after a harness loss
        ctx.pace_s = lab.pace_us * 1e-6 * slowdown
        ctx.allowance //= slowdown
        ctx.stop_at_failure = options.verdict_only
        run.run_controller(ctx)
        try:
            run.run_verifier(ctx)
        except HarnessError as exc:
            verdict.error = f"harness: {exc}"
        verdict.checks = ctx.results
        verdict.notes += ctx.notes
        if not verdict.passed and options.keep and on_failure is not None:
            on_failure(run)
    verdict.timings = dict(run.phases.times)
    return verdict

