"""FlowRadar collector: read every switch's encoded flow set, reset it for the next
epoch, and decode it. Also a reference encoder that produces, bit for bit, the
registers p4src/flowradar.p4 should hold after a given set of packets.

Decoding (Li et al., NSDI 2016):
1. single decode, per switch: a cell with FlowCount 1 holds exactly one flow, whose
   id is the cell's FlowXOR; confirm it by recomputing that flow's cell positions
   (and filter bits), then remove it from all its cells; repeat until no such cell.
2. network-wide decode: a flow decoded at one switch and present in another switch's
   flow filter is removed from that switch's table too, which may make new pure
   cells there; repeat single decode everywhere until nothing changes.
3. packet counts: once a switch's flows are all known, each cell's PacketCount is the
   sum of the counts of the flows in that cell: solve that linear system exactly.

Run by hand against `sudo labtool up flowradar` (after sending traffic):
    sudo .venv/bin/python controllers/flowradar_collector.py
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from labtool import hashes

# The contract (see p4src/flowradar.p4): register names, hash functions, parts.
FILTER = "flow_filter"
XOR_ADDRS = "flow_xor_addrs"
XOR_PORTS = "flow_xor_ports"
FLOW_COUNT = "flow_count"
PACKET_COUNT = "packet_count"
REGISTERS = (FILTER, XOR_ADDRS, XOR_PORTS, FLOW_COUNT, PACKET_COUNT)
FILTER_HASHES = 3
PARTS = 3

Flow = tuple[int, int, int, int, int]  # src IP, dst IP, src port, dst port, protocol


# The hash inputs: the flow id's fields in three different orders, big-endian. Not the
# id followed by a hash number: CRCs are linear, so crc(id ++ 1) is crc(id ++ 0) XOR a
# constant, and the three "hashes" would put two flows that share one cell into the
# same cell of every part (and the same filter bits), which no decoder can separate.
FIELD_ORDERS = (
    ("src", "dst", "sport", "dport", "proto"),
    ("dst", "src", "dport", "sport", "proto"),
    ("sport", "dport", "proto", "src", "dst"),
)
# the same orders as struct formats (flow_bytes is called for every candidate flow a
# verifier draws: struct is much faster than joining field by field)
_ORDER_FORMATS = ("!IIHHB", "!IIHHB", "!HHBII")
_ORDER_INDEXES = ((0, 1, 2, 3, 4), (1, 0, 3, 2, 4), (2, 3, 4, 0, 1))


def flow_bytes(flow: Flow, order: int) -> bytes:
    """Hash input number `order` of a flow (see FIELD_ORDERS)."""
    return struct.pack(_ORDER_FORMATS[order], *(flow[i] for i in _ORDER_INDEXES[order]))


@dataclass(frozen=True)
class Layout:
    filter_bits: int
    cells: int

    @property
    def part_cells(self) -> int:
        return self.cells // PARTS

    def filter_positions(self, flow: Flow) -> tuple[int, ...]:
        return _filter_positions(self, flow)

    def filter_position(self, flow: Flow, j: int) -> int:
        """Filter bit number j of a flow alone (uncached)."""
        return hashes.crc32(flow_bytes(flow, j)) % self.filter_bits

    def cell_positions(self, flow: Flow) -> tuple[int, ...]:
        return _cell_positions(self, flow)


@functools.lru_cache(maxsize=65536)
def _filter_positions(layout: Layout, flow: Flow) -> tuple[int, ...]:
    return tuple(layout.filter_position(flow, j) for j in range(FILTER_HASHES))


@functools.lru_cache(maxsize=65536)
def _cell_positions(layout: Layout, flow: Flow) -> tuple[int, ...]:
    return tuple(i * layout.part_cells + hashes.crc16(flow_bytes(flow, i)) % layout.part_cells
                 for i in range(PARTS))


@dataclass
class Registers:
    """One switch's FlowRadar state, as read from BMv2 or made by the reference."""

    layout: Layout
    filter: list[int] = field(default_factory=list)
    xor_addrs: list[int] = field(default_factory=list)
    xor_ports: list[int] = field(default_factory=list)
    flow_count: list[int] = field(default_factory=list)
    packet_count: list[int] = field(default_factory=list)

    @classmethod
    def empty(cls, layout: Layout) -> Registers:
        n = layout.cells
        return cls(layout, [0] * layout.filter_bits, [0] * n, [0] * n, [0] * n, [0] * n)

    def by_name(self) -> dict[str, list[int]]:
        return {FILTER: self.filter, XOR_ADDRS: self.xor_addrs, XOR_PORTS: self.xor_ports,
                FLOW_COUNT: self.flow_count, PACKET_COUNT: self.packet_count}

    def copy(self) -> Registers:
        return Registers(self.layout, list(self.filter), list(self.xor_addrs),
                         list(self.xor_ports), list(self.flow_count), list(self.packet_count))

    def in_filter(self, flow: Flow) -> bool:
        return all(self.filter[b] for b in self.layout.filter_positions(flow))


