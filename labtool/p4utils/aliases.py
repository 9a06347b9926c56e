"""`import p4utils...` resolving to labtool's compatible modules, with no p4-utils
installed. A p4utils module labtool does not provide fails to import with the list
of those it does."""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType

# p4-utils module -> labtool module answering it
MODULES = {
    "p4utils.utils.helper": "labtool.p4utils.helper",
    "p4utils.utils.topology": "labtool.p4utils.topology",
    "p4utils.utils.sswitch_p4runtime_API": "labtool.p4utils.p4runtime_api",
    "p4utils.utils.sswitch_thrift_API": "labtool.p4utils.thrift_api",
    "p4utils.utils.thrift_API": "labtool.p4utils.thrift_api",
    "p4utils.mininetlib.network_API": "labtool.p4utils.network_api",
}
PACKAGES = ("p4utils", "p4utils.utils", "p4utils.mininetlib")


class _Refuse(importlib.abc.MetaPathFinder):
    """Any other p4utils module: a clear ImportError instead of 'No module named'."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == "p4utils" or fullname.startswith("p4utils."):
            raise ImportError(f"{fullname} is part of p4-utils but not of labtool's compatible "
                              f"API (it provides: {', '.join(sorted(MODULES))})", name=fullname)
        return None


def _modules() -> dict[str, ModuleType]:
    out: dict[str, ModuleType] = {}
    for name in PACKAGES:
        pkg = ModuleType(name, f"labtool's stand-in for p4-utils' {name} package")
        pkg.__path__ = []
        out[name] = pkg
    for alias, real in MODULES.items():
        out[alias] = importlib.import_module(real)
    for name, module in out.items():  # attributes, so `import p4utils.utils.helper` works
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(out[parent], child, module)
    return out


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """While active, `p4utils.*` imports get labtool's modules; afterwards sys.modules
    is as before (a real p4utils, if one was imported, comes back)."""
    saved = {n: m for n, m in sys.modules.items() if n == "p4utils" or n.startswith("p4utils.")}
    for name in saved:
        del sys.modules[name]
    finder = _Refuse()
    sys.modules.update(_modules())
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "p4utils" or n.startswith("p4utils.")]:
            del sys.modules[name]
        sys.modules.update(saved)
