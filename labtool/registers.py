"""Register access through BMv2's Thrift runtime (`bm_runtime.standard`).

BMv2 does not implement P4Runtime register reads/writes, so this is the only
way to look at registers. Register names here are the fully qualified names
from the P4Info/BMv2 JSON (SwitchControl resolves short names first).
"""

from __future__ import annotations

from typing import Any

from . import toolchain
from .errors import ControlPlaneError

CONTEXT = 0  # BMv2 context id; simple_switch has one


class RegisterClient:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        toolchain.import_bm_runtime()
        from bm_runtime.standard import Standard
        from thrift.protocol import TBinaryProtocol, TMultiplexedProtocol
        from thrift.transport import TSocket, TTransport

        self.port = port
        sock = TSocket.TSocket(host, port)
        sock.setTimeout(10_000)
        self._transport = TTransport.TBufferedTransport(sock)
        protocol = TMultiplexedProtocol.TMultiplexedProtocol(
            TBinaryProtocol.TBinaryProtocol(self._transport), "standard")
        self._client: Any = Standard.Client(protocol)
        try:
            self._transport.open()
        except Exception as exc:  # noqa: BLE001 - thrift raises TTransportException subclasses
            raise ControlPlaneError(f"cannot reach BMv2's Thrift server on port {port}: {exc}") \
                from None

    def _call(self, what: str, method: str, *args: Any) -> Any:
        try:
            return getattr(self._client, method)(CONTEXT, *args)
        except Exception as exc:  # noqa: BLE001 - InvalidRegisterOperation and transport errors
            code = getattr(exc, "code", None)
            raise ControlPlaneError(f"{what} failed (Thrift port {self.port}): "
                                    f"{type(exc).__name__}{f' code {code}' if code else ''}") \
                from None

    def read(self, name: str, index: int) -> int:
        return int(self._call(f"read {name}[{index}]", "bm_register_read", name, index))

    def read_all(self, name: str) -> list[int]:
        return [int(v) for v in self._call(f"read {name}", "bm_register_read_all", name)]

    def write(self, name: str, index: int, value: int) -> None:
        self._call(f"write {name}[{index}]", "bm_register_write", name, index, value)

    def reset(self, name: str) -> None:
        self._call(f"reset {name}", "bm_register_reset", name)

    def close(self) -> None:
        try:
            self._transport.close()
        except Exception:  # noqa: BLE001 - closing a socket to a dead switch
            pass
