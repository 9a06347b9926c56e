"""The `labtool` command: a thin Click layer over the engine.

Exit codes: 0 = PASS, 1 = FAIL, 2 = usage or environment error, 130 = interrupted.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import doctor as doctor_mod
from .checks import Verdict
from .errors import EXIT_ERROR, EXIT_FAIL, EXIT_PASS, LabtoolError, unknown_name
from .manifest import LOG_LEVELS, Lab, find_lab, lab_names, load_lab
from .workspace import Workspace, workspace

F = TypeVar("F", bound=Callable[..., Any])


def _ws() -> Workspace:
    return workspace()


def _labs(ws: Workspace, names: Sequence[str]) -> list[Lab]:
    return [find_lab(ws.root, n) for n in (names or lab_names(ws.root))]


def _program(path: str | None) -> Path | None:
    if path is None:
        return None
    program = Path(path).resolve()
    if not program.is_file():
        raise LabtoolError(f"--p4 {path}: no such file")
    return program


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="labtool")
def cli() -> None:
    """Compile, run and verify P4 labs on BMv2 + Mininet."""


@cli.command("list")
def list_cmd() -> None:
    """The labs, one line each."""
    ws = _ws()
    names = lab_names(ws.root)
    width = max([len(n) for n in names] + [3])
    for name in names:
        lab = load_lab(ws.root / "topologies" / f"{name}.toml", ws.root)
        click.echo(f"{name:<{width}} {lab.title}  [{len(lab.mutants())} mutants]")


@cli.command()
def doctor() -> None:
    """Check that this machine can run labs (exit 0 only if everything is there)."""
    findings = doctor_mod.run_checks()
    for f in findings:
        click.echo(f"{'ok  ' if f.ok else 'FAIL'}  {f.name:<18} {f.detail}")
        if not f.ok and f.fix:
            click.echo(f"      {'':<18} fix: {f.fix}")
    click.echo(doctor_mod.NOTE)
    sys.exit(EXIT_PASS if all(f.ok for f in findings) else EXIT_ERROR)


@cli.command()
@click.argument("labs", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Compile every lab.")
@click.option("--p4", "p4", type=str, help="Compile FILE in place of the lab's program.")
@click.option("--no-cache", is_flag=True, help="Recompile even if the cache has a result.")
def build(labs: tuple[str, ...], all_: bool, p4: str | None, no_cache: bool) -> None:
    """Compile labs (no network)."""
    from .runner import compile_lab

    if not labs and not all_:
        raise click.UsageError("name a lab (labtool list) or use --all")
    ws = _ws()
    for lab in _labs(ws, labs):
        program = _program(p4)
        if program:
            lab = lab.with_program(program)
        arts = compile_lab(lab, ws, not no_cache)
        for art in {a.program: a for a in arts.values()}.values():
            state = "cached" if art.cached else f"compiled in {art.seconds:.2f} s"
            click.echo(f"{lab.name}: {art.program.name} {state} -> {art.json.parent}")
            if art.warnings:
                click.echo(art.warnings)


def _print_verdict(verdict: Verdict) -> None:
    from .report import check_lines, failure_pointers, timing_line

    for note in verdict.notes:
        click.echo(f"  note: {note}")
    for line in check_lines(verdict):
        click.echo(line)
    click.echo(verdict.one_line())
    if verdict.error:
        click.echo(verdict.error)
    click.echo(timing_line(verdict))
    if not verdict.passed:
        for line in failure_pointers(verdict):
            click.echo(line)


def _keep_open(run: Any) -> None:
    from .cli_shell import inspect_network

    inspect_network(run)


def _write_reports(verdicts: list[Verdict], json_path: str | None, junit: str | None,
                   single: bool = False) -> None:
    from .report import write_json, write_junit

    if json_path:
        write_json(verdicts, Path(json_path), single)
    if junit:
        write_junit(verdicts, Path(junit))


def _with_course(lab: Lab, controller: str | None, commands: tuple[str, ...]) -> Lab:
    """The lab, with --controller/--commands in place of its own controller if given."""
    course = _course(controller, commands)
    if course is None:
        return lab
    for switch in course.commands:
        if switch not in lab.switches:
            raise LabtoolError(f"--commands {switch}=...: " + unknown_name(
                "switch", switch, lab.switches))
    return lab.with_course(course)


def _course(controller: str | None, commands: tuple[str, ...]) -> Any:
    """--controller FILE and --commands SWITCH=FILE as the course code to run instead of
    the lab's controller; None when neither is given."""
    from .p4utils.course import Course, CourseScript

    if controller is None and not commands:
        return None
    scripts = (CourseScript.parse(controller, Path.cwd()),) if controller else ()
    files: dict[str, Path] = {}
    for item in commands:
        switch, sep, path = item.partition("=")
        if not sep or not switch or not path:
            raise click.UsageError(f"--commands {item}: write SWITCH=FILE, e.g. s1=s1-commands.txt")
        file = Path(path).resolve()
        if not file.is_file():
            raise LabtoolError(f"--commands {item}: {path} does not exist")
        files[switch] = file
    return Course(scripts, files)


