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
from lstm_hw.compile.pipeline import hardware_cost
from lstm_hw.diagnostics import NetlistError
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


# The settings the cost model's constants were fitted on: every block's format (W) and the
# gates' table sizes on the lecture's cell and its pipelined, folded twin; then gates and the
# rest of different widths, so the ranking is not only "W goes up".
FITTED = ([(net, [f"*=ap_fixed<{w},{w // 2},AP_RND,AP_SAT>", f"*_gate:table_size={t}"])
           for net in ("memory_cell", "memory_cell_pipelined")
           for w in (6, 8, 10, 12, 14, 16) for t in (16, 256, 1024)]
          + [(net, [f"*=ap_fixed<{w},{w // 2},AP_RND,AP_SAT>",
                    f"*_gate=ap_fixed<{g},1,AP_RND,AP_SAT>", "*_gate:table_size=256"])
             for net in ("memory_cell", "memory_cell_pipelined")
             for w, g in ((16, 6), (8, 14), (12, 8), (6, 12))])
HELD_OUT_NETLISTS = ("memory_cell", "memory_cell_pipelined", "memory_cell_peephole",
                     "memory_cell_layer", "memory_cell_peephole_lecture")
QUANTISATION = ("AP_TRN", "AP_RND", "AP_RND_CONV")
OVERFLOW = ("AP_WRAP", "AP_SAT")


def held_out(n: int, seed: int = 13) -> list[tuple[str, list[str]]]:
    """Settings the model was not fitted on: other shipped netlists, each block of its own
    random format (W 4 to 18, rounding and overflow modes) and random table sizes."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        net = HELD_OUT_NETLISTS[k % len(HELD_OUT_NETLISTS)]
        circuit = lstm_hw.load(NETLISTS / f"{net}.yaml")
        rules = []
        for c in circuit.cells:
            if c.op in ("reg", "input") or c.impl == "table":
                continue      # a register keeps its input's format; tables come next
            w = int(rng.integers(4, 19))
            rules.append(f"{c.name}=ap_fixed<{w},{int(rng.integers(1, w))},"
                         f"{rng.choice(QUANTISATION)},{rng.choice(OVERFLOW)}>")
        for c in circuit.cells:
            if c.impl == "table":
                w = int(rng.integers(4, 19))
                rules += [f"{c.name}=ap_fixed<{w},1,{rng.choice(QUANTISATION)},AP_SAT>",
                          f"{c.name}:table_size={int(2 ** rng.integers(4, 12))}"]
        out.append((net, rules))
    return out


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


def synth_and_model(settings, timeout: float) -> tuple[list[float], list[float]]:
    """Yosys's and the model's LUT-equivalents of each (netlist, precision) setting, printed."""
    model, synth = [], []
    for net, precision in settings:
        circuit = lstm_hw.load(NETLISTS / f"{net}.yaml", precision)
        try:
            result = synthesise(export_verilog(circuit), "xilinx", timeout)
        except NetlistError as exc:
            print(f"  {net:<22} not exported ({str(exc).splitlines()[0]})")
            continue
        except SynthTimeout:
            print(f"  {net:<22} {' '.join(precision)}: Yosys over {timeout:g} s (left out)")
            continue
        model.append(hardware_cost(circuit)["total"])
        synth.append(result.lut_equivalents)
        rules = " ".join(precision)
        print(f"  {net:<22} {rules[:60] + ('...' if len(rules) > 60 else ''):<63} "
              f"model {model[-1]:>7,.0f}  Yosys {synth[-1]:>7,.0f}  ({result.luts} LUTs, "
              f"{result.ffs} FFs, {result.dsps} DSPs, {result.brams:g} BRAMs, "
              f"{result.seconds:g} s)", flush=True)
    return model, synth


def calibrate(n_fitted: int, n_held_out: int, timeout: float) -> None:
    print(f"the cost model against Yosys (synth_xilinx -family xcup): {n_fitted} settings the "
          f"model was fitted on")
    model, synth = synth_and_model(FITTED[:n_fitted], timeout)
    report(f"Spearman rank correlation, model vs Yosys LUT-eq, fitted ({len(model)} settings)",
           spearman(model, synth), "x")
    print(f"{n_held_out} held-out settings (other netlists, random formats per block)")
    model_h, synth_h = synth_and_model(held_out(n_held_out), timeout)
    report(f"Spearman rank correlation, held out ({len(model_h)} settings)",
           spearman(model_h, synth_h), "x")
    report(f"Spearman rank correlation, all ({len(model) + len(model_h)} settings)",
           spearman(model + model_h, synth + synth_h), "x")
    for path in sorted(NETLISTS.glob("*.yaml")):
        try:
            result = synthesise(export_verilog(lstm_hw.load(path)), "xilinx", timeout)
            report(f"Yosys synth_xilinx of {path.stem}", result.seconds, "s")
        except SynthTimeout:
            print(f"  Yosys synth_xilinx of {path.stem}: over {timeout:g} s (stopped)")
        except NetlistError as exc:
            print(f"  {path.stem}: not exported ({str(exc).splitlines()[0]})")


def run(do_speed: bool = True, do_calibrate: bool = True, n_fitted: int = len(FITTED),
        n_held_out: int = 16, timeout: float = 600) -> None:
    if shutil.which("verilator") and do_speed:
        speed()
    if shutil.which("yosys") and do_calibrate:
        calibrate(n_fitted, n_held_out, timeout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rtl")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--settings", type=int, default=len(FITTED),
                        help="the first N fitted settings")
    parser.add_argument("--held-out", type=int, default=16, help="N held-out settings")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    both = not (args.speed or args.calibrate)
    run(args.speed or both, args.calibrate or both, args.settings, args.held_out, args.timeout)
