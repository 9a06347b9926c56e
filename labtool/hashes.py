"""BMv2's hash algorithms in Python, bit for bit, for labs whose verifier or
collector must predict where a program puts things (a hash of a flow id, a
cookie). BMv2's crc32 is zlib's CRC-32; its crc16 is CRC-16/ARC (reflected
polynomial 0x8005, initial value 0, no final XOR). A v1model
`hash(out, algo, base, {fields}, max)` is `base + algo(fields' bytes) % max`,
the fields' bytes concatenated big-endian."""

from __future__ import annotations

import zlib
from collections.abc import Callable


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    """BMv2's crc16 (CRC-16/ARC)."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC16[(crc ^ byte) & 0xFF]
    return crc


def crc32(data: bytes) -> int:
    """BMv2's crc32 (zlib's CRC-32)."""
    return zlib.crc32(data)


def fields(*values: tuple[int, int]) -> bytes:
    """The hash input of a field list: (value, width in bits) each, byte-aligned widths."""
    out = b""
    for value, bits in values:
        if bits % 8:
            raise ValueError(f"{bits}-bit field: only byte-aligned widths are supported")
        out += value.to_bytes(bits // 8, "big")
    return out


def window_hash(algo: Callable[[bytes], int], message: bytes, offset: int,
                width: int) -> Callable[[int], int]:
    """algo(message with the `width` bytes at `offset` replaced by value v, big-endian)
    for any v, cheaply: a CRC of a fixed-length message is affine in its bits
    (crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0)), so it is the CRC with the window zeroed
    XOR one precomputed term per window byte. Searches over one field of a hash
    input (a port that lands a flow in a given cell) then cost a few XORs per value."""
    if offset < 0 or offset + width > len(message):
        raise ValueError(f"window {offset}+{width} outside a {len(message)}-byte message")
    zeroed = message[:offset] + bytes(width) + message[offset + width:]
    base = algo(zeroed)
    zero = algo(bytes(len(message)))
    tables = []
    for k in range(width):
        at = offset + k
        tables.append([algo(bytes(at) + bytes([b]) + bytes(len(message) - at - 1)) ^ zero
                       for b in range(256)])

    def hashed(value: int) -> int:
        out = base
        for k, table in enumerate(tables):
            out ^= table[(value >> (8 * (width - 1 - k))) & 0xFF]
        return out

    return hashed
