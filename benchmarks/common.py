"""Timing helpers shared by the benchmarks, and the figures they report."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETLISTS = ROOT / "netlists"
RESULTS: dict[str, tuple[float, str]] = {}    # every figure reported in this run: name -> (value, unit)


def best_of(fn, repeat: int = 5, min_time: float = 0.2) -> float:
    """Best wall time of one call of fn (called until min_time has passed, at least repeat times)."""
    best = float("inf")
    start = time.perf_counter()
    n = 0
    while n < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return best


def cold_start(args: list[str], fresh_cache: bool) -> float:
    """Wall time of one `lstm-hw ARGS` in a new process; fresh_cache: empty numba and lstm_hw
    caches (the very first run on a machine)."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if fresh_cache:
            env["NUMBA_CACHE_DIR"] = tmp
            env["LSTM_HW_CACHE_DIR"] = tmp
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lstm_hw", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
        return time.perf_counter() - t0


def report(name: str, value: float, unit: str) -> None:
    RESULTS[name] = (float(value), unit)
    text = f"{value:>14,.3f}" if abs(value) < 100 else f"{value:>14,.0f}"
    print(f"  {name:<58} {text} {unit}")
