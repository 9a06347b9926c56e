"""Per-phase times of `labtool run <lab>` next to the floor, measured in the same run.

The floor does the unavoidable steps directly, without labtool or Mininet:
network namespaces + veths with `ip`, BMv2 started until its gRPC port accepts,
arbitration + SetForwardingPipelineConfig, the very WriteRequests the lab's
controller and verifier sent (recorded during the labtool run), the verifier's
frames sent on raw sockets on the same schedule and awaited until the expected
number arrived (no silence window at all: the time labtool takes to make sure
nothing else arrives counts against it), teardown.

    sudo .venv/bin/python benchmarks/run_phases.py [LAB ...] [--repeat N]

Prints one table per lab and the ratio labtool / floor (the goal is <= 1.3 for
lab 1, <= 1.5 for hh-v2). Ratios compare numbers taken in this same run.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import queue
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import finsy as fy
import grpc
from finsy.proto import U128, p4r, p4r_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labtool import compiler, context, p4runtime, toolchain, traffic  # noqa: E402
from labtool.manifest import Lab, find_lab, lab_names  # noqa: E402
from labtool.netdev import disable_segmentation_offloads  # noqa: E402
from labtool.runner import RunOptions, run_lab  # noqa: E402
from labtool.thrift_runtime import ThriftRuntime  # noqa: E402
from labtool.workspace import workspace  # noqa: E402

CLONE_NEWNET = 0x40000000


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def packet_socket(ns: str, ifname: str) -> socket.socket:
    box: dict[str, socket.socket] = {}

    def enter() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        libc.setns(fd, CLONE_NEWNET)
        os.close(fd)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        sock.setsockopt(socket.SOL_SOCKET, 33, 64 * 1024 * 1024)
        sock.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING
        sock.bind((ifname, 0))
        sock.setblocking(False)
        box["s"] = sock

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    return box["s"]


class Floor:
    """The same lab, done directly."""

    def __init__(self, lab: Lab, artifacts: dict[str, compiler.Artifacts]) -> None:
        self.lab = lab
        self.artifacts = artifacts
        self.tag = f"fl{os.getpid() % 10000}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.root_ifs: list[str] = []
        self.times: dict[str, float] = {}
        self.thrift_ports: list[int] = []

    def ns(self, host: str) -> str:
        return f"{self.tag}{host}"

    def swif(self, sw: str, port: int) -> str:
        return f"{self.tag}{sw}e{port}"

    def network(self) -> None:
        t0 = time.perf_counter()
        for host in self.lab.hosts.values():
            sh("ip", "netns", "add", self.ns(host.name))
            sh("ip", "netns", "exec", self.ns(host.name), "sysctl", "-qw",
               "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        for link in self.lab.links:
            a, b = link.a, link.b
            if a.node in self.lab.hosts or b.node in self.lab.hosts:
                host, sw = (a, b) if a.node in self.lab.hosts else (b, a)
                assert sw.port is not None
                name = self.swif(sw.node, sw.port)
                sh("ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns",
                   self.ns(host.node))
                self.root_ifs.append(name)
                h = self.lab.hosts[host.node]
                sh("ip", "-n", self.ns(host.node), "link", "set", "eth0", "address", h.mac, "up")
            else:
                assert a.port is not None and b.port is not None
                n1, n2 = self.swif(a.node, a.port), self.swif(b.node, b.port)
                sh("ip", "link", "add", n1, "type", "veth", "peer", "name", n2)
                self.root_ifs += [n1, n2]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ioctl:
            for name in self.root_ifs:
                Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
                disable_segmentation_offloads(name, ioctl)  # BMv2's input ring (netdev.py)
                sh("ip", "link", "set", name, "up")
        self.times["network"] = time.perf_counter() - t0

    def switches(self) -> dict[str, tuple[str, int]]:
        t0 = time.perf_counter()
        addresses = {}
        binary = str(toolchain.switch_binary())
        for sw in self.lab.switches.values():
            ports = []
            for link in self.lab.links:
                for end in (link.a, link.b):
                    if end.node == sw.name and end.port is not None:
                        ports += ["-i", f"{end.port}@{self.swif(sw.name, end.port)}"]
            grpc_port, thrift_port = free_port(), free_port()
            self.procs.append(subprocess.Popen(
                [binary, "--no-p4", "--device-id", str(sw.device_id), *ports, "--thrift-port",
                 str(thrift_port), "--", "--grpc-server-addr", f"127.0.0.1:{grpc_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            addresses[sw.name] = (f"127.0.0.1:{grpc_port}", sw.device_id)
            self.thrift_ports.append(thrift_port)
        ports = [int(a.rsplit(":", 1)[1]) for a, _ in addresses.values()] + self.thrift_ports
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.002)
        self.times["switch_ready"] = time.perf_counter() - t0
        return addresses

    def pipelines(self, addresses: dict[str, tuple[str, int]]) -> dict[str, object]:
        t0 = time.perf_counter()
        self.channels = {}
        self.streams = []
        for name, (address, device_id) in addresses.items():
            channel = grpc.insecure_channel(address)
            stub = p4r_grpc.P4RuntimeStub(channel)
            requests: queue.Queue[p4r.StreamMessageRequest | None] = queue.Queue()
            requests.put(p4r.StreamMessageRequest(arbitration=p4r.MasterArbitrationUpdate(
                device_id=device_id, election_id=U128.encode(1))))
            responses = stub.StreamChannel(iter(requests.get, None))
            next(responses)
            art = self.artifacts[name]
            schema = fy.P4Schema(art.p4info, art.json)
            stub.SetForwardingPipelineConfig(p4r.SetForwardingPipelineConfigRequest(
                device_id=device_id, election_id=U128.encode(1),
                action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
                config=schema.get_pipeline_config()))
            self.channels[device_id] = (channel, stub)
            self.streams.append((requests, responses))
        for port in self.thrift_ports:  # as labtool does: see labtool/thrift_runtime.py
            thrift = ThriftRuntime(port)
            thrift.set_egress_queue_depth()
            thrift.close()
        self.times["pipeline"] = time.perf_counter() - t0
        return self.channels

    def entries(self, writes: list[p4r.WriteRequest]) -> None:
        t0 = time.perf_counter()
        for request in writes:
            self.channels[request.device_id][1].Write(request)
        self.times["entries"] = time.perf_counter() - t0

    def packets(self, exchanges: list[context.Exchange]) -> None:
        socks = {h: packet_socket(self.ns(h), "eth0") for h in self.lab.hosts}
        t0 = time.perf_counter()
        for ex in exchanges:
            start = time.perf_counter()
            offsets = traffic.send_offsets(len(ex.sends), ex.gap_s, ex.allowance)
            for (host, frame), due in zip(ex.sends, offsets):
                if due:
                    traffic.wait_for_due(start + due)
                socks[host].send(frame)
            got, deadline = 0, time.monotonic() + 5
            while got < ex.expected and time.monotonic() < deadline:
                ready, _, _ = select.select(list(socks.values()), [], [], 0.05)
                for s in ready:
                    while True:
                        try:
                            s.recv(65535)
                            got += 1
                        except BlockingIOError:
                            break
            if got < ex.expected:
                # the lab's traffic depends on state or timing this plain replay does not
                # reproduce (e.g. probes that must take effect first): no floor
                self.times["replay_incomplete"] = 1.0
        self.times["verifier_packets"] = time.perf_counter() - t0
        for s in socks.values():
            s.close()

    def teardown(self) -> None:
        t0 = time.perf_counter()
        for requests, _ in getattr(self, "streams", []):
            requests.put(None)
        for channel, _ in getattr(self, "channels", {}).values():
            channel.close()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait()
        for host in self.lab.hosts:
            subprocess.run(["ip", "netns", "del", self.ns(host)], capture_output=True)
        for name in self.root_ifs:
            if Path(f"/sys/class/net/{name}").exists():
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        # the host is clean only when the kernel has really removed the veths
        # (namespace deletion finishes asynchronously)
        while any(Path(f"/sys/class/net/{n}").exists() for n in self.root_ifs):
            time.sleep(0.001)
        self.times["teardown"] = time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(lab: Lab) -> tuple[dict[str, float], dict[str, float], float]:
    ws = workspace()
    cold = time.perf_counter()
    for program in lab.programs():
        compiler.compile_program(program, ws.cache_dir, use_cache=False)
    cold_s = time.perf_counter() - cold
    p4runtime.RECORDER, context.RECORDER = [], []
    t0 = time.perf_counter()
    verdict = run_lab(lab, ws, RunOptions())
    ours = dict(verdict.timings)
    ours["total"] = time.perf_counter() - t0
    writes, exchanges = p4runtime.RECORDER, context.RECORDER
    p4runtime.RECORDER = context.RECORDER = None
    if not verdict.passed:
        raise SystemExit(f"{lab.name}: labtool run did not pass: {verdict.one_line()}")
    floor = Floor(lab, {n: compiler.compile_program(sw.program, ws.cache_dir)
                        for n, sw in lab.switches.items()})
    t1 = time.perf_counter()
    try:
        floor.network()
        addresses = floor.switches()
        floor.pipelines(addresses)
        floor.entries(writes)
        floor.packets(exchanges)
    finally:
        floor.teardown()
    floor.times["total"] = time.perf_counter() - t1
    return ours, floor.times, cold_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ws = workspace()
    for name in args.labs or lab_names(ws.root):
        lab = find_lab(ws.root, name)
        runs = [measure(lab) for _ in range(args.repeat)]
        med = lambda xs: statistics.median(xs)  # noqa: E731
        ours = {k: med([r[0].get(k, 0.0) for r in runs]) for k in runs[0][0]}
        floor = {k: med([r[1].get(k, 0.0) for r in runs]) for k in runs[0][1]}
        cold = med([r[2] for r in runs])
        print(f"\n{name}: median of {args.repeat} runs (ms)")
        print(f"  {'phase':<22}{'labtool':>10}{'floor':>10}")
        rows = [("compile (cold)", cold, None), ("compile (cached)", ours.get("compile", 0), 0.0),
                ("network", ours.get("network", 0), floor["network"]),
                ("switch ready", ours.get("switch_ready", 0), floor["switch_ready"]),
                ("pipeline push", ours.get("pipeline", 0), floor["pipeline"]),
                ("controller", ours.get("controller", 0), floor["entries"]),
                ("verifier", ours.get("verifier", 0), floor["verifier_packets"]),
                ("teardown", ours.get("teardown", 0), floor["teardown"])]
        for label, a, b in rows:
            print(f"  {label:<22}{a * 1000:>10.1f}{'' if b is None else f'{b * 1000:>10.1f}'}")
        ratio = ("ratio n/a: the floor's replay did not get the expected frames (traffic "
                 "that needs state or timing a plain replay lacks)"
                 if floor.get("replay_incomplete") else
                 f"ratio {ours['total'] / floor['total']:.2f}")
        print(f"  {'total (cached run)':<22}{ours['total'] * 1000:>10.1f}"
              f"{floor['total'] * 1000:>10.1f}   {ratio}")


if __name__ == "__main__":
    main()
