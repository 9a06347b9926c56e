"""Lab 2.2 (hh-v2): the controller and verifier against a simulated network of two
switches (no toolchain needed). A correct simulation must PASS for every seed;
simulations of wrong programs (a 5-tuple key missing one field, MACs or ports not
taken from the table, ICMP not routed, a checksum over too few fields ...) must FAIL
for every seed."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
verifier: Any = load_module(ROOT / "verifiers" / "hh-v2.py", "verifier")
controller: Any = load_module(ROOT / "controllers" / "hh-v2.py", "controller")
fr: Any = verifier.fr
hm: Any = verifier.hm
m2: Any = verifier.m2


def _key(frame: bytes) -> tuple[int, int, int, int, int] | None:
    proto = frame[23]
    if proto not in (6, 17):
        return None
    sport, dport = struct.unpack("!HH", frame[34:38])
    return (int.from_bytes(frame[26:30], "big"), int.from_bytes(frame[30:34], "big"), proto,
            sport, dport)


@dataclass
class Behaviour:
    """How the simulated program may be wrong (the defaults are right)."""

    key: Callable[[tuple[int, int, int, int, int]], tuple[int, ...]] = lambda k: k
    passes: Callable[[int], bool] = lambda count: count < 1000
    next_mac: Callable[[str, bytes], str] = lambda param, frame: param
    out_port: Callable[[int, int], int] = lambda param, ingress: param
    routes_non_tcp_udp: bool = True
    ttl_only_tcp_udp: bool = False
    checksum_skips_tos: bool = False
    miss_goes_across: bool = False
    cells: Callable[[tuple[int, ...]], list[int]] | None = None  # None: crc16, crc32
    estimate: Callable[[list[int]], int] = min  # of the flow's counters


@dataclass
class SimSwitch:
    name: str
    behaviour: Behaviour
    routes: Any = field(default_factory=lambda: m2.Lpm())
    bloom: list[Counter[int]] = field(default_factory=lambda: [Counter(), Counter()])

    def table_add_many(self, table: str, entries: Sequence[Entry]) -> None:
        assert table == "ipv4_lpm"
        for e in entries:
            addr, length = e.match["hdr.ipv4.dstAddr"].split("/")
            prefix = hm.Prefix.of(fr.ip_int(addr), int(length))
            self.routes.add(m2.Route(prefix, None) if e.action == "drop" else
                            m2.Route(prefix, e.params["dstAddr"], int(e.params["port"])))

    def table_clear(self, table: str) -> None:
        self.routes = m2.Lpm()

    def process(self, ingress: int, frame: bytes) -> tuple[int, bytes] | None:
        b = self.behaviour
        if frame[12:14] != b"\x08\x00":
            return None
        route = self.routes.lookup(int.from_bytes(frame[30:34], "big"))
        key = _key(frame)
        if route is None or route.next_mac is None:
            if not b.miss_goes_across or route is not None:
                return None
            return 3 - ingress, frame
        if key is None and not b.routes_non_tcp_udp:
            return None
        if key is not None:
            raw = b"".join(v.to_bytes(4, "big") for v in b.key(key))
            cells = (b.cells(b.key(key)) if b.cells is not None else
                     [hashes.crc16(raw) % 4096, hashes.crc32(raw) % 4096])
            if not b.passes(b.estimate([self.bloom[i][c] for i, c in enumerate(cells)])):
                return None
            for i, c in enumerate(cells):
                self.bloom[i][c] += 1
        out = bytearray(fr.mac_bytes(b.next_mac(route.next_mac, frame)) + frame[0:6] + frame[12:])
        if key is not None or not b.ttl_only_tcp_udp:
            out[22] -= 1
        header = bytearray(out[14:34])
        if b.checksum_skips_tos:
            header[1] = 0
        header[10:12] = b"\x00\x00"
        out[24:26] = fr.inet_checksum(bytes(header)).to_bytes(2, "big")
        return b.out_port(route.port, ingress), bytes(out)


class SimLab(LabContext):
    def __init__(self, behaviour: Behaviour, seed: int) -> None:
        super().__init__(find_lab(ROOT, "hh-v2"), {}, seed=seed)
        self.sims = {s: SimSwitch(s, behaviour) for s in ("s1", "s2")}
        self.peer = {("s1", 1): ("h1",), ("s1", 2): ("s2", 2), ("s2", 2): ("s1", 2),
                     ("s2", 1): ("h2",)}

    def switch(self, name: str) -> Any:
        return self.sims[name]

    def burst(self, sends: Any, **kwargs: Any) -> dict[str, list[bytes]]:
        plan = interleave(sends) if isinstance(sends, Mapping) else list(sends)
        out: dict[str, list[bytes]] = {"h1": [], "h2": []}
        for host, frame in plan:
            switch, port = self.lab.host_port[host]
            for _ in range(6):
                result = self.sims[switch].process(port, frame)
                if result is None:
                    break
                port, frame = result
                peer = self.peer.get((switch, port))
                if peer is None:
                    break
                if len(peer) == 1:
                    out[peer[0]].append(frame)
                    break
                switch, port = peer
        return out


def run(behaviour: Behaviour, seed: int) -> list[Any]:
    lab = SimLab(behaviour, seed)
    controller.configure(lab)
    verifier.verify(lab)
    return lab.results


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("layout", ["other hash inputs", "the lab's", "the course's"])
def test_a_correct_program_passes(seed: int, layout: str) -> None:
    cells = {"the lab's": lambda k: list(_lab_cells(k).values()),
             "the course's": lambda k: list(_lab_cells(k, "course").values())}.get(layout)
    results = run(Behaviour(cells=cells), seed)
    assert len(results) == 12
    assert all(r.passed for r in results), [r.detail for r in results if not r.passed]


def _course_mac(param: str, frame: bytes) -> str:
    return fr.mac_text(b"\x00\x00" + frame[30:34])


WRONG: dict[str, Behaviour] = {
    "key_without_src_port": Behaviour(key=lambda k: (k[0], k[1], k[2], k[4])),
    "key_without_dst_port": Behaviour(key=lambda k: (k[0], k[1], k[2], k[3])),
    "key_without_protocol": Behaviour(key=lambda k: (k[0], k[1], k[3], k[4])),
    "key_without_src_addr": Behaviour(key=lambda k: (k[1], k[2], k[3], k[4])),
    "key_without_dst_addr": Behaviour(key=lambda k: (k[0], k[2], k[3], k[4])),
    "off_by_one": Behaviour(passes=lambda c: c <= 1000),
    "increment_before_check": Behaviour(passes=lambda c: c + 1 < 1000),
    "mac_from_ip": Behaviour(next_mac=_course_mac),
    "port_other_than_ingress": Behaviour(out_port=lambda param, ingress: 3 - ingress),
    "icmp_dropped": Behaviour(routes_non_tcp_udp=False),
    "ttl_only_tcp_udp": Behaviour(ttl_only_tcp_udp=True),
    "checksum_skips_tos": Behaviour(checksum_skips_tos=True),
    "miss_goes_across": Behaviour(miss_goes_across=True),
    "one_hash_twice": Behaviour(cells=lambda k: [_lab_cells(k)["crc16"]] * 2),
    "course_order_crc32_only": Behaviour(cells=lambda k: [_lab_cells(k, "course")["crc32"]] * 2),
    "blocked_when_any_counter_full": Behaviour(cells=lambda k: list(_lab_cells(k).values()),
                                               estimate=max),
    # one hash leaves a field out: flows that differ from a blocked one only there
    # share its counter in that hash (mutation analysis found these blind spots)
    "crc16_without_dst_addr": Behaviour(cells=lambda k: _cells_without(k, "crc16", 1)),
    "crc32_without_dst_addr": Behaviour(cells=lambda k: _cells_without(k, "crc32", 1)),
    "crc16_without_protocol": Behaviour(cells=lambda k: _cells_without(k, "crc16", 2)),
    "crc32_without_protocol": Behaviour(cells=lambda k: _cells_without(k, "crc32", 2)),
}


def _cells_without(key: tuple[int, ...], algo: str, left_out: int) -> list[int]:
    """The lab's cells, but `algo` hashes the 5-tuple without field `left_out`."""
    widths = (32, 32, 8, 16, 16)
    raw = hashes.fields(*((v, w) for i, (v, w) in enumerate(zip(key, widths)) if i != left_out))
    cells = _lab_cells(key)
    cells[algo] = verifier.ALGORITHMS[algo](raw) % verifier.BF_CELLS
    return [cells["crc16"], cells["crc32"]]


def _lab_cells(key: tuple[int, ...], order: str = "lab") -> dict[str, int]:
    """The cells of the lab's own hash inputs (bit<32> addresses, bit<8> protocol,
    bit<16> ports), in the lab's field order or the course template's."""
    src, dst, proto, sport, dport = key
    flow = verifier.Flow("h", fr.ip_text(src), fr.ip_text(dst), proto, sport, dport)
    names = list(verifier.FIELD_ORDERS)
    return dict(verifier.bf_cells(flow, verifier.FIELD_ORDERS[names[0 if order == "lab" else 1]]))


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_programs_fail_for_every_seed(name: str) -> None:
    for seed in range(3):
        results = run(WRONG[name], seed)
        assert not all(r.passed for r in results), f"{name} passed with seed {seed}"
