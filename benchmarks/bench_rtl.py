"""The Verilog backend: Verilator's speed against the compiled engine, and the cost model
against Yosys.

    python -m benchmarks.bench_rtl [--speed] [--calibrate] [--settings N]

speed: cycles per second of one stream, the lecture's cell and a 64x64 layer, Verilator (-O3,
a C++ loop that sets the inputs and toggles the clock) against lstm_hw's compiled engine on the
same design (one thread), and Verilator's build time.
calibrate: Yosys (synth_xilinx) on settings of the shipped netlists, the Spearman rank
correlation of the cost model's LUT-equivalents with Yosys's, and each shipped netlist's
synthesis time (a netlist over the timeout is reported as such).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import lstm_hw
from lstm_hw.compile.cells import total_cost
from lstm_hw.rtl import export_verilog
from lstm_hw.rtl.synth import SynthTimeout, synthesise

from .bench_engine import layer64
from .common import NETLISTS, report

CYCLES = 2_000_000


def verilator_speed(circuit, cycles: int, folder: Path) -> tuple[float, float]:
    """(cycles per second, build seconds) of the Verilator model of the circuit's export."""
    module = export_verilog(circuit)
    (folder / f"{module.name}.v").write_text(module.text)
    rng = np.random.default_rng(0)
    sets = []
    for k, (port, fmt) in enumerate(module.inputs):   # a few input patterns, taken in turn
        vals = [int(v) & ((1 << fmt.width) - 1) for v in rng.integers(fmt.lo, fmt.hi + 1, 8)]
        sets.append(f"    m->{port} = pat{k}[i & 7];")
        sets.insert(0, f"  static const unsigned long long pat{k}[8] = "
                       f"{{{', '.join(map(str, vals))}}};")
    main = "\n".join([
        f'#include "V{module.name}.h"', "#include <chrono>", "#include <cstdio>",
        "int main() {", f"  V{module.name}* m = new V{module.name};",
        *[s for s in sets if s.startswith("  static")],
        "  m->rst = 1; m->clk = 0; m->eval(); m->clk = 1; m->eval(); m->rst = 0;",
        "  unsigned long long sink = 0;",
        "  auto t0 = std::chrono::steady_clock::now();",
        f"  for (long i = 0; i < {cycles}L; i++) {{", "    m->in_valid = 1;",
        *[s for s in sets if not s.startswith("  static")],
        "    m->clk = 0; m->eval(); m->clk = 1; m->eval();",
        f"    sink += m->{module.outputs[0][0]};", "  }",
        "  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)"
        ".count();", '  std::printf("%f %llu\\n", s, sink);', "  return 0;", "}", ""])
    (folder / "main.cpp").write_text(main)
    t0 = time.perf_counter()
    subprocess.run(["verilator", "--cc", "--exe", "--build", "-O3", "--x-assign", "fast",
                    "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-j", "2",
                    "-CFLAGS", "-O2", "-Mdir", str(folder / "obj"), "--top-module", module.name,
                    str(folder / f"{module.name}.v"), str(folder / "main.cpp"), "-o", "bench"],
                   check=True, capture_output=True)
    build = time.perf_counter() - t0
    out = subprocess.run([str(folder / "obj" / "bench")], check=True, capture_output=True,
                         text=True).stdout.split()
    return cycles / float(out[0]), build


def engine_speed(circuit, cycles: int) -> float:
    sim = lstm_hw.Simulator(circuit, "compiled", threads=1)
    rng = np.random.default_rng(0)
    cols = circuit.input_columns()
    raw = np.stack([rng.integers(-4, 5, cycles) for _ in cols], axis=1)[None]
    sim.run(raw[:, :1000], raw_inputs=True)            # compiled and loaded
    t0 = time.perf_counter()
    sim.run(raw, raw_inputs=True)
    return cycles / (time.perf_counter() - t0)


def speed() -> None:
    print("Verilator against the compiled engine, one stream")
    with tempfile.TemporaryDirectory() as tmp:
        designs = {"lecture cell": (lstm_hw.load(NETLISTS / "memory_cell.yaml"), CYCLES),
                   "64x64 layer": (lstm_hw.load(layer64(tmp)), CYCLES // 100)}
        for name, (circuit, cycles) in designs.items():
            folder = Path(tmp) / name.replace(" ", "_")
            folder.mkdir()
            vl, build = verilator_speed(circuit, cycles, folder)
            eng = engine_speed(circuit, cycles)
            report(f"{name}: Verilator build (-O3)", build, "s")
            report(f"{name}: Verilator", vl, "cycles/s")
            report(f"{name}: lstm_hw compiled engine, 1 thread", eng, "cycles/s")
            report(f"{name}: lstm_hw / Verilator", eng / vl, "x")


# The settings: formats of every block and table sizes of the gates, on the lecture's cells.
SETTINGS = [(net, [f"*=ap_fixed<{w},{i},AP_RND,AP_SAT>", f"*_gate:table_size={t}"])
            for net in ("memory_cell", "memory_cell_pipelined")
            for w, i in ((6, 3), (8, 4), (10, 5), (12, 6), (14, 7), (16, 8))
            for t in (16, 64, 256, 1024)]


def ranks(values) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(1, len(v) + 1)
    for x in np.unique(v):
        r[v == x] = r[v == x].mean()
    return r


def spearman(a, b) -> float:
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def calibrate(n_settings: int, timeout: float) -> None:
    print(f"the cost model against Yosys (synth_xilinx -family xcup), {n_settings} settings")
    model, synth = [], []
    for net, precision in SETTINGS[:n_settings]:
        circuit = lstm_hw.load(NETLISTS / f"{net}.yaml", precision)
        result = synthesise(export_verilog(circuit), "xilinx", timeout)
        model.append(total_cost(circuit.cells)["total"])
        synth.append(result.lut_equivalents)
        print(f"  {net:<22} {' '.join(precision):<48} model {model[-1]:>8,.0f}  "
              f"Yosys {synth[-1]:>8,.0f}  ({result.luts} LUTs, {result.ffs} FFs, "
              f"{result.dsps} DSPs, {result.brams:g} BRAMs, {result.seconds:g} s)")
    report(f"Spearman rank correlation, model vs Yosys LUT-eq ({len(model)} settings)",
           spearman(model, synth), "x")
    for path in sorted(NETLISTS.glob("*.yaml")):
        try:
            result = synthesise(export_verilog(lstm_hw.load(path)), "xilinx", timeout)
            report(f"Yosys synth_xilinx of {path.stem}", result.seconds, "s")
        except SynthTimeout:
            print(f"  Yosys synth_xilinx of {path.stem}: over {timeout:g} s (stopped)")


def run(do_speed: bool = True, do_calibrate: bool = True, n_settings: int = len(SETTINGS),
        timeout: float = 600) -> None:
    if shutil.which("verilator") and do_speed:
        speed()
    if shutil.which("yosys") and do_calibrate:
        calibrate(n_settings, timeout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rtl")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--settings", type=int, default=len(SETTINGS))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    both = not (args.speed or args.calibrate)
    run(args.speed or both, args.calibrate or both, args.settings, args.timeout)
