"""VLAN handler control plane (lab 1.3).

Trunk -> access: the VID picks the access port (vlan_table).
Access -> trunk: the ingress port picks the VID to tag with (port_to_vlan).

Run by hand against `sudo labtool up vlan`: sudo .venv/bin/python controllers/vlan.py
"""

from labtool.context import LabContext
from labtool.controlplane import Entry

# VID -> access port
VID_TO_PORT = {2: 2, 20: 2, 3: 3, 30: 3, 4: 4, 40: 4}
# access port -> VID its frames are tagged with on the trunk
PORT_TO_VID = {2: 2, 3: 3, 4: 4}


def configure(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    s1.table_add_many("vlan_table", [
        Entry({"hdr.vlan.vid": vid}, "forward", {"port": port})
        for vid, port in VID_TO_PORT.items()
    ])
    s1.table_add_many("port_to_vlan", [
        Entry({"standard_metadata.ingress_port": port}, "add_vlan_hdr", {"vid": vid})
        for port, vid in PORT_TO_VID.items()
    ])


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
