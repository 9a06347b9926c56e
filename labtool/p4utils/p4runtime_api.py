"""`p4utils.utils.sswitch_p4runtime_API.SimpleSwitchP4RuntimeAPI` on labtool.

Same constructor and methods as p4-utils (device_id, grpc_port, p4rt_path=...,
json_path=...; `table_add(table, action, ['key', ...], ['param', ...], prio)`),
served by the run's own control plane of that switch (binding.py) instead of a
second P4Runtime client. Differences a student sees: an error raises (with the
valid names) instead of being printed and ignored, and nothing is printed per call.
"""

from __future__ import annotations

import queue
from typing import Any

from finsy.proto import p4r

from ..errors import ControlPlaneError
from . import binding, ops
from .common import CompatAPI, unsupported
from .entries import Tables


class SimpleSwitchP4RuntimeAPI(CompatAPI):
    P4UTILS_ONLY = frozenset({
        "direct_counter_read", "direct_counter_write", "direct_counter_reset",
        "direct_meter_array_set_rates", "direct_meter_set_rates", "direct_meter_get_rates",
    })
    WHY = {name: "direct counters and meters are not supported yet" for name in P4UTILS_ONLY}

    def __init__(self, device_id: int, grpc_port: int, grpc_ip: str = "0.0.0.0",
                 p4rt_path: str | None = None, json_path: str | None = None) -> None:
        self.device_id = device_id
        self.grpc_port = grpc_port
        self.grpc_ip = grpc_ip
        self.p4rt_path = p4rt_path
        self.json_path = json_path
        self.control = binding.p4runtime_control(device_id, grpc_port)
        self._tables = Tables(self.control)

    def _direct_options(self, method: str, rates: Any, pkts: Any, byts: Any) -> None:
        if rates is not None or pkts is not None or byts is not None:
            raise unsupported(type(self).__name__, method, "rates/pkts/byts (direct meters and "
                              "counters of an entry) are not supported yet")

    # -- tables ----------------------------------------------------------------------------
    def table_add(self, table_name: str, action_name: str, match_keys: list[Any],
                  action_params: list[Any] | None = None, prio: int = 0, rates: Any = None,
                  pkts: Any = None, byts: Any = None) -> bool:
        self._direct_options("table_add", rates, pkts, byts)
        self.control.table_add(*self._entry(table_name, action_name, match_keys, action_params,
                                            prio))
        return True

    def table_modify_match(self, table_name: str, action_name: str, match_keys: list[Any],
                           action_params: list[Any] | None = None, prio: int = 0,
                           rates: Any = None, pkts: Any = None, byts: Any = None) -> bool:
        self._direct_options("table_modify_match", rates, pkts, byts)
        self.control.table_modify(*self._entry(table_name, action_name, match_keys,
                                               action_params, prio))
        return True

    def _entry(self, table_name: str, action_name: str, match_keys: list[Any],
               action_params: list[Any] | None, prio: int) -> tuple[Any, ...]:
        """(table, match, action, params, priority) from p4-utils' positional strings."""
        table = self._tables.table(table_name)
        action = self._tables.action(table, action_name)
        key = self._tables.key(table, match_keys)
        params = self._tables.params(action, action_params or [])
        return table.name, key.match, action.name, params, self._tables.priority(table, key, prio)

    def table_delete_match(self, table_name: str, match_keys: list[Any],
                           prio: int | None = None) -> bool:
        table = self._tables.table(table_name)
        key = self._tables.key(table, match_keys)
        self.control.table_delete(table.name, key.match, self._tables.priority(table, key, prio))
        return True

    def table_set_default(self, table_name: str, action_name: str,
                          action_params: list[Any] | None = None) -> bool:
        table = self._tables.table(table_name)
        action = self._tables.action(table, action_name)
        params = self._tables.params(action, action_params or [])
        self.control.table_set_default(table.name, action.name, params)
        return True

    def table_reset_default(self, table_name: str) -> bool:
        table = self._tables.table(table_name)
        action, params = self._tables.declared_default(table)
        self.control.table_set_default(table.name, action, params)
        return True

    def table_clear(self, table_name: str) -> bool:
        self.control.table_clear(self._tables.table(table_name).name)
        return True

    # -- counters and meters -----------------------------------------------------------------
    def counter_read(self, counter_name: str, index: int) -> tuple[int, int]:
        """(byte_count, packet_count), in p4-utils' order."""
        packets, byte_count = self.control.counter_read(counter_name, int(index))
        return byte_count, packets

    def counter_write(self, counter_name: str, index: int, pkts: int = 0, byts: int = 0) -> bool:
        ops.counter_write(self.control, counter_name, index, pkts, byts)
        return True

    def counter_reset(self, counter_name: str) -> bool:
        ops.counter_reset(self.control, counter_name)
        return True

    def meter_set_rates(self, meter_name: str, index: int, rates: Any) -> bool:
        ops.meter_set(self.control, meter_name, index, rates)
        return True

    def meter_array_set_rates(self, meter_name: str, rates: Any) -> bool:
        ops.meter_set_all(self.control, meter_name, rates)
        return True

    def meter_get_rates(self, meter_name: str, index: int) -> list[tuple[float, int]]:
        return ops.meter_get(self.control, meter_name, index)

    # -- multicast groups and clone sessions -------------------------------------------------
    def mc_mgrp_create(self, mgrp: int, ports: list[int] | None = None,
                       instances: list[int] | None = None) -> bool:
        ops.multicast(self.control, mgrp, ops.replicas(ports or [], instances), "insert")
        return True

    def mc_mgrp_destroy(self, mgrp: int) -> bool:
        ops.multicast(self.control, mgrp, [], "delete")
        return True

    def mc_set_replicas(self, mgrp: int, ports: list[int] | None = None,
                        instances: list[int] | None = None) -> bool:
        ops.multicast(self.control, mgrp, ops.replicas(ports or [], instances), "modify")
        return True

    def mc_get_replicas(self, mgrp: int) -> tuple[list[int], list[int]]:
        return ops.multicast_read(self.control, mgrp)

    def cs_create(self, session_id: int, ports: list[int] | None = None,
                  instances: list[int] | None = None, cos: int = 0,
                  packet_length: int = 0) -> bool:
        ops.clone_session(self.control, session_id, ops.replicas(ports or [], instances),
                          "insert", cos, packet_length)
        return True

    def cs_destroy(self, session_id: int) -> bool:
        ops.clone_session(self.control, session_id, [], "delete")
        return True

    def cs_set_replicas(self, session_id: int, ports: list[int] | None = None,
                        instances: list[int] | None = None, cos: int = 0,
                        packet_length: int = 0) -> bool:
        ops.clone_session(self.control, session_id, ops.replicas(ports or [], instances),
                          "modify", cos, packet_length)
        return True

    def cs_get_replicas(self, session_id: int) -> tuple[list[int], list[int]]:
        return ops.clone_session_read(self.control, session_id)

    # -- digests -------------------------------------------------------------------------------
    def digest_enable(self, digest_name: str, max_timeout_ns: int = 0, max_list_size: int = 1,
                      ack_timeout_ns: int = 0) -> bool:
        self._digest(digest_name, max_timeout_ns, max_list_size, ack_timeout_ns, "insert")
        return True

    def digest_set_conf(self, digest_name: str, max_timeout_ns: int = 0, max_list_size: int = 1,
                        ack_timeout_ns: int = 0) -> bool:
        self._digest(digest_name, max_timeout_ns, max_list_size, ack_timeout_ns, "modify")
        return True

    def _digest(self, name: str, timeout_ns: int, size: int, ack_ns: int, kind: str) -> None:
        import finsy as fy

        digest = ops._resolve(self.control, "digest", name)
        ops.write(self.control, fy.P4DigestEntry(digest.name, max_list_size=int(size),
                                                  max_timeout_ns=int(timeout_ns),
                                                  ack_timeout_ns=int(ack_ns)),
                  kind, f"{kind} digest {digest.alias}")

    def digest_get_conf(self, digest_name: str) -> tuple[int, int, int]:
        import finsy as fy

        digest = ops._resolve(self.control, "digest", digest_name)
        found = ops.read(self.control, fy.P4DigestEntry(digest.name), fy.P4DigestEntry)
        if not found:
            raise ControlPlaneError(f"{self.control.name}: digest {digest.alias} is not enabled")
        return found[0].max_timeout_ns, found[0].max_list_size, found[0].ack_timeout_ns

    def get_digest_list(self, timeout: float | None = None) -> p4r.DigestList | None:
        """The next DigestList message (p4.v1 protobuf: .digest_id, .list_id, .data),
        acknowledged; None after `timeout` seconds (None: wait for one)."""
        with binding.waiting():
            try:
                msg = self.control.session.digests.get(timeout=timeout)
            except queue.Empty:
                return None
        self.control.session.send(p4r.StreamMessageRequest(
            digest_ack=p4r.DigestListAck(digest_id=msg.digest_id, list_id=msg.list_id)))
        return msg

    # -- the switch ------------------------------------------------------------------------------
    def reset_state(self) -> None:
        ops.reset_state(self.control)

    def teardown(self) -> None:
        """p4-utils closes its client here; the run's control plane stays open for the
        verifier (a script run by hand closes its connections when it ends)."""
