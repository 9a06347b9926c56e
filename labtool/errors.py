"""Exceptions that carry a user-facing message and an exit code.

Exit codes are part of the CLI contract: 0 = PASS, 1 = FAIL, 2 = usage or
environment error. Anything that is the user's or the machine's fault (not a
labtool bug) is raised as a LabtoolError so the CLI prints one clear message
instead of a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2


class LabtoolError(Exception):
    """A problem the user can fix; printed as one message, exit code 2."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ManifestError(LabtoolError):
    """A topology/manifest file is malformed; the message names file and field."""


class ToolchainError(LabtoolError):
    """p4c, BMv2 or another external tool is missing or broken."""


class CompileError(LabtoolError):
    """p4c rejected the program; message holds file:line:col and the source line."""


class NetworkError(LabtoolError):
    """The emulated network could not be built or a switch died."""


class ControlPlaneError(LabtoolError):
    """A P4Runtime/Thrift operation failed or named something that does not exist."""


class ControllerError(LabtoolError):
    """The lab's controller raised; the message carries the controller's traceback tail."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> str:
    """Message for an unknown name: the closest match and every valid name."""
    names = sorted(set(valid))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    msg = f"no {kind} {name!r}"
    if close:
        msg += f"; did you mean {close[0]!r}?"
    if names:
        msg += f" (valid: {', '.join(names)})"
    else:
        msg += f" (this program has no {kind}s)"
    return msg