def xor_parts(flow: Flow) -> tuple[int, int]:
    src, dst, sport, dport, proto = flow
    return (src << 32) | dst, (sport << 24) | (dport << 8) | proto


def flow_from_parts(addrs: int, ports: int) -> Flow:
    return (addrs >> 32, addrs & 0xFFFFFFFF, ports >> 24, (ports >> 8) & 0xFFFF, ports & 0xFF)


class ReferenceEncoder:
    """What flowradar.p4 does with each packet, in Python."""

    def __init__(self, layout: Layout) -> None:
        self.regs = Registers.empty(layout)

    def packet(self, flow: Flow) -> None:
        regs, layout = self.regs, self.regs.layout
        bits = layout.filter_positions(flow)
        cells = layout.cell_positions(flow)
        if not all(regs.filter[b] for b in bits):
            for b in bits:
                regs.filter[b] = 1
            addrs, ports = xor_parts(flow)
            for c in cells:
                regs.xor_addrs[c] ^= addrs
                regs.xor_ports[c] ^= ports
                regs.flow_count[c] += 1
                regs.packet_count[c] += 1
        else:
            for c in cells:
                regs.packet_count[c] += 1

    def packets(self, flow: Flow, n: int) -> None:
        """n packets of one flow in a row: the first as packet() says, then every
        filter bit of the flow is set, so the others only count."""
        if n <= 0:
            return
        self.packet(flow)
        for c in self.regs.layout.cell_positions(flow):
            self.regs.packet_count[c] += n - 1


@dataclass
class Decoded:
    """One switch's decode: the flows found, whether the table was emptied, and if not,
    how many flows are still encoded in it (undecodable: too many for its cells; the
    flows found are still exact, the counts unknown)."""

    flows: set[Flow]
    complete: bool
    counts: dict[Flow, int] | None = None  # packets per flow (network_decode only)
    remaining: int = 0

    def summary(self) -> str:
        if self.complete:
            return f"complete: {len(self.flows)} flows"
        return (f"undecodable: {len(self.flows)} flows decoded, {self.remaining} still "
                "encoded (more flows than its cells can separate)")


def _remove(regs: Registers, flow: Flow) -> None:
    addrs, ports = xor_parts(flow)
    for c in regs.layout.cell_positions(flow):
        regs.xor_addrs[c] ^= addrs
        regs.xor_ports[c] ^= ports
        regs.flow_count[c] -= 1


def _peel(regs: Registers, found: set[Flow]) -> None:
    """Single decode on `regs` (modified), adding what it finds to `found`."""
    progress = True
    while progress:
        progress = False
        for cell in range(regs.layout.cells):
            if regs.flow_count[cell] != 1:
                continue
            flow = flow_from_parts(regs.xor_addrs[cell], regs.xor_ports[cell])
            # a pure cell's XOR is one flow id: it must hash back to this very cell
            if cell not in regs.layout.cell_positions(flow) or not regs.in_filter(flow):
                continue
            found.add(flow)
            _remove(regs, flow)
            progress = True


def _emptied(regs: Registers) -> bool:
    return not any(regs.flow_count) and not any(regs.xor_addrs) and not any(regs.xor_ports)


def _remaining(regs: Registers) -> int:
    """Flows still encoded: each flow has exactly one cell in the first part."""
    return sum(regs.flow_count[:regs.layout.part_cells])


def single_decode(regs: Registers) -> Decoded:
    work, found = regs.copy(), set[Flow]()
    _peel(work, found)
    return Decoded(found, _emptied(work), remaining=_remaining(work))


def network_decode(switches: Mapping[str, Registers]) -> dict[str, Decoded]:
    """Single decode everywhere, then flows known anywhere are removed wherever the
    flow filter holds them, until nothing changes; then packet counts per switch."""
    work = {s: r.copy() for s, r in switches.items()}
    found: dict[str, set[Flow]] = {s: set() for s in switches}
    changed = True
    while changed:
        changed = False
        for s, regs in work.items():
            before = len(found[s])
            _peel(regs, found[s])
            changed |= len(found[s]) != before
        known = set().union(*found.values())
        for s, regs in work.items():
            for flow in known - found[s]:
                # in the filter, and in none of its cells is the table empty: a flow
                # whose cell holds no flow cannot be here (a filter false positive)
                if regs.in_filter(flow) and all(
                        regs.flow_count[c] > 0 for c in regs.layout.cell_positions(flow)):
                    found[s].add(flow)
                    _remove(regs, flow)
                    changed = True
    out = {}
    for s, regs in switches.items():
        complete = _emptied(work[s])
        out[s] = Decoded(found[s], complete,
                         packet_counts(regs, found[s]) if complete else None,
                         _remaining(work[s]))
    return out


