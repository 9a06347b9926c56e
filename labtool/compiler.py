"""Compiling a P4 program for BMv2 (v1model) with p4c, with a content-keyed cache.

Artifacts: the BMv2 JSON and the P4Info (text protobuf). The cache key covers
the program and everything it includes (found by following #include lines),
the compiler's version and the flags, so a student's edit to an included file
recompiles while an unchanged lab is reused in milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import toolchain
from .errors import CompileError

FLAGS = ("--arch", "v1model", "--std", "p4-16")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
# p4c prints `path(line): [--Werror=x] error: message`, then the source line and a ^^^ marker.
DIAG = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+)\):?\s*(?P<msg>.*)$")
COMPILE_TIMEOUT_S = 300


@dataclass(frozen=True)
class Artifacts:
    program: Path
    json: Path
    p4info: Path
    cached: bool
    seconds: float
    warnings: str


def included_files(program: Path, search: list[Path]) -> list[Path]:
    """The program and every file it includes, transitively (quoted: own dir first)."""
    seen: list[Path] = []
    todo = [program.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for kind, name in INCLUDE.findall(text):
            dirs = ([path.parent] if kind == '"' else []) + search
            for d in dirs:
                cand = (d / name).resolve()
                if cand.is_file():
                    todo.append(cand)
                    break
    return seen


def cache_key(program: Path, compiler: Path) -> str:
    digest = hashlib.sha256()
    digest.update(toolchain.tool_version(compiler).encode())
    digest.update(" ".join(FLAGS).encode())
    for path in sorted(included_files(program, [program.parent, *toolchain.p4include_dirs()])):
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def render_diagnostics(stderr: str, cwd: Path) -> str:
    """Turn p4c's `file(line):` diagnostics into `file:line:col: message` + source line + caret."""
    lines = stderr.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = DIAG.match(lines[i])
        if not m:
            if lines[i].strip():
                out.append(lines[i])
            i += 1
            continue
        path = Path(m["file"])
        shown = os.path.relpath(path, cwd) if path.is_absolute() else str(path)
        col = 1
        source = lines[i + 1] if i + 1 < len(lines) else ""
        marker = lines[i + 2] if i + 2 < len(lines) else ""
        consumed = 1
        if marker.strip() and set(marker.strip()) <= {"^", "~"}:
            col = len(marker) - len(marker.lstrip()) + 1
            consumed = 3
        else:
            source, marker = "", ""
        try:  # prefer the real source line, p4c may have expanded tabs or macros
            text_lines = path.read_text(errors="replace").splitlines()
            real = text_lines[int(m["line"]) - 1]
            if not source or source.strip() == real.strip():
                source = real
        except (OSError, IndexError):
            pass
        out.append(f"{shown}:{m['line']}:{col}: {m['msg']}")
        if source:
            out.append(f"    {source.rstrip()}")
            if marker:
                out.append(f"    {marker.rstrip()}")
        i += consumed
    return "\n".join(out)


def compile_program(program: Path, cache_dir: Path, use_cache: bool = True) -> Artifacts:
    """Compile `program` (or reuse the cached result). Raises CompileError with p4c's
    diagnostics rendered as file:line:col."""
    compiler = toolchain.p4c_compiler()
    if not program.is_file():
        raise CompileError(f"P4 program {program} does not exist")
    start = time.perf_counter()
    key = cache_key(program, compiler)
    entry = cache_dir / key
    stem = program.stem
    json_path, p4info_path = entry / f"{stem}.json", entry / f"{stem}.p4info.txtpb"
    warn_path = entry / "p4c-warnings.txt"
    if use_cache and json_path.is_file() and p4info_path.is_file():
        warnings = warn_path.read_text() if warn_path.is_file() else ""
        return Artifacts(program, json_path, p4info_path, True, time.perf_counter() - start,
                         warnings)
    tmp = cache_dir / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [str(compiler), *FLAGS, "-I", str(program.parent), "-o", str(tmp / json_path.name),
           "--p4runtime-files", str(tmp / p4info_path.name), str(program)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CompileError(f"p4c took more than {COMPILE_TIMEOUT_S} s on {program}") from None
    diagnostics = render_diagnostics(proc.stderr + proc.stdout, Path.cwd())
    if proc.returncode != 0 or not (tmp / json_path.name).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise CompileError(f"compile error in {program.name}:\n{diagnostics or '(p4c printed nothing)'}")
    (tmp / warn_path.name).write_text(diagnostics)
    shutil.rmtree(entry, ignore_errors=True)
    tmp.rename(entry)
    return Artifacts(program, json_path, p4info_path, False, time.perf_counter() - start,
                     diagnostics)
