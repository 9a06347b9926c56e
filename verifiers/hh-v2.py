"""Verifier for lab 2.2 (heavy-hitter detector v2), h1 -- s1 -- s2 -- h2.

Must prove: exactly 1000 packets of a TCP flow and of a UDP flow are
delivered (the rest dropped); a new flow between the same hosts (other ports)
still passes after another got blocked; at h2 the TTL is 2 lower, the IPv4
checksum is valid and the destination MAC is h2's. Counted at h2 by 5-tuple:
nothing depends on the program's hashes or registers.
"""

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import LabContext

THRESHOLD = 1000
SENT = 1100  # per flow: 100 beyond the threshold
TTL = 64


def verify(lab: LabContext) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    gateway = lab.switch_mac("s1", 1)  # h1 addresses its first hop

    def flow(proto: str, sport: int, dport: int, n: int, tag: str) -> list[bytes]:
        """n packets of one flow (one frame built once and repeated: the count is per
        flow, and building thousands of frames with Scapy would take seconds)."""
        make = f.tcp if proto == "tcp" else f.udp
        return [bytes(make(h1, h2, tag.encode(), sport=sport, dport=dport, ttl=TTL,
                           dst_mac=gateway))] * n

    tcp_a, udp_b = flow("tcp", 1111, 2222, SENT, "A"), flow("udp", 3333, 4444, SENT, "B")
    key_a, key_b = f.flow_key(tcp_a[0]), f.flow_key(udp_b[0])
    # one burst, the two flows interleaved; two checks read its result
    interleaved = [x for pair in zip(tcp_a, udp_b) for x in pair]
    got = lab.burst({"h1": interleaved}, expect={"h2": 2 * THRESHOLD})["h2"]
    counts = lab.count(got, f.flow_key)
    for name, key in (("TCP", key_a), ("UDP", key_b)):
        with lab.check(f"{name} flow: exactly {THRESHOLD} of {SENT} packets reach h2"):
            if counts.get(key, 0) != THRESHOLD:
                raise CheckFailed(f"h2: {name} flow {key}: expected exactly {THRESHOLD}, "
                                  f"got {counts.get(key, 0)}")

    # one more burst: a new flow and the blocked one from h1, and traffic back from h2
    new_c = flow("tcp", 5555, 6666, 50, "C")
    again_a = flow("tcp", 1111, 2222, 20, "A2")
    back = [bytes(f.udp(h2, h1, b"back", sport=7000, dport=7001,
                        dst_mac=lab.switch_mac("s2", 1)))] * 20
    got2 = lab.burst({"h1": new_c + again_a, "h2": back}, expect={"h2": 50, "h1": 20})
    got_c, got_back = got2["h2"], got2["h1"]

    with lab.check("a new flow between the same hosts (other ports) passes in full after "
                   "the first ones were blocked; the blocked flow stays blocked"):
        counts = lab.count(got_c, f.flow_key)
        if counts.get(f.flow_key(new_c[0]), 0) != 50 or counts.get(key_a, 0) != 0:
            raise CheckFailed(f"h2: new flow expected 50, got {counts.get(f.flow_key(new_c[0]), 0)}"
                              f"; blocked flow expected 0, got {counts.get(key_a, 0)}")

    sample = Ether(got_c[0]) if got_c else None
    with lab.check(f"at h2 the TTL is {TTL - 2} (decremented by both switches)"):
        if sample is None:
            raise CheckFailed("h2 received nothing to inspect")
        if sample[IP].ttl != TTL - 2:
            raise CheckFailed(f"h2: IP.ttl expected {TTL - 2}, got {sample[IP].ttl}")
    with lab.check("at h2 the IPv4 header checksum is valid"):
        if sample is None or not f.ipv4_checksum_ok(got_c[0]):
            raise CheckFailed(f"h2: IPv4 checksum invalid: 0x{sample[IP].chksum:04x}"
                              if sample is not None else "h2 received nothing to inspect")
    with lab.check("at h2 the destination MAC is h2's (rewritten to the next hop)"):
        if sample is None or sample[Ether].dst != h2.mac:
            raise CheckFailed(f"h2: Ether.dst expected {h2.mac}, got "
                              f"{sample[Ether].dst if sample is not None else None}")

    with lab.check("routing back h2 -> h1 works (both directions routed on both switches)"):
        if len(got_back) != 20:
            raise CheckFailed(f"h1: expected 20 frames from h2, got {len(got_back)}")
        if Ether(got_back[0])[IP].ttl != TTL - 2 or Ether(got_back[0])[Ether].dst != h1.mac:
            raise CheckFailed(f"h1: frame arrived with TTL {Ether(got_back[0])[IP].ttl} and "
                              f"dst {Ether(got_back[0])[Ether].dst}")
