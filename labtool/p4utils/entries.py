"""p4-utils' positional table arguments, turned into labtool's named ones.

p4-utils takes match keys and action parameters as lists of strings in the order
the P4 program declares them (P4Info ids), e.g.
`table_add('ipv4_lpm', 'ipv4_forward', ['10.0.2.2/32'], ['00:00:0a:00:02:02', '2'])`.
Value syntaxes: exact `v` (decimal, 0x hex, a.b.c.d for 32-bit, MAC for 48-bit
fields), LPM `a.b.c.d/len` (or a bare value: the full length), ternary `v&&&m`,
range `a->b` (simple_switch_CLI) or `a..b` (P4Runtime shell). A key that matches
everything (LPM /0, ternary mask 0, the full range) is left out of the P4Runtime
entry, as P4Runtime requires. Every error names the table, the key and what fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finsy import p4values
from finsy.p4schema import P4MatchType

from ..controlplane import SwitchControl
from ..errors import ControlPlaneError, unknown_name
from .common import as_list

EXACT, LPM, TERNARY, RANGE, OPTIONAL = (P4MatchType.EXACT, P4MatchType.LPM,
                                        P4MatchType.TERNARY, P4MatchType.RANGE,
                                        P4MatchType.OPTIONAL)
KIND = {EXACT: "exact", LPM: "lpm", TERNARY: "ternary", RANGE: "range", OPTIONAL: "optional"}
SYNTAX = {EXACT: "v", LPM: "a.b.c.d/len", TERNARY: "v&&&mask", RANGE: "lo->hi",
          OPTIONAL: "v"}


@dataclass(frozen=True)
class Key:
    """One entry's match, by full field name (don't-care fields left out)."""

    match: dict[str, Any]
    needs_priority: bool
    priority: int = 0  # the P4Runtime priority it was written with

    def identity(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, repr(v)) for k, v in self.match.items()))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"{value!r} is a {type(value).__name__}, not a string or int")


def _int(text: str, bits: int) -> int:
    return int.from_bytes(p4values.encode_exact(text, bits), "big")


class Tables:
    """Positional table operations on one switch's labtool control plane."""

    def __init__(self, control: SwitchControl) -> None:
        self.control = control
        self.schema = control.schema

    # -- names ---------------------------------------------------------------------------
    def fail(self, text: str) -> ControlPlaneError:
        return ControlPlaneError(f"{self.control.name}: {text}")

    def table(self, name: Any) -> Any:
        table = self.schema.tables.get(str(name))
        if table is None:
            raise self.fail(unknown_name("table", str(name), [t.alias for t in self.schema.tables]))
        return table

    def action(self, table: Any, name: Any) -> Any:
        ref = table.actions.get(str(name))
        if ref is None:
            raise self.fail(f"table {table.alias!r}: " + unknown_name(
                "action", str(name), [a.alias for a in table.actions]))
        return self.schema.actions[ref.name]

    @staticmethod
    def fields(table: Any) -> list[Any]:
        return sorted(table.match_fields, key=lambda f: f.id)

    def describe_key(self, table: Any) -> str:
        return ", ".join(f"{f.name} ({KIND.get(f.match_type, f.match_type)} bit<{f.bitwidth}>)"
                         for f in self.fields(table))

    # -- keys ------------------------------------------------------------------------------
    def key(self, table: Any, keys: Any) -> Key:
        values = as_list(keys, f"match keys of table {table.alias!r}")
        fields = self.fields(table)
        if len(values) != len(fields):
            raise self.fail(f"table {table.alias!r} has {len(fields)} match key(s): "
                            f"{self.describe_key(table)}; {len(values)} given: {values!r}")
        match: dict[str, Any] = {}
        for index, (fld, value) in enumerate(zip(fields, values), 1):
            try:
                encoded = self._field(fld, _text(value))
            except ValueError as exc:
                kind = KIND.get(fld.match_type, fld.match_type)
                raise self.fail(f"table {table.alias!r}, key {index} ({fld.name}, {kind} "
                                f"bit<{fld.bitwidth}>, written {SYNTAX.get(fld.match_type, 'v')}): "
                                f"{value!r} does not fit: {exc}") from None
            if encoded is not None:
                match[fld.name] = encoded
        needs = any(f.match_type in (TERNARY, RANGE, OPTIONAL) for f in fields)
        return Key(match, needs)

    @staticmethod
    def _field(fld: Any, text: str) -> Any:
        """The finsy value for one key, or None when it matches everything."""
        bits = fld.bitwidth
        kind = fld.match_type
        if kind in (EXACT, OPTIONAL):
            return _int(text, bits)
        if kind == LPM:
            value, sep, length = text.partition("/")
            prefix = int(length) if sep else bits
            if not 0 <= prefix <= bits:
                raise ValueError(f"prefix length {prefix} is outside 0..{bits}")
            if prefix == 0:
                return None
            return (_int(value, bits), prefix)
        if kind == TERNARY:
            value, sep, mask_text = text.partition("&&&")
            mask = _int(mask_text, bits) if sep else (1 << bits) - 1
            if mask == 0:
                return None
            return (_int(value, bits) & mask, mask)
        if kind == RANGE:
            for sep in ("->", "...", ".."):
                if sep in text:
                    low_text, _, high_text = text.partition(sep)
                    break
            else:
                low_text = high_text = text
            low, high = _int(low_text, bits), _int(high_text, bits)
            if low > high:
                raise ValueError(f"the range starts above its end ({low} > {high})")
            if low == 0 and high == (1 << bits) - 1:
                return None
            return (low, high)
        raise ValueError(f"match kind {kind} is not supported")

    # -- parameters ------------------------------------------------------------------------
    def params(self, action: Any, params: Any) -> dict[str, Any]:
        values = as_list(params, f"parameters of action {action.alias!r}")
        declared = sorted(action.params, key=lambda p: p.id)
        if len(values) != len(declared):
            names = ", ".join(f"{p.name} (bit<{p.bitwidth}>)" for p in declared) or "none"
            raise self.fail(f"action {action.alias!r} takes {len(declared)} parameter(s): "
                            f"{names}; {len(values)} given: {values!r}")
        out: dict[str, Any] = {}
        for param, value in zip(declared, values):
            try:
                out[param.name] = _int(_text(value), param.bitwidth)
            except ValueError as exc:
                raise self.fail(f"action {action.alias!r}, parameter {param.name} "
                                f"(bit<{param.bitwidth}>): {value!r} does not fit: {exc}") from None
        return out

    def priority(self, table: Any, key: Key, priority: Any) -> int:
        try:
            prio = int(priority or 0)
        except (TypeError, ValueError):
            raise self.fail(f"table {table.alias!r}: priority {priority!r} is not a number") \
                from None
        if key.needs_priority and prio <= 0:
            raise self.fail(f"table {table.alias!r} has ternary/range/optional keys: give a "
                            "priority > 0 (prio=..., the higher one wins)")
        if not key.needs_priority and prio:
            raise self.fail(f"table {table.alias!r} has only exact/lpm keys: its entries take no "
                            f"priority (prio={prio} given)")
        return prio

    # -- the program's own default entry ---------------------------------------------------
    def declared_default(self, table: Any) -> tuple[str, dict[str, Any]]:
        """(action, params) of the table's default entry as the program declares it, read
        from the BMv2 JSON (P4Info does not carry non-const defaults)."""
        import json

        try:
            program = json.loads(self.schema.p4blob)
        except ValueError:
            raise self.fail("the BMv2 JSON of the program is unavailable") from None
        actions = {a["id"]: a["name"] for a in program.get("actions", [])}
        for pipe in program.get("pipelines", []):
            for tbl in pipe.get("tables", []):
                if tbl.get("name") != table.name:
                    continue
                entry = tbl.get("default_entry") or {}
                name = actions.get(entry.get("action_id"))
                if name is None or self.schema.actions.get(name) is None:
                    break
                act = self.schema.actions[name]
                data = entry.get("action_data", [])
                declared = sorted(act.params, key=lambda p: p.id)
                return act.name, {p.name: int(v, 16) for p, v in zip(declared, data)}
        raise self.fail(f"table {table.alias!r}: the program declares no default action")
