"""Heavy-hitter detector v1 control plane (lab 2.1): a packet budget per source.

Run by hand against `sudo labtool up hh-v1`: sudo .venv/bin/python controllers/hh-v1.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry

# source prefix -> packets it may send through s1 (later ones are dropped)
THRESHOLDS = {"10.0.0.1/32": 100, "10.0.0.2/32": 1000, "10.0.0.3/32": 300}


def configure(lab: LabContext) -> None:
    lab.switch("s1").table_add_many("hhd_threshold", [
        Entry({"hdr.ipv4.srcAddr": prefix}, "set_hhd_threshold", {"threshold": n})
        for prefix, n in THRESHOLDS.items()
    ])


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
