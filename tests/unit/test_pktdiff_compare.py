from __future__ import annotations

from scapy.layers.inet import IP

from labtool import frames as f
from labtool.context import HostInfo, compare
from labtool.pktdiff import first_difference

H1 = HostInfo("h1", "10.0.0.1", "00:00:0a:00:00:01", 24, "s1", 1)
H2 = HostInfo("h2", "10.0.0.2", "00:00:0a:00:00:02", 24, "s1", 2)


def test_identical_frames_have_no_difference() -> None:
    assert first_difference(f.udp(H1, H2), bytes(f.udp(H1, H2))) is None


def test_first_differing_field_is_named() -> None:
    a = f.udp(H1, H2, ttl=64)
    b = f.udp(H1, H2, ttl=63)
    assert first_difference(a, b) == "IP.ttl: expected 64 (0x40), got 63 (0x3f)"


def test_mac_difference_comes_first() -> None:
    diff = first_difference(f.udp(H1, H2), f.swap_macs(f.udp(H1, H2)))
    assert diff is not None and diff.startswith("Ether.dst: expected '00:00:0a:00:00:02'")


def test_layer_difference() -> None:
    diff = first_difference(f.udp(H1, H2), f.ethertype(H1.mac, H2.mac, 0x88B5))
    assert diff is not None and diff.startswith("Ether.type")


def test_payload_difference() -> None:
    diff = first_difference(f.udp(H1, H2, b"aaaa"), f.udp(H1, H2, b"aaab"))
    # the checksum differs first: the report names the first field, in wire order
    assert diff is not None and diff.startswith("UDP.chksum")


def test_checksum_field() -> None:
    good = f.udp(H1, H2)
    bad = bytearray(bytes(good))
    bad[24] ^= 0xFF  # IPv4 header checksum byte
    diff = first_difference(good, bytes(bad))
    assert diff is not None and diff.startswith("IP.chksum")
    assert IP in good


def test_compare_counts_missing_extra_and_silence() -> None:
    a, b = bytes(f.udp(H1, H2, b"a")), bytes(f.udp(H1, H2, b"b"))
    assert compare("h2", [a], [a]) == []
    assert compare("h2", [a, b], [a]) == ["h2: expected 2 frame(s), got 1"]
    extra = compare("h2", [a], [a, a])
    assert len(extra) == 1 and extra[0].startswith("h2: expected 1 frame(s), got 2; extra:")
    silent = compare("h3", [], [a])
    assert silent[0].startswith("h3: expected nothing, got 1 frame(s)")
    assert compare("h2", [b], [])[0] == "h2: expected 1 frame(s), got 0 (nothing arrived)"


def test_compare_unordered() -> None:
    a, b = bytes(f.udp(H1, H2, b"a")), bytes(f.udp(H1, H2, b"b"))
    assert compare("h1", [a, b], [b, a], ordered=False) == []
    assert compare("h1", [a, b], [b, a], ordered=True) != []


def test_interleave_and_tally() -> None:
    from labtool.traffic import interleave, tally

    order = interleave({"h1": [b"a1", b"a2", b"a3"], "h2": [b"b1"]})
    assert order == [("h1", b"a1"), ("h2", b"b1"), ("h1", b"a2"), ("h1", b"a3")]
    counts = tally([b"x1", b"x2", b"y1", b"z"], lambda fr: None if fr == b"z" else fr[:1])
    assert counts == {b"x": 2, b"y": 1}


def test_stage_accounting_blames_the_right_stage() -> None:
    from labtool.traffic import StageCounts

    ok = StageCounts({"h1": 10}, {"h1": 10}, {"h1": 10}, {"h4": 7}, {"h4": 7}, {"h4": 0})
    assert ok.harness_losses() == []
    before = StageCounts({"h1": 10}, {"h1": 10}, {"h1": 8}, {"h4": 7}, {"h4": 7}, {"h4": 0})
    assert before.harness_losses() == ["h1: 2 of 10 frames lost between the host and the "
                                       "switch port"]
    after = StageCounts({"h1": 10}, {"h1": 10}, {"h1": 10}, {"h4": 7}, {"h4": 6}, {"h4": 0})
    assert after.harness_losses() == ["h4: the switch port sent 7 frames but the host "
                                      "captured 6"]
    drops = StageCounts({"h1": 10}, {"h1": 10}, {"h1": 10}, {"h4": 7}, {"h4": 5}, {"h4": 2})
    assert drops.harness_losses() == ["h4: capture socket dropped 2 frames"]


def test_vlan_tag_is_restored_from_auxdata() -> None:
    import struct

    from labtool.hostio import AUXDATA, PACKET_AUXDATA, SOL_PACKET, restore_vlan_tag

    frame = f.udp(H1, H2, b"x", size=100)
    tagged = bytes(f.tagged(frame, 20, pcp=5, dei=1))
    stripped = tagged[:12] + tagged[16:]
    tci = struct.unpack("!H", tagged[14:16])[0]
    aux = AUXDATA.pack(0x10 | 0x40, len(stripped), len(stripped), 0, 14, tci, 0x8100)
    assert restore_vlan_tag(stripped, [(SOL_PACKET, PACKET_AUXDATA, aux)]) == tagged
    no_tag = AUXDATA.pack(0, 1, 1, 0, 14, 0, 0)
    assert restore_vlan_tag(stripped, [(SOL_PACKET, PACKET_AUXDATA, no_tag)]) == stripped
    assert restore_vlan_tag(stripped, []) == stripped
