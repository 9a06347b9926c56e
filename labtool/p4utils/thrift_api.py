"""`p4utils.utils.sswitch_thrift_API.SimpleSwitchThriftAPI` on labtool.

p4-utils' Thrift API writes table entries with BMv2's Thrift runtime, behind the
P4Runtime server's back: the P4Runtime view of the switch (the verifier's reads,
modifies and deletes) would no longer be true. Here every table, multicast,
mirroring, counter and meter call goes through the switch's one P4Runtime control
plane instead; BMv2's Thrift runtime is used only for what P4Runtime does not
cover on BMv2 (registers, queues, hash parameters, time).

Thrift semantics kept: entry handles (per table, from 0), priorities where the
lower number wins (translated to P4Runtime's higher-wins), multicast groups built
from nodes (`mc_node_create(rid, ports)` + `mc_node_associate(mgrp, handle)`),
meter rates in units per microsecond.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from ..controlplane import SwitchControl
from ..errors import ControlPlaneError
from . import binding, ops
from .common import CompatAPI, unsupported
from .entries import Key, Tables

# BMv2's Thrift priorities: the lower wins. P4Runtime's: the higher wins, 1 .. 2^24-1 on
# BMv2. Thrift priority p becomes P4Runtime priority TOP - p.
PRIORITY_TOP = (1 << 24) - 1


@dataclass
class ThriftState:
    """What BMv2's Thrift runtime would remember for this switch: entry handles and the
    multicast nodes behind each group. Shared by every API object of the switch (a
    command file and a script may both configure it)."""

    handles: dict[str, dict[int, Key]] = field(default_factory=dict)
    nodes: dict[int, tuple[int, list[int]]] = field(default_factory=dict)  # handle: (rid, ports)
    groups: dict[int, list[int]] = field(default_factory=dict)  # mgrp: node handles
    written: set[int] = field(default_factory=set)  # groups present on the switch


_states: weakref.WeakKeyDictionary[SwitchControl, ThriftState] = weakref.WeakKeyDictionary()


def state_of(control: SwitchControl) -> ThriftState:
    if control not in _states:
        _states[control] = ThriftState()
    return _states[control]


@dataclass(frozen=True)
class ResourceInfo:
    """What get_tables()/get_register_arrays()... return per name (p4-utils' objects
    carry name, id_, and size/width where they apply)."""

    name: str
    id_: int
    size: int = 0
    width: int = 0


def _lowest_free(used: Any) -> int:
    handle = 0
    while handle in used:
        handle += 1
    return handle


class SimpleSwitchThriftAPI(CompatAPI):
    P4UTILS_ONLY = frozenset({
        "act_prof_create_member", "act_prof_delete_member", "act_prof_modify_member",
        "act_prof_create_group", "act_prof_delete_group", "act_prof_add_member_to_group",
        "act_prof_remove_member_from_group", "act_prof_dump", "act_prof_dump_member",
        "act_prof_dump_group", "pvs_add", "pvs_remove", "pvs_get", "pvs_clear", "show_pvs",
        "port_add", "port_remove", "show_ports", "load_new_config_file", "swap_configs",
        "write_config_to_file", "serialize_state", "table_set_timeout", "mc_set_lag_membership",
        "mirroring_add_mc", "mirroring_add_port_and_mgrp", "table_dump_entry",
        "table_dump_entry_from_key", "shell",
    })
    WHY = {
        "mirroring_add_mc": "P4Runtime clone sessions replicate to ports, not to a multicast "
                            "group",
        "mirroring_add_port_and_mgrp": "P4Runtime clone sessions replicate to ports, not to a "
                                       "multicast group",
        "port_add": "labtool builds the switch ports from the topology",
        "port_remove": "labtool builds the switch ports from the topology",
        "load_new_config_file": "labtool pushes the program over P4Runtime",
        "swap_configs": "labtool pushes the program over P4Runtime",
    }

    def __init__(self, thrift_port: int, thrift_ip: str = "localhost",
                 json_path: str | None = None) -> None:
        self.thrift_port = thrift_port
        self.thrift_ip = thrift_ip
        self.json_path = json_path
        self.control = binding.thrift_control(thrift_port)
        self._tables = Tables(self.control)
        self._state = state_of(self.control)

    # -- tables ----------------------------------------------------------------------------
    def _priority(self, key: Key, prio: Any) -> int:
        if not key.needs_priority:
            return 0  # BMv2 ignores a priority on exact/LPM tables
        try:
            value = int(prio or 0)
        except (TypeError, ValueError):
            raise ControlPlaneError(f"{self.control.name}: priority {prio!r} is not a number") \
                from None
        if not 0 <= value < PRIORITY_TOP:
            raise ControlPlaneError(f"{self.control.name}: priority {value} is outside "
                                    f"0..{PRIORITY_TOP - 1} (the lower wins)")
        return PRIORITY_TOP - value

    def table_add(self, table_name: str, action_name: str, match_keys: list[Any],
                  action_params: list[Any] | None = None, prio: int = 0) -> int:
        """Add an entry; returns its handle (as BMv2 numbers them: per table, from 0)."""
        table = self._tables.table(table_name)
        action = self._tables.action(table, action_name)
        key = self._tables.key(table, match_keys)
        params = self._tables.params(action, action_params or [])
        priority = self._priority(key, prio)
        key = Key(key.match, key.needs_priority, priority)
        self.control.table_add(table.name, key.match, action.name, params, priority)
        handles = self._state.handles.setdefault(table.name, {})
        handle = _lowest_free(handles)
        handles[handle] = key
        return handle

    def _by_handle(self, table: Any, entry_handle: Any) -> tuple[int, Key]:
        handles = self._state.handles.get(table.name, {})
        try:
            handle = int(entry_handle)
        except (TypeError, ValueError):
            raise ControlPlaneError(f"{self.control.name}: entry handle {entry_handle!r} is not "
                                    "a number") from None
        if handle not in handles:
            known = ", ".join(str(h) for h in sorted(handles)) or "none"
            raise ControlPlaneError(f"{self.control.name}: table {table.alias!r} has no entry "
                                    f"with handle {handle} (handles: {known})")
        return handle, handles[handle]

    def get_handle_from_match(self, table_name: str, match_keys: list[Any],
                              pop: bool = False) -> int | None:
        table = self._tables.table(table_name)
        wanted = self._tables.key(table, match_keys).identity()
        handles = self._state.handles.get(table.name, {})
        for handle, key in handles.items():
            if key.identity() == wanted:
                if pop:
                    del handles[handle]
                return handle
        return None

    def table_modify(self, table_name: str, action_name: str, entry_handle: int,
                     action_params: list[Any] | None = None) -> int:
        table = self._tables.table(table_name)
        action = self._tables.action(table, action_name)
        handle, key = self._by_handle(table, entry_handle)
        params = self._tables.params(action, action_params or [])
        self.control.table_modify(table.name, key.match, action.name, params, key.priority)
        return handle

    def table_modify_match(self, table_name: str, action_name: str, match_keys: list[Any],
                           action_params: list[Any] | None = None) -> int:
        handle = self.get_handle_from_match(table_name, match_keys)
        if handle is None:
            self._no_match(table_name, match_keys)
        return self.table_modify(table_name, action_name, handle, action_params)  # type: ignore[arg-type]

    def table_delete(self, table_name: str, entry_handle: int, quiet: bool = False) -> None:
        table = self._tables.table(table_name)
        handle, key = self._by_handle(table, entry_handle)
        self.control.table_delete(table.name, key.match, key.priority)
        del self._state.handles[table.name][handle]

    def table_delete_match(self, table_name: str, match_keys: list[Any]) -> None:
        handle = self.get_handle_from_match(table_name, match_keys)
        if handle is None:
            self._no_match(table_name, match_keys)
        self.table_delete(table_name, handle)  # type: ignore[arg-type]

    def _no_match(self, table_name: str, match_keys: list[Any]) -> None:
        raise ControlPlaneError(f"{self.control.name}: table {table_name!r} has no entry "
                                f"{match_keys!r} added through this API")

    def table_set_default(self, table_name: str, action_name: str,
                          action_params: list[Any] | None = None) -> None:
        table = self._tables.table(table_name)
        action = self._tables.action(table, action_name)
        self.control.table_set_default(table.name, action.name,
                                       self._tables.params(action, action_params or []))

    def table_reset_default(self, table_name: str) -> None:
        table = self._tables.table(table_name)
        action, params = self._tables.declared_default(table)
        self.control.table_set_default(table.name, action, params)

    def table_num_entries(self, table_name: str) -> int:
        return len(self.control.table_read(self._tables.table(table_name).name))

    def table_clear(self, table_name: str) -> None:
        table = self._tables.table(table_name)
        self.control.table_clear(table.name)
        self._state.handles.pop(table.name, None)

    def table_dump(self, table_name: str) -> None:
        table = self._tables.table(table_name)
        entries = self.control.table_read(table.name)
        print(f"{table.alias}: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
        for entry in entries:
            prio = f" priority {entry.priority}" if entry.priority else ""
            print(f"  {dict(entry.match)} => {entry.action}{dict(entry.params)}{prio}")

    # -- multicast (nodes and groups, as BMv2's Thrift PRE) ------------------------------------
    def _sync_group(self, mgrp: int) -> None:
        reps: list[tuple[int, int]] = []
        for handle in self._state.groups.get(mgrp, []):
            rid, ports = self._state.nodes[handle]
            reps += [(port, rid) for port in ports]
        if len(set(reps)) != len(reps):
            raise ControlPlaneError(f"{self.control.name}: multicast group {mgrp} would hold the "
                                    "same (port, rid) twice: P4Runtime cannot express that")
        if reps:
            kind = "modify" if mgrp in self._state.written else "insert"
            ops.multicast(self.control, mgrp, reps, kind)
            self._state.written.add(mgrp)
        elif mgrp in self._state.written:
            ops.multicast(self.control, mgrp, [], "delete")
            self._state.written.discard(mgrp)

    def _group(self, mgrp: Any) -> int:
        group = int(mgrp)
        if group not in self._state.groups:
            known = ", ".join(map(str, sorted(self._state.groups))) or "none"
            raise ControlPlaneError(f"{self.control.name}: multicast group {group} was not "
                                    f"created (mc_mgrp_create); groups: {known}")
        return group

    def _node(self, handle: Any) -> int:
        node = int(handle)
        if node not in self._state.nodes:
            known = ", ".join(map(str, sorted(self._state.nodes))) or "none"
            raise ControlPlaneError(f"{self.control.name}: no multicast node with handle {node} "
                                    f"(nodes: {known})")
        return node

    def mc_mgrp_create(self, mgrp: int) -> int:
        group = int(mgrp)
        if group in self._state.groups:
            raise ControlPlaneError(f"{self.control.name}: multicast group {group} exists")
        if group <= 0:
            raise ControlPlaneError(f"{self.control.name}: multicast group ids start at 1")
        self._state.groups[group] = []
        return group

    def mc_mgrp_destroy(self, mgrp: int) -> None:
        group = self._group(mgrp)
        self._state.groups[group] = []
        self._sync_group(group)
        del self._state.groups[group]

    def mc_node_create(self, rid: int, ports: list[Any], lags: list[Any] | None = None) -> int:
        if lags:
            raise unsupported(type(self).__name__, "mc_node_create", "LAGs are not supported")
        handle = _lowest_free(self._state.nodes)
        self._state.nodes[handle] = (int(rid), sorted({int(p) for p in ports}))
        return handle

    def mc_node_update(self, l1_hdl: int, ports: list[Any], lags: list[Any] | None = None) -> int:
        if lags:
            raise unsupported(type(self).__name__, "mc_node_update", "LAGs are not supported")
        node = self._node(l1_hdl)
        self._state.nodes[node] = (self._state.nodes[node][0], sorted({int(p) for p in ports}))
        for group, members in self._state.groups.items():
            if node in members:
                self._sync_group(group)
        return node

    def mc_node_associate(self, mgrp: int, l1_hdl: int) -> None:
        group, node = self._group(mgrp), self._node(l1_hdl)
        if node in self._state.groups[group]:
            raise ControlPlaneError(f"{self.control.name}: node {node} is already in group {group}")
        self._state.groups[group].append(node)
        self._sync_group(group)

    def mc_node_dissociate(self, mgrp: int, l1_hdl: int) -> None:
        group, node = self._group(mgrp), self._node(l1_hdl)
        if node not in self._state.groups[group]:
            raise ControlPlaneError(f"{self.control.name}: node {node} is not in group {group}")
        self._state.groups[group].remove(node)
        self._sync_group(group)

    def mc_node_destroy(self, l1_hdl: int) -> None:
        node = self._node(l1_hdl)
        for group, members in self._state.groups.items():
            if node in members:
                raise ControlPlaneError(f"{self.control.name}: node {node} is still in group "
                                        f"{group} (mc_node_dissociate first)")
        del self._state.nodes[node]

    def mc_dump(self) -> None:
        for group, members in sorted(self._state.groups.items()):
            nodes = ", ".join(f"node {h} (rid {self._state.nodes[h][0]}, ports "
                              f"{self._state.nodes[h][1]})" for h in members)
            print(f"mgrp {group}: {nodes or 'no nodes'}")

    # -- mirroring (P4Runtime clone sessions) --------------------------------------------------
    def mirroring_add(self, mirror_id: int, egress_port: int) -> None:
        kind = "modify" if ops.clone_session_exists(self.control, mirror_id) else "insert"
        ops.clone_session(self.control, mirror_id, [(int(egress_port), 0)], kind)

    def mirroring_delete(self, mirror_id: int) -> None:
        ops.clone_session(self.control, mirror_id, [], "delete")

    def mirroring_get(self, mirror_id: int) -> Any:
        ports, _ = ops.clone_session_read(self.control, mirror_id)
        return ResourceInfo(f"mirror {mirror_id}", int(mirror_id), size=ports[0] if ports else 0)

    # -- counters, meters, registers -----------------------------------------------------------
    def _indirect_counter(self, name: str) -> None:
        direct = self.control.schema.direct_counters.get(str(name))
        if direct is not None:
            raise unsupported(type(self).__name__, "counter_read",
                              f"{direct.alias} is a direct counter; not supported yet")

    def counter_read(self, counter_name: str, index: int) -> tuple[int, int]:
        """(bytes, packets), in p4-utils' order."""
        self._indirect_counter(counter_name)
        packets, byte_count = self.control.counter_read(counter_name, int(index))
        return byte_count, packets

    def counter_write(self, counter_name: str, index: int, pkts: int = 0, byts: int = 0) -> None:
        self._indirect_counter(counter_name)
        ops.counter_write(self.control, counter_name, index, pkts, byts)

    def counter_reset(self, counter_name: str) -> None:
        self._indirect_counter(counter_name)
        ops.counter_reset(self.control, counter_name)

    # BMv2's Thrift meter rates are units per microsecond; P4Runtime's per second
    def meter_set_rates(self, meter_name: str, index: int, rates: Any) -> None:
        ops.meter_set(self.control, meter_name, index, rates, per_second=1e6)

    def meter_array_set_rates(self, meter_name: str, rates: Any) -> None:
        ops.meter_set_all(self.control, meter_name, rates, per_second=1e6)

    def meter_get_rates(self, meter_name: str, index: int) -> list[tuple[float, int]]:
        return ops.meter_get(self.control, meter_name, index, per_second=1e6)

    def register_read(self, register_name: str, index: int | None = None,
                      show: bool = False) -> Any:
        value = self.control.register_read(register_name, None if index is None else int(index))
        if show:
            print(f"{register_name}{'' if index is None else f'[{index}]'}= {value}")
        return value

    def register_write(self, register_name: str, index: int | list[int], value: int) -> None:
        if isinstance(index, (list, tuple)):
            if len(index) != 2:
                raise ControlPlaneError(f"{self.control.name}: register_write index must be an "
                                        f"int or [start, end], not {index!r}")
            # BMv2's range write: cells start .. end-1 (measured), as with p4-utils
            start, end = int(index[0]), int(index[1])
            size = self.control.register_size(register_name)
            if not 0 <= start <= end <= size:
                raise ControlPlaneError(f"{self.control.name}: register {register_name} has "
                                        f"indexes 0..{size - 1}, not [{start}, {end})")
            full = self.control.schema.registers[register_name].name
            self.control.registers.write_range(full, start, end, int(value))
        else:
            self.control.register_write(register_name, int(index), int(value))

    def register_reset(self, register_name: str) -> None:
        self.control.register_reset(register_name)

    # -- simple_switch's own service and hash parameters ---------------------------------------
    def set_queue_depth(self, queue_depth: int, egress_port: int | None = None,
                        priority: int | None = None) -> None:
        regs = self.control.registers
        if egress_port is None:
            regs.simple_switch("set queue depth", "set_all_egress_queue_depths", int(queue_depth))
        elif priority is None:
            regs.simple_switch("set queue depth", "set_egress_queue_depth", int(egress_port),
                               int(queue_depth))
        else:
            regs.simple_switch("set queue depth", "set_egress_priority_queue_depth",
                               int(egress_port), int(priority), int(queue_depth))

    def set_queue_rate(self, rate: int, egress_port: int | None = None,
                       priority: int | None = None) -> None:
        """`rate` in packets per second, as simple_switch takes it."""
        regs = self.control.registers
        if egress_port is None:
            regs.simple_switch("set queue rate", "set_all_egress_queue_rates", int(rate))
        elif priority is None:
            regs.simple_switch("set queue rate", "set_egress_queue_rate", int(egress_port),
                               int(rate))
        else:
            regs.simple_switch("set queue rate", "set_egress_priority_queue_rate",
                               int(egress_port), int(priority), int(rate))

    def get_time_elapsed(self) -> int:
        return int(self.control.registers.simple_switch("read time", "get_time_elapsed_us"))

    def get_time_since_epoch(self) -> int:
        return int(self.control.registers.simple_switch("read time", "get_time_since_epoch_us"))

    def _crc(self, width: int, name: str, polynomial: int, initial_remainder: int,
             final_xor_value: int, reflect_data: bool, reflect_remainder: bool) -> None:
        from bm_runtime.standard import ttypes

        config_type = ttypes.BmCrc16Config if width == 16 else ttypes.BmCrc32Config
        config = config_type(int(polynomial), int(initial_remainder), int(final_xor_value),
                             bool(reflect_data), bool(reflect_remainder))
        self.control.registers.standard(f"set crc{width} parameters of {name}",
                                        f"bm_set_crc{width}_custom_parameters", name, config)

    def set_crc16_parameters(self, name: str, polynomial: int, initial_remainder: int,
                             final_xor_value: int, reflect_data: bool,
                             reflect_remainder: bool) -> None:
        self._crc(16, name, polynomial, initial_remainder, final_xor_value, reflect_data,
                  reflect_remainder)

    def set_crc32_parameters(self, name: str, polynomial: int, initial_remainder: int,
                             final_xor_value: int, reflect_data: bool,
                             reflect_remainder: bool) -> None:
        self._crc(32, name, polynomial, initial_remainder, final_xor_value, reflect_data,
                  reflect_remainder)

    # -- the program's objects -------------------------------------------------------------------
    def _info(self, kind: str) -> dict[str, ResourceInfo]:
        out = {}
        for obj in getattr(self.control.schema, kind):
            size = int(getattr(obj, "size", 0) or 0)
            width = 0
            if kind == "registers":
                width = int(obj.type_spec.bitwidth) if obj.type_spec is not None else 0
            out[obj.name] = ResourceInfo(obj.name, int(obj.id), size, width)
        return out

    def get_tables(self) -> dict[str, ResourceInfo]:
        return self._info("tables")

    def get_actions(self) -> dict[str, ResourceInfo]:
        return self._info("actions")

    def get_register_arrays(self) -> dict[str, ResourceInfo]:
        return self._info("registers")

    def get_counter_arrays(self) -> dict[str, ResourceInfo]:
        return self._info("counters")

    def get_meter_arrays(self) -> dict[str, ResourceInfo]:
        return self._info("meters")

    def show_tables(self) -> None:
        for table in self.control.schema.tables:
            print(f"{table.name:<40} [{self._tables.describe_key(table)}]")

    def show_actions(self) -> None:
        for action in self.control.schema.actions:
            params = ", ".join(f"{p.name}({p.bitwidth})" for p in action.params)
            print(f"{action.name:<40} [{params}]")

    def table_show_actions(self, table_name: str) -> None:
        table = self._tables.table(table_name)
        for ref in table.actions:
            print(ref.name)

    # -- the switch ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        ops.reset_state(self.control)
        self._state.handles.clear()
        self._state.nodes.clear()
        self._state.groups.clear()
        self._state.written.clear()
