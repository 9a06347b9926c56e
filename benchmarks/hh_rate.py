"""hh-v2: packets/s the verifier offers vs what BMv2 forwards, and `labtool run hh-v2`
wall time next to its floor.

    sudo .venv/bin/python benchmarks/hh_rate.py [--frames N]

1. Pace sweep on the real hh-v2 network (labtool's own network and sockets): N frames
   of fresh flows (one flow per 900 frames, below the 1000 threshold, so the program
   forwards them all) sent h1 -> h2 at several inter-frame gaps; prints offered and
   forwarded packets/s (frames received / time from the first send to the last
   arrival) and loss. BMv2's measured forwarding rate is the largest forwarded rate
   of a lossless run (with gaps below BMv2's per-frame time its input ring queues, so
   BMv2 runs flat out).
2. `labtool run hh-v2` (cached, in-process), --runs times: wall time and phases.
3. Floor = switch ready + pipeline push (measured directly in benchmarks/run_phases.py's
   way, median of --runs) + frames the verifier sends / BMv2's measured forwarding rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run_phases import Floor  # noqa: E402
from labtool import context  # noqa: E402
from labtool import frames as f  # noqa: E402
from labtool.hostio import collect  # noqa: E402
from labtool.manifest import find_lab  # noqa: E402
from labtool.runner import LabRun, RunOptions, run_lab  # noqa: E402
from labtool.workspace import workspace  # noqa: E402

GAPS_US = (0, 20, 50, 100, 150, 200, 300, 400)


def sweep(n: int) -> float:
    """Offered vs forwarded rate at several paces; returns the largest forwarded rate
    of a lossless run."""
    ws = workspace()
    lab = find_lab(ws.root, "hh-v2")
    best = 0.0
    with LabRun(lab, ws, RunOptions()) as run:
        ctx = run.context()
        run.run_controller(ctx)
        assert run.network is not None
        h1, h2 = ctx.host("h1"), ctx.host("h2")
        gateway = ctx.switch_mac("s1", 1)
        print(f"{'gap µs':>7} {'offered pps':>12} {'forwarded pps':>14} {'lost':>6}  where")
        flow_base = 10000
        for gap in GAPS_US:
            frames = [bytes(f.udp(h1, h2, b"rate", sport=flow_base + i // 900, dport=9,
                                  dst_mac=gateway)) for i in range(n)]
            flow_base += n // 900 + 1
            for control in ctx.switches.values():  # no earlier flow may collide in the filter
                for reg in {control.schema.registers[r].name for r in control.register_names()}:
                    control.register_reset(reg)
            ctx.drain()
            port = ctx.port("h1")
            t0 = time.perf_counter()
            port.send(frames, gap / 1e6)
            offered_s = time.perf_counter() - t0
            got = collect([ctx.port("h2")], lambda g: len(g["h2"]) >= n, 10, 0.3,
                          run.network.idle_probe())["h2"]
            last = got[-1].time if got else t0
            drops = {k: v for k, v in (run.network.switch_input_drops() or {}).items() if v}
            fwd_pps = len(got) / max(last - (time.monotonic() - (time.perf_counter() - t0)), 1e-9)
            print(f"{gap:>7} {n / offered_s:>12.0f} {fwd_pps:>14.0f} {n - len(got):>6}  {drops}")
            if len(got) == n and not drops:
                best = max(best, fwd_pps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rate = sweep(args.frames)
    print(f"\nBMv2 forwarding rate (largest forwarded rate with no loss): {rate:.0f} pps")

    ws = workspace()
    lab = find_lab(ws.root, "hh-v2")
    walls, frames_sent = [], 0
    for _ in range(args.runs):
        context.RECORDER = []
        t0 = time.perf_counter()
        verdict = run_lab(lab, ws, RunOptions())
        walls.append(time.perf_counter() - t0)
        exchanges, context.RECORDER = context.RECORDER, None
        frames_sent = sum(len(e.sends) for e in exchanges)
        print(f"labtool run hh-v2: {verdict.one_line()}  wall {walls[-1]:.2f} s  phases: "
              + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in verdict.timings.items()
                          if k != "compile_cached"))
    from labtool import compiler
    floors = []
    for _ in range(args.runs):
        floor = Floor(lab, {})
        floor.artifacts = {n: compiler.compile_program(sw.program, ws.cache_dir)
                           for n, sw in lab.switches.items()}
        try:
            floor.network()
            floor.pipelines(floor.switches())
        finally:
            floor.teardown()
        floors.append(floor.times["switch_ready"] + floor.times["pipeline"])
    packets_s = frames_sent / rate if rate else float("nan")
    wall = statistics.median(walls)
    setup = statistics.median(floors)
    floor_s = setup + packets_s
    print(f"floor: switch ready + push {setup * 1000:.0f} ms (median of {args.runs}) + "
          f"{frames_sent} frames at {rate:.0f} pps {packets_s * 1000:.0f} ms = {floor_s:.2f} s")
    print(f"labtool wall: median {wall:.2f} s of {args.runs} (min {min(walls):.2f}, "
          f"max {max(walls):.2f})")
    print(f"ratio labtool / floor: {wall / floor_s:.2f} (median), "
          f"{max(walls) / floor_s:.2f} (slowest run)")


if __name__ == "__main__":
    main()
