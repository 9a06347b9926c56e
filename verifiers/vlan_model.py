"""Reference model and seeded plan of lab 1.3 (VLAN handler), pure Python.

Spec (LABS.md): port 1 is the trunk (802.1Q-tagged frames, TPID 0x8100), ports 2-4
are access ports (untagged).
1. an untagged frame entering port 1, or a tagged one entering an access port, is
   dropped;
2. a tagged frame from port 1 leaves on the port vlan_table gives its VID
   (forward(port); drop(); a VID without an entry: forward(2)), untagged, with the
   tag's inner EtherType restored;
3. an untagged frame from an access port leaves on port 1 tagged with the VID
   port_to_vlan gives that port (add_vlan_hdr(vid); drop(); a port without an entry:
   drop), PCP 0, DEI 0, inner EtherType = the frame's own.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from labtool import framemix as fm

TRUNK = 1
ACCESS = (2, 3, 4)
DEFAULT_PORT = 2  # vlan_table's default action: forward(2)
VID_MAX = 4095
BOUNDARY_VIDS = (0, 1, 4094, 4095)
COURSE_VID_PORT: dict[int, int | None] = {2: 2, 20: 2, 3: 3, 30: 3, 4: 4, 40: 4}
COURSE_PORT_VID: dict[int, int | None] = {2: 2, 3: 3, 4: 4}
TCI_VALUES = tuple((pcp, dei) for pcp in range(8) for dei in range(2))  # (PCP, DEI)


@dataclass
class Config:
    """Both contract tables. vid_port: vlan_table, VID -> forward(port), or drop() when
    None; port_vid: port_to_vlan, port -> add_vlan_hdr(vid), or drop() when None. A key
    that is absent has no entry (the table's default action)."""

    vid_port: dict[int, int | None] = field(default_factory=dict)
    port_vid: dict[int, int | None] = field(default_factory=dict)

    def copy(self) -> Config:
        return Config(dict(self.vid_port), dict(self.port_vid))


COURSE = Config(dict(COURSE_VID_PORT), dict(COURSE_PORT_VID))


def is_tagged(frame: bytes) -> bool:
    return fm.ethertype(frame) == fm.TPID_8021Q


def vid_of(frame: bytes) -> int:
    return int.from_bytes(frame[14:16], "big") & 0xFFF


def trunk_port_for(config: Config, vid: int) -> int | None:
    """Where vlan_table sends a frame with `vid` (None: dropped)."""
    return config.vid_port.get(vid, DEFAULT_PORT)


def output(config: Config, ingress: int, frame: bytes) -> list[tuple[int, bytes]]:
    """What leaves the switch for `frame` entering `ingress`: (port, bytes) pairs."""
    if ingress == TRUNK:
        if not is_tagged(frame):
            return []  # rule 1
        port = trunk_port_for(config, vid_of(frame))
        return [] if port is None else [(port, fm.untag(frame))]  # rule 2
    if is_tagged(frame):
        return []  # rule 1
    vid = config.port_vid.get(ingress)  # no entry: the default action, drop()
    return [] if vid is None else [(TRUNK, fm.tag(frame, vid))]  # rule 3


def seen_at(config: Config, vid: int, host_ports: frozenset[int]) -> int | None:
    """The host port a trunk frame with `vid` reaches (None: none)."""
    port = trunk_port_for(config, vid)
    return port if port in host_ports else None


def describe(config: Config) -> str:
    """Both tables in a line, e.g. `vlan_table 0->3 7->drop() ...; port_to_vlan 2->4095`."""
    def action(value: int | None) -> str:
        return "drop()" if value is None else str(value)

    vids = " ".join(f"{v}->{action(p)}" for v, p in sorted(config.vid_port.items()))
    ports = " ".join(f"{p}->{action(v)}" for p, v in sorted(config.port_vid.items()))
    return f"vlan_table {vids}; port_to_vlan {ports}"


def summary(config: Config) -> str:
    """A short description for a check's name (describe() gives every entry)."""
    drops = sum(1 for p in config.vid_port.values() if p is None)
    edges = " ".join(str(v) for v in BOUNDARY_VIDS if v in config.vid_port)
    ports = " ".join(f"{p}->{'drop()' if v is None else v}" for p, v in sorted(config.port_vid.items()))
    missing = " ".join(str(p) for p in ACCESS if p not in config.port_vid)
    return (f"vlan_table {len(config.vid_port)} entries{f' incl. VIDs {edges}' if edges else ''}"
            f"{f', {drops} drop()' if drops else ''}; port_to_vlan {ports}"
            f"{f', no entry for {missing}' if missing else ''}")


# -- seeded configurations ----------------------------------------------------------------

@dataclass
class Phase:
    """One configuration to check, and how to name it."""

    title: str
    config: Config
    probe_vids: list[int]  # VIDs without an entry that the trunk sends (default path)
    clear_first: bool  # True: tables cleared and refilled; False: entry by entry


def plan(rng: random.Random, void_port: int) -> list[Phase]:
    """The course's configuration, then a fresh seeded one, then that one modified entry
    by entry (modify, delete, insert). `void_port` is a port without a host."""
    fresh = fresh_config(rng, void_port)
    edited = edit_config(rng, fresh, void_port)
    return [
        Phase("course VID map", COURSE, probe_vids(rng, COURSE), False),
        Phase("seeded VID map", fresh, probe_vids(rng, fresh), True),
        Phase("seeded VID map edited entry by entry", edited, probe_vids(rng, edited), False),
    ]


def _entry(rng: random.Random, dest: int | None, void_port: int,
           may_miss: bool = True) -> tuple[bool, int | None]:
    """A vlan_table entry (has one?, its port; None: drop()) that sends a frame to the
    observable destination `dest` (an access port, or None: nowhere). Port 2 is an
    explicit forward(2) or (if may_miss) no entry at all; nowhere is drop() or a
    forward to a port without a host."""
    if dest == DEFAULT_PORT and may_miss and rng.random() < 0.5:
        return False, None
    if dest is None:
        return True, rng.choice((None, void_port))
    return True, dest


def fresh_config(rng: random.Random, void_port: int) -> Config:
    """vlan_table: the course's VIDs each sent somewhere else than in the course, VID v
    and 10*v apart; VIDs 0 (to port 3 or 4), 1, 4094, 4095 (to a host); VIDs one bit
    away from the course's; random VIDs; an explicit forward(2) and a forward to a port
    without a host. port_to_vlan: 4095, one of 0/1/4094 and a random VID, none equal
    to its port."""
    vid_port: dict[int, int | None] = {}

    def put(vid: int, entry: tuple[bool, int | None]) -> None:
        if entry[0]:
            vid_port[vid] = entry[1]

    def anywhere() -> tuple[bool, int | None]:
        return _entry(rng, rng.choice((*ACCESS, None)), void_port, may_miss=False)

    for base in ACCESS:
        # observable destinations: an access port or nothing (None)
        dests = rng.sample([d for d in (*ACCESS, None) if d != base], 2)
        put(base, _entry(rng, dests[0], void_port))
        put(base * 10, _entry(rng, dests[1], void_port))
    put(0, (True, rng.choice((3, 4))))
    put(VID_MAX, (True, rng.choice(ACCESS)))
    put(1, anywhere())
    put(VID_MAX - 1, anywhere())
    taken = set(COURSE_VID_PORT) | set(BOUNDARY_VIDS)
    for vid in rng.sample(sorted(COURSE_VID_PORT), 3):
        near = vid ^ (1 << rng.randrange(12))
        if near not in taken:
            taken.add(near)
            put(near, anywhere())
    extra = _unused_vids(rng, taken, 3)
    put(extra[0], (True, DEFAULT_PORT))  # an explicit forward(2), next to the default one
    put(extra[1], (True, void_port))
    put(extra[2], (True, rng.choice(ACCESS)))
    port_vids = [VID_MAX, rng.choice((0, 1, VID_MAX - 1)),
                 _unused_vids(rng, set(ACCESS) | set(BOUNDARY_VIDS), 1)[0]]
    rng.shuffle(port_vids)
    return Config(vid_port, dict(zip(ACCESS, port_vids)))


def edit_config(rng: random.Random, old: Config, void_port: int) -> Config:
    """`old` changed entry by entry: two boundary VIDs deleted (now the default path),
    three entries sent elsewhere (one to drop(), a drop() back to a port where there is
    one), two new VIDs; on port_to_vlan one port deleted (miss: drop), one set to
    drop(), one given another VID."""
    new = old.copy()
    for vid in rng.sample([v for v in BOUNDARY_VIDS if v in new.vid_port], 2):
        del new.vid_port[vid]
    forwards = [v for v, p in new.vid_port.items() if p in ACCESS]
    dropped = [v for v, p in new.vid_port.items() if p is None]
    changed = rng.sample(forwards, 2)
    new.vid_port[changed[0]] = None
    new.vid_port[changed[1]] = rng.choice([p for p in ACCESS if p != old.vid_port[changed[1]]])
    if dropped:
        new.vid_port[rng.choice(dropped)] = rng.choice(ACCESS)
    for vid in _unused_vids(rng, set(new.vid_port) | set(old.vid_port) | set(COURSE_VID_PORT), 2):
        new.vid_port[vid] = rng.choice((*ACCESS, None))
    gone, blocked, moved = rng.sample(ACCESS, 3)
    del new.port_vid[gone]
    new.port_vid[blocked] = None
    unused = [v for v in (0, 1, VID_MAX - 1) if v not in old.port_vid.values()]
    new.port_vid[moved] = rng.choice(unused)
    return new


def _unused_vids(rng: random.Random, taken: set[int], n: int) -> list[int]:
    out: list[int] = []
    while len(out) < n:
        vid = rng.randrange(2, VID_MAX - 1)
        if vid not in taken and vid not in out:
            out.append(vid)
    return out


def probe_vids(rng: random.Random, config: Config) -> list[int]:
    """VIDs without an entry the trunk sends: the course's and the boundary VIDs that
    have none, and random ones (two, or more to make 16 tagged frames)."""
    known = set(config.vid_port)
    missing = [v for v in (*COURSE_VID_PORT, *BOUNDARY_VIDS) if v not in known]
    # at least 16 tagged frames in all: every PCP/DEI value once
    extra = max(2, len(TCI_VALUES) - len(known) - len(missing))
    return missing + _unused_vids(rng, known | set(missing), extra)


# -- seeded traffic -----------------------------------------------------------------------

@dataclass(frozen=True)
class Station:
    name: str
    mac: str
    ip: str
    port: int


INNER_KINDS = ("ipv4_udp", "ipv4_tcp", "ipv4_icmp", "arp", "ipv6", "other", "llc")


def traffic(rng: random.Random, phase: Phase, trunk: Station,
            access: list[Station]) -> dict[str, list[bytes]]:
    """What each host sends in `phase`: the trunk one tagged frame per VID with an entry
    or probed (PCP/DEI through all 16 values, every inner kind, one doubly tagged, 64 and
    1514 bytes) and untagged frames (rule 1); each access host untagged frames of every
    kind (60 and 1514 bytes among them) and tagged ones (rule 1)."""
    tcis = _tci_cycle(rng)
    vids = sorted(phase.config.vid_port) + phase.probe_vids
    rng.shuffle(vids)
    sizes = [64, fm.ETH_MAX] + [rng.randrange(64, fm.ETH_MAX + 1) for _ in vids[2:]]
    kinds = _kind_cycle(rng)
    tagged: list[bytes] = []
    for i, (vid, size) in enumerate(zip(vids, sizes)):
        pcp, dei = next(tcis)
        dst = rng.choice(access)
        kind = next(kinds)
        if size - fm.TAG_LEN < fm.MIN_SIZE[kind]:
            kind = "ipv4_udp"
        inner = _frame(rng, kind, trunk, dst, size - fm.TAG_LEN)
        if i == 2:  # doubly tagged: only the outer tag is the switch's
            inner = fm.tag(_frame(rng, "ipv4_udp", trunk, dst, size - 2 * fm.TAG_LEN),
                           rng.randrange(4096), rng.randrange(8), rng.randrange(2))
        tagged.append(fm.tag(inner, vid, pcp, dei))
    untagged = [_frame(rng, kind, trunk, rng.choice(access), rng.randrange(60, 300))
                for kind in ("ipv4_udp", "arp", "ipv6", "other")]
    untagged.append(fm.tag(_frame(rng, "ipv4_udp", trunk, access[0], 80), 2,
                           tpid=fm.TPID_8021AD))  # an 802.1ad S-tag is not an 802.1Q tag
    sends = {trunk.name: _mixed(rng, tagged, untagged)}
    for host in access:
        own = [_frame(rng, next(kinds), host, trunk, rng.randrange(fm.MIN_SIZE["ipv6"], 1200))
               for _ in range(3)]
        own += [_frame(rng, "ipv4_udp", host, trunk, fm.ETH_MIN),
                _frame(rng, "other", host, trunk, fm.ETH_MAX)]
        pcp, dei = next(tcis)
        wrong = [fm.tag(_frame(rng, next(kinds), host, trunk, 100),
                        rng.choice((phase.config.port_vid.get(host.port) or 0, rng.randrange(4096))),
                        pcp, dei)]
        sends[host.name] = _mixed(rng, own, wrong)
    return sends


def _frame(rng: random.Random, kind: str, src: Station, dst: Station, size: int) -> bytes:
    size = max(size, fm.MIN_SIZE[kind])
    dst_mac = rng.choice((dst.mac, dst.mac, fm.BROADCAST, fm.multicast_mac(rng)))
    return fm.build(rng, kind, fm.Ends(src.mac, dst_mac, src.ip, dst.ip), size)


def _mixed(rng: random.Random, *groups: list[bytes]) -> list[bytes]:
    frames = [f for g in groups for f in g]
    rng.shuffle(frames)
    return frames


def _tci_cycle(rng: random.Random) -> itertools.cycle[tuple[int, int]]:
    combos = list(TCI_VALUES)
    rng.shuffle(combos)
    return itertools.cycle(combos)


def _kind_cycle(rng: random.Random) -> itertools.cycle[str]:
    kinds = list(INNER_KINDS)
    rng.shuffle(kinds)
    return itertools.cycle(kinds)
