"""FlowRadar's collector (lab content, pure Python): hashes as BMv2 computes them, the
reference encoder, single and network-wide decode, packet counts."""

from __future__ import annotations

import random
import zlib
from pathlib import Path
from typing import Any

import pytest

from labtool import hashes
from labtool.loader import load_module

col: Any = load_module(Path(__file__).resolve().parents[2] / "controllers"
                       / "flowradar_collector.py", "collector")
LAYOUT = col.Layout(filter_bits=4096, cells=96)


def flows(n: int, seed: int = 1) -> list[tuple[int, int, int, int, int]]:
    rng = random.Random(seed)
    return [(0x0A000001, 0x0A000005, rng.randrange(1024, 65536), rng.randrange(1, 65536),
             rng.choice((6, 17))) for _ in range(n)]


def encode(packets: dict[Any, int]) -> Any:
    enc = col.ReferenceEncoder(LAYOUT)
    for flow, n in packets.items():
        for _ in range(n):
            enc.packet(flow)
    return enc.regs


def test_crc16_is_arc_and_crc32_is_zlib() -> None:
    assert hashes.crc16(b"123456789") == 0xBB3D  # the CRC-16/ARC check value
    assert hashes.crc32(b"123456789") == zlib.crc32(b"123456789") == 0xCBF43926
    assert hashes.fields((0x0A000001, 32), (80, 16)) == bytes.fromhex("0a0000010050")
    with pytest.raises(ValueError, match="byte-aligned"):
        hashes.fields((1, 9))


def test_hash_inputs_are_the_contract_field_orders() -> None:
    flow = (0x0A000001, 0x0A000002, 0x1111, 0x2222, 17)
    assert col.flow_bytes(flow, 0).hex() == "0a0000010a000002111122221" + "1"
    assert col.flow_bytes(flow, 1).hex() == "0a0000020a000001222211111" + "1"
    assert col.flow_bytes(flow, 2).hex() == "11112222" + "11" + "0a0000010a000002"


def test_cells_fall_in_their_parts() -> None:
    for flow in flows(50):
        cells = LAYOUT.cell_positions(flow)
        assert [c // LAYOUT.part_cells for c in cells] == [0, 1, 2]


def test_appending_a_hash_number_would_make_the_hashes_dependent() -> None:
    # why the contract uses field orders: CRC is linear, so crc(x ++ 1) ^ crc(x ++ 0)
    # is the same for every x of one length
    deltas = {hashes.crc16(x + b"\x01") ^ hashes.crc16(x + b"\x00")
              for x in (bytes(random.Random(i).randbytes(13)) for i in range(20))}
    assert len(deltas) == 1


def test_one_flow_roundtrip_with_its_count() -> None:
    flow = flows(1)[0]
    regs = encode({flow: 7})
    assert sum(regs.filter) == len(set(LAYOUT.filter_positions(flow)))
    assert [regs.packet_count[c] for c in LAYOUT.cell_positions(flow)] == [7, 7, 7]
    decoded = col.single_decode(regs)
    assert decoded.complete and decoded.flows == {flow}
    assert col.packet_counts(regs, decoded.flows) == {flow: 7}


def test_light_load_decodes_alone_heavy_load_does_not() -> None:
    light = {f: 3 for f in flows(30)}
    assert col.single_decode(encode(light)).flows == set(light)
    heavy = {f: 1 for f in flows(95, seed=2)}
    stuck = col.single_decode(encode(heavy))
    assert not stuck.complete and stuck.flows < set(heavy)


def test_network_wide_decode_finishes_an_overloaded_switch() -> None:
    rng = random.Random(7)
    # seeds for which the counters determine every count (not all loads do: then
    # packet_counts says None, tested below)
    shared = {f: rng.randrange(1, 9) for f in flows(35, seed=4)}
    local = {f: rng.randrange(1, 9) for f in flows(50, seed=104)}
    edge = encode(shared)                      # sees only the shared flows
    middle = encode({**shared, **local})       # 85 flows in 96 cells
    assert not col.single_decode(middle).complete
    result = col.network_decode({"edge": edge, "middle": middle})
    assert result["edge"].complete and result["middle"].complete
    assert result["middle"].flows == set(shared) | set(local)
    assert result["middle"].counts == {**shared, **local}
    assert result["edge"].counts == shared


def test_underdetermined_counts_are_refused() -> None:
    # two flows sharing all three cells: only their sum is known
    a, b = flows(2)
    layout = col.Layout(4096, 3)  # one cell per part: every flow in cells 0, 1, 2
    enc = col.ReferenceEncoder(layout)
    for flow, n in ((a, 2), (b, 5)):
        for _ in range(n):
            enc.packet(flow)
    assert enc.regs.packet_count == [7, 7, 7]
    assert col.packet_counts(enc.regs, {a, b}) is None


def test_counts_that_the_cells_do_not_explain_are_refused() -> None:
    flow = flows(1)[0]
    regs = encode({flow: 2})
    regs.packet_count[(LAYOUT.cell_positions(flow)[0] + 1) % LAYOUT.cells] += 5
    assert col.packet_counts(regs, {flow}) is None


@pytest.mark.parametrize("cells", [96, 120])
def test_flow_id_parts_roundtrip(cells: int) -> None:
    flow = (0xC0A80001, 0x0A0000FE, 65535, 1, 6)
    assert col.flow_from_parts(*col.xor_parts(flow)) == flow
    assert col.Layout(4096, cells).part_cells == cells // 3


def test_hash_inputs_follow_field_orders_for_any_flow() -> None:
    sizes = {"src": 4, "dst": 4, "sport": 2, "dport": 2, "proto": 1}
    for flow in flows(20) + [(0xFFFFFFFF, 0, 0, 65535, 255)]:
        values = dict(zip(("src", "dst", "sport", "dport", "proto"), flow))
        for order, names in enumerate(col.FIELD_ORDERS):
            want = b"".join(values[n].to_bytes(sizes[n], "big") for n in names)
            assert col.flow_bytes(flow, order) == want
            assert LAYOUT.filter_position(flow, order) == \
                hashes.crc32(want) % LAYOUT.filter_bits == LAYOUT.filter_positions(flow)[order]


def test_bulk_packets_equal_packets_one_by_one() -> None:
    one, bulk = col.ReferenceEncoder(LAYOUT), col.ReferenceEncoder(LAYOUT)
    for i, flow in enumerate(flows(40, seed=9)):
        for _ in range(i % 5 + 1):
            one.packet(flow)
        bulk.packets(flow, i % 5 + 1)
    assert one.regs.by_name() == bulk.regs.by_name()


def test_an_overloaded_switch_is_reported_undecodable_with_what_remains() -> None:
    heavy = {f: 1 for f in flows(140, seed=5)}
    result = col.network_decode({"only": encode(heavy)})["only"]
    assert not result.complete and result.counts is None
    assert result.flows <= set(heavy)
    assert result.remaining == len(heavy) - len(result.flows) > 0
    assert "undecodable" in result.summary()


def test_a_filter_false_positive_is_not_removed_from_empty_cells() -> None:
    shared = {f: 2 for f in flows(10, seed=6)}
    edge = encode(shared)
    middle = encode(dict(list(shared.items())[:5]))
    outsider = list(shared)[7]
    for b in LAYOUT.filter_positions(outsider):  # the middle's filter "holds" it
        middle.filter[b] = 1
    result = col.network_decode({"edge": edge, "middle": middle})
    assert result["middle"].complete and outsider not in result["middle"].flows
    assert result["middle"].counts == dict(list(shared.items())[:5])
