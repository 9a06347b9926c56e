"""Cheetah control plane: the VIP, its pool of backends, the secret salt.

    clients h1, h2 -- s1 -- backends h3, h4, h5, h6        VIP 10.0.0.100

- plain forwarding by destination IP for every host;
- every backend gets a stable server id (servers: id -> address, MAC, port;
  backends: address -> id, for the way back): ids outlive pool changes, which is
  what keeps open connections working when the pool changes;
- the pool (round robin over it for new connections) is set by set_pool();
- the salt of the cookie hash is drawn at random at start and lives only in the
  switch's tables (the verifier reads it back from there);
- the clients learn the VIP's MAC statically (ip neigh, in their namespaces).

Run by hand against `sudo labtool up cheetah`: sudo .venv/bin/python controllers/cheetah.py
"""

import secrets

from labtool.context import LabContext
from labtool.controlplane import Entry

VIP = "10.0.0.100"
VIP_MAC = "00:00:0a:00:00:64"
VIP_PORT = 80
CLIENTS = ("h1", "h2")
BACKENDS = ("h3", "h4", "h5", "h6")


def server_id(backend: str) -> int:
    return BACKENDS.index(backend) + 1


def current_salt(lab: LabContext) -> int:
    """The salt installed in the switch (the vip table's entry)."""
    entries = lab.switch("s1").table_read("vip")
    return int(entries[0].params["salt"])


def set_pool(lab: LabContext, members: list[str], salt: int | None = None) -> None:
    """New connections go round robin over `members` from now on; open ones stay."""
    s1 = lab.switch("s1")
    salt = current_salt(lab) if salt is None else salt
    s1.table_clear("pool")
    s1.table_add_many("pool", [
        Entry({"meta.pool_index": i}, "pick", {"server_id": server_id(b)})
        for i, b in enumerate(members)
    ])
    s1.table_clear("vip")
    s1.table_add("vip", {"hdr.ipv4.dstAddr": VIP}, "vip_hit",
                 {"salt": salt, "pool_size": len(members)})
    s1.register_write("rr_next", 0, 0)  # the next index must stay inside the new pool


def configure(lab: LabContext) -> None:
    s1 = lab.switch("s1")
    s1.table_add_many("forward", [
        Entry({"hdr.ipv4.dstAddr": h.ip}, "set_egress", {"port": h.port})
        for h in lab.hosts.values()
    ])
    s1.table_add_many("servers", [
        Entry({"meta.server_id": server_id(b)}, "to_server",
              {"ip": lab.host(b).ip, "mac": lab.host(b).mac, "port": lab.host(b).port})
        for b in BACKENDS
    ])
    salt = secrets.randbits(32)
    s1.table_add_many("backends", [
        Entry({"hdr.ipv4.srcAddr": lab.host(b).ip}, "from_backend",
              {"server_id": server_id(b), "salt": salt, "vip_ip": VIP, "vip_mac": VIP_MAC})
        for b in BACKENDS
    ])
    set_pool(lab, list(BACKENDS), salt)
    for client in CLIENTS:
        done = lab.host_run(client, ["ip", "neigh", "replace", VIP, "lladdr", VIP_MAC,
                                     "dev", f"{client}-eth0", "nud", "permanent"])
        if done.returncode != 0:
            raise RuntimeError(f"{client}: static ARP for the VIP failed: {done.stderr.strip()}")


if __name__ == "__main__":
    from labtool.attach import attach

    configure(attach())