course_options = [
    click.option("--controller", "controller", type=str, metavar="FILE",
                 help="Run this p4-utils control plane (course style: load_topo, "
                      "SimpleSwitchP4RuntimeAPI/ThriftAPI) instead of the lab's controller."),
    click.option("--commands", "commands", multiple=True, metavar="SWITCH=FILE",
                 help="Apply a simple_switch_CLI command file to SWITCH (repeatable), instead "
                      "of the lab's controller."),
]

run_options = [
    click.option("--p4", "p4", type=str, help="Run with FILE instead of the lab's own program."),
    click.option("--pcap", is_flag=True, help="Record every switch port in the run directory."),
    click.option("--log-level", type=click.Choice(LOG_LEVELS), default=None,
                 help="BMv2 log level (default: the lab's)."),
]
seed_option = click.option(
    "--seed", type=click.IntRange(0, (1 << 31) - 1), default=None,
    help="Reproduce a verdict: the same configuration, frames and order (default: a fresh "
         "seed, printed with the verdict).")


def _apply(options: list[Any]) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return deco


@cli.command()
@click.argument("lab_name", metavar="LAB")
@_apply(run_options)
@_apply(course_options)
@click.option("--keep", is_flag=True, help="After a failure, keep the network up to inspect.")
@click.option("--json", "json_path", type=str, help="Write the verdict as JSON to FILE.")
@click.option("--junit", type=str, help="Write the verdict as JUnit XML to FILE.")
@click.option("--no-cache", is_flag=True, help="Recompile even if the cache has a result.")
@seed_option
def run(lab_name: str, p4: str | None, pcap: bool, log_level: str | None,
        controller: str | None, commands: tuple[str, ...], keep: bool,
        json_path: str | None, junit: str | None, no_cache: bool, seed: int | None) -> None:
    """Compile, start, configure and verify a lab; PASS exits 0, FAIL 1. LAB is a lab's
    name or a manifest's path (labtool import writes those)."""
    from .runner import RunOptions, new_seed, run_lab

    ws = _ws()
    lab = _with_course(find_lab(ws.root, lab_name), controller, commands)
    options = RunOptions(program=_program(p4), pcap=pcap, keep=keep, log_level=log_level,
                         use_cache=not no_cache, seed=new_seed() if seed is None else seed)
    click.echo(f"{lab.name}: {lab.title} — {options.program or lab.program} (seed {options.seed})")
    verdict = run_lab(lab, ws, options, on_failure=_keep_open)
    _print_verdict(verdict)
    if not verdict.passed:
        again = ["labtool", "run", lab_name, "--seed", str(options.seed)]
        if options.program is not None:
            again += ["--p4", str(p4)]
        if controller:
            again += ["--controller", controller]
        again += [f"--commands={c}" for c in commands]
        click.echo(f"  reproduce:     {' '.join(again)}")
    _write_reports([verdict], json_path, junit, single=True)
    sys.exit(EXIT_PASS if verdict.passed else EXIT_ERROR if verdict.error else EXIT_FAIL)