def packet_counts(regs: Registers, flows: Iterable[Flow]) -> dict[Flow, int] | None:
    """Solve PacketCount[cell] = sum of the counts of the flows in that cell, exactly;
    None if the solution is not unique and integral. A cell with one unsolved flow
    gives that flow's count at once (peeling); what is left, if anything, is solved by
    Gauss-Jordan elimination (see _solve)."""
    cells_of = {f: regs.layout.cell_positions(f) for f in flows}
    members: dict[int, set[Flow]] = {}
    for f, cells in cells_of.items():
        for c in cells:
            members.setdefault(c, set()).add(f)
    rest = {c: regs.packet_count[c] for c in range(regs.layout.cells)}
    counts: dict[Flow, int] = {}
    ready = [c for c, fs in members.items() if len(fs) == 1]
    while ready:
        c = ready.pop()
        if len(members[c]) != 1:
            continue
        f = members[c].pop()
        counts[f] = rest[c]
        for other in cells_of[f]:
            rest[other] -= counts[f]
            members[other].discard(f)
            if len(members[other]) == 1:
                ready.append(other)
    if any(v < 0 for v in counts.values()):
        return None
    unsolved = sorted(set(cells_of) - set(counts))
    if unsolved:
        solved = _solve(unsolved, cells_of, rest, regs.layout.cells)
        if solved is None:
            return None
        counts.update(solved)
    if any(rest[c] != 0 for c in range(regs.layout.cells) if not members.get(c)):
        return None  # packets left in cells that no unsolved flow explains
    return counts


PRIME = (1 << 61) - 1  # elimination runs modulo this prime; the result is checked exactly


def _solve(flows: list[Flow], cells_of: Mapping[Flow, tuple[int, ...]], rest: Mapping[int, int],
           n_cells: int) -> dict[Flow, int] | None:
    """Solve the remaining flows' counts by Gauss-Jordan elimination modulo a large
    prime (integers, fast), then check the candidate against the cells with exact
    integer arithmetic: a unique non-negative integral solution is found exactly;
    anything else gives None."""
    col = {f: i for i, f in enumerate(flows)}
    cells = sorted({c for f in flows for c in cells_of[f]})
    rows = []
    for cell in cells:
        row = [0] * (len(flows) + 1)
        row[-1] = rest[cell] % PRIME
        rows.append(row)
    index = {c: i for i, c in enumerate(cells)}
    for f in flows:
        for cell in cells_of[f]:
            rows[index[cell]][col[f]] += 1
    for c in range(len(flows)):  # column c gets its pivot in row c
        r = next((i for i in range(c, len(rows)) if rows[i][c] % PRIME), None)
        if r is None:
            return None  # a flow's count is not determined by the cells
        rows[c], rows[r] = rows[r], rows[c]
        inv = pow(rows[c][c], PRIME - 2, PRIME)
        rows[c] = [v * inv % PRIME for v in rows[c]]
        for i in range(len(rows)):
            k = rows[i][c]
            if i != c and k:
                rows[i] = [(a - k * b) % PRIME for a, b in zip(rows[i], rows[c])]
    counts = {f: rows[i][-1] for i, f in enumerate(flows)}
    for cell in cells:  # exact check: the candidate must explain every cell
        if sum(counts[f] for f in flows if cell in cells_of[f]) != rest[cell]:
            return None
    return counts


def layout_of(switch: object) -> Layout:
    """Sizes from the program's P4Info (a SwitchControl)."""
    size = switch.register_size  # type: ignore[attr-defined]
    return Layout(filter_bits=size(FILTER), cells=size(FLOW_COUNT))


def read(switch: object, reset: bool = True) -> Registers:
    """Read a switch's FlowRadar registers over Thrift, then (by default) zero them
    for the next epoch."""
    regs = Registers(layout_of(switch))
    for name, values in zip(REGISTERS, (regs.filter, regs.xor_addrs, regs.xor_ports,
                                        regs.flow_count, regs.packet_count)):
        values.extend(switch.register_read(name))  # type: ignore[attr-defined]
        if reset:
            switch.register_reset(name)  # type: ignore[attr-defined]
    return regs


def describe(flow: Flow) -> str:
    src, dst, sport, dport, proto = flow
    name = {6: "TCP", 17: "UDP"}.get(proto, str(proto))
    return (f"{name} {ipaddress.IPv4Address(src)}:{sport} -> "
            f"{ipaddress.IPv4Address(dst)}:{dport}")


def main() -> None:
    from labtool.attach import attach_switches

    snapshots = {name: read(control) for name, control in attach_switches().items()}
    decoded = network_decode(snapshots)
    for name, result in decoded.items():
        alone = single_decode(snapshots[name])
        print(f"{name}: single decode {alone.summary()}; network-wide {result.summary()}")
        for flow in sorted(result.flows):
            count = result.counts.get(flow, "?") if result.counts is not None else "?"
            print(f"  {describe(flow):<44} {count} packets")


if __name__ == "__main__":
    main()
