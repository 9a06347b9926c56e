"""BMv2's hash algorithms in Python, bit for bit, for labs whose verifier or
collector must predict where a program puts things (a hash of a flow id, a
cookie). BMv2's crc32 is zlib's CRC-32; its crc16 is CRC-16/ARC (reflected
polynomial 0x8005, initial value 0, no final XOR). A v1model
`hash(out, algo, base, {fields}, max)` is `base + algo(fields' bytes) % max`,
the fields' bytes concatenated big-endian."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence


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


def solve_window(message: bytes, offset: int, width: int,
                 wants: Sequence[tuple[Callable[[bytes], int], int, int]],
                 rng: random.Random) -> int | None:
    """A value v for the `width` bytes at `offset` of `message` such that, for every
    (algo, modulus, cell) of `wants`, algo(message with v there) % modulus == cell;
    drawn with `rng` among all such values, None if there is none. The moduli must be
    powers of two: a CRC of a fixed-length message is affine in its bits, so its low
    bits are, and the wants form a linear system over GF(2) (a search could not meet
    two hashes at once: 24 bits of cell for 32 bits of ports)."""
    if offset < 0 or offset + width > len(message):
        raise ValueError(f"window {offset}+{width} outside a {len(message)}-byte message")
    nbits = 8 * width
    zeroed = message[:offset] + bytes(width) + message[offset + width:]
    rows: list[tuple[int, int]] = []   # (which value bits, the bit they must XOR to)
    for algo, modulus, cell in wants:
        if modulus <= 0 or modulus & (modulus - 1):
            raise ValueError(f"modulus {modulus} is not a power of two")
        mask = modulus - 1
        zero = algo(bytes(len(message)))
        # column j: what value bit j flips in the hash's low bits
        cols = [(algo(bytes(offset) + (1 << j).to_bytes(width, "big")
                      + bytes(len(message) - offset - width)) ^ zero) & mask
                for j in range(nbits)]
        rhs = (cell ^ algo(zeroed)) & mask
        for b in range(mask.bit_length()):
            rows.append((sum(1 << j for j in range(nbits) if cols[j] >> b & 1), rhs >> b & 1))
    pivots: list[tuple[int, int, int]] = []   # (pivot bit, row, rhs), reduced
    for row, rhs in rows:
        for bit, prow, prhs in pivots:
            if row >> bit & 1:
                row, rhs = row ^ prow, rhs ^ prhs
        if row == 0:
            if rhs:
                return None   # inconsistent
            continue
        bit = row.bit_length() - 1
        pivots = [(b, r ^ row, h ^ rhs) if r >> bit & 1 else (b, r, h) for b, r, h in pivots]
        pivots.append((bit, row, rhs))
    pivot_bits = {bit for bit, _, _ in pivots}
    value = sum(1 << j for j in range(nbits) if j not in pivot_bits and rng.random() < 0.5)
    for bit, row, rhs in pivots:
        # row has its pivot and free bits only (fully reduced): the pivot's value follows
        others = row & ~(1 << bit)
        if (bin(others & value).count("1") & 1) ^ rhs:
            value |= 1 << bit
    return value
