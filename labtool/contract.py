"""The control-plane contract of a lab, and checking a compiled program against it.

A manifest's `[contract]` declares the names its controller and verifier rely on
(LABS.md): tables with their key fields and match kinds, actions with parameter
names and widths, registers, counters, digests, packet-in/out headers. Before
the controller runs, the compiled program's P4Info is checked against it; every
mismatch is one line naming the expected name and the closest the program has.
A program that breaks the contract is wrong (FAIL), not the machine (exit 2).

    [contract]
    registers = { counts = 32 }         # name -> at least this many bits (0: any)
    [contract.tables.repeater]
    key = { "standard_metadata.ingress_port" = "exact" }   # or ["exact", 9]
    actions = ["forward", "drop"]
    [contract.actions]
    forward = { port = 9 }               # parameter -> at least this many bits

Widths are minimums: a wider field still holds every value the lab uses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MATCH_KINDS = ("exact", "lpm", "ternary", "range", "optional")
SECTIONS = ("tables", "actions", "registers", "counters", "digests", "packet_io")


@dataclass(frozen=True)
class TableSpec:
    key: tuple[tuple[str, str, int], ...]  # (field, match kind, minimum width; 0 = any)
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Contract:
    tables: Mapping[str, TableSpec] = field(default_factory=dict)
    actions: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    registers: Mapping[str, int] = field(default_factory=dict)
    counters: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    packet_io: bool = False  # the program declares packet_in/packet_out headers

    @property
    def empty(self) -> bool:
        return not (self.tables or self.actions or self.registers or self.counters
                    or self.digests or self.packet_io)


Fail = Callable[[str, str], Exception]


def parse_contract(data: dict[str, Any], fail: Fail) -> Contract:
    """The manifest's [contract] table, validated (fail(field, problem) makes the error)."""
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(key, SECTIONS, n=1)
            raise fail(key, f"unknown section{f'; did you mean {close[0]!r}?' if close else ''} "
                            f"(valid: {', '.join(SECTIONS)})")
    tables: dict[str, TableSpec] = {}
    for name, spec in _table(data.get("tables", {}), "tables", fail).items():
        spec = _table(spec, f"tables.{name}", fail)
        for key in spec:
            if key not in ("key", "actions"):
                raise fail(f"tables.{name}.{key}", "a table has `key` and `actions`")
        fields = []
        for fname, kind in _table(spec.get("key", {}), f"tables.{name}.key", fail).items():
            width = 0
            if isinstance(kind, list) and len(kind) == 2 and isinstance(kind[1], int):
                kind, width = kind
            if kind not in MATCH_KINDS:
                raise fail(f"tables.{name}.key.{fname}",
                           f"{kind!r} is not a match kind ({', '.join(MATCH_KINDS)}), optionally "
                           'with a width: ["exact", 9]')
            fields.append((fname, str(kind), width))
        actions = spec.get("actions", [])
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise fail(f"tables.{name}.actions", "expected a list of action names")
        tables[name] = TableSpec(tuple(fields), tuple(actions))
    actions_out: dict[str, tuple[tuple[str, int], ...]] = {}
    for name, params in _table(data.get("actions", {}), "actions", fail).items():
        params = _table(params, f"actions.{name}", fail)
        actions_out[name] = tuple((p, _width(w, f"actions.{name}.{p}", fail))
                                  for p, w in params.items())
    for tname, tspec in tables.items():
        for action in tspec.actions:
            if action not in actions_out:
                raise fail(f"tables.{tname}.actions", f"declare {action} under [contract.actions]")
    registers = data.get("registers", {})
    if isinstance(registers, list):
        registers = dict.fromkeys(registers, 0)
    registers = {n: _width(w, f"registers.{n}", fail)
                 for n, w in _table(registers, "registers", fail).items()}
    packet_io = data.get("packet_io", False)
    if not isinstance(packet_io, bool):
        raise fail("packet_io", "expected true or false")
    return Contract(tables, actions_out, registers, _names(data, "counters", fail),
                    _names(data, "digests", fail), packet_io)


def _table(value: Any, where: str, fail: Fail) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(where, f"expected a table, got {value!r}")
    return value


def _width(value: Any, where: str, fail: Fail) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise fail(where, f"expected a bit width (0 = any), got {value!r}")
    return value


def _names(data: dict[str, Any], key: str, fail: Fail) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(key, "expected a list of names")
    return tuple(value)


# -- what a compiled program has ------------------------------------------------------

@dataclass(frozen=True)
class ProgramTable:
    name: str  # P4Info full name, e.g. MyIngress.vlan_table
    key: tuple[tuple[str, str, int], ...]
    actions: tuple[str, ...]  # full names


@dataclass(frozen=True)
class ProgramNames:
    """The names a compiled program offers the control plane (from its P4Info)."""

    tables: tuple[ProgramTable, ...] = ()
    actions: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    registers: Mapping[str, int] = field(default_factory=dict)
    counters: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    packet_io: tuple[str, ...] = ()  # controller packet metadata names


def program_names(schema: Any) -> ProgramNames:
    """ProgramNames from a finsy P4Schema."""
    tables = tuple(
        ProgramTable(t.name, tuple((m.name, m.match_type.name.lower(), int(m.bitwidth))
                                   for m in t.match_fields),
                     tuple(a.name for a in t.actions))
        for t in schema.tables)
    actions = {a.name: tuple((p.name, int(p.bitwidth)) for p in a.params) for a in schema.actions}
    registers = {r.name: int(getattr(r.type_spec, "bitwidth", 0) or 0) for r in schema.registers}
    counters = tuple([c.name for c in schema.counters] + [c.name for c in schema.direct_counters])
    return ProgramNames(tables, actions, registers, counters,
                        tuple(d.name for d in schema.digests),
                        tuple(m.name for m in schema.controller_packet_metadata))


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _lookup(name: str, names: Iterable[str]) -> str | None:
    """The program's name for a contract name: exact, or the last component."""
    names = list(names)
    if name in names:
        return name
    hits = [n for n in names if _short(n) == name or n.endswith("." + name)]
    return hits[0] if len(hits) == 1 else None


