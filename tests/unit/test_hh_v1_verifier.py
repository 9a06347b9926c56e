"""Lab 2.1 (hh-v1): the controller and verifier against a simulated switch, no
toolchain needed. A correct simulation (any plausible hash) must PASS for every seed;
simulations of wrong programs (hard-coded thresholds, counters per port, decay, a
parser that ignores the EtherType ...) must FAIL for every seed."""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from labtool import hashes
from labtool.context import LabContext
from labtool.controlplane import Entry
from labtool.loader import load_module
from labtool.manifest import find_lab
from labtool.traffic import interleave

ROOT = Path(__file__).resolve().parents[2]
verifier: Any = load_module(ROOT / "verifiers" / "hh-v1.py", "verifier")
controller: Any = load_module(ROOT / "controllers" / "hh-v1.py", "controller")
fr: Any = verifier.fr
hm: Any = verifier.hm

# A behaviour of the simulated program: (entry threshold or None, source, ingress port)
# -> the threshold it applies (None: drop).
Threshold = Callable[[int | None, int, int], int | None]


def _crc32_cell(src: int, port: int) -> int:
    return hashes.crc32(src.to_bytes(4, "big")) % 1024


class SimSwitch:
    """hh-v1 as a Python program, with hooks to make it wrong in one way."""

    def __init__(self, cell: Callable[[int, int], int] = _crc32_cell,
                 threshold: Threshold = lambda t, src, port: t, forget_on_idle: bool = False,
                 any_ethertype: bool = False, passes: Callable[[int, int], bool] | None = None
                 ) -> None:
        self.table = hm.ThresholdTable()
        self.cells: Counter[int] = Counter()
        self.cell, self.threshold = cell, threshold
        self.forget_on_idle, self.any_ethertype = forget_on_idle, any_ethertype
        self.passes = passes or (lambda count, limit: count < limit)

    def table_add_many(self, table: str, entries: Sequence[Entry]) -> None:
        assert table == "hhd_threshold"
        for e in entries:
            self.table.add(hm.ThresholdEntry(self._prefix(e.match), self._value(e)))

    def table_modify(self, table: str, match: Mapping[str, Any], action: str,
                     params: Mapping[str, Any] | None = None) -> None:
        self.table.modify(self._prefix(match), self._value(Entry(match, action, params or {})))

    @staticmethod
    def _prefix(match: Mapping[str, Any]) -> Any:
        addr, length = match["hdr.ipv4.srcAddr"].split("/")
        return hm.Prefix.of(fr.ip_int(addr), int(length))

    @staticmethod
    def _value(entry: Entry) -> int | None:
        return None if entry.action == "drop" else int(entry.params["threshold"])

    def idle(self, seconds: float) -> None:
        if self.forget_on_idle:
            self.cells.clear()

    def process(self, port: int, frame: bytes) -> bool:
        """True: the frame leaves port 4 unchanged."""
        if not self.any_ethertype and frame[12:14] != b"\x08\x00":
            return False
        src = int.from_bytes(frame[26:30], "big")
        entry = self.table.lookup(src)
        limit = self.threshold(None if entry is None else entry.threshold, src, port)
        if limit is None:
            return False
        cell = self.cell(src, port)
        if not self.passes(self.cells[cell], limit):
            return False
        self.cells[cell] += 1
        return True


class SimLab(LabContext):
    def __init__(self, sim: SimSwitch, seed: int) -> None:
        super().__init__(find_lab(ROOT, "hh-v1"), {}, seed=seed)
        self.sim = sim

    def switch(self, name: str) -> Any:
        assert name == "s1"
        return self.sim

    def burst(self, sends: Any, **kwargs: Any) -> dict[str, list[bytes]]:
        plan = interleave(sends) if isinstance(sends, Mapping) else list(sends)
        out: dict[str, list[bytes]] = {h: [] for h in ("h1", "h2", "h3", "h4")}
        for host, frame in plan:
            if self.sim.process(self.host(host).port, frame):
                out["h4"].append(frame)
        return out


def run(sim: SimSwitch, seed: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(verifier, "time", types.SimpleNamespace(sleep=sim.idle))
    lab = SimLab(sim, seed)
    controller.configure(lab)
    verifier.verify(lab)
    return lab.results


@pytest.mark.parametrize("seed", range(8))
def test_a_correct_program_passes(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    results = run(SimSwitch(), seed, monkeypatch)
    assert len(results) == 10
    assert all(r.passed for r in results), [r.detail for r in results if not r.passed]


@pytest.mark.parametrize("cell", [
    lambda src, port: hashes.crc16(src.to_bytes(4, "big")) % 256,
    lambda src, port: src % 4096,
    lambda src, port: ((src >> 16) ^ (src & 0xFFFF)) % 1000,
], ids=["crc16-256", "identity-4096", "xor16-1000"])
def test_other_hashes_and_sizes_pass(cell: Callable[[int, int], int],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(3):
        results = run(SimSwitch(cell=cell), seed, monkeypatch)
        assert all(r.passed for r in results), [r.detail for r in results if not r.passed]


def _course(src: int) -> int:
    return {fr.ip_int("10.0.0.1"): 100, fr.ip_int("10.0.0.2"): 1000}.get(src, 300)


WRONG: dict[str, dict[str, Any]] = {
    "threshold_constant_100": {"threshold": lambda t, src, port: None if t is None else 100},
    "thresholds_by_port": {"threshold": lambda t, src, port:
                           None if t is None else {1: 100, 2: 1000, 3: 300}[port]},
    "thresholds_by_source": {"threshold": lambda t, src, port: None if t is None else _course(src)},
    "threshold_16_bit": {"threshold": lambda t, src, port: None if t is None else t & 0xFFFF},
    "threshold_minus_one_wraps": {"passes": lambda c, t: c <= (t - 1) % (1 << 32)},
    "off_by_one": {"passes": lambda c, t: c <= t},
    "counter_per_port": {"cell": lambda src, port: port},
    "counter_per_24": {"cell": lambda src, port: src >> 8},
    "forgets_when_idle": {"forget_on_idle": True},
    "parser_ignores_ethertype": {"any_ethertype": True},
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_programs_fail_for_every_seed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(6):
        results = run(SimSwitch(**WRONG[name]), seed, monkeypatch)
        assert not all(r.passed for r in results), f"{name} passed with seed {seed}"


def test_seeded_reconfiguration_places_its_addresses_for_many_seeds() -> None:
    """Small prefixes can run out of addresses that fit every plausible hash: the plan
    then draws other prefixes instead of failing the run."""
    for seed in range(300):
        rng = verifier.Random(seed)
        pool = hm.AddressPool()
        for addr in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
            pool.reserve(fr.ip_int(addr))
        plan = verifier.seeded_reconfiguration(rng, pool)
        table = hm.ThresholdTable()
        for entry in plan.entries:
            table.add(entry)
        for case in plan.singles + plan.lpm:
            assert case.addr in pool.taken
        assert table.threshold(plan.exact_host.addr) is not None
        assert table.threshold(plan.lpm[-1].addr) is None  # the miss
