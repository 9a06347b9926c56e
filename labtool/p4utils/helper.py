"""`p4utils.utils.helper`: the helpers course scripts import from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .topology import NetworkGraph, load_topo

__all__ = ["NetworkGraph", "ip_address_to_mac", "load_conf", "load_topo", "next_element"]


def ip_address_to_mac(ip: str) -> str:
    """p4-utils' MAC template from an IPv4 address: '00:%02x:0a:00:00:01' for
    10.0.0.1; `% 0` gives the host's MAC, `% 1` the MAC of the switch port facing it."""
    octets = [int(x) for x in ip.split("/")[0].split(".")]
    return "00:%02x:" + ":".join(f"{b:02x}" for b in octets)


def next_element(elems: list[int], minimum: int | None = None,
                 maximum: int | None = None) -> int:
    """The lowest integer from `minimum` on that is not in `elems` (p4-utils' port,
    device id and address allocator)."""
    taken = set(elems)
    if len(taken) != len(elems):
        raise ValueError("the list contains duplicates")
    if not taken:
        if minimum is None:
            raise ValueError("next_element: no elements and no minimum")
        return minimum
    low = min(taken) if minimum is None else minimum
    candidate = low
    while candidate in taken:
        candidate += 1
    if maximum is not None and candidate > max(maximum, low) + 1:
        raise ValueError("too many elements in the list")
    return candidate


def load_conf(conf_file: str | Path) -> Any:
    return json.loads(Path(conf_file).read_text())
