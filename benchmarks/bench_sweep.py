"""Sweeps: settings per second on the lecture's cell (each setting: check's 1,000 sequences of
50 steps), in one process and on 2 local worker processes (pool start-up included)."""
from __future__ import annotations

import time

from lstm_hw.explore import EvalConfig, run_sweep
from lstm_hw.explore.grid import from_args

from .common import NETLISTS, report


def run() -> None:
    print("sweep of the lecture's cell (netlists/memory_cell.yaml), 1,000 sequences x 50 steps "
          "per setting")
    grid = from_args(["*=ap_fixed<{W},{I},AP_RND,AP_SAT>"], ["W=6..16", "I=2..10"])   # 99
    config = EvalConfig(str(NETLISTS / "memory_cell.yaml"))
    run_sweep(from_args(["*=ap_fixed<{W},8>"], ["W=12..13"]), config, workers=1)   # warm up
    rate = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        result = run_sweep(grid, config, workers=workers, progress=False)
        rate[workers] = len(result.results) / (time.perf_counter() - t0)
        report(f"sweep, {len(result.results)} settings: {workers} worker"
               f"{'s' if workers > 1 else ''}", rate[workers], "settings/s")
    report("sweep: 2 workers vs 1", rate[2] / rate[1], "x")
