"""Lab 2.1 (hh-v1): the raw frame builder shared by the heavy-hitter verifiers, and the
reference model (longest prefix match, per-address budgets, collision-free addresses)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether

from labtool import hashes
from labtool.loader import load_module

VERIFIERS = Path(__file__).resolve().parents[2] / "verifiers"
fr: Any = load_module(VERIFIERS / "hh-v1_frames.py", "hh_frames")
hm: Any = load_module(VERIFIERS / "hh-v1_model.py", "hh_model")


def ip(text: str) -> int:
    return int(fr.ip_int(text))


def test_frames_carry_the_checksums_a_host_stack_computes() -> None:
    fields = fr.IpFields(ttl=3, tos=0xB9, ident=0xFFFF, dont_fragment=True)
    for proto, l4 in (
            (fr.UDP, fr.udp_segment("10.0.1.1", "10.0.2.2", 1, 65535, b"payload!")),
            (fr.TCP, fr.tcp_segment("10.0.1.1", "10.0.2.2", 80, 443, 0xFFFFFFFF,
                                    fr.TCP_PSH | fr.TCP_ACK, b"odd")),
            (fr.ICMP, fr.icmp_echo(7, 9, b"ping"))):
        frame = fr.ipv4_frame("00:00:0a:00:02:02", "02:00:00:01:00:01", "10.0.1.1", "10.0.2.2",
                              proto, l4, fields)
        assert len(frame) >= fr.ETH_MIN
        pkt = Ether(frame)
        rebuilt = pkt.copy()
        del rebuilt[IP].chksum
        layer = {fr.UDP: UDP, fr.TCP: TCP, fr.ICMP: ICMP}[proto]
        del rebuilt[layer].chksum
        assert bytes(Ether(bytes(rebuilt))) == frame, proto
        assert (pkt[IP].ttl, pkt[IP].tos, pkt[IP].id, pkt[IP].flags) == (3, 0xB9, 0xFFFF, "DF")
        assert fr.header_checksum_ok(frame)
        assert fr.ident_of(frame) == 0xFFFF and fr.src_of(frame) == "10.0.1.1"


def test_idents_wrap_and_never_repeat() -> None:
    idents = fr.Idents(0xFFFE)
    assert [idents.take() for _ in range(3)] == [0xFFFE, 0xFFFF, 0]
    for _ in range(0x10000 - 3):
        idents.take()
    with pytest.raises(ValueError, match="repeat"):
        idents.take()


def test_longest_prefix_wins_and_drop_entries_and_misses_give_nothing() -> None:
    table = hm.ThresholdTable()
    outer, inner = hm.Prefix.of(ip("20.1.0.0"), 16), hm.Prefix.of(ip("20.1.7.0"), 24)
    table.add(hm.ThresholdEntry(outer, 5))
    table.add(hm.ThresholdEntry(inner, None))
    table.add(hm.ThresholdEntry(hm.Prefix(ip("20.1.7.9"), 32), 2))
    budgets = hm.BudgetModel(table)
    assert budgets.forward(ip("20.1.200.1"), 9) == 5
    assert budgets.forward(ip("20.1.7.8"), 9) == 0        # drop() inside the /16
    assert budgets.forward(ip("20.1.7.9"), 1) == 1        # the /32 hole in the drop
    assert budgets.forward(ip("20.1.7.9"), 5) == 1        # ... has 2 in all
    assert budgets.forward(ip("20.2.0.1"), 3) == 0        # no entry
    assert budgets.forward(ip("20.1.200.2"), 9) == 5      # the same /16, its own budget


def test_budget_is_forever_and_follows_a_modified_threshold() -> None:
    table = hm.ThresholdTable()
    host = hm.Prefix(ip("10.0.0.2"), 32)
    table.add(hm.ThresholdEntry(host, 1000))
    budgets = hm.BudgetModel(table)
    assert budgets.forward(ip("10.0.0.2"), 999) == 999
    table.modify(host, 1003)
    assert budgets.forward(ip("10.0.0.2"), 10) == 4
    assert budgets.forward(ip("10.0.0.2"), 10) == 0
    table.add(hm.ThresholdEntry(hm.Prefix(ip("10.0.0.3"), 32), 0))
    assert budgets.forward(ip("10.0.0.3"), 3) == 0
    table.add(hm.ThresholdEntry(hm.Prefix(ip("10.0.0.4"), 32), hm.MAX_THRESHOLD))
    assert budgets.allowance(ip("10.0.0.4")) == hm.MAX_THRESHOLD


def test_course_addresses_sit_in_cells_of_their_own() -> None:
    pool = hm.AddressPool()
    for addr in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        pool.reserve(ip(addr))
    with pytest.raises(ValueError, match="shares a cell"):
        pool.reserve(ip("10.0.0.1"))


@pytest.mark.parametrize("seed", range(5))
def test_drawn_addresses_never_share_a_cell_under_any_plausible_hash(seed: int) -> None:
    rng = random.Random(seed)
    pool = hm.AddressPool()
    prefix = hm.Prefix.of(ip("20.30.0.0"), 20)
    drawn = [pool.draw(rng, prefix) for _ in range(25)]
    assert all(prefix.contains(a) for a in drawn)
    for size in (256, 512, 1000, 1024, 4096, 65536):
        for algo in ("crc16", "crc32"):
            h = hashes.crc16 if algo == "crc16" else hashes.crc32
            cells = {h(a.to_bytes(4, "big")) % size for a in drawn}
            assert len(cells) == len(drawn), (algo, size)
        assert len({a % size for a in drawn}) == len(drawn), ("identity", size)


def test_prefixes_drawn_inside_and_apart() -> None:
    rng = random.Random(3)
    outer = hm.random_prefix(rng, 18, (hm.Prefix.of(ip("10.0.0.0"), 8),))
    assert not outer.overlaps(hm.Prefix.of(ip("10.0.0.0"), 8))
    inner = hm.sub_prefix(rng, outer, 26)
    other = hm.sub_prefix(rng, outer, 25, (inner,))
    assert outer.contains(inner.network) and outer.contains(other.network)
    assert not inner.overlaps(other)
    assert hm.Prefix.of(ip("192.168.7.200"), 24).text() == "192.168.7.0/24"


def test_held_cells_stay_free_until_released() -> None:
    """The verifier holds the last hash cells for its edge sources: no address drawn
    before may take them, and after release one may."""
    pool = hm.AddressPool()
    rng = random.Random(5)
    held = {("crc32", 256, 255)}
    pool.hold(held)
    edge = next(a for a in range(0x0B000000, 0x0B100000)
                if hm.plausible_hashes(a)["crc32"] % 256 == 255)
    assert not pool.fits(edge)
    drawn = [pool.draw(rng, hm.Prefix.of(0x0C000000, 16)) for _ in range(50)]
    assert all(hm.plausible_hashes(a)["crc32"] % 256 != 255 for a in drawn)
    mark = pool.checkpoint()
    pool.rollback(mark)
    assert not pool.fits(edge)   # a rollback keeps what is held
    pool.release(held)
    assert pool.fits(edge) or any(hm.cells_of(edge) & hm.cells_of(a) for a in drawn)
