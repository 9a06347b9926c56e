"""`labtool import network_topo.py`: the exercise as a labtool manifest.

The manifest is written next to the script (paths relative to it), with the
exercise's control planes and command files as its `[course]`, so that
`labtool run path/to/<exercise>.toml` runs the course's own code. An exercise has
no verifier, so a starter one is written too (unless one exists): every pair of
hosts pings (the hosts' own IP stacks are on); edit it to check what the
exercise is about.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from ..manifest import Lab
from .exercise import Exercise

VERIFIER = "verify.py"

STARTER_VERIFIER = '''"""Starter verifier written by `labtool import`: every host reaches every other
host (one ping each way, through the hosts' own IP stacks). Replace or extend the
checks with what the exercise must do; `lab` is a labtool.context.LabContext."""

from labtool.checks import CheckFailed


def verify(lab):
    hosts = sorted(lab.hosts)
    for src in hosts:
        for dst in hosts:
            if src == dst:
                continue
            with lab.check(f"{src} pings {dst}"):
                ip = lab.host(dst).ip
                done = lab.host_run(src, ["ping", "-c", "1", "-W", "2", ip])
                if done.returncode != 0:
                    raise CheckFailed(f"{src} -> {dst} ({ip}): no reply\\n{done.stdout.strip()}")
'''


def _q(text: str) -> str:
    return json.dumps(text)  # a TOML basic string is a JSON string for these values


def _rel(path: Path, base: Path) -> str:
    return os.path.relpath(path, base)


def manifest_text(ex: Exercise, base: Path) -> str:
    """The manifest, its paths relative to `base` (the directory it is written to)."""
    lab: Lab = ex.lab
    out = [f"# {lab.title}: written by `labtool import {ex.script.name}`.",
           "# Paths are relative to this file. Run it: labtool run <this file>",
           f"title = {_q(lab.title)}",
           f"program = {_q(_rel(lab.program, base))}",
           f"verifier = {_q(_rel(ex.script.parent / VERIFIER, base))}",
           f"log_level = {_q(lab.log_level)}",
           "host_stacks = true  # the starter verifier pings through the hosts' own stacks"]
    for note in ex.notes:
        out.append(f"# note: {note}")
    out += ["", "links = ["]
    for link in lab.links:
        ends = [e.node if e.port is None else f"{e.node}:{e.port}" for e in (link.a, link.b)]
        out.append(f"  [{_q(ends[0])}, {_q(ends[1])}],")
    out.append("]")
    if lab.course is not None and not lab.course.empty:
        out += ["", "[course]"]
        if lab.course.scripts:
            scripts = [shlex.join([_rel(s.path, base), *s.args]) for s in lab.course.scripts]
            out.append(f"scripts = [{', '.join(_q(s) for s in scripts)}]")
        if lab.course.commands:
            cmds = ", ".join(f"{sw} = {_q(_rel(p, base))}" for sw, p in lab.course.commands.items())
            out.append(f"commands = {{ {cmds} }}")
    for host in lab.hosts.values():
        out += ["", f"[hosts.{host.name}]", f"ip = {_q(f'{host.ip}/{host.prefixlen}')}",
                f"mac = {_q(host.mac)}"]
        if host.gateway:
            out.append(f"gateway = {_q(host.gateway)}")
    for sw in lab.switches.values():
        out += ["", f"[switches.{sw.name}]", f"device_id = {sw.device_id}"]
        if sw.program != lab.program:
            out.append(f"program = {_q(_rel(sw.program, base))}")
        if sw.cpu_port is not None:
            out.append(f"cpu_port = {sw.cpu_port}")
        ports = sorted({p for (s, p) in lab.port_macs.keys() | lab.port_ips.keys() if s == sw.name})
        for port in ports:
            fields = []
            if (sw.name, port) in lab.port_macs:
                fields.append(f"mac = {_q(lab.port_macs[(sw.name, port)])}")
            if (sw.name, port) in lab.port_ips:
                fields.append(f"ip = {_q(lab.port_ips[(sw.name, port)])}")
            out.append(f"ports.{port} = {{ {', '.join(fields)} }}")
    return "\n".join(out) + "\n"


def write_manifest(ex: Exercise, output: Path | None = None) -> tuple[Path, Path | None]:
    """The manifest's path, and the starter verifier's when one was written."""
    path = (output or ex.script.parent / f"{ex.script.parent.name}.toml").resolve()
    path.write_text(manifest_text(ex, path.parent))
    verifier = ex.script.parent / VERIFIER
    if verifier.exists():
        return path, None
    verifier.write_text(STARTER_VERIFIER)
    return path, verifier
