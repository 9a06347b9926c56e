"""BMv2's hash algorithms and the linear shortcut searches over one field use."""

from __future__ import annotations

import random
import zlib

import pytest

from labtool import hashes


def test_crc16_is_crc16_arc() -> None:
    assert hashes.crc16(b"123456789") == 0xBB3D   # the CRC-16/ARC check value
    assert hashes.crc32(b"123456789") == zlib.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize("algo", [hashes.crc16, hashes.crc32])
def test_window_hash_equals_hashing_the_whole_message(algo: object) -> None:
    """For any message, window and value: the same as hashing the message with the
    value written into the window."""
    assert callable(algo)
    rng = random.Random(7)
    for _ in range(40):
        message = bytes(rng.randrange(256) for _ in range(rng.randrange(2, 20)))
        width = rng.choice([w for w in (1, 2, 4) if w <= len(message)])
        offset = rng.randrange(len(message) - width + 1)
        hashed = hashes.window_hash(algo, message, offset, width)
        for value in [0, (1 << 8 * width) - 1] + [rng.randrange(1 << 8 * width)
                                                   for _ in range(10)]:
            whole = message[:offset] + value.to_bytes(width, "big") + message[offset + width:]
            assert hashed(value) == algo(whole)


def test_window_outside_the_message_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        hashes.window_hash(hashes.crc16, b"abc", 2, 2)


def test_solve_window_meets_two_hashes_at_once() -> None:
    rng = random.Random(5)
    message = bytes(rng.randrange(256) for _ in range(13))
    for _ in range(50):
        c16, c32 = rng.randrange(4096), rng.randrange(4096)
        value = hashes.solve_window(message, 9, 4, [(hashes.crc16, 4096, c16),
                                                     (hashes.crc32, 4096, c32)], rng)
        assert value is not None
        hashed = message[:9] + value.to_bytes(4, "big")
        assert (hashes.crc16(hashed) % 4096, hashes.crc32(hashed) % 4096) == (c16, c32)


def test_solve_window_draws_among_the_solutions() -> None:
    rng = random.Random(6)
    message = bytes(8)
    drawn = {hashes.solve_window(message, 4, 4, [(hashes.crc32, 4096, 7)], rng)
             for _ in range(20)}
    assert len(drawn) > 10   # 2^20 solutions: twenty draws hardly repeat


def test_solve_window_says_when_no_value_fits() -> None:
    rng = random.Random(7)
    wants = [(hashes.crc16, 4096, 1), (hashes.crc16, 4096, 2)]   # one hash, two cells
    assert hashes.solve_window(bytes(6), 2, 2, wants, rng) is None
    with pytest.raises(ValueError, match="power of two"):
        hashes.solve_window(bytes(6), 2, 2, [(hashes.crc16, 1000, 1)], rng)
