"""Long runs in bounded memory: `lstm-hw run` over 100,000 and 10,000,000 steps of the
lecture's cell, and `run --float` over 100,000 and 1,000,000, peak resident memory (RSS) and
time of each."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_hw.tasks import memory

from .common import ROOT, report


def write_inputs(path: Path, steps: int) -> None:
    """A CSV of `steps` random task steps, written in blocks (this script stays small too)."""
    with open(path, "w") as fh:
        fh.write("x1,x2,x3\n")
        for start in range(0, steps, 1_000_000):
            x = memory.generate(1, min(1_000_000, steps - start), seed=start)[0].astype(np.int64)
            np.savetxt(fh, x, fmt="%d", delimiter=",")


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one `python -m lstm_hw ARGS` in a fresh process."""
    # VmHWM is the peak of this process's own memory map (getrusage's maxrss would also count
    # the benchmark process it was forked from)
    code = ("import sys, runpy; sys.argv = ['lstm-hw'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('lstm_hw', run_name='__main__')\n"
            "except SystemExit as e:\n    code = e.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(hwm.split()[1], file=sys.stderr)\n"
            "sys.exit(code)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    return int(proc.stderr.strip().splitlines()[-1]) / 1024, seconds


def run(steps_long: int = 10_000_000) -> dict:
    print("long runs (lstm-hw run netlists/memory_cell.yaml -i IN.csv -o OUT.csv [--float])")
    out = {}
    # the float reference steps in Python (about 13,000 steps/s): 1,000,000 steps at most
    runs = [(100_000, []), (steps_long, []), (100_000, ["--float"]), (1_000_000, ["--float"])]
    with tempfile.TemporaryDirectory() as tmp:
        for steps, extra in runs:
            csv = Path(tmp) / f"in{steps}.csv"
            if not csv.exists():
                write_inputs(csv, steps)
            rss, seconds = peak_rss_mb(["-q", "run", "netlists/memory_cell.yaml", "-i", str(csv),
                                        "-o", str(Path(tmp) / "out.csv"), *extra])
            name = f"{steps:,} steps{' --float' if extra else ''}"
            report(f"{name}: peak RSS", rss, "MB")
            report(f"{name}: wall time", seconds, "s")
            report(f"{name}: steps/s through CSV", steps / seconds, "steps/s")
            out[(steps, bool(extra))] = rss
            (Path(tmp) / "out.csv").unlink()
    report("peak RSS, long run / short run", out[(steps_long, False)] / out[(100_000, False)],
           "x")
    report("peak RSS --float, 1,000,000 / 100,000 steps",
           out[(1_000_000, True)] / out[(100_000, True)], "x")
    return out