@cli.command()
@click.argument("target", metavar="LAB")
@_apply(run_options)
@_apply(course_options)
@click.option("--no-controller", is_flag=True,
              help="Do not run the lab's controller (run yours by hand: see controllers/).")
def up(target: str, p4: str | None, pcap: bool, log_level: str | None, controller: str | None,
       commands: tuple[str, ...], no_controller: bool) -> None:
    """Start a network and its control plane, then the Mininet CLI (commands may be piped
    on stdin). LAB is a lab's name, a manifest's path, or a p4-utils exercise (its
    network_topo.py or its directory). Everything is torn down when the CLI exits."""
    from .cli_shell import mininet_cli
    from .forward import UnixForwarder
    from .runner import LabRun, RunOptions

    ws = _ws()
    lab, exercise_pcap = _up_target(ws, target)
    lab = _with_course(lab, controller, commands)
    options = RunOptions(program=_program(p4), pcap=pcap or exercise_pcap, log_level=log_level,
                         host_stacks=True, kind="up")
    with LabRun(lab, ws, options) as lab_run, contextlib.ExitStack() as forwards:
        assert lab_run.network is not None
        for name, proc in lab_run.network.switches.items():
            # P4Runtime on a loopback port for by-hand controllers and course tools
            fwd = forwards.enter_context(contextlib.closing(UnixForwarder(proc.grpc_socket)))
            lab_run.network.grpc_ports[name] = fwd.port
            lab_run.switches[name].grpc_port = fwd.port
            click.echo(f"  {name}: P4Runtime at {fwd.address} (device id {proc.device_id})",
                       err=True)
        lab_run.network.write_topology()
        ctx = lab_run.context(packet_ports=False)
        if not no_controller:
            lab_run.run_controller(ctx, background=True)
        for job in lab_run.background:
            if job.running:
                click.echo(f"{job.script.name} keeps running (it waits for the switches)",
                           err=True)
        click.echo(f"{lab.name} is up; run directory {lab_run.run_dir}", err=True)
        mininet_cli(lab_run)


def _up_target(ws: Workspace, target: str) -> tuple[Lab, bool]:
    """A lab by name or manifest path, or a p4-utils exercise (and whether it asks for
    pcaps). An exercise's notes (what labtool does not build) are printed, one line each."""
    path = Path(target)
    if (path.is_dir() or path.suffix == ".py") and not (ws.root / "topologies" /
                                                          f"{target}.toml").is_file():
        from .p4utils.exercise import load_exercise

        exercise = load_exercise(path)
        for note in exercise.notes:
            click.echo(f"note: {note}", err=True)
        return exercise.lab, exercise.pcap
    return find_lab(ws.root, target), False


@cli.command("import")
@click.argument("target", metavar="EXERCISE")
@click.option("-o", "--output", type=str, metavar="FILE",
              help="Where to write the manifest (default: <exercise dir>/<dir name>.toml).")
def import_cmd(target: str, output: str | None) -> None:
    """Write the manifest of a p4-utils exercise (its network_topo.py or directory):
    hosts, switches, links and addresses as p4-utils assigns them, its control planes
    and command files. `labtool run <manifest>` then runs it."""
    from .p4utils.exercise import load_exercise
    from .p4utils.importer import write_manifest

    exercise = load_exercise(Path(target))
    for note in exercise.notes:
        click.echo(f"note: {note}", err=True)
    manifest, verifier = write_manifest(exercise, Path(output) if output else None)
    click.echo(f"wrote {manifest}")
    if verifier is not None:
        click.echo(f"wrote {verifier} (a starter verifier: every host pings every other; "
                   "edit it)")
    click.echo(f"run it: labtool run {manifest}")


@cli.command()
@click.argument("switch")
def shell(switch: str) -> None:
    """A Python shell on a switch of the network started with `labtool up`: its control
    plane bound as `sw` (labtool's API) and `p4` (p4-utils' P4Runtime API), with tab
    completion of table, action and register names."""
    from .shell import interactive_shell

    interactive_shell(switch)


