"""hls4ml's compile-and-predict against lstm_hw on the same model: one 64-unit LSTM (8 inputs,
hls4ml's default ap_fixed<16,6>, 1024-entry tables) over 1,000 sequences of 100 steps.

hls4ml: g++ on its C++ (nnet_utils, the config structs its Vivado backend writes: tests/
hls4ml_cpp.py), then the run over the sequences (nnet::lstm_stack per sequence, as predict()
calls it, without predict's Python loop). hls4ml's build_lib.sh compiles with -O3, which for
this model ran over 9 CPU minutes here without finishing; the benchmark compiles with -O1
(OPT), a lower bound of hls4ml's compile() time.
lstm_hw: `lstm-hw import --hls4ml`, then the run in a fresh process with empty caches (the very
first run: numba compiles), and warm (in this process, best of a few). Both give the same bits
(checked here).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import lstm_hw

from .common import ROOT, report

sys.path.insert(0, str(ROOT / "tests"))
from hls4ml_cpp import VARS, Case, compile_cpp, model_files  # noqa: E402

SEQUENCES, STEPS, INPUTS, UNITS = 1000, 100, 8, 64
OPT = "-O1"

FIRST_RUN = """
import sys, time, numpy as np, lstm_hw
t0 = time.perf_counter()
x = np.load(sys.argv[2])
trace = lstm_hw.Simulator(lstm_hw.load(sys.argv[1])).run(x)
np.save(sys.argv[3], trace.values("lstm.h_next"))
print(time.perf_counter() - t0)
"""


def model() -> Case:
    rng = np.random.default_rng(64)
    return Case("bench", {v: "ap_fixed<16,6>" for v in VARS}, "ap_fixed<18,8>", 1024, True,
                False, rng.normal(0, 0.3, (INPUTS, 4 * UNITS)).astype(np.float32),
                rng.normal(0, 0.3, (UNITS, 4 * UNITS)).astype(np.float32),
                rng.normal(0, 0.3, 4 * UNITS).astype(np.float32),
                np.zeros(4 * UNITS, np.float32),
                np.round(rng.uniform(-4, 4, (SEQUENCES, STEPS, INPUTS)) * 1024) / 1024)


def run() -> None:
    print(f"hls4ml's LSTM: {UNITS} units, {INPUTS} inputs, {SEQUENCES:,} sequences x {STEPS} "
          "steps, ap_fixed<16,6>")
    case = model()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        exe, compile_s = compile_cpp([case], tmp, opt=OPT, stepwise=False)
        case.inputs.astype(np.float64).tofile(tmp / "x.bin")
        t0 = time.perf_counter()
        subprocess.run([str(exe), str(tmp / "x.bin"), str(tmp / "h.bin")], check=True)
        predict_s = time.perf_counter() - t0
        h_cpp = np.fromfile(tmp / "h.bin").reshape(SEQUENCES, STEPS, UNITS)
        report(f"hls4ml: g++ {OPT} compile", compile_s, "s")
        report("hls4ml: C++ run (predict)", predict_s, "s")
        report("hls4ml: compile + predict", compile_s + predict_s, "s")

        h5, config = model_files(case, tmp)
        net = tmp / "net.yaml"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lstm_hw", "import", str(h5), "--hls4ml",
                        str(config), "-o", str(net)], check=True, stdout=subprocess.DEVNULL)
        import_s = time.perf_counter() - t0
        np.save(tmp / "x.npy", case.inputs)
        with tempfile.TemporaryDirectory() as cache:
            env = {"NUMBA_CACHE_DIR": cache, "LSTM_HW_CACHE_DIR": cache}
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", FIRST_RUN, str(net), str(tmp / "x.npy"),
                                  str(tmp / "h.npy")], check=True, capture_output=True,
                                 text=True, env={**os.environ, **env})
            first_s = time.perf_counter() - t0
        inside_s = float(out.stdout.split()[-1])
        same = np.array_equal(np.load(tmp / "h.npy"), h_cpp)
        sim = lstm_hw.Simulator(lstm_hw.load(net))
        sim.run(case.inputs[:8])
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            sim.run(case.inputs)
            warm.append(time.perf_counter() - t0)
    report("lstm_hw: import --hls4ml", import_s, "s")
    report("lstm_hw: first run, new process, empty caches", first_s, "s")
    report("lstm_hw: first run, of which load + simulate", inside_s, "s")
    report("lstm_hw: warm run", min(warm), "s")
    report("lstm_hw import + first run vs hls4ml compile + predict",
           (compile_s + predict_s) / (import_s + first_s), "x")
    print(f"  h of every step of every sequence bit-identical to hls4ml's C++: {same}")
    if not same:
        raise SystemExit("lstm_hw and hls4ml's C++ disagree on the benchmark model")
