"""Datasets: `lstm-hw run` of 1,000 sequences x 100 steps of the trained 2x16 network in one
process (the numba caches warm), from an .npy to an .npz and from a CSV with a seq column to a
CSV, and, for scale, the same steps as one sequence."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from lstm_hw.tasks import memory

from .common import NETLISTS, cold_start, report

SEQUENCES, STEPS = 1_000, 100


def run() -> None:
    net = str(NETLISTS / "memory_lstm2x16.yaml")
    print(f"datasets (lstm-hw run netlists/memory_lstm2x16.yaml, {SEQUENCES:,} sequences x "
          f"{STEPS} steps, one process)")
    x = memory.generate(SEQUENCES, STEPS, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        npy, seq_csv, one_csv = (Path(tmp) / n for n in ("in.npy", "in.csv", "one.csv"))
        np.save(npy, x)
        labels = np.repeat(np.arange(SEQUENCES), STEPS)[:, None]
        np.savetxt(seq_csv, np.hstack([labels, x.reshape(-1, 3)]), fmt="%d", delimiter=",",
                   header="seq,x1,x2,x3", comments="")
        np.savetxt(one_csv, x.reshape(-1, 3), fmt="%d", delimiter=",", header="x1,x2,x3",
                   comments="")
        cold_start(["-q", "run", net, "-i", str(npy), "-o", str(Path(tmp) / "out.npz")], False)
        runs = {".npy -> .npz": (npy, "out.npz"), "seq CSV -> CSV": (seq_csv, "out.csv"),
                "one sequence, CSV -> CSV": (one_csv, "out.csv")}
        for name, (src, out) in runs.items():
            seconds = cold_start(["-q", "run", net, "-i", str(src), "-o", str(Path(tmp) / out)],
                                 False)
            report(f"{SEQUENCES:,} x {STEPS} steps, {name}", seconds, "s")
