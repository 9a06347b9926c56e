"""P4Runtime operations p4-utils offers that labtool's SwitchControl does not need
for its own labs: replacing or deleting multicast groups and clone sessions,
counter writes, meters, and resetting a switch. Both compatible APIs use them, on
the run's one control plane of the switch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import finsy as fy
from finsy.proto import p4r

from ..controlplane import SwitchControl
from ..errors import ControlPlaneError, unknown_name


def _update(control: SwitchControl, ent: Any, kind: str) -> p4r.Update:
    try:
        update = +ent if kind == "insert" else -ent if kind == "delete" else ~ent
        return update.encode_update(control.schema)  # type: ignore[no-any-return]
    except ValueError as exc:
        raise ControlPlaneError(f"{control.name}: {exc}") from None


def write(control: SwitchControl, ent: Any, kind: str, what: str) -> None:
    control.session.write([_update(control, ent, kind)], what)


def read(control: SwitchControl, ent: Any, cls: Any) -> list[Any]:
    raw = control.session.read([ent.encode(control.schema)])
    return [cls.decode(r, control.schema) for r in raw]


def replicas(ports: Sequence[Any], instances: Sequence[Any] | None) -> list[tuple[int, int]]:
    ports = [int(p) for p in ports]
    if instances:
        if len(instances) != len(ports):
            raise ControlPlaneError(f"{len(ports)} ports but {len(instances)} instances")
        return [(p, int(i)) for p, i in zip(ports, instances)]
    return [(p, 0) for p in ports]


def _replica_pairs(entries: Sequence[Any]) -> tuple[list[int], list[int]]:
    ports, instances = [], []
    for rep in entries:
        if isinstance(rep, int):
            ports.append(rep)
            instances.append(0)
        else:
            ports.append(int(rep.port))
            instances.append(int(rep.instance))
    return ports, instances


# -- multicast groups and clone sessions ---------------------------------------------------
def multicast(control: SwitchControl, group: int, reps: list[tuple[int, int]], kind: str) -> None:
    if int(group) <= 0:
        raise ControlPlaneError(f"{control.name}: multicast group ids start at 1, not {group}")
    write(control, fy.P4MulticastGroupEntry(int(group), replicas=reps), kind,
          f"{kind} multicast group {group}")


def multicast_read(control: SwitchControl, group: int) -> tuple[list[int], list[int]]:
    found = read(control, fy.P4MulticastGroupEntry(int(group)), fy.P4MulticastGroupEntry)
    if not found:
        raise ControlPlaneError(f"{control.name}: no multicast group {group}")
    return _replica_pairs(found[0].replicas)


def clone_session(control: SwitchControl, session: int, reps: list[tuple[int, int]], kind: str,
                  cos: int = 0, packet_length: int = 0) -> None:
    write(control, fy.P4CloneSessionEntry(int(session), replicas=reps, class_of_service=int(cos),
                                          packet_length_bytes=int(packet_length)),
          kind, f"{kind} clone session {session}")


def clone_session_read(control: SwitchControl, session: int) -> tuple[list[int], list[int]]:
    found = read(control, fy.P4CloneSessionEntry(int(session)), fy.P4CloneSessionEntry)
    if not found:
        raise ControlPlaneError(f"{control.name}: no clone session {session}")
    return _replica_pairs(found[0].replicas)


def clone_session_exists(control: SwitchControl, session: int) -> bool:
    try:
        return bool(read(control, fy.P4CloneSessionEntry(int(session)), fy.P4CloneSessionEntry))
    except ControlPlaneError:
        return False  # BMv2 answers NOT_FOUND for a session it does not have


# -- counters and meters -------------------------------------------------------------------
def _resolve(control: SwitchControl, kind: str, name: str) -> Any:
    objects = getattr(control.schema, kind + "s")
    obj = objects.get(str(name))
    if obj is None:
        raise ControlPlaneError(f"{control.name}: " + unknown_name(
            kind, str(name), [o.alias for o in objects]))
    return obj


def _index(control: SwitchControl, obj: Any, what: str, index: Any) -> int:
    try:
        idx = int(index)
    except (TypeError, ValueError):
        raise ControlPlaneError(f"{control.name}: {what} {obj.alias}: index {index!r} is not a "
                                "number") from None
    if not 0 <= idx < obj.size:
        raise ControlPlaneError(f"{control.name}: {what} {obj.alias} has indexes "
                                f"0..{obj.size - 1}, not {idx}")
    return idx


def counter_write(control: SwitchControl, name: str, index: Any, packets: int,
                  byte_count: int) -> None:
    counter = _resolve(control, "counter", name)
    idx = _index(control, counter, "counter", index)
    ent = fy.P4CounterEntry(counter.name, index=idx,
                            data=fy.P4CounterData(byte_count=int(byte_count),
                                                  packet_count=int(packets)))
    write(control, ent, "modify", f"write counter {counter.alias}[{idx}]")


def counter_reset(control: SwitchControl, name: str) -> None:
    counter = _resolve(control, "counter", name)
    updates = [_update(control, fy.P4CounterEntry(counter.name, index=i,
                                                  data=fy.P4CounterData()), "modify")
               for i in range(counter.size)]
    control.session.write(updates, f"reset counter {counter.alias}")


def meter_set(control: SwitchControl, name: str, index: Any,
              rates: Sequence[Sequence[float]], per_second: float = 1.0) -> None:
    """rates = [(cir, cburst), (pir, pburst)]; `per_second` converts the caller's rate
    unit to P4Runtime's units per second (BMv2's Thrift speaks units per microsecond)."""
    meter = _resolve(control, "meter", name)
    idx = _index(control, meter, "meter", index)
    write(control, fy.P4MeterEntry(meter.name, index=idx, config=_config(rates, per_second)),
          "modify", f"set rates of meter {meter.alias}[{idx}]")


def meter_set_all(control: SwitchControl, name: str, rates: Sequence[Sequence[float]],
                  per_second: float = 1.0) -> None:
    meter = _resolve(control, "meter", name)
    config = _config(rates, per_second)
    updates = [_update(control, fy.P4MeterEntry(meter.name, index=i, config=config), "modify")
               for i in range(meter.size)]
    control.session.write(updates, f"set rates of meter {meter.alias}")


def meter_get(control: SwitchControl, name: str, index: Any,
              per_second: float = 1.0) -> list[tuple[float, int]]:
    meter = _resolve(control, "meter", name)
    idx = _index(control, meter, "meter", index)
    found = read(control, fy.P4MeterEntry(meter.name, index=idx), fy.P4MeterEntry)
    if not found or found[0].config is None:
        return []
    cfg = found[0].config
    return [(cfg.cir / per_second, cfg.cburst), (cfg.pir / per_second, cfg.pburst)]


def _config(rates: Sequence[Sequence[float]], per_second: float) -> fy.P4MeterConfig:
    try:
        (cir, cburst), (pir, pburst) = rates
    except (TypeError, ValueError):
        raise ControlPlaneError(f"meter rates must be [(cir, cburst), (pir, pburst)], not "
                                f"{rates!r}") from None
    return fy.P4MeterConfig(cir=round(float(cir) * per_second), cburst=int(cburst),
                            pir=round(float(pir) * per_second), pburst=int(pburst))


# -- the whole switch ----------------------------------------------------------------------
def reset_state(control: SwitchControl) -> None:
    """Empty every table, default actions and registers back to the program's own,
    replication and clone sessions gone: the pipeline is pushed again (BMv2 starts a
    fresh state for it). simple_switch's egress queue depth is not part of that state
    but labtool's is re-applied anyway (see thrift_runtime.py)."""
    control.session.set_pipeline(control.schema)
    if control._registers is not None:
        control._registers.set_egress_queue_depth()
