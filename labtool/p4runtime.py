"""A synchronous P4Runtime session on top of finsy's asyncio client.

Controllers and verifiers are plain sequential Python, so each call here blocks
until the switch answered. finsy's P4Client (grpc.aio) runs on one private
event loop in a daemon thread shared by all sessions of the process.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from finsy import P4Client, P4ClientError, P4Schema
from finsy.proto import U128, p4r

from .errors import ControlPlaneError

T = TypeVar("T")
RPC_TIMEOUT_S = 10.0

# Benchmarks set this to a list to record every WriteRequest (to replay them for the floor).
RECORDER: list[p4r.WriteRequest] | None = None

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="p4runtime-loop", daemon=True).start()
        return _loop


def _run(coro: Coroutine[Any, Any, T], timeout: float = RPC_TIMEOUT_S) -> T:
    future = asyncio.run_coroutine_threadsafe(coro, _event_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise ControlPlaneError(f"P4Runtime call timed out after {timeout:.0f} s") from None


def describe_error(exc: P4ClientError) -> str:
    """One readable line per failed update, as BMv2 reported it."""
    parts = [f"{exc.code.name}: {exc.message}"]
    for index, err in sorted(exc.details.items()):
        parts.append(f"  update #{index}: {err.canonical_code.name}: {err.message}")
    return "\n".join(parts)


class P4RuntimeSession:
    """The primary controller connection to one device."""

    def __init__(self, address: str, device_id: int, election_id: int = 1) -> None:
        self.address = address
        self.device_id = device_id
        self.election_id = election_id
        self._client: P4Client | None = None
        self._reader: asyncio.Future[None] | None = None
        self.packet_ins: queue.Queue[p4r.PacketIn] = queue.Queue()
        self.digests: queue.Queue[p4r.DigestList] = queue.Queue()

    def open(self) -> None:
        _run(self._open())

    async def _open(self) -> None:
        client = P4Client(self.address, wait_for_ready=False)
        await client.open()
        self._client = client
        await client.send(p4r.StreamMessageRequest(arbitration=p4r.MasterArbitrationUpdate(
            device_id=self.device_id, election_id=U128.encode(self.election_id))))
        while True:
            reply = await client.receive()
            if reply.HasField("arbitration"):
                if reply.arbitration.status.code != 0:
                    raise ControlPlaneError(
                        f"device {self.device_id} at {self.address}: not primary controller "
                        f"({reply.arbitration.status.message}); is another controller connected?")
                break
        self._reader = asyncio.ensure_future(self._read_stream())

    async def _read_stream(self) -> None:
        assert self._client is not None
        try:
            while True:
                msg = await self._client.receive()
                kind = msg.WhichOneof("update")
                if kind == "packet":
                    self.packet_ins.put(msg.packet)
                elif kind == "digest":
                    self.digests.put(msg.digest)
        except (P4ClientError, RuntimeError, asyncio.CancelledError):
            return

    def _request(self, msg: Any, what: str) -> Any:
        client = self._client
        if client is None:
            raise ControlPlaneError(f"{what}: session to {self.address} is not open")

        async def call() -> Any:
            return await client.request(msg)

        try:
            return _run(call())
        except P4ClientError as exc:
            raise ControlPlaneError(f"{what} failed on device {self.device_id}: "
                                    f"{describe_error(exc)}") from None

    def set_pipeline(self, schema: P4Schema) -> None:
        self._request(p4r.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, election_id=U128.encode(self.election_id),
            action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
            config=schema.get_pipeline_config()), "SetForwardingPipelineConfig")

    def write(self, updates: Iterable[p4r.Update], what: str = "write") -> None:
        batch = list(updates)
        if batch:
            request = p4r.WriteRequest(device_id=self.device_id,
                                       election_id=U128.encode(self.election_id), updates=batch)
            if RECORDER is not None:
                RECORDER.append(request)
            self._request(request, what)

    def read(self, entities: Iterable[p4r.Entity]) -> list[p4r.Entity]:
        client = self._client
        if client is None:
            raise ControlPlaneError(f"read: session to {self.address} is not open")
        request = p4r.ReadRequest(device_id=self.device_id, entities=list(entities))

        async def call() -> list[p4r.Entity]:
            out: list[p4r.Entity] = []
            async for reply in client.request_iter(request):
                out.extend(reply.entities)
            return out

        try:
            return _run(call())
        except P4ClientError as exc:
            raise ControlPlaneError(f"read failed on device {self.device_id}: "
                                    f"{describe_error(exc)}") from None

    def send(self, msg: p4r.StreamMessageRequest) -> None:
        client = self._client
        if client is None:
            raise ControlPlaneError(f"send: session to {self.address} is not open")
        _run(client.send(msg))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return

        async def shut() -> None:
            if self._reader is not None:
                self._reader.cancel()
            await client.close()

        try:
            _run(shut(), timeout=5)
        except Exception:  # noqa: BLE001 - closing a dead switch's channel must not mask the cause
            pass
