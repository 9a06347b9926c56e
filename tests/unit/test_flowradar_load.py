"""The FlowRadar verifier's traffic (lab content, pure Python): every seed's load has
the properties the checks rely on, and the wrong encoders the mutants stand for give
registers that differ from the reference on every seed's load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labtool.context import LabContext
from labtool.loader import load_module
from labtool.manifest import load_lab

ROOT = Path(__file__).resolve().parents[2]
loads: Any = load_module(ROOT / "verifiers" / "flowradar_load.py", "flowradar_load")
col = loads.collector
SWITCHES = ["s1", "s2", "s3"]
LAYOUTS = [col.Layout(4096, 96), col.Layout(8192, 120)]


def lab_context(seed: int) -> LabContext:
    return LabContext(load_lab(ROOT / "topologies" / "flowradar.toml", ROOT), {}, seed=seed)


def epochs(seed: int, layout: Any) -> tuple[Any, Any]:
    lab = lab_context(seed)
    first = loads.draw_epoch1(lab, layout)
    return first, loads.draw_epoch2(lab, layout, first, loads.draw_prefix(lab, "h6"))


class WrongEncoder(col.ReferenceEncoder):  # type: ignore[misc, name-defined]
    """The reference with the new-flow test a mutant has."""

    def __init__(self, layout: Any, is_new: Any) -> None:
        super().__init__(layout)
        self.is_new = is_new

    def packet(self, flow: Any) -> None:
        regs = self.regs
        bits = regs.layout.filter_positions(flow)
        seen = [regs.filter[b] for b in bits]
        if self.is_new(seen):
            for b in bits:
                regs.filter[b] = 1
            addrs, ports = col.xor_parts(flow)
            for c in regs.layout.cell_positions(flow):
                regs.xor_addrs[c] ^= addrs
                regs.xor_ports[c] ^= ports
                regs.flow_count[c] += 1
                regs.packet_count[c] += 1
        else:
            for c in regs.layout.cell_positions(flow):
                regs.packet_count[c] += 1

    def packets(self, flow: Any, n: int) -> None:
        for _ in range(n):
            self.packet(flow)


def encode_with(epoch: Any, layout: Any, sw: str, is_new: Any) -> Any:
    enc = WrongEncoder(layout, is_new)
    for part in (epoch.main, epoch.tail):
        for flow, sent in part.items():
            if sw in epoch.path[flow]:
                enc.packets(flow, sent.packets)
    return enc.regs


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("layout", LAYOUTS, ids=["96cells", "120cells"])
def test_epoch1_has_every_property_the_checks_rely_on(seed: int, layout: Any) -> None:
    first, _ = epochs(seed, layout)
    seen = first.seen(SWITCHES)
    regs = first.reference(layout, SWITCHES)
    assert loads.unambiguous(first, layout, regs)
    assert {sw: col.single_decode(regs[sw]).complete for sw in SWITCHES} == \
        {"s1": True, "s2": False, "s3": True}
    decoded = col.network_decode(regs)
    assert all(decoded[sw].complete and decoded[sw].counts == seen[sw] for sw in SWITCHES)
    packets = [s.packets for s in first.flows.values()]
    assert min(packets) == 1 and max(packets) >= 150
    assert {f[4] for f in first.flows} == {6, 17}
    assert any(f[2] == 0 for f in first.flows) and any(f[3] == 65535 for f in first.flows)
    # pairs one field apart, for every field
    flows = list(first.flows)
    apart = {i for a in flows for b in flows
             for i in range(5) if sum(x != y for x, y in zip(a, b)) == 1 and a[i] != b[i]}
    assert apart == {0, 1, 2, 3, 4}
    # the tail: each flow has exactly one filter bit the main burst left clear at s2
    covered = set().union(*(layout.filter_positions(f) for f in first.main
                            if "s2" in first.path[f]))
    clear = sorted(j for f in first.tail for j, b in enumerate(layout.filter_positions(f))
                   if b not in covered)
    assert clear == [0, 1, 2]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("layout", LAYOUTS, ids=["96cells", "120cells"])
def test_epoch2_repeats_flows_and_overloads_the_middle(seed: int, layout: Any) -> None:
    first, second = epochs(seed, layout)
    seen = second.seen(SWITCHES)
    for sw in SWITCHES:
        assert set(seen[sw]) & set(first.seen(SWITCHES)[sw]), sw  # a flow of epoch 1 again
    decoded = col.network_decode(second.reference(layout, SWITCHES))
    assert decoded["s1"].counts == seen["s1"] and decoded["s3"].counts == seen["s3"]
    routed = [f for f, sent in second.flows.items() if sent.dst == "h6" and f[1] >> 8 != 0x0A0000]
    assert len(routed) == 4 and all(second.path[f] == SWITCHES for f in routed)
    middle = decoded["s2"]
    assert not middle.complete and middle.counts is None
    assert middle.flows <= set(seen["s2"])
    assert middle.remaining == len(seen["s2"]) - len(middle.flows) > 0


NEW_FLOW_TESTS = {
    "all bits clear (and instead of or)": lambda seen: not any(seen),
    "bits 0 and 1 only": lambda seen: not (seen[0] and seen[1]),
    "bits 0 and 2 only": lambda seen: not (seen[0] and seen[2]),
    "bits 1 and 2 only": lambda seen: not (seen[1] and seen[2]),
    "bit 0 only": lambda seen: not seen[0],
}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("wrong", sorted(NEW_FLOW_TESTS))
def test_a_wrong_new_flow_test_changes_the_registers_on_every_load(seed: int,
                                                                  wrong: str) -> None:
    layout = LAYOUTS[0]
    first, _ = epochs(seed, layout)
    reference = first.reference(layout, SWITCHES)["s2"]
    mutant = encode_with(first, layout, "s2", NEW_FLOW_TESTS[wrong])
    assert mutant.by_name() != reference.by_name()
