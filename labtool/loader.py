"""Loading a lab's controller or verifier module from its file."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ControllerError, LabtoolError


def load_module(path: Path, role: str = "module") -> ModuleType:
    """Import a lab's Python file by path (a verifier uses this for a lab's own helper
    module, e.g. a collector next to its controller)."""
    name = f"labtool_{role}_{path.stem.replace('-', '_')}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LabtoolError(f"cannot load {role} {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the lab's code, reported with its traceback
        raise ControllerError(f"{role} {path} failed to import:\n{user_traceback(exc, path)}") \
            from None
    return module


def load_function(path: Path, function: str, role: str) -> Callable[..., Any]:
    module = load_module(path, role)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise LabtoolError(f"{role} {path} defines no function {function}(lab)")
    return fn  # type: ignore[no-any-return]


def user_traceback(exc: BaseException, path: Path | None = None, limit: int = 12) -> str:
    """The traceback frames from lab code (not from labtool's engine), then the error."""
    frames = traceback.extract_tb(exc.__traceback__)
    engine = str(Path(__file__).resolve().parent) + "/"
    keep = [f for f in frames if not f.filename.startswith(engine)]
    lines = traceback.format_list(keep[-limit:] or frames[-limit:])
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()
