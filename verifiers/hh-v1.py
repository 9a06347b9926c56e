"""Verifier for lab 2.1 (heavy-hitter detector v1).

Must prove exact counts for several sources at once (one source being blocked
must not affect another), that a source below its threshold loses nothing, and
that an unknown source gets nothing through. Packets are counted at h4 by
source address: nothing here depends on the program's registers or hashes.
Thresholds (from the controller): h1 100, h2 1000, h3 300.
"""

from collections.abc import Mapping

from labtool import frames as f
from labtool.checks import CheckFailed
from labtool.context import HostInfo, LabContext

SINK = "h4"


def stream(src: HostInfo, dst: HostInfo, n: int, tag: str, src_ip: str | None = None,
           ) -> list[bytes]:
    """n UDP frames from src toward h4 (one frame built once and repeated: the count is
    per source, and building thousands of frames with Scapy would take seconds)."""
    return [bytes(f.udp(src, dst, tag.encode(), src_ip=src_ip))] * n


def expect_counts(lab: LabContext, got: list[bytes], want: Mapping[str, int],
                  before: Mapping[str, int] | None = None) -> None:
    """Exactly `want[ip]` frames from each source in this burst (`before` = how many
    that source already got through earlier, so messages can give totals)."""
    counts = lab.count(got, f.ipv4_src)
    earlier = before or {}

    def total(ip: str, n: int) -> str:
        return f" ({earlier[ip] + n} in total)" if ip in earlier else ""

    wrong = [f"from {ip}: expected exactly {n}{total(ip, n)}, got {counts.get(ip, 0)}"
             f"{total(ip, counts.get(ip, 0))}"
             for ip, n in want.items() if counts.get(ip, 0) != n]
    others = {ip: n for ip, n in counts.items() if ip not in want}
    if others:
        wrong.append(f"unexpected sources at {SINK}: {others}")
    if wrong:
        raise CheckFailed(f"{SINK}: " + "; ".join(wrong))


def verify(lab: LabContext) -> None:
    h1, h2, h3, h4 = (lab.host(n) for n in ("h1", "h2", "h3", "h4"))
    unknown_ip = "10.0.0.9"  # no hhd_threshold entry

    with lab.check("three sources at once, all below their thresholds (60/100, 400/1000, "
                   "200/300): nothing is lost; an unknown source in between gets nothing"):
        got = lab.burst({"h1": stream(h1, h4, 60, "a") + stream(h1, h4, 40, "u", unknown_ip),
                         "h2": stream(h2, h4, 400, "a"), "h3": stream(h3, h4, 200, "a")},
                        expect={SINK: 660})[SINK]
        expect_counts(lab, got, {h1.ip: 60, h2.ip: 400, h3.ip: 200})

    with lab.check("each source is cut exactly at its threshold while the others keep "
                   "sending: h1 100 in total, h3 300, h2 1000"):
        got = lab.burst({"h1": stream(h1, h4, 100, "b"), "h2": stream(h2, h4, 700, "b"),
                         "h3": stream(h3, h4, 150, "b")}, expect={SINK: 740})[SINK]
        expect_counts(lab, got, {h1.ip: 40, h2.ip: 600, h3.ip: 100},
                      before={h1.ip: 60, h2.ip: 400, h3.ip: 200})

    with lab.check("a blocked source stays blocked: nothing more from h1, h2 or h3"):
        got = lab.burst({h.name: stream(h, h4, 30, "c") for h in (h1, h2, h3)})[SINK]
        expect_counts(lab, got, {})

    with lab.check(f"an unknown source ({unknown_ip}) gets nothing through"):
        got = lab.burst({"h2": stream(h2, h4, 50, "d", unknown_ip)})[SINK]
        expect_counts(lab, got, {})
