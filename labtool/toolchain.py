"""Locating the external P4 tools: p4c, BMv2 (simple_switch_grpc, its CLI) and
BMv2's Python Thrift runtime.

Tools are looked up under $LABTOOL_P4_PREFIX/bin first, then on PATH. labtool
never installs them: users get them from p4lang's packages, Docker images or
the P4 tutorial VM (see README).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import ToolchainError

HOW_TO_GET = ("install p4c and BMv2 (p4lang packages, the p4lang/p4c Docker image or the P4 "
              "tutorial VM), then put them on PATH or set LABTOOL_P4_PREFIX to their prefix")


def prefixes() -> list[Path]:
    env = os.environ.get("LABTOOL_P4_PREFIX")
    return [Path(env)] if env else []


def find_tool(name: str) -> Path | None:
    for prefix in prefixes():
        candidate = prefix / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def require_tool(name: str, purpose: str) -> Path:
    path = find_tool(name)
    if path is None:
        raise ToolchainError(f"{name} not found ({purpose})", hint=HOW_TO_GET)
    return path


def p4c_compiler() -> Path:
    """The BMv2 backend binary; `p4c-bm2-ss` is what the `p4c` driver runs anyway."""
    return require_tool("p4c-bm2-ss", "the p4c compiler for BMv2")


def switch_binary() -> Path:
    return require_tool("simple_switch_grpc", "BMv2 with P4Runtime")


@functools.cache
def tool_version(path: Path) -> str:
    """First line of `tool --version`; part of the compile cache key."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"{path} --version failed: {exc}") from None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def p4include_dirs() -> list[Path]:
    """Where v1model.p4 lives, so the compile cache can hash the included architecture files."""
    dirs = []
    for prefix in [*prefixes(), *(p.parent.parent for p in filter(None, [find_tool("p4c-bm2-ss")]))]:
        candidate = prefix / "share" / "p4c" / "p4include"
        if candidate.is_dir():
            dirs.append(candidate)
    return dirs


def bm_runtime_paths() -> list[Path]:
    """Directories holding BMv2's generated Thrift Python package `bm_runtime`."""
    roots = [*prefixes()]
    switch = find_tool("simple_switch_grpc") or find_tool("simple_switch_CLI")
    if switch is not None:
        roots.append(switch.resolve().parent.parent)
    roots += [Path("/usr/local"), Path("/usr")]
    found = []
    for root in roots:
        for lib in (root / "lib").glob("python3*/*-packages"):
            if (lib / "bm_runtime").is_dir() and lib not in found:
                found.append(lib)
    return found


def import_bm_runtime() -> None:
    """Make `import bm_runtime` work, or raise with the fix."""
    try:
        import bm_runtime  # noqa: F401
        return
    except ImportError:
        pass
    # BMv2's prefix also holds PI's generated `google` package (a regular package, so it
    # would shadow protobuf's `google` namespace for every later import, e.g. in worker
    # processes started with this sys.path): the prefix is on sys.path only while
    # BMv2's own modules are imported.
    import google.protobuf  # noqa: F401 - bound before the prefix can shadow it

    added = [str(p) for p in bm_runtime_paths() if str(p) not in sys.path]
    sys.path.extend(added)
    try:
        import bm_runtime  # noqa: F401,F811
        import bm_runtime.standard.Standard  # noqa: F401
        import sswitch_runtime.SimpleSwitch  # noqa: F401
    except ImportError:
        raise ToolchainError(
            "BMv2's Python Thrift runtime (bm_runtime) not found; registers need it",
            hint="install BMv2 with its Thrift runtime (configure --with-thrift) and set "
                 "LABTOOL_P4_PREFIX to its prefix",
        ) from None
    finally:
        for path in added:
            sys.path.remove(path)
