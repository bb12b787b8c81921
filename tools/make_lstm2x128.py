"""Write netlists/lstm2x128.yaml + .npz: a 2-layer, 128-unit LSTM with random weights.

A size benchmark, not a trained network: 64 inputs -> 128 units -> 128 units -> a readout of 8,
weights drawn as PyTorch initialises nn.LSTM and nn.Linear (uniform in +-1/sqrt(H) for the LSTM,
+-1/sqrt(fan_in) for the Linear), seeded, stored as float32 (as PyTorch's would be; the npz is
half the size of float64). No torch needed: numpy and lstm_hw.importers.write_netlist. Prints
how long ``lstm_hw.load`` takes on it.

    python tools/make_lstm2x128.py [--out PATH] [--seed S]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from lstm_hw import load
from lstm_hw.importers import write_netlist

OUT = Path(__file__).resolve().parent.parent / "netlists" / "lstm2x128.yaml"
N_IN, HIDDEN, LAYERS, N_OUT = 64, 128, 2, 8


def pytorch_like(seed: int):
    rng = np.random.default_rng(seed)

    def uniform(bound, shape):
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    k = 1 / np.sqrt(HIDDEN)
    layers = []
    for n in range(LAYERS):
        n_in = N_IN if n == 0 else HIDDEN
        layers.append({"weight_ih": uniform(k, (4 * HIDDEN, n_in)),
                       "weight_hh": uniform(k, (4 * HIDDEN, HIDDEN)),
                       "bias_ih": uniform(k, (4 * HIDDEN,)),
                       "bias_hh": uniform(k, (4 * HIDDEN,))})
    readout = {"weight": uniform(1 / np.sqrt(HIDDEN), (N_OUT, HIDDEN)),
               "bias": uniform(1 / np.sqrt(HIDDEN), (N_OUT,))}
    return layers, readout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=128)
    args = ap.parse_args(argv)
    layers, readout = pytorch_like(args.seed)
    yaml_path, npz_path = write_netlist(
        args.out, layers, readout, dtype=np.float32, source="tools/make_lstm2x128.py",
        notes=[f"Random weights (seed {args.seed}) drawn as PyTorch initialises nn.LSTM and "
               "nn.Linear: a size benchmark,", "not a trained network."],
        doc=f"A {LAYERS}-layer, {HIDDEN}-unit LSTM ({N_IN} inputs, readout {N_OUT}) with "
            "random PyTorch-like weights: a size benchmark.")
    print(f"wrote {yaml_path} ({yaml_path.stat().st_size} bytes) and {npz_path.name} "
          f"({npz_path.stat().st_size} bytes)")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        circuit = load(yaml_path)
        times.append(time.perf_counter() - t0)
    print(f"lstm_hw.load: {len(circuit.cells)} cells, best of 3 {min(times):.3f} s "
          f"(runs: {', '.join(f'{t:.3f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
