"""host_stacks = true: a real TCP connection between two hosts' own kernel stacks
through BMv2, with sockets made by LabContext.host_socket and a command run by
LabContext.host_run."""

from __future__ import annotations

import threading

from labtool.manifest import load_lab
from labtool.runner import LabRun, RunOptions
from labtool.workspace import workspace
from tests.e2e.helpers import ROOT, leftovers


def test_real_tcp_between_host_stacks() -> None:
    ws = workspace()
    lab = load_lab(ROOT / "tests" / "fixtures" / "tcp" / "tcp.toml", ROOT)
    assert lab.host_stacks
    with LabRun(lab, ws, RunOptions()) as run:
        ctx = run.context()
        run.run_controller(ctx)
        h1, h2 = ctx.host("h1"), ctx.host("h2")
        addr = ctx.host_run("h2", ["ip", "-4", "-o", "addr", "show", "dev", "h2-eth0"])
        assert addr.returncode == 0 and f"{h2.ip}/24" in addr.stdout

        server = ctx.host_socket("h2")
        server.bind((h2.ip, 7000))
        server.listen()
        server.settimeout(5)

        def echo() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(conn.recv(100).upper())

        thread = threading.Thread(target=echo)
        thread.start()
        client = ctx.host_socket("h1")
        client.settimeout(5)
        client.connect((h2.ip, 7000))
        client.sendall(b"through bmv2")
        assert client.recv(100) == b"THROUGH BMV2"
        assert client.getsockname()[0] == h1.ip
        client.close()
        thread.join(5)
        server.close()
    assert leftovers() == []
