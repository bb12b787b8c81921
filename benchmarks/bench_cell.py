"""The lecture's cell: simulated cycles per second (1 and 1,000 streams) and CLI cold start."""
from __future__ import annotations

import numpy as np

import lstm_hw
from lstm_hw.tasks import memory

from .common import NETLISTS, best_of, cold_start, report


def run() -> None:
    print("lecture's cell (netlists/memory_cell.yaml)")
    circuit = lstm_hw.load(NETLISTS / "memory_cell.yaml")
    sim = lstm_hw.Simulator(circuit)
    for streams, steps in ((1, 200_000), (1000, 2_000)):
        x = memory.generate(streams, steps, seed=1)
        raw = sim.quantise_inputs(x)
        sim.run(raw[:, :10], raw_inputs=True)          # compile / load from cache
        t = best_of(lambda: sim.run(raw, raw_inputs=True), repeat=3)
        report(f"{streams} stream{'s' if streams > 1 else ''}: cycles/s", steps / t, "cycles/s")
        if streams > 1:
            report(f"{streams} streams: stream-cycles/s", streams * steps / t, "stream-cycles/s")
    args = ["check", "netlists/memory_cell.yaml"]
    cold_start(args, fresh_cache=False)                  # make sure the cache is warm
    report("`lstm-hw check` cold start, numba cache warm", cold_start(args, False), "s")
    report("`lstm-hw check` cold start, empty numba cache", cold_start(args, True), "s")
