"""The Cheetah verifier's reference model (verifiers/cheetah_model.py): parsing of
Linux's option layouts, checksums as a receiver checks them, the rewrites a correct
load balancer makes, without a switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from labtool import hashes
from labtool.loader import load_module

model: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "cheetah_model.py",
                         "cheetah_model")
LINUX_SYN = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (0xAABB1234, 0)), ("NOP", None),
             ("WScale", 7)]
LINUX_DATA = [("NOP", None), ("NOP", None), ("Timestamp", (0x11112222, 0x33334444))]


def segment(options: list[Any], payload: bytes = b"", src: str = "10.0.0.3",
            dst: str = "10.0.0.1", flags: str = "SA") -> bytes:
    return bytes(Ether(src="00:00:0a:00:00:03", dst="00:00:0a:00:00:01")
                 / IP(src=src, dst=dst) / TCP(sport=80, dport=40000, flags=flags, seq=7,
                                              ack=9, options=options) / payload)


def test_linux_layouts_parse_to_their_timestamps() -> None:
    syn = model.parse(segment(LINUX_SYN))
    data = model.parse(segment(LINUX_DATA, b"hello", flags="PA"))
    assert (syn.tsval, syn.tsecr) == (0xAABB1234, 0)
    assert (data.tsval, data.tsecr, data.payload) == (0x11112222, 0x33334444, b"hello")
    assert model.parse(segment([])).ts_off is None


def test_checksums_agree_with_scapy_and_padding_is_kept() -> None:
    frame = segment(LINUX_DATA, b"x")   # padded to 60 bytes by nobody: 67 bytes
    assert model.checksums_ok(frame)
    broken = frame[:50] + bytes([frame[50] ^ 1]) + frame[51:]
    assert not model.checksums_ok(broken)
    padded = segment([], b"") + b"\x00" * 6
    assert model.checksums_ok(padded) and model.with_checksums(padded) == padded


def test_backend_to_client_sets_sources_and_cookie_only() -> None:
    seg = model.parse(segment(LINUX_SYN))
    out = model.backend_to_client(seg, "10.0.0.100", "00:00:0a:00:00:64", 0xBEEF)
    pkt = Ether(out)
    assert pkt.src == "00:00:0a:00:00:64" and pkt[IP].src == "10.0.0.100"
    ts = dict(pkt[TCP].options)["Timestamp"]
    assert ts == (0xAABBBEEF, 0)   # the server's high 16 bits kept
    assert model.checksums_ok(out)
    rebuilt = Ether(out)
    del rebuilt[IP].chksum, rebuilt[TCP].chksum
    assert bytes(rebuilt) == out   # Scapy computes the same checksums


def test_client_to_backend_takes_the_hidden_timestamp_from_the_output() -> None:
    sent = model.parse(segment(LINUX_DATA, b"q", src="10.0.0.1", dst="10.0.0.100", flags="PA"))
    hidden = bytearray(sent.frame)
    hidden[sent.ts_off:sent.ts_off + 10] = b"\x01" * 10
    hidden[30:34] = bytes([10, 0, 0, 4])
    hidden[0:6] = bytes.fromhex("00000a000004")
    got = model.parse(model.with_checksums(bytes(hidden)))
    want = model.client_to_backend(sent, got, "10.0.0.4", "00:00:0a:00:00:04", "02:00:00:00:00:01")
    assert want == got.frame


def test_cookie_hash_is_crc16_of_the_connection_and_salt() -> None:
    want = hashes.crc16(bytes([10, 0, 0, 1, 0x9C, 0x40, 10, 0, 0, 100, 0, 80, 1, 2, 3, 4]))
    assert model.cookie_hash("10.0.0.1", 40000, "10.0.0.100", 80, 0x01020304) == want


ver: Any = load_module(Path(__file__).resolve().parents[2] / "verifiers" / "cheetah.py",
                       "cheetah_verifier")


class FakeLab:
    def __init__(self, seed: int) -> None:
        import random
        self.rng = random.Random(seed)
        self.hosts = {f"h{n}": type("H", (), {"ip": f"10.0.0.{n}"})() for n in range(1, 7)}


def test_seeded_configurations_stay_inside_the_contract_and_away_from_the_course() -> None:
    for seed in range(50):
        cfg = ver.draw_config(FakeLab(seed), {"10.0.0.100"})
        ids = list(cfg.ids.values())
        assert len(set(ids)) == len(ids) and {0xFFFF, 0xFFFE} <= set(ids)
        assert all(1 <= i <= 0xFFFF for i in ids)
        assert cfg.vip not in {f"10.0.0.{n}" for n in range(1, 7)} | {"10.0.0.100"}
        assert 2 <= len(cfg.pool) <= 4 and set(cfg.pool) <= set(cfg.ids)
        assert 1 <= cfg.port <= 65535 and cfg.port != 80
        assert int(cfg.lb_mac.split(":")[0], 16) & 1 == 0   # a unicast MAC


def test_the_wrapping_pool_differs_around_its_end() -> None:
    for seed in range(20):
        pool = ver.wrapping_pool(FakeLab(seed), 64)
        assert len(pool) == 64
        edge = [pool[62], pool[63], pool[0], pool[1]]
        assert len(set(edge)) == 4   # an off-by-one lands on another backend
