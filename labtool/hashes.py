"""BMv2's hash algorithms in Python, bit for bit, for labs whose verifier or
collector must predict where a program puts things (a hash of a flow id, a
cookie). BMv2's crc32 is zlib's CRC-32; its crc16 is CRC-16/ARC (reflected
polynomial 0x8005, initial value 0, no final XOR). A v1model
`hash(out, algo, base, {fields}, max)` is `base + algo(fields' bytes) % max`,
the fields' bytes concatenated big-endian."""

from __future__ import annotations

import zlib


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
