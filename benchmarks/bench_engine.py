"""The engine against kernels written by hand: the lecture's cell, a 64x64 LSTM layer and the
2-layer 128-unit network, for 1, 64 and 1,024 streams, both engines."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import lstm_hw
from lstm_hw.importers import write_netlist
from lstm_hw.tasks import memory

from . import hand
from .bench_compile import cpu_ghz, macs_per_cycle
from .common import NETLISTS, best_of, report


ROUNDS = 7


def layer64(folder: str) -> Path:
    """A single 64-unit layer over 64 inputs (32,768 multiply-adds a cycle), random weights."""
    rng = np.random.default_rng(64)
    k = 1 / np.sqrt(64)
    layer = {"weight_ih": rng.uniform(-k, k, (256, 64)), "weight_hh": rng.uniform(-k, k, (256, 64)),
             "bias_ih": rng.uniform(-k, k, 256), "bias_hh": rng.uniform(-k, k, 256)}
    path, _ = write_netlist(Path(folder) / "layer64.yaml", [layer], None, name="layer64")
    return path


def macs(circuit) -> int:
    return sum(c.params.w_raw.size for c in circuit.cells if c.op == "dot")


def case(name: str, circuit, inputs, hand_run, record: str, budget: dict[int, int],
         peaks: dict[str, float] | None = None) -> dict:
    """Time hand, interpreter and compiled on the same raw inputs, after checking their bits.

    budget: the steps to time for each number of streams (its keys). peaks: the MAC/s one core
    can issue with the instructions each compiled function uses ("run_one, narrow", ...), for
    circuits whose dots are vector loops (the cell's 3-product dots are written out)."""
    out = {}
    n_macs = macs(circuit)
    # the engines as a user gets them (threads: every core, where the streams make it pay),
    # the compiled one in int64 (its code before narrow lanes), and both compiled on one core,
    # like the hand kernel
    engines = {e: lstm_hw.Simulator(circuit, e) for e in ("interpreter", "compiled")}
    engines["compiled, int64"] = lstm_hw.Simulator(circuit, "compiled", narrow=False)
    engines["compiled, 1 thread"] = lstm_hw.Simulator(circuit, "compiled", threads=1)
    engines["compiled, int64, 1 thread"] = lstm_hw.Simulator(circuit, "compiled", threads=1,
                                                             narrow=False)
    for streams, steps in budget.items():
        raw = engines["compiled"].quantise_inputs(inputs(streams, steps))
        x = np.ascontiguousarray(raw.transpose(1, 2, 0))
        want = hand_run(x)   # [steps, streams] or [steps, elements, streams]
        want = want.T[:, :, None] if want.ndim == 2 else want.transpose(2, 0, 1)
        active = {e: sim for e, sim in engines.items() if streams > 1 or "thread" not in e}
        for eng, sim in active.items():
            got = sim.run(raw, record=[record], raw_inputs=True).raw(record)
            assert np.array_equal(got, want), f"{name}: {eng} and the hand kernel disagree"
        # best of several rounds, the three taking turns in each, so that a slow spell of the
        # machine does not fall on one of them only
        runs = {"hand": lambda: hand_run(x)}
        runs.update({e: (lambda sim=sim: sim.run(raw, raw_inputs=True))
                     for e, sim in active.items()})
        best = {who: float("inf") for who in runs}
        for _ in range(ROUNDS):
            for who, fn in runs.items():
                best[who] = min(best[who], best_of(fn, repeat=1, min_time=0.05))
        row = {who: steps / t for who, t in best.items()}
        out[streams] = row
        for who, cps in row.items():
            head = f"{name}, {streams} stream{'s' if streams > 1 else ''}, {who}"
            report(f"{head}: cycles/s", cps, "cycles/s")
            report(f"{head}: stream-cycles/s", cps * streams, "stream-cycles/s")
            report(f"{head}: MAC/s", cps * streams * n_macs, "MAC/s")
            if who != "hand":
                report(f"{head}: ratio to hand", cps / row["hand"], "x")
            # one stream runs on one core whatever the threads; more share every core
            if peaks and who.startswith("compiled") and (streams == 1 or "thread" in who):
                fn = f"{'run_one' if streams == 1 else 'run'}, " \
                     f"{'int64' if 'int64' in who else 'narrow'}"
                report(f"{head}: share of one core's peak ({fn})",
                       cps * streams * n_macs / peaks[fn], "x")
        report(f"{name}, {streams} stream{'s' if streams > 1 else ''}: compiled narrow / int64",
               row["compiled"] / row["compiled, int64"], "x")
    return out


def run(instructions: dict[str, str]) -> dict:
    """instructions: each compiled function's main multiply instruction (bench_compile.run)."""
    peaks = {fn: macs_per_cycle(i) * cpu_ghz() * 1e9 for fn, i in instructions.items()}
    print("engine vs hand-written kernels (cycles/s per engine; MAC = the dots' multiply-adds; "
          "share of peak: of one core, with the instructions the engine's code uses)")
    results = {}
    cell = lstm_hw.load(NETLISTS / "memory_cell.yaml")
    cell_args = hand.memory_cell_args(cell)
    results["cell"] = case("cell", cell, lambda s, t: memory.generate(s, t, seed=5),
                           lambda x: hand.memory_cell(x, *cell_args), "y",
                           {1: 400_000, 64: 20_000, 1024: 1_500})
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        layer = lstm_hw.load(layer64(tmp))
    largs = hand.lstm_layers_args(layer, 1)
    results["layer64"] = case("layer64", layer, lambda s, t: rng.uniform(-1, 1, (s, t, 64)),
                              lambda x: hand.lstm_layers(x, *largs), "l1.h_next",
                              {1: 3000, 64: 100, 1024: 8}, peaks)
    net = lstm_hw.load(NETLISTS / "lstm2x128.yaml")
    nargs = hand.lstm_layers_args(net, 2)
    results["net2x128"] = case("net2x128", net, lambda s, t: rng.uniform(-1, 1, (s, t, 64)),
                               lambda x: hand.lstm_layers(x, *nargs), "l2.h_next",
                               {1: 500, 64: 20, 256: 6, 1024: 3}, peaks)
    return results
