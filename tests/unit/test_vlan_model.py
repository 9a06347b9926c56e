"""Lab 1.3 (VLAN handler): the reference model, the seeded configurations and traffic,
and that every seed's plan tells the model apart from the wrong VLAN handlers students
write (the mutants' behaviour, in Python)."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labtool import framemix as fm
from labtool.loader import load_module

model: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "vlan_model.py",
                         "vlan_model")
TRUNK = model.Station("h1", "00:00:0a:00:00:01", "10.0.0.1", 1)
ACCESS = [model.Station(f"h{i}", f"00:00:0a:00:00:0{i}", f"10.0.0.{i}", i) for i in (2, 3, 4)]
PORT = {s.name: s.port for s in (TRUNK, *ACCESS)}
HOST_PORTS = frozenset(PORT.values())
SEEDS = range(100)
VOID = 77


def frame(ethertype: int = 0x0800, size: int = 60) -> bytes:
    return bytes.fromhex("00000a000002" "00000a000001") + ethertype.to_bytes(2, "big") + \
        bytes(range(size - 14))


def test_rules_on_the_course_map() -> None:
    cfg = model.COURSE
    plain = frame()
    tagged = fm.tag(plain, vid=20, pcp=5, dei=1)
    assert model.output(cfg, 1, tagged) == [(2, plain)]                     # rule 2
    assert model.output(cfg, 1, fm.tag(plain, vid=99)) == [(2, plain)]     # unknown VID
    assert model.output(cfg, 1, plain) == []                               # rule 1
    assert model.output(cfg, 3, tagged) == []                              # rule 1
    out = model.output(cfg, 3, plain)                                      # rule 3
    assert out == [(1, plain[:12] + bytes.fromhex("8100" "0003") + plain[12:])]
    assert model.output(cfg, 3, fm.tag(plain, 3, tpid=fm.TPID_8021AD))[0][0] == 1  # S-tag: untagged


def test_drop_entries_and_misses() -> None:
    cfg = model.Config({7: None, 8: 3}, {2: None, 3: 4095})
    plain = frame(0x86DD, 80)
    assert model.output(cfg, 1, fm.tag(plain, 7)) == []
    assert model.output(cfg, 1, fm.tag(plain, 8, 7, 1)) == [(3, plain)]
    assert model.output(cfg, 2, plain) == []          # drop()
    assert model.output(cfg, 4, plain) == []          # no entry: drop
    assert model.output(cfg, 3, plain)[0][1][14:16] == bytes.fromhex("0fff")
    double = fm.tag(fm.tag(plain, 5, 1, 1), 8, 2, 0)
    assert model.output(cfg, 1, double) == [(3, fm.tag(plain, 5, 1, 1))]   # outer tag only


@functools.cache
def phases(seed: int) -> list[tuple[Any, dict[str, list[bytes]]]]:
    """(phase, what each host sends) as the verifier draws them under `seed`."""
    rng = random.Random(seed)
    return [(p, model.traffic(rng, p, TRUNK, ACCESS)) for p in model.plan(rng, VOID)]


def test_plan_covers_the_contract_space() -> None:
    for seed in SEEDS:
        course, fresh, edited = (p for p, _ in phases(seed))
        assert course.config == model.COURSE and fresh.clear_first and not edited.clear_first
        for base, port in model.COURSE_VID_PORT.items():
            assert model.seen_at(fresh.config, base, HOST_PORTS) != port
        for base in (2, 3, 4):
            assert model.seen_at(fresh.config, base, HOST_PORTS) != \
                model.seen_at(fresh.config, base * 10, HOST_PORTS)
        assert set(model.BOUNDARY_VIDS) <= set(fresh.config.vid_port)
        assert fresh.config.vid_port[0] in (3, 4) and fresh.config.vid_port[4095] in (2, 3, 4)
        assert 2 in fresh.config.vid_port.values() and VOID in fresh.config.vid_port.values()
        assert all(v != p for p, v in fresh.config.port_vid.items())
        assert 4095 in fresh.config.port_vid.values()
        assert None in edited.config.port_vid.values() and len(edited.config.port_vid) == 2
        assert None in edited.config.vid_port.values()
        for phase in (course, fresh, edited):
            assert not set(phase.probe_vids) & set(phase.config.vid_port)


def test_traffic_covers_every_tci_value_and_inner_kind() -> None:
    for seed in SEEDS:
        for phase, sends in phases(seed):
            trunk_tagged = [f for f in sends["h1"] if model.is_tagged(f)]
            assert len({f[14] >> 4 for f in trunk_tagged}) == 16  # PCP and DEI: all values
            vids = {model.vid_of(f) for f in trunk_tagged}
            assert vids == set(phase.config.vid_port) | set(phase.probe_vids)
            inner = {fm.ethertype(fm.untag(f)) for f in trunk_tagged}
            assert {fm.IPV4, fm.ARP_TYPE, fm.IPV6, fm.TPID_8021Q} <= inner
            assert any(t < 0x0600 for t in inner) and inner - fm.NAMED_TYPES
            assert {64, fm.ETH_MAX} <= {len(f) for f in trunk_tagged}
            assert any(not model.is_tagged(f) for f in sends["h1"])
            for host in ACCESS:
                sizes = {len(f) for f in sends[host.name] if not model.is_tagged(f)}
                assert {fm.ETH_MIN, fm.ETH_MAX} <= sizes
                assert any(model.is_tagged(f) for f in sends[host.name])
            for frames in sends.values():
                assert all(len(f) >= fm.ETH_MIN + (fm.TAG_LEN if model.is_tagged(f) else 0)
                           for f in frames)


# -- wrong VLAN handlers: each must differ from the model on every seed ----------------

Out = list[tuple[int, bytes]]
Wrong = Callable[[Any, int, bytes], Out]


def _on_trunk_tagged(fn: Callable[[Any, bytes], Out]) -> Wrong:
    def wrong(cfg: Any, port: int, f: bytes) -> Out:
        if port == model.TRUNK and model.is_tagged(f):
            return fn(cfg, f)
        return model.output(cfg, port, f)
    return wrong


def _on_access_untagged(fn: Callable[[Any, int, bytes], Out]) -> Wrong:
    def wrong(cfg: Any, port: int, f: bytes) -> Out:
        if port != model.TRUNK and not model.is_tagged(f):
            return fn(cfg, port, f)
        return model.output(cfg, port, f)
    return wrong


def _looked_up_as(key: Callable[[int, bytes], int]) -> Wrong:
    """The trunk frame goes where vlan_table sends VID key(vid, frame)."""
    def fn(cfg: Any, f: bytes) -> Out:
        port = model.trunk_port_for(cfg, key(model.vid_of(f), f))
        return [] if port is None else [(port, fm.untag(f))]
    return _on_trunk_tagged(fn)


def _tagged_with(vid: Callable[[Any, int], int | None], pcp: int = 0) -> Wrong:
    def fn(cfg: Any, port: int, f: bytes) -> Out:
        v = vid(cfg, port)
        return [] if v is None else [(1, fm.tag(f, v, pcp))]
    return _on_access_untagged(fn)


def _course_port(_cfg: Any, f: bytes) -> Out:
    port = model.trunk_port_for(model.COURSE, model.vid_of(f))
    return [] if port is None else [(port, fm.untag(f))]


def _vid_is_port(cfg: Any, f: bytes) -> Out:
    vid = model.vid_of(f)
    port = vid if vid in (2, 3, 4) else model.trunk_port_for(cfg, vid)
    return [] if port is None else [(port, fm.untag(f))]


def _tci_field_order(cfg: Any, port: int, f: bytes) -> Out:
    """vlan_t declared vid(12) pcp(3) dei(1): the VID is read from the top 12 bits and
    written there; the PCP/DEI written as 0 land in the low 4 bits."""
    if port == model.TRUNK and model.is_tagged(f):
        tci = int.from_bytes(f[14:16], "big")
        out = model.trunk_port_for(cfg, tci >> 4)
        return [] if out is None else [(out, fm.untag(f))]
    if port != model.TRUNK and not model.is_tagged(f):
        vid = cfg.port_vid.get(port)
        return [] if vid is None else [(1, f[:12] + b"\x81\x00" + (vid << 4).to_bytes(2, "big")
                                        + f[12:])]
    return model.output(cfg, port, f)


def _strips_inner_tag(cfg: Any, f: bytes) -> Out:
    out = model.output(cfg, 1, f)
    return [(p, fm.untag(x) if model.is_tagged(x) else x) for p, x in out]


def _untagged_trunk_forwarded(cfg: Any, port: int, f: bytes) -> Out:
    if port == model.TRUNK and not model.is_tagged(f):
        out = model.trunk_port_for(cfg, 0)
        return [] if out is None else [(out, f)]
    return model.output(cfg, port, f)


def _tagged_access_accepted(cfg: Any, port: int, f: bytes) -> Out:
    return model.output(cfg, 1 if model.is_tagged(f) else port, f)


WRONG: dict[str, Wrong] = {
    "course_vid_map_hardcoded": _on_trunk_tagged(_course_port),
    "vid_is_port": _on_trunk_tagged(_vid_is_port),
    "vid_mod_10": _looked_up_as(lambda vid, _f: vid % 10),
    "vid_div_10": _looked_up_as(lambda vid, _f: vid // 10 if vid % 10 == 0 and vid else vid),
    "dei_in_vid": _looked_up_as(lambda vid, f: vid | (f[14] & 0x10) << 8),
    "vid0_to_port2": _looked_up_as(lambda vid, _f: 4096 if vid == 0 else vid),
    "vid4095_dropped": _on_trunk_tagged(lambda c, f: [] if model.vid_of(f) == 4095
                                        else model.output(c, 1, f)),
    "unknown_vid_dropped": _on_trunk_tagged(lambda c, f: model.output(c, 1, f)
                                            if model.vid_of(f) in c.vid_port else []),
    "strips_inner_tag": _on_trunk_tagged(_strips_inner_tag),
    "add_vid_from_port": _tagged_with(lambda cfg, port: port if port in cfg.port_vid else None),
    "access_miss_default_vlan1": _tagged_with(lambda cfg, port: cfg.port_vid.get(port, 1)),
    "pcp_not_cleared": _tagged_with(lambda cfg, port: cfg.port_vid.get(port), pcp=7),
    "tci_field_order": _tci_field_order,
    "untagged_trunk_forwarded": _untagged_trunk_forwarded,
    "tagged_access_accepted": _tagged_access_accepted,
}


def seen(out: Out) -> list[tuple[int, bytes]]:
    """What the hosts receive: frames sent to a port without a host are gone."""
    return sorted((p, f) for p, f in out if p in HOST_PORTS)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_every_seed_tells_a_wrong_vlan_handler_apart(name: str) -> None:
    wrong = WRONG[name]
    for seed in SEEDS:
        assert any(seen(wrong(p.config, PORT[h], f)) != seen(model.output(p.config, PORT[h], f))
                   for p, sends in phases(seed) for h, fs in sends.items() for f in fs), seed


def test_seeded_phases_alone_kill_what_hard_codes_the_course() -> None:
    """The course phase cannot catch these; the seeded ones must, on every seed."""
    for name in ("course_vid_map_hardcoded", "vid_is_port", "vid_div_10", "add_vid_from_port"):
        wrong = WRONG[name]
        for seed in SEEDS:
            assert any(seen(wrong(p.config, PORT[h], f)) != seen(model.output(p.config, PORT[h], f))
                       for p, sends in phases(seed)[1:] for h, fs in sends.items() for f in fs)