parallel_options = [
    click.option("-j", "--jobs", "jobs", type=click.IntRange(1, 64), default=None,
                 help="Runs at once (default: one per core); each run is isolated."),
    click.option("--shard", type=str, default=None,
                 help="Only a stable share I/N of the runs (CI matrices); JSON reports of "
                      "the shards concatenate."),
]


@cli.command()
@click.argument("labs", nargs=-1)
@click.option("--json", "json_path", type=str, help="Write all verdicts as JSON to FILE.")
@click.option("--junit", type=str, help="Write all verdicts as JUnit XML to FILE.")
@seed_option
@_apply(parallel_options)
def test(labs: tuple[str, ...], json_path: str | None, junit: str | None,
         seed: int | None, jobs: int | None, shard: str | None) -> None:
    """Run several labs (default: all) and print a summary table."""
    from .batch import run_tests
    from .parallel import default_workers, parse_shard

    ws = _ws()
    verdicts = run_tests(ws, _labs(ws, labs), seed, jobs or default_workers(),
                         parse_shard(shard), lambda v: click.echo(v.one_line()))
    width = max([len(v.lab) for v in verdicts] + [3])
    click.echo("")
    click.echo(f"{'lab':<{width}} {'result':<7} {'checks':>7} {'seconds':>8} {'seed':>11}")
    for v in verdicts:
        total = sum(v.timings.get(k, 0.0) for k in ("compile", "network", "switch_ready",
                                                      "pipeline", "controller", "verifier",
                                                      "teardown"))
        checks = f"{sum(c.passed for c in v.checks)}/{len(v.checks)}"
        click.echo(f"{v.lab:<{width}} {v.status:<7} {checks:>7} {total:>8.2f} {v.seed!s:>11}")
    click.echo(f"\ntest: {sum(v.passed for v in verdicts)}/{len(verdicts)} labs PASS; "
               f"{sum(v.reruns for v in verdicts)} rerun(s) after frames were lost outside "
               "the program")
    _write_reports(verdicts, json_path, junit)
    if any(v.error for v in verdicts):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PASS if all(v.passed for v in verdicts) else EXIT_FAIL)


@cli.command()
@click.argument("labs", nargs=-1)
@seed_option
@click.option("--mutant", "mutant_names", multiple=True,
              help="Only this mutant or alternative (repeatable); the solution always runs.")
@click.option("--json", "json_path", type=str, help="Write every result as JSON to FILE.")
@_apply(parallel_options)
def selftest(labs: tuple[str, ...], seed: int | None, mutant_names: tuple[str, ...],
             json_path: str | None, jobs: int | None, shard: str | None) -> None:
    """Each lab's solution and alternatives must PASS and every mutant must FAIL; one
    line as each finishes."""
    import dataclasses
    import json

    from .batch import run_selftest
    from .parallel import default_workers, parse_shard
    from .selftest import MutantResult

    ws = _ws()
    chosen = _labs(ws, labs)
    width = max([len(lab.name) for lab in chosen] + [3])  # the columns fit every name
    mwidth = 10
    for lab in chosen:
        try:
            mwidth = max([mwidth] + [len(m.name) for m in lab.mutants()]
                         + [len(m.name) + 6 for m in lab.alternatives()])
        except LabtoolError:
            pass  # reported as that lab's result

    def progress(r: MutantResult) -> None:
        seed_text = "" if r.seed is None else f"[seed {r.seed}] "
        click.echo(f"{r.lab:<{width}} {r.mutant:<{mwidth}} {r.outcome:<9} {seed_text}"
                   f"{r.detail[:100]}")

    click.echo(f"{'lab':<{width}} {'mutant':<{mwidth}} {'result':<9} why")
    results = run_selftest(ws, chosen, seed, list(mutant_names) or None,
                           jobs or default_workers(), parse_shard(shard), progress)
    mutants = [r for r in results if not r.mutant.startswith("(")]
    correct = [r for r in results if r.correct_program]
    killed = sum(r.outcome == "killed" for r in mutants)
    click.echo(f"\nselftest: {killed}/{len(mutants)} mutants killed; "
               f"{sum(r.ok for r in correct)}/{len(correct)} solutions and alternatives pass; "
               f"{sum(r.reruns for r in results)} rerun(s) after frames were lost outside the "
               "program")
    if json_path:
        Path(json_path).write_text(json.dumps([dataclasses.asdict(r) for r in results],
                                              indent=1) + "\n")
    if any(r.outcome == "ERROR" for r in results):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PASS if all(r.ok for r in results) else EXIT_FAIL)


