"""Lab 1.2 (repeater): the reference model, the seeded table plan, and that every seed's
plan tells the model apart from the wrong repeaters students write (the mutants'
behaviour, in Python)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labtool import framemix as fm
from labtool.loader import load_module

model: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "repeater_model.py",
                         "repeater_model")
PORTS = (1, 2)
SEEDS = range(300)
Action = model.Action


def test_output_follows_the_entry_and_a_miss_drops() -> None:
    table = {1: Action(2), 2: Action(None)}
    assert model.output(table, 1, b"x" * 60) == [(2, b"x" * 60)]
    assert model.output(table, 2, b"x" * 60) == []
    assert model.output(table, 3, b"x" * 60) == []
    assert model.describe(table, (1, 2, 3)) == \
        "1 -> forward(2), 2 -> drop(), 3 -> no entry (miss)"


def test_plan_puts_every_port_in_every_state_once() -> None:
    for seed in SEEDS:
        tables = model.plan(random.Random(seed), PORTS)
        assert len(tables) == len(model.STATES)
        for port, other in ((1, 2), (2, 1)):
            seen = [t.get(port) for t in tables]
            assert None in seen and Action(None) in seen
            assert Action(port) in seen and Action(other) in seen
            void = [a.port for a in seen if a and a.port not in (None, 1, 2)]
            assert len(void) == 1 and 3 <= void[0] < model.DROP_PORT
        assert {257, 258} & {a.port for t in tables for a in t.values()}


def test_frames_cover_the_kinds_and_limits() -> None:
    for seed in range(50):
        frames = model.frames_between(random.Random(seed), "00:00:0a:00:00:01",
                                      "00:00:0a:00:00:02", "10.0.0.1", "10.0.0.2")
        types = {fm.ethertype(f) for f in frames}
        assert {fm.IPV4, fm.ARP_TYPE, fm.IPV6, fm.TPID_8021Q} <= types
        assert {fm.ETH_MIN, fm.ETH_MAX} <= {len(f) for f in frames}


# -- wrong repeaters: each must send some frame elsewhere on every seed's plan ---------

Wrong = Callable[[dict[int, Any], int], list[int]]  # (table, ingress) -> output ports


def right(table: dict[int, Any], ingress: int) -> list[int]:
    return [p for p, _ in model.output(table, ingress, b"")]


def _after_hit(fn: Callable[[int, Any], list[int]]) -> Wrong:
    return lambda t, p: fn(p, t[p]) if p in t else []


WRONG: dict[str, Wrong] = {
    "ignores_port_param": _after_hit(lambda p, a: [] if a.port is None else [3 - p]),
    "hardcoded_on_hit": _after_hit(lambda p, _a: [3 - p]),
    "hardcoded_ports": lambda _t, p: [3 - p],
    "self_forward_dropped": lambda t, p: [q for q in right(t, p) if q != p],
    "miss_forwards_port2": lambda t, p: right(t, p) if p in t else [2],
    "default_forward": lambda t, p: right(t, p) if p in t else [1],
    "port_param_8_bits": lambda t, p: [q % 256 for q in right(t, p)],
    "port_plus_one": lambda t, p: [q + 1 for q in right(t, p)],
}


def observable(ports: list[int]) -> list[int]:
    """What the hosts see: frames sent to a port without a host are gone."""
    return sorted(p for p in ports if p in PORTS)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_every_seed_tells_a_wrong_repeater_apart(name: str) -> None:
    wrong = WRONG[name]
    for seed in SEEDS:
        tables = [model.COURSE, *model.plan(random.Random(seed), PORTS)]
        assert any(observable(wrong(t, p)) != observable(right(t, p))
                   for t in tables for p in PORTS), seed
