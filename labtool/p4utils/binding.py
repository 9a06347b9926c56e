"""Which labtool control plane answers `SimpleSwitchP4RuntimeAPI(device_id, grpc_port)`
or `SimpleSwitchThriftAPI(thrift_port)`.

Inside a labtool run the course script runs in labtool's own process and the run
binds its switches here: the API objects then use the run's `SwitchControl` of
that switch (one P4Runtime client per switch, so the verifier's reads and writes
keep working afterwards). A script started by hand (`python -m labtool.p4utils`)
finds no binding and connects to the network of `labtool up` like labtool's
attach does, one connection per switch for the whole script.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..controlplane import SwitchControl
from ..errors import ControlPlaneError


@dataclass(frozen=True)
class SwitchAddress:
    name: str
    device_id: int
    grpc_port: int
    thrift_port: int


@dataclass
class Binding:
    controls: dict[str, SwitchControl]
    addresses: dict[str, SwitchAddress]
    # called when a script starts waiting for switch events (digests, packet-ins):
    # under `labtool up` its configuration is then done and the CLI may start
    # (per thread: each script of `labtool up` runs in its own)
    on_wait: dict[int, Callable[[], None]] = field(default_factory=dict)

    def describe(self) -> str:
        return "; ".join(f"{a.name}: device_id {a.device_id}, grpc_port {a.grpc_port}, "
                         f"thrift_port {a.thrift_port}" for a in self.addresses.values())


_lock = threading.Lock()
_bound: Binding | None = None
_attached: Binding | None = None  # by-hand scripts: connections made on first use


@contextlib.contextmanager
def bind(controls: Mapping[str, SwitchControl],
         addresses: Mapping[str, SwitchAddress]) -> Iterator[Binding]:
    """The run's switches answer API objects created while this is active."""
    global _bound
    binding = Binding(dict(controls), dict(addresses))
    with _lock:
        previous, _bound = _bound, binding
    try:
        yield binding
    finally:
        with _lock:
            _bound = previous


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """Around a call that blocks until the switch sends something."""
    with _lock:
        hook = _bound.on_wait.get(threading.get_ident()) if _bound is not None else None
    if hook is not None:
        hook()
    yield


def _current() -> Binding:
    global _attached
    with _lock:
        if _bound is not None:
            return _bound
        if _attached is None:
            _attached = _attach()
        return _attached


def _attach() -> Binding:
    from ..attach import live_topology, switch_nodes

    _, topo = live_topology()
    addresses = {name: SwitchAddress(name, int(n["device_id"]), int(n["grpc_port"]),
                                     int(n["thrift_port"]))
                 for name, n in switch_nodes(topo).items()}
    return Binding({}, addresses)


def _control(binding: Binding, name: str) -> SwitchControl:
    if name not in binding.controls:
        from ..attach import attach_switch

        binding.controls[name] = attach_switch(name, p4runtime=True)
    return binding.controls[name]


def p4runtime_control(device_id: int, grpc_port: int) -> SwitchControl:
    binding = _current()
    for addr in binding.addresses.values():
        if addr.device_id == int(device_id):
            if int(grpc_port) != addr.grpc_port:
                raise ControlPlaneError(
                    f"SimpleSwitchP4RuntimeAPI({device_id}, {grpc_port}): switch {addr.name} "
                    f"(device_id {device_id}) serves gRPC on port {addr.grpc_port}; take the "
                    f"ports from load_topo('topology.json') (this network: {binding.describe()})")
            return _control(binding, addr.name)
    raise ControlPlaneError(f"SimpleSwitchP4RuntimeAPI({device_id}, {grpc_port}): no switch has "
                            f"device_id {device_id} (this network: {binding.describe()})")


def thrift_control(thrift_port: int) -> SwitchControl:
    binding = _current()
    for addr in binding.addresses.values():
        if addr.thrift_port == int(thrift_port):
            return _control(binding, addr.name)
    raise ControlPlaneError(f"SimpleSwitchThriftAPI({thrift_port}): no switch has Thrift port "
                            f"{thrift_port}; take it from topo.get_thrift_port(name) (this "
                            f"network: {binding.describe()})")


def close_attached() -> None:
    """End the connections a by-hand script made."""
    global _attached
    with _lock:
        attached, _attached = _attached, None
    if attached is not None:
        for control in attached.controls.values():
            control.close()
