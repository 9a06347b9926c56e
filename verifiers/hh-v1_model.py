"""Reference model of lab 2.1 (hh-v1, LABS.md): per-source packet budgets.

The table `hhd_threshold` maps a source address (longest prefix match) to a budget N
(set_hhd_threshold) or to drop(); no entry means drop. IPv4 from ports 1-3 whose
source has a budget goes to port 4 until N packets of that source address have gone
through, unchanged; later ones are dropped forever. Nothing else is forwarded.

The count is per source ADDRESS (a register indexed by a hash of it): the port a
frame comes in on and the prefix that matched do not matter. The spec leaves the hash
and the register size open, so the addresses a verifier uses must land in distinct
cells under every hash a correct program may reasonably use (AddressPool).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from labtool import hashes

MAX_THRESHOLD = 0xFFFFFFFF  # set_hhd_threshold(bit<32> threshold)


@dataclass(frozen=True)
class Prefix:
    network: int
    length: int

    @classmethod
    def of(cls, addr: int, length: int) -> Prefix:
        return cls(addr & cls.mask_of(length), length)

    @staticmethod
    def mask_of(length: int) -> int:
        return (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF

    def contains(self, addr: int) -> bool:
        return addr & self.mask_of(self.length) == self.network

    def overlaps(self, other: Prefix) -> bool:
        return self.contains(other.network) or other.contains(self.network)

    @property
    def size(self) -> int:
        return 1 << (32 - self.length)

    def text(self) -> str:
        return f"{(self.network >> 24) & 255}.{(self.network >> 16) & 255}." \
               f"{(self.network >> 8) & 255}.{self.network & 255}/{self.length}"


@dataclass(frozen=True)
class ThresholdEntry:
    prefix: Prefix
    threshold: int | None  # None: the entry's action is drop()


class ThresholdTable:
    """hhd_threshold: longest prefix match on the source address; a miss is drop()."""

    def __init__(self) -> None:
        self.entries: dict[Prefix, ThresholdEntry] = {}

    def add(self, entry: ThresholdEntry) -> None:
        if entry.prefix in self.entries:
            raise ValueError(f"{entry.prefix.text()} is already in the table")
        self.entries[entry.prefix] = entry

    def modify(self, prefix: Prefix, threshold: int | None) -> None:
        if prefix not in self.entries:
            raise ValueError(f"{prefix.text()} is not in the table")
        self.entries[prefix] = ThresholdEntry(prefix, threshold)

    def lookup(self, addr: int) -> ThresholdEntry | None:
        hits = [e for p, e in self.entries.items() if p.contains(addr)]
        return max(hits, key=lambda e: e.prefix.length, default=None)

    def threshold(self, addr: int) -> int | None:
        entry = self.lookup(addr)
        return None if entry is None else entry.threshold


class BudgetModel:
    """What the switch remembers: packets forwarded per source address, forever."""

    def __init__(self, table: ThresholdTable) -> None:
        self.table = table
        self.forwarded: Counter[int] = Counter()

    def allowance(self, addr: int) -> int:
        """How many more IPv4 packets from `addr` reach port 4 (0: blocked, no entry, drop)."""
        threshold = self.table.threshold(addr)
        return 0 if threshold is None else max(0, threshold - self.forwarded[addr])

    def forward(self, addr: int, n: int) -> int:
        """Send n packets from `addr` (from any of ports 1-3, in any interleaving with
        other sources): how many get through. The first ones of the n pass."""
        passed = min(n, self.allowance(addr))
        self.forwarded[addr] += passed
        return passed


# -- addresses that no reasonable hash puts in one register cell -----------------------

def _csum16(addr: int) -> int:
    total = (addr >> 16) + (addr & 0xFFFF)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def plausible_hashes(addr: int) -> dict[str, int]:
    """The hash of a source address under each algorithm v1model offers a student
    (crc16, crc32, identity, csum16, xor16), as BMv2 computes them."""
    raw = addr.to_bytes(4, "big")
    return {"crc16": hashes.crc16(raw), "crc32": hashes.crc32(raw), "identity": addr,
            "csum16": _csum16(addr), "xor16": (addr >> 16) ^ (addr & 0xFFFF)}


# Distinct modulo 256 implies distinct modulo every larger power of two (1024, 4096,
# 65536 cells ...); 1000 stands for the decimal sizes students pick.
PLAUSIBLE_CELLS = (256, 1000)


def cells_of(addr: int) -> set[tuple[str, int, int]]:
    return {(algo, size, value % size) for algo, value in plausible_hashes(addr).items()
            for size in PLAUSIBLE_CELLS}


class AddressPool:
    """Source addresses for one run, each in a register cell of its own under every
    plausible hash and size: a correct program with any of them keeps per-source
    budgets apart, so an exact count can only fail for a wrong program."""

    def __init__(self) -> None:
        self.taken: list[int] = []
        self._cells: set[tuple[str, int, int]] = set()
        self._held: set[tuple[str, int, int]] = set()

    def hold(self, cells: set[tuple[str, int, int]]) -> None:
        """Keep `cells` free of every address taken until release(cells)."""
        self._held |= cells
        self._cells |= cells

    def release(self, cells: set[tuple[str, int, int]]) -> None:
        self._held -= cells
        self._recount()

    def _recount(self) -> None:
        self._cells = set().union(*(cells_of(a) for a in self.taken)) | self._held

    def fits(self, addr: int) -> bool:
        return addr not in self.taken and not (cells_of(addr) & self._cells)

    def reserve(self, addr: int) -> int:
        """Take an address the run must use (a host's own); it must fit."""
        if not self.fits(addr):
            raise ValueError(f"address {addr:#010x} shares a cell with one already in use")
        self.taken.append(addr)
        self._cells |= cells_of(addr)
        return addr

    def draw(self, rng: random.Random, within: Prefix, avoid: tuple[Prefix, ...] = (),
             tries: int = 4096) -> int:
        """A random address in `within`, outside every prefix in `avoid`, that fits
        (every address of a small prefix is tried)."""
        if within.size <= tries:
            offsets = list(range(within.size))
            rng.shuffle(offsets)
        else:
            offsets = [rng.randrange(within.size) for _ in range(tries)]
        for offset in offsets:
            addr = within.network | offset
            if self.fits(addr) and not any(p.contains(addr) for p in avoid):
                return self.reserve(addr)
        raise ValueError(f"no free address in {within.text()}")

    def checkpoint(self) -> int:
        return len(self.taken)

    def rollback(self, mark: int) -> None:
        """Give back every address taken since checkpoint() returned `mark`."""
        self.taken = self.taken[:mark]
        self._recount()


T = TypeVar("T")


def placed(pool: AddressPool, build: Callable[[], T], tries: int = 50) -> T:
    """build() (which draws addresses and prefixes) again until its addresses fit;
    the addresses of failed attempts go back to the pool."""
    for _ in range(tries):
        mark = pool.checkpoint()
        try:
            return build()
        except ValueError:
            pool.rollback(mark)
    raise ValueError(f"no placement of addresses fits after {tries} attempts")


def random_prefix(rng: random.Random, length: int, avoid: tuple[Prefix, ...] = ()) -> Prefix:
    """A random unicast prefix (first octet 1-223, not 127) overlapping none of `avoid`."""
    while True:
        first = rng.choice([o for o in range(1, 224) if o != 127])
        prefix = Prefix.of((first << 24) | rng.randrange(1 << 24), length)
        if not any(prefix.overlaps(p) for p in avoid):
            return prefix


def sub_prefix(rng: random.Random, parent: Prefix, length: int,
               avoid: tuple[Prefix, ...] = (), tries: int = 2000) -> Prefix:
    """A random prefix of `length` inside `parent`, overlapping none of `avoid`."""
    if length <= parent.length:
        raise ValueError(f"/{length} is not inside {parent.text()}")
    for _ in range(tries):
        prefix = Prefix.of(parent.network | rng.randrange(parent.size), length)
        if not any(prefix.overlaps(p) for p in avoid):
            return prefix
    raise ValueError(f"no free /{length} in {parent.text()} after {tries} tries")
