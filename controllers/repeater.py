"""Repeater control plane (lab 1.2): whatever enters port 1 leaves port 2 and vice versa.

labtool calls configure(lab) after the pipeline is pushed. To run it by hand
against a network started with `sudo labtool up repeater`:
    sudo .venv/bin/python controllers/repeater.py
"""

from labtool.context import LabContext


def configure(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    # key: standard_metadata.ingress_port (exact) -> forward(port)
    s1.table_add("repeater", {"standard_metadata.ingress_port": 1}, "forward", {"port": 2})
    s1.table_add("repeater", {"standard_metadata.ingress_port": 2}, "forward", {"port": 1})


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
