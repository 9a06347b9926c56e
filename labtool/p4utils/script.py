"""Running a course script (a p4-utils control plane) inside labtool's process.

The script runs as `__main__` with its argv, the run directory as its working
directory (so `load_topo('topology.json')` finds the network) and its own
directory first on sys.path (its helper modules import). `p4utils` imports
resolve to labtool's compatible API, and the API objects it creates use the run's
control plane of each switch. Its output goes to labtool's output. An exception
or a non-zero exit is a ControllerError (exit 2) showing the script's own lines.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..controlplane import SwitchControl
from ..errors import ControllerError, ControlPlaneError, LabtoolError
from . import aliases, binding
from .course import CourseScript

_ENGINE = str(Path(__file__).resolve().parents[1]) + os.sep
_STDLIB = os.path.dirname(os.__file__) + os.sep


def script_traceback(exc: BaseException, script: Path) -> str:
    """The frames of the student's code (not labtool's, not the standard library's),
    then the error. A labtool control-plane error shows only the line that caused it:
    its message already says what is wrong and what is valid."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((_ENGINE, _STDLIB)) and "<frozen" not in f.filename]
    if isinstance(exc, LabtoolError):
        frames = frames[-1:]
    lines = traceback.format_list(frames[-12:])
    if isinstance(exc, LabtoolError):
        lines.append(str(exc))
    else:
        lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


@contextlib.contextmanager
def _process_state(script: CourseScript, cwd: Path) -> Iterator[None]:
    """argv, working directory and import path as `python script.py args` in cwd."""
    argv, path0, here = sys.argv, list(sys.path), os.getcwd()
    sys.argv = [str(script.path), *script.args]
    sys.path.insert(0, str(script.path.parent))
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        sys.argv = argv
        sys.path[:] = path0


def run_script(script: CourseScript, cwd: Path) -> None:
    """Run the script to its end in this thread (the caller has bound the switches)."""
    with aliases.installed(), _process_state(script, cwd):
        try:
            runpy.run_path(str(script.path), run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise ControllerError(f"{script.name} exited with status {exc.code}") from None
        except (KeyboardInterrupt, ControllerError):
            raise
        except ControlPlaneError as exc:
            raise ControllerError(f"{script.name} failed:\n{script_traceback(exc, script.path)}") \
                from None
        except BaseException as exc:  # noqa: BLE001 - the student's code: show its traceback
            raise ControllerError(f"{script.name} raised:\n{script_traceback(exc, script.path)}") \
                from None
        finally:
            sys.stdout.flush()


class BackgroundScript:
    """A script that may run for ever (a learning switch's digest loop), as p4-utils'
    execScript runs it: `settled` is set when it has finished or is waiting for the
    switches (a blocking get_digest_list...), so `labtool up` knows its configuration
    is done without guessing a delay. While it runs on, the process keeps its working
    directory and argv (the script may still rely on them)."""

    def __init__(self, script: CourseScript, cwd: Path, bound: binding.Binding) -> None:
        self.script = script
        self.cwd = cwd
        self.bound = bound
        self.settled = threading.Event()
        self.error: LabtoolError | None = None
        self.thread = threading.Thread(target=self._run, name=f"script {script.name}",
                                       daemon=True)

    def _run(self) -> None:
        self.bound.on_wait[threading.get_ident()] = self.settled.set
        try:
            run_script(self.script, self.cwd)
        except LabtoolError as exc:
            self.error = exc
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = ControllerError(f"{self.script.name}: {exc!r}")
        finally:
            self.settled.set()

    def start_and_settle(self) -> None:
        """Start it and return once it finished or waits for the switches; raise its error."""
        self.thread.start()
        self.settled.wait()
        if self.error is not None:
            raise self.error

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def switch_addresses(controls: Mapping[str, SwitchControl]) -> dict[str, binding.SwitchAddress]:
    """The address each course API constructor will be given (from topology.json)."""
    out = {}
    for name, control in controls.items():
        grpc_port = control.grpc_port
        thrift_port = control._registers.port if control._registers is not None else -1
        out[name] = binding.SwitchAddress(name, control.device_id, grpc_port, thrift_port)
    return out


@contextlib.contextmanager
def bound(controls: Mapping[str, SwitchControl]) -> Iterator[binding.Binding]:
    """The run's switches answer the course APIs while this is active."""
    with binding.bind(controls, switch_addresses(controls)) as active:
        yield active