@cli.command()
@click.argument("lab_name", metavar="LAB")
@click.argument("name", required=False)
@click.option("--path", "show_path", is_flag=True,
              help="Print the path of the mutated program (to pass to --p4) instead of its text.")
def mutant(lab_name: str, name: str | None, show_path: bool) -> None:
    """List a lab's mutants, or print one mutated program (to read it or run it with --p4)."""
    from .mutants import find_mutant, materialize

    ws = _ws()
    lab = find_lab(ws.root, lab_name)
    mutants = lab.mutants()
    alternatives = lab.alternatives()
    if name is None:
        for m in mutants:
            click.echo(f"{m.name:<28} {m.wrong}")
        for m in alternatives:
            click.echo(f"{m.name:<28} (correct alternative) {m.wrong}")
        return
    chosen = find_mutant(mutants + alternatives, name)
    path = materialize(chosen, lab.program, ws.state_dir / "mutants" / lab.name)
    click.echo(str(path) if show_path else path.read_text(), nl=show_path)


@cli.command()
@click.argument("lab_name", metavar="LAB")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--max", "max_", type=click.IntRange(1), default=None,
              help="Check at most N distinct mutants, drawn with --seed.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="p4c compiles and isolated runs at a time (default: one per core).")
@seed_option
@click.option("--json", "json_path", type=str, help="Write the analysis as JSON to FILE.")
@click.option("--operator", "operators", multiple=True,
              help="Only mutants of this operator (repeatable; see --list).")
@click.option("--list", "list_only", is_flag=True, help="List the generated mutants; compile nothing.")
@click.option("--compile-only", is_flag=True,
              help="Compile and fold duplicates, run nothing (no root needed).")
@click.option("--promote", is_flag=True,
              help="Append mutant ID to the lab's mutants file as a named [[mutant]].")
@click.option("--name", type=str, help="With --promote: the new mutant's name.")
@click.option("--equivalent", "equivalent_reason", type=str, metavar="REASON",
              help="List mutant ID as equivalent (the spec allows it), for REASON.")
