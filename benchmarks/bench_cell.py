"""Start-up: `lstm-hw check` on the lecture's cell from a new process (the very first run, and
with the caches warm; and, for comparison, the first run on numba's interpreter, which 'auto'
takes for netlists the numpy engine runs stream by stream), and elaborating the 2-layer
128-unit network."""
from __future__ import annotations

import time

import lstm_hw

from .common import NETLISTS, cold_start, report

TRIES = 3   # the best of this many new processes (each first-ever run with caches of its own)


def run() -> None:
    print("start-up")
    args = ["check", "netlists/memory_cell.yaml"]
    cold_start(args, fresh_cache=False)                  # make sure the caches are warm
    report("`lstm-hw check` cold start, caches warm",
           min(cold_start(args, False) for _ in range(TRIES)), "s")
    report("`lstm-hw check` cold start, first ever (empty caches)",
           min(cold_start(args, True) for _ in range(TRIES)), "s")
    report("`check --engine interpreter`, first ever (empty caches)",
           cold_start(args + ["--engine", "interpreter"], True), "s")
    lstm_hw.load(NETLISTS / "lstm2x128.yaml")            # imports, numba functions loaded
    t0 = time.perf_counter()
    lstm_hw.load(NETLISTS / "lstm2x128.yaml")
    report("elaborating lstm2x128 (2 x 128 units, 231k weights)", time.perf_counter() - t0, "s")
