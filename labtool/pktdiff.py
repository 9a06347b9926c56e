"""Comparing an expected frame with a received one, reporting the first
difference by protocol field ("IP.ttl: expected 62, got 63") rather than by byte."""

from __future__ import annotations

from typing import Any

from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

FrameLike = bytes | Packet


def to_bytes(frame: FrameLike) -> bytes:
    return bytes(frame)


def summary(frame: FrameLike) -> str:
    pkt = frame if isinstance(frame, Packet) else Ether(frame)
    return f"{pkt.summary()} ({len(bytes(pkt))} bytes)"


def _fields(pkt: Packet) -> list[tuple[str, str, Any]]:
    out = []
    layer: Packet | None = pkt
    while layer is not None and not isinstance(layer, type(None)):
        name = type(layer).__name__
        if isinstance(layer, Raw) or not layer.fields_desc:
            out.append((name, "load", bytes(layer)))
            break
        for fdesc in layer.fields_desc:
            out.append((name, fdesc.name, layer.getfieldval(fdesc.name)))
        payload = layer.payload
        layer = payload if payload and len(bytes(payload)) else None
    return out


def first_difference(expected: FrameLike, got: FrameLike) -> str | None:
    """None if the frames are byte-identical, else a one-line description."""
    exp_b, got_b = to_bytes(expected), to_bytes(got)
    if exp_b == got_b:
        return None
    exp_f, got_f = _fields(Ether(exp_b)), _fields(Ether(got_b))
    for (el, en, ev), (gl, gn, gv) in zip(exp_f, got_f):
        if (el, en) != (gl, gn):
            return f"layer differs: expected {el}, got {gl} (frame: {summary(got_b)})"
        if ev != gv:
            return f"{el}.{en}: expected {_fmt(ev)}, got {_fmt(gv)}"
    if len(exp_b) != len(got_b):
        return f"length: expected {len(exp_b)} bytes, got {len(got_b)}"
    offset = next(i for i, (a, b) in enumerate(zip(exp_b, got_b)) if a != b)
    return f"byte {offset}: expected 0x{exp_b[offset]:02x}, got 0x{got_b[offset]:02x}"


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        text = value[:24].hex()
        return f"0x{text}{'…' if len(value) > 24 else ''} ({len(value)} bytes)"
    if isinstance(value, int) and value > 9:
        return f"{value} (0x{value:x})"
    return repr(value)