def _closest(name: str, names: Iterable[str], kind: str) -> str:
    shorts = sorted({_short(n) for n in names})
    close = difflib.get_close_matches(name, shorts, n=1, cutoff=0.5)
    found = f"; closest in the program: {close[0]!r}" if close else ""
    have = f" (the program's {kind}s: {', '.join(shorts)})" if shorts else \
        f" (the program has no {kind}s)"
    return found + have


def check(contract: Contract, program: ProgramNames) -> list[str]:
    """Every way the program breaks the contract, one line each (empty: it keeps it)."""
    problems: list[str] = []
    for tname, spec in contract.tables.items():
        full = _lookup(tname, (t.name for t in program.tables))
        if full is None:
            problems.append(f"table {tname}: not in the program"
                            + _closest(tname, (t.name for t in program.tables), "table"))
            continue
        table = next(t for t in program.tables if t.name == full)
        problems += _check_key(tname, spec, table)
        for action in spec.actions:
            if _lookup(action, table.actions) is None:
                problems.append(f"table {tname}: action {action} is not one of its actions "
                                f"({', '.join(_short(a) for a in table.actions) or 'none'})")
    for aname, params in contract.actions.items():
        # several controls may each have an action of that name (a drop() in ingress and
        # one in egress): the contract holds if one of them has the parameters
        candidates = [n for n in program.actions if n == aname or _short(n) == aname]
        if not candidates:
            problems.append(f"action {aname}: not in the program"
                            + _closest(aname, program.actions, "action"))
            continue
        found: list[list[str]] = [_check_params(aname, params, program.actions[c])
                                  for c in candidates]
        problems += sorted(found, key=len)[0]
    for rname, width in contract.registers.items():
        full = _lookup(rname, program.registers)
        if full is None:
            problems.append(f"register {rname}: not in the program"
                            + _closest(rname, program.registers, "register"))
        elif program.registers[full] < width:
            problems.append(f"register {rname}: cells are bit<{program.registers[full]}>, the "
                            f"lab needs at least bit<{width}>")
    for kind, wanted, have in (("counter", contract.counters, program.counters),
                               ("digest", contract.digests, program.digests)):
        for name in wanted:
            if _lookup(name, have) is None:
                problems.append(f"{kind} {name}: not in the program" + _closest(name, have, kind))
    if contract.packet_io:
        for header in ("packet_in", "packet_out"):
            if header not in program.packet_io:
                problems.append(f"no @controller_header(\"{header}\") header: the lab sends or "
                                "receives packets through the CPU port")
    return problems


WILDCARD_KINDS = frozenset({"ternary", "lpm", "range", "optional"})


def _check_key(tname: str, spec: TableSpec, table: ProgramTable) -> list[str]:
    problems = []
    have = {name: (kind, width) for name, kind, width in table.key}
    for fname, kind, width in spec.key:
        if fname not in have:
            others = [n for n in have if n not in {f for f, _, _ in spec.key}]
            close = difflib.get_close_matches(fname, others, n=1, cutoff=0.3)
            problems.append(f"table {tname}: key field {fname} ({kind}) is missing"
                            + (f"; the program matches {close[0]} instead" if close else
                               f" (its key: {_key_text(table)})"))
            continue
        hkind, hwidth = have[fname]
        if hkind != kind:
            problems.append(f"table {tname}: key field {fname} is matched {hkind}, the lab "
                            f"needs {kind}")
        if hwidth < width:
            problems.append(f"table {tname}: key field {fname} is bit<{hwidth}>, the lab "
                            f"needs bit<{width}>")
    # P4Runtime leaves a ternary, LPM, range or optional field out of an entry to mean
    # "any value", so such an extra field (a watchlist that also matches the protocol)
    # keeps working with the lab's entries; an exact one has no such value.
    extra = [n for n, (k, _) in have.items()
             if n not in {f for f, _, _ in spec.key} and k not in WILDCARD_KINDS]
    missing = [f for f, _, _ in spec.key if f not in have]
    if extra and not missing:
        problems.append(f"table {tname}: key has field(s) the lab does not set: "
                        f"{', '.join(extra)} (the lab's key: "
                        f"{', '.join(f'{f} ({k})' for f, k, _ in spec.key)})")
    return problems


def _key_text(table: ProgramTable) -> str:
    return ", ".join(f"{n} ({k})" for n, k, _ in table.key) or "none"


def _check_params(aname: str, want: tuple[tuple[str, int], ...],
                  have: tuple[tuple[str, int], ...]) -> list[str]:
    problems = []
    have_map = dict(have)
    unused = [n for n, _ in have if n not in dict(want)]
    for pname, width in want:
        if pname not in have_map:
            if unused:
                problems.append(f"action {aname}: parameter {unused[0]} — the lab sets {pname}")
                unused = unused[1:]
            else:
                problems.append(f"action {aname}: has no parameter {pname} (its parameters: "
                                f"{', '.join(n for n, _ in have) or 'none'})")
        elif have_map[pname] < width:
            problems.append(f"action {aname}: parameter {pname} is bit<{have_map[pname]}>, the "
                            f"lab needs bit<{width}>")
    for pname in unused:
        problems.append(f"action {aname}: parameter {pname} is one the lab does not set "
                        f"(the lab's parameters: {', '.join(n for n, _ in want) or 'none'})")
    return problems
