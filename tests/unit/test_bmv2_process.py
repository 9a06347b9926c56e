"""Switch process handling with stand-in binaries: busy port, early death, readiness."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from labtool import bmv2
from labtool.errors import NetworkError


def fake_switch(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "simple_switch_grpc"
    script.write_text(f"#!{sys.executable}\n{body}\n")
    script.chmod(0o755)
    return script


def process(tmp_path: Path, thrift_port: int = 0) -> bmv2.SwitchProcess:
    return bmv2.SwitchProcess("s1", 1, {1: "s1-eth1"}, tmp_path, None, tmp_path,
                              thrift_port or bmv2.free_port(), log_level="off")


def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> bmv2.SwitchProcess:
    """A SwitchProcess running the stand-in switch `body` (a Python script)."""
    script = fake_switch(tmp_path, body)
    monkeypatch.setattr(bmv2.toolchain, "switch_binary", lambda: script)
    proc = process(tmp_path)
    proc.start()
    return proc


def test_early_death_shows_output_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = fake_switch(tmp_path, "import sys\nprint('Failed to bind interface s1-eth1')\n"
                                   "sys.exit(1)")
    monkeypatch.setattr(bmv2.toolchain, "switch_binary", lambda: script)
    proc = process(tmp_path)
    proc.start()
    with pytest.raises(NetworkError) as exc:
        proc.wait_ready(time.monotonic() + 10)
    assert "s1: simple_switch_grpc exited with status 1" in str(exc.value)
    assert "Failed to bind interface s1-eth1" in str(exc.value)


def test_ready_when_both_servers_accept(tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    proc = started(tmp_path, monkeypatch, (
        "import socket, sys, time\n"
        "args = sys.argv\n"
        "thrift = int(args[args.index('--thrift-port') + 1])\n"
        "grpc = args[args.index('--grpc-server-addr') + 1]\n"
        "assert grpc.startswith('unix:')\n"
        "g = socket.socket(socket.AF_UNIX); g.bind(grpc[5:]); g.listen()\n"
        "t = socket.socket(); t.bind(('127.0.0.1', thrift)); t.listen()\n"
        "time.sleep(30)\n"))
    try:
        proc.wait_ready(time.monotonic() + 10)
        assert bmv2.unix_accepts(proc.grpc_socket) and bmv2.port_accepts(proc.thrift_port)
    finally:
        proc.stop()
    assert proc.proc is None


def test_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bmv2.toolchain, "switch_binary", lambda: Path("/x/simple_switch_grpc"))
    proc = bmv2.SwitchProcess("s2", 7, {2: "s2-eth2", 1: "s2-eth1"}, tmp_path, None,
                              tmp_path / "sock", 9091, "info", True, 255)
    cmd = proc.command()
    assert cmd[:4] == ["/x/simple_switch_grpc", "--no-p4", "--device-id", "7"]
    assert cmd[4:8] == ["-i", "1@s2-eth1", "-i", "2@s2-eth2"]
    assert cmd[cmd.index("--thrift-port") + 1] == "9091"
    assert cmd[cmd.index("--") + 1:] == ["--grpc-server-addr", f"unix:{tmp_path}/sock/s2.grpc",
                                         "--cpu-port", "255"]
    assert "--pcap" in cmd and str(tmp_path / "s2.log") in cmd


def test_thrift_bind_failure_is_reported_at_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # BMv2 keeps running when its Thrift server cannot bind; waiting for the port
    # would take the whole readiness timeout
    proc = started(tmp_path, monkeypatch, (
        "import time\n"
        "print('Thrift returned an exception when trying to bind to port 9090', flush=True)\n"
        "print('The exception is: Could not bind: Address already in use', flush=True)\n"
        "time.sleep(30)\n"))
    begin = time.monotonic()
    try:
        with pytest.raises(NetworkError, match="Thrift port .* is busy"):
            proc.wait_ready(begin + 10)
    finally:
        proc.stop()
    assert time.monotonic() - begin < 5


def test_free_ports_are_below_the_ephemeral_range_and_distinct() -> None:
    floor = bmv2.ephemeral_floor()
    ports = [bmv2.free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    assert all(bmv2.PORT_FLOOR <= p < floor for p in ports)
    for port in ports:
        with socket.socket() as sock:  # nothing holds them
            sock.bind(("0.0.0.0", port))
