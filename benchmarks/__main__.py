"""Run every benchmark, print its figures, and warn where one is over 2x worse than recorded.

    python -m benchmarks            all of them (the long run takes a few minutes)
    python -m benchmarks --quick    a 1,000,000-step long run instead of 10,000,000
    python -m benchmarks --record   also write the figures to benchmarks/recorded.json
    python -m benchmarks --no-hls4ml  all but the last (hls4ml's C++ compile takes 15 minutes)

The last, hls4ml's compile-and-predict against lstm_hw (bench_hls4ml), needs g++ and hls4ml's
wheel (templates only) and compiles hls4ml's C++ for a 64-unit LSTM (minutes).
"""
import argparse
import json
import platform
from pathlib import Path

import numba
import numpy as np

from . import (bench_cell, bench_compile, bench_datasets, bench_engine, bench_hls4ml,
               bench_memory, bench_sweep, bench_timing)
from .common import RESULTS

RECORDED = Path(__file__).with_name("recorded.json")
LOWER_IS_BETTER = ("s", "MB")

parser = argparse.ArgumentParser(prog="python -m benchmarks")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--record", action="store_true")
parser.add_argument("--no-hls4ml", action="store_true")
args = parser.parse_args()

print(f"machine: {platform.machine()}, {numba.config.NUMBA_NUM_THREADS} threads; python "
      f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
bench_cell.run()
bench_engine.run(bench_compile.run())
bench_timing.run()
bench_memory.run(1_000_000 if args.quick else 10_000_000)
bench_sweep.run()
bench_datasets.run()
if not args.no_hls4ml:
    bench_hls4ml.run()

recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
slower = []
for name, (value, unit) in RESULTS.items():
    if name not in recorded or unit == "x":
        continue
    before = recorded[name][0]
    worse = value / before if unit in LOWER_IS_BETTER else before / max(value, 1e-300)
    if worse > 2:
        slower.append(f"warning: {name}: {value:,.4g} {unit}, recorded {before:,.4g} "
                      f"({worse:.1f}x worse)")
print("\n".join(slower) if slower else f"no figure is over 2x worse than recorded "
      f"({len(recorded)} recorded)" if recorded else "no recorded figures yet (--record)")
if args.record:
    RECORDED.write_text(json.dumps(RESULTS, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(RESULTS)} figures in {RECORDED}")
