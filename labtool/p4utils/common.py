"""What every compatible p4-utils class shares: a p4-utils method labtool does not
provide raises naming it (never a silent no-op), and a misspelled one raises with
the closest valid name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ..errors import ControlPlaneError


class Unsupported(ControlPlaneError):
    """A p4-utils call that labtool's compatible API does not provide."""


def unsupported(api: str, method: str, why: str = "") -> Unsupported:
    text = f"{api}.{method}() is part of p4-utils but not of labtool's compatible API"
    return Unsupported(f"{text}: {why}" if why else text)


class CompatAPI:
    """Base of the compatible classes. `P4UTILS_ONLY` lists p4-utils methods of the
    class that labtool does not implement; calling one raises Unsupported. Any other
    unknown attribute is a typo: AttributeError with the closest method."""

    P4UTILS_ONLY: frozenset[str] = frozenset()
    WHY: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        api = type(self).__name__
        if name in self.P4UTILS_ONLY:
            def refuse(*args: Any, **kwargs: Any) -> Any:
                raise unsupported(api, name, self.WHY.get(name, ""))
            return refuse
        raise AttributeError(did_you_mean(f"{api} has no method {name!r}", name, self.methods()))

    @classmethod
    def methods(cls) -> list[str]:
        return sorted(n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))
                      and n not in ("methods",))


def did_you_mean(text: str, name: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"{text}; did you mean {close[0]!r}?" if close else text


def as_list(value: Any, what: str) -> list[Any]:
    """p4-utils requires lists for keys and parameters; a string would be iterated
    character by character, so say so instead."""
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ControlPlaneError(f"{what} must be a list (e.g. ['10.0.0.1/32']), not "
                            f"{type(value).__name__} {value!r}")
