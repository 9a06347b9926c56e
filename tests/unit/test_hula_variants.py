"""The HULA verifier's flows that differ from a running flow in exactly one 5-tuple
field: each differs in that field and no other, so a flowlet key lacking the field
is what a failure names."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from labtool.context import HostInfo
from labtool.loader import load_module

ver: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "hula.py", "hula_v")


class FakeLab:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.hosts = {f"h{n}": HostInfo(f"h{n}", f"10.0.0.{n}", f"00:00:0a:00:00:0{n}", 24,
                                        f"tor{n}", 1) for n in (1, 2, 3)}

    def host(self, name: str) -> HostInfo:
        return self.hosts[name]

    def switch_mac(self, switch: str, port: int) -> str:
        return "02:00:00:01:00:01"


def five_tuple(frame: bytes) -> tuple[str, str, int, int, int]:
    pkt = Ether(frame)
    l4 = pkt[UDP] if UDP in pkt else pkt[TCP]
    return pkt[IP].src, pkt[IP].dst, pkt[IP].proto, l4.sport, l4.dport


def test_each_variant_differs_from_the_running_flow_in_exactly_its_field() -> None:
    names = ["source address", "destination address", "protocol", "source port",
             "destination port"]
    for seed in range(20):
        lab = FakeLab(seed)
        fab = SimpleNamespace(src="h1", dst="h3")
        running = five_tuple(ver.packet(lab, "h1", "h3", 9999))
        running_tcp = five_tuple(ver.packet(lab, "h1", "h3", 4242, proto="tcp"))
        extra = ["10.0.0.201", "10.0.0.202", "10.0.0.203"]
        flows = ver.variant_frames(lab, fab, extra, 9999, 4242)
        assert len(flows) == (len(names) + 2) * ver.VARIANTS + ver.SHARE_FILL
        for field, frame in flows:
            got = five_tuple(frame)
            against = running_tcp if field.startswith("TCP ") else running
            differs = [n for n, a, b in zip(names, against, got) if a != b]
            if field == "all fields":
                assert len(differs) >= 1
            else:
                assert differs == [field.removeprefix("TCP ")], (seed, field, got)


def test_sized_packets_have_the_requested_length_and_carry_a_sequence_slot() -> None:
    lab = FakeLab(1)
    frame = ver.packet(lab, "h1", "h2", 9999, payload=bytes(4), size=ver.HEAVY_SIZE)
    assert len(frame) == ver.HEAVY_SIZE
    assert frame[42:46] == bytes(4)   # where load() writes the sequence number


def test_the_heavy_flow_is_put_in_the_last_flowlet_slot() -> None:
    """crc16 over the design's field order, modulo its 1024 slots, is 1023: a table
    one slot short (or a hash base of 1) loses the heavy flow's flowlet."""
    from labtool import hashes

    for seed in range(5):
        lab = FakeLab(seed)
        sport = ver.last_slot_sport(lab, "h1", "h3")
        key = hashes.fields((0x0A000001, 32), (0x0A000003, 32), (sport, 16), (ver.DPORT, 16),
                            (17, 8))
        assert 1024 <= sport < 65536
        assert hashes.crc16(key) % 1024 == 1023
