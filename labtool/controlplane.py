"""The per-switch control-plane object used by controllers and verifiers.

`SwitchControl` speaks P4Runtime (tables, multicast, clone sessions, counters,
digests, packet I/O) through finsy's schema and entity encoding, and reaches
registers through BMv2's Thrift runtime, because BMv2 does not serve registers
over P4Runtime. Names may be short ("repeater") or fully qualified
("MyIngress.repeater"); an unknown name raises with the closest match and the
valid names.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import finsy as fy
from finsy.proto import p4r

from . import values
from .errors import ControlPlaneError, unknown_name
from .p4runtime import P4RuntimeSession
from .thrift_runtime import ThriftRuntime

Match = Mapping[str, Any]


@dataclass(frozen=True)
class Entry:
    """One table entry, for batched writes and for what `table_read` returns."""

    match: Mapping[str, Any]
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0


def _names(entities: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for ent in entities:
        out.append(ent.name)
        if getattr(ent, "alias", ent.name) != ent.name:
            out.append(ent.alias)
    return out


class SwitchControl:
    """Control of one BMv2 switch: P4Runtime for tables & co, Thrift for registers."""

    def __init__(self, name: str, session: P4RuntimeSession, schema: fy.P4Schema,
                 registers: ThriftRuntime | None) -> None:
        self.name = name
        self.session = session
        self.schema = schema
        self._registers = registers
        # the TCP port topology.json gives for this switch's gRPC server (course tools name
        # switches by it); the session itself may go through a Unix socket
        self.grpc_port = 0

    @property
    def device_id(self) -> int:
        return self.session.device_id

    # -- name resolution ---------------------------------------------------------------------
    def _table(self, name: str) -> Any:
        table = self.schema.tables.get(name)
        if table is None:
            raise ControlPlaneError(f"{self.name}: " + unknown_name("table", name,
                                                                   _names(self.schema.tables)))
        return table

    def _action(self, table: Any, name: str) -> str:
        ref = table.actions.get(name)
        if ref is None:
            raise ControlPlaneError(f"{self.name}: table {table.alias!r}: " + unknown_name(
                "action", name, _names(table.actions)))
        return str(ref.name)

    def _match(self, table: Any, match: Match) -> fy.P4TableMatch:
        out: dict[str, Any] = {}
        fields = table.match_fields
        for key, value in match.items():
            fld = fields.get(key)
            if fld is None:
                raise ControlPlaneError(f"{self.name}: table {table.alias!r}: " + unknown_name(
                    "match field", key, [f.name for f in fields]))
            out[fld.name] = values.normalise(value)
        return fy.P4TableMatch(out)

    def _params(self, table: Any, action: str, params: Mapping[str, Any] | None) -> fy.P4TableAction:
        act = self.schema.actions[action]
        valid = [p.name for p in act.params]
        given = dict(params or {})
        for key in given:
            if key not in valid:
                raise ControlPlaneError(f"{self.name}: action {act.alias!r}: " + unknown_name(
                    "parameter", key, valid))
        missing = [p for p in valid if p not in given]
        if missing:
            raise ControlPlaneError(f"{self.name}: action {act.alias!r} needs parameter(s) "
                                    f"{', '.join(missing)}")
        return fy.P4TableAction(action, **{k: values.normalise(v) for k, v in given.items()})

    def _entry(self, table_name: str, entry: Entry) -> fy.P4TableEntry:
        table = self._table(table_name)
        action = self._action(table, entry.action)
        try:
            return fy.P4TableEntry(table.name, match=self._match(table, entry.match),
                                   action=self._params(table, action, entry.params),
                                   priority=entry.priority)
        except ValueError as exc:  # finsy's encoder rejects a malformed value
            raise ControlPlaneError(f"{self.name}: {table.alias}: {exc}") from None

    def _encode(self, ent: Any, sign: str) -> p4r.Update:
        try:
            update = (+ent if sign == "+" else -ent if sign == "-" else ~ent)
            return update.encode_update(self.schema)  # type: ignore[no-any-return]
        except ValueError as exc:
            where = getattr(ent, "table_id", "") or type(ent).__name__
            short = self.schema.tables[where].alias if self.schema.tables.get(where) else where
            raise ControlPlaneError(f"{self.name}: {short}: {exc}") from None

    # -- tables --------------------------------------------------------------------------------
    def table_add(self, table: str, match: Match, action: str,
                  params: Mapping[str, Any] | None = None, priority: int = 0) -> None:
        self.table_add_many(table, [Entry(match, action, params or {}, priority)])

    def table_add_many(self, table: str, entries: Iterable[Entry]) -> None:
        """Insert many entries in one P4Runtime WriteRequest."""
        updates = [self._encode(self._entry(table, e), "+") for e in entries]
        self.session.write(updates, f"insert into {table}")

    def table_modify(self, table: str, match: Match, action: str,
                     params: Mapping[str, Any] | None = None, priority: int = 0) -> None:
        ent = self._entry(table, Entry(match, action, params or {}, priority))
        self.session.write([self._encode(ent, "~")], f"modify {table}")

    def table_delete(self, table: str, match: Match, priority: int = 0) -> None:
        tbl = self._table(table)
        ent = fy.P4TableEntry(tbl.name, match=self._match(tbl, match), priority=priority)
        self.session.write([self._encode(ent, "-")], f"delete from {table}")

    def table_clear(self, table: str) -> None:
        tbl = self._table(table)
        entries = self.session.read([fy.P4TableEntry(tbl.name).encode(self.schema)])
        updates = [p4r.Update(type=p4r.Update.DELETE, entity=e) for e in entries
                   if not e.table_entry.is_default_action]
        self.session.write(updates, f"clear {table}")

    def clear_all_tables(self) -> None:
        """Delete every (non-default) entry of every table: a clean slate for a controller."""
        for table in self.schema.tables:
            if not table.is_const:
                self.table_clear(table.name)

    def table_set_default(self, table: str, action: str,
                          params: Mapping[str, Any] | None = None) -> None:
        tbl = self._table(table)
        act = self._action(tbl, action)
        ent = fy.P4TableEntry(tbl.name, action=self._params(tbl, act, params),
                              is_default_action=True)
        self.session.write([self._encode(ent, "~")], f"set default of {table}")

    def table_read(self, table: str) -> list[Entry]:
        tbl = self._table(table)
        out = []
        for raw in self.session.read([fy.P4TableEntry(tbl.name).encode(self.schema)]):
            ent = fy.P4TableEntry.decode(raw, self.schema)
            if ent.is_default_action:
                continue
            act = ent.action if isinstance(ent.action, fy.P4TableAction) else None
            name = self.schema.actions[act.name].alias if act is not None else ""
            params = dict(act.args) if act is not None else {}
            match = {self._short_field(tbl, k): v for k, v in (ent.match or {}).items()}
            out.append(Entry(match, name, params, ent.priority))
        return out

    @staticmethod
    def _short_field(table: Any, key: str) -> str:
        return str(table.match_fields[key].name)

    # -- replication ---------------------------------------------------------------------------
    def multicast_group(self, group_id: int, ports: Sequence[int]) -> None:
        ent = fy.P4MulticastGroupEntry(group_id, replicas=[(p, i) for i, p in enumerate(ports)])
        self.session.write([self._encode(ent, "+")], f"multicast group {group_id}")

    def clone_session(self, session_id: int, port: int) -> None:
        ent = fy.P4CloneSessionEntry(session_id, replicas=[(port, 0)])
        self.session.write([self._encode(ent, "+")], f"clone session {session_id}")

    # -- counters --------------------------------------------------------------------------------
    def counter_read(self, counter: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of one cell of an indexed counter."""
        if self.schema.counters.get(counter) is None:
            raise ControlPlaneError(f"{self.name}: " + unknown_name(
                "counter", counter, _names(self.schema.counters)))
        name = self.schema.counters[counter].name
        raw = self.session.read([fy.P4CounterEntry(name, index=index).encode(self.schema)])
        if not raw:
            return 0, 0
        ent = fy.P4CounterEntry.decode(raw[0], self.schema)
        return ent.packet_count, ent.byte_count

    # -- packet I/O and digests --------------------------------------------------------------
    def packet_out(self, payload: bytes, **metadata: Any) -> None:
        msg = fy.P4PacketOut(payload, **metadata).encode_update(self.schema)
        self.session.send(msg)

    def packet_in(self, timeout: float = 1.0) -> fy.P4PacketIn | None:
        try:
            raw = self.session.packet_ins.get(timeout=timeout)
        except queue.Empty:
            return None
        return fy.P4PacketIn.decode(p4r.StreamMessageResponse(packet=raw), self.schema)

    def enable_digest(self, digest: str) -> None:
        if self.schema.digests.get(digest) is None:
            raise ControlPlaneError(f"{self.name}: " + unknown_name(
                "digest", digest, _names(self.schema.digests)))
        ent = fy.P4DigestEntry(self.schema.digests[digest].name, max_list_size=1,
                               max_timeout_ns=0, ack_timeout_ns=1_000_000_000)
        self.session.write([self._encode(ent, "+")], f"enable digest {digest}")

    def digest(self, timeout: float = 1.0) -> list[Any] | None:
        """The next digest list's data (acknowledged), or None after `timeout`."""
        try:
            raw = self.session.digests.get(timeout=timeout)
        except queue.Empty:
            return None
        msg = fy.P4DigestList.decode(p4r.StreamMessageResponse(digest=raw), self.schema)
        self.session.send(msg.ack().encode_update(self.schema))
        return list(msg)

    # -- registers (Thrift) -------------------------------------------------------------------
    @property
    def registers(self) -> ThriftRuntime:
        if self._registers is None:
            raise ControlPlaneError(f"{self.name}: no Thrift connection for registers")
        return self._registers

    def register_names(self) -> list[str]:
        return _names(self.schema.registers)

    def _register(self, name: str) -> str:
        reg = self.schema.registers.get(name)
        if reg is None:
            raise ControlPlaneError(f"{self.name}: " + unknown_name(
                "register", name, self.register_names()))
        return str(reg.name)

    def register_size(self, name: str) -> int:
        return int(self.schema.registers[self._register(name)].size)

    def register_read(self, name: str, index: int | None = None) -> list[int] | int:
        full = self._register(name)
        if index is None:
            return self.registers.read_all(full)
        self._check_index(full, index)
        return self.registers.read(full, index)

    def register_write(self, name: str, index: int, value: int) -> None:
        full = self._register(name)
        self._check_index(full, index)
        self.registers.write(full, index, value)

    def register_reset(self, name: str) -> None:
        self.registers.reset(self._register(name))

    def _check_index(self, full: str, index: int) -> None:
        size = int(self.schema.registers[full].size)
        if not 0 <= index < size:
            raise ControlPlaneError(f"{self.name}: register {full} has indexes 0..{size - 1}, "
                                    f"not {index}")

    def close(self) -> None:
        self.session.close()
        if self._registers is not None:
            self._registers.close()