def mutate(lab_name: str, ids: tuple[str, ...], max_: int | None, jobs: int | None,
           seed: int | None,
           json_path: str | None, operators: tuple[str, ...], list_only: bool,
           compile_only: bool, promote: bool, name: str | None,
           equivalent_reason: str | None) -> None:
    """Mutation analysis of a lab's verifier: generate wrong variants of the solution,
    check each like `labtool run --p4`, report the score and every survivor (exit 1 if
    any survives that the lab does not list as equivalent)."""
    from . import mutate as mt
    from .mutgen import find_generated, generate
    from .mutops import OPERATORS
    from .mutreport import mutant_line, outcome_line, report_lines, summary_lines, write_json
    from .runner import new_seed

    ws = _ws()
    lab = find_lab(ws.root, lab_name)
    if promote or equivalent_reason is not None:
        from .mutpromote import mark_equivalent
        from .mutpromote import promote as promote_one

        if len(ids) != 1 or (promote and equivalent_reason is not None):
            raise click.UsageError("--promote and --equivalent take exactly one mutant ID")
        if promote:
            m = promote_one(lab, ids[0], name)
            click.echo(f"{lab.mutants_file}: added [[mutant]] {m.name}: {m.wrong}")
        else:
            eq = mark_equivalent(lab, ids[0], equivalent_reason or "")
            click.echo(f"{lab.mutants_file}: added [[equivalent]] {eq.id}: {eq.reason}")
        return
    unknown = [op for op in operators if op not in OPERATORS]
    if unknown:
        raise click.UsageError(f"no operator {unknown[0]!r} (operators: {', '.join(OPERATORS)})")
    generated = generate(lab.program.read_text(), list(operators) or None)
    if ids:
        generated = [find_generated(generated, i) for i in ids]
    if list_only:
        for g in generated:
            click.echo(mutant_line(g))
        click.echo(f"{lab.name}: {len(generated)} mutants")
        return
    from .parallel import default_workers

    jobs = jobs or default_workers()
    equivalents = mt.equivalents_of(lab)
    seed = new_seed() if seed is None else seed
    click.echo(f"{lab.name}: {len(generated)} mutants of {lab.program.name}; compiling "
               f"{jobs} at a time")
    outcomes, compile_s = mt.compile_all(lab, ws, generated, jobs, click.echo)
    analysis = mt.Analysis(lab.name, str(lab.program), seed, outcomes, compile_s=compile_s)
    stale = mt.stale_equivalents(generate(lab.program.read_text()), equivalents)
    if stale:
        analysis.notes.append(f"listed equivalents no longer generated: {', '.join(stale)}")
    analysis.sampled = mt.sample(outcomes, max_, seed)
    mt.check_contracts(lab, ws, outcomes, seed)
    if not compile_only:
        from .runner import require_root

        require_root()
        click.echo(f"{lab.name}: the solution must PASS first (seed {seed})")
        mt.check_solution(lab, ws, seed)
        if not mt.run_all(lab, ws, outcomes, seed, equivalents,
                          lambda o: click.echo(outcome_line(o)), jobs):
            analysis.notes.append("interrupted: the mutants not run yet are left out")
    for line in (report_lines(analysis) if not compile_only else summary_lines(analysis)):
        click.echo(line)
    if json_path:
        write_json(analysis, Path(json_path))
    if analysis.notes and analysis.notes[-1].startswith("interrupted"):
        sys.exit(130)
    if analysis.count(mt.ERROR):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAIL if analysis.count(mt.SURVIVED) else EXIT_PASS)


@cli.command()
def clean() -> None:
    """Remove leftovers of earlier labtool runs (and only labtool's)."""
    from .registry import clean_stale
    from .runner import require_root

    require_root()
    removed = clean_stale()
    for item in removed:
        click.echo(f"removed {item}")
    click.echo(f"clean: {len(removed)} leftover(s) removed")


@cli.command()
@click.argument("switch")
@click.argument("register", required=False)
@click.option("--index", type=int, help="Only this cell.")
@click.option("--nonzero", is_flag=True, help="Only cells that are not 0.")
@click.option("--reset", is_flag=True, help="Set every cell of REGISTER to 0.")
def registers(switch: str, register: str | None, index: int | None, nonzero: bool,
              reset: bool) -> None:
    """Show (or reset) registers of a switch in a network started with `labtool up`."""
    from .attach import attach_switch

    control = attach_switch(switch)
    names = [register] if register else sorted(
        {control.schema.registers[n].name for n in control.register_names()})
    if not names:
        click.echo(f"{switch}: the program has no registers")
        return
    if reset:
        if not register:
            raise click.UsageError("--reset needs a REGISTER name")
        control.register_reset(register)
        click.echo(f"{switch}: {register} reset to 0")
        return
    for name in names:
        if index is not None:
            cells = [(index, control.register_read(name, index))]
        else:
            cells = list(enumerate(control.register_read(name)))  # type: ignore[arg-type]
        shown = [(i, v) for i, v in cells if not nonzero or v]
        full = control.schema.registers[name].name
        click.echo(f"{switch} {full} [{control.register_size(name)} cells]"
                   f"{' non-zero' if nonzero else ''}: {len(shown)} shown")
        for i, v in shown:
            click.echo(f"  [{i:>5}] {v:>12}  0x{v:x}")


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="labtool", standalone_mode=False)
        sys.exit(EXIT_PASS)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("labtool: interrupted; everything labtool started was removed", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("labtool: interrupted; everything labtool started was removed", err=True)
        sys.exit(130)
    except LabtoolError as exc:
        click.echo(f"labtool: error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
