"""`labtool shell <switch>`: a Python REPL on one switch of a `labtool up` network.

The switch's control plane is bound as `sw` (labtool's SwitchControl: table_add
with named keys, table_read, registers ...) and as `p4` / `thrift` (p4-utils'
APIs with positional string arguments). Tab completes Python names as usual and,
inside a string, the program's table, action, field, register and counter names.
The shell's P4Runtime connection becomes the primary controller of that switch
while it is open (like a controller run by hand).
"""

from __future__ import annotations

import code
import rlcompleter
import sys
from typing import Any

from .controlplane import SwitchControl
from .errors import LabtoolError

BANNER = """labtool shell on {name} (device {device}) — {n_tables} table(s): {tables}
  sw      labtool's control plane: sw.table_add("t", {{"field": v}}, "action", {{"param": v}}),
          sw.table_read("t"), sw.table_clear("t"), sw.register_read("r", 0), sw.counter_read(...)
  p4      p4-utils' P4Runtime API: p4.table_add("t", "action", ["key"], ["param"])
  thrift  p4-utils' Thrift API (entries still go over P4Runtime): thrift.table_num_entries("t")
  tables(), entries("t"), registers()   what the program has and holds
Tab completes names, also inside quotes. Ctrl-D leaves."""


def program_names(control: SwitchControl) -> list[str]:
    """Every name a student may type in a string: tables, actions, match fields,
    registers, counters, meters, digests (short and full)."""
    schema = control.schema
    names: set[str] = set()
    for kind in ("tables", "actions", "registers", "counters", "meters", "digests"):
        for obj in getattr(schema, kind):
            names.update({obj.name, obj.alias})
    for table in schema.tables:
        names.update(f.name for f in table.match_fields)
    for action in schema.actions:
        names.update(p.name for p in action.params)
    return sorted(names)


class Completer:
    """Python completion, and program names right after an opening quote."""

    def __init__(self, namespace: dict[str, Any], names: list[str]) -> None:
        self.python = rlcompleter.Completer(namespace)
        self.names = names
        self.matches: list[str] = []

    def complete(self, text: str, state: int) -> str | None:
        import readline

        if state == 0:
            line = readline.get_line_buffer()
            start = readline.get_begidx()
            if start > 0 and line[start - 1] in "'\"":
                self.matches = [n for n in self.names if n.startswith(text)]
            else:
                self.matches = []
                while (match := self.python.complete(text, len(self.matches))) is not None:
                    self.matches.append(match)
        return self.matches[state] if state < len(self.matches) else None


class Console(code.InteractiveConsole):
    """A labtool error (unknown table, value that does not fit ...) is shown as its
    message, which names what is valid; anything else with its traceback."""

    def showtraceback(self) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, LabtoolError):
            self.write(f"error: {exc}\n")
        else:
            super().showtraceback()


def _helpers(control: SwitchControl) -> dict[str, Any]:
    schema = control.schema

    def tables() -> None:
        for table in schema.tables:
            keys = ", ".join(f"{f.name}:{str(f.match_type).lower().split('.')[-1]}"
                             for f in table.match_fields)
            acts = ", ".join(a.alias for a in table.actions)
            print(f"{table.alias:<24} key [{keys}]  actions [{acts}]")

    def entries(table: str) -> None:
        for entry in control.table_read(table):
            prio = f" priority {entry.priority}" if entry.priority else ""
            print(f"{dict(entry.match)} -> {entry.action}({dict(entry.params)}){prio}")

    def registers() -> None:
        for reg in schema.registers:
            print(f"{reg.alias:<24} {reg.size} cells")

    return {"tables": tables, "entries": entries, "registers": registers}


def interactive_shell(name: str) -> None:
    from .attach import attach_switch, live_topology, switch_nodes
    from .controlplane import Entry
    from .p4utils import binding
    from .p4utils.p4runtime_api import SimpleSwitchP4RuntimeAPI
    from .p4utils.thrift_api import SimpleSwitchThriftAPI

    control = attach_switch(name, p4runtime=True)
    node = switch_nodes(live_topology()[1])[name]
    address = binding.SwitchAddress(name, int(node["device_id"]), int(node["grpc_port"]),
                                    int(node["thrift_port"]))
    try:
        with binding.bind({name: control}, {name: address}):
            p4 = SimpleSwitchP4RuntimeAPI(address.device_id, address.grpc_port)
            thrift = SimpleSwitchThriftAPI(address.thrift_port)
        namespace: dict[str, Any] = {"sw": control, "p4": p4, "thrift": thrift, "Entry": Entry,
                                     **_helpers(control)}
        try:
            import readline

            readline.set_completer(Completer(namespace, program_names(control)).complete)
            readline.parse_and_bind("tab: complete")
        except ImportError:  # no readline (e.g. a minimal Python): no completion
            pass
        tables = [t.alias for t in control.schema.tables]
        Console(namespace).interact(banner=BANNER.format(
            name=name, device=address.device_id, n_tables=len(tables), tables=", ".join(tables)),
            exitmsg="")
    finally:
        control.close()
