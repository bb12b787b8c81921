"""The compiled engine's machine code and its compile time, each in a fresh process with empty
caches (numba shows the assembly of what it compiles, not of what it loads from its cache).

- the 2-layer 128-unit network's generated module: the wall time of its first run of one
  stream (the compile of run_one and the module's quantisers; the package's own numba functions
  are compiled first, as any earlier run would have); and a first run of 5,000 steps as 'auto'
  runs it, the module compiling in the background while the interpreter starts (the wait
  before the first cycle is the interpreter's own first compile);
- the 64x64 layer's hot loops: which multiply instructions LLVM emitted for each function (run:
  many streams, run_one: one), narrow lanes against int64, and the multiply-adds a core can
  issue per cycle with them, the peak the engine figures are measured against.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from .common import ROOT, report

# Multiply-adds a core issues per cycle (Intel's and uops.info's throughputs for Golden/Raptor
# Cove, the cores of Sapphire and Emerald Rapids), for 256-bit vectors (ymm; xmm: half):
#   vpmaddwd ymm: 16 products of int16 pairs, summed in pairs into 8 int32; 2 a cycle (p0, p5)
#   vpmulld ymm: 8 int32 products, 1 a cycle (2 uops on p0/p1), the adds apart
#   vpmullq ymm: 4 int64 products, 1 every 1.5 cycles (3 uops on p0)
MACS_PER_CYCLE = {"vpmaddwd": 32, "vpmulld": 8, "vpmullq": 4 / 1.5}
# an instruction and the width of its destination (AT&T syntax: the last operand): LLVM emits
# vpmaddwd on xmm registers in some loops, half the products of a ymm one
MULTIPLIES = re.compile(r"\b(vpmaddwd|vpdpwssd|vpmulld|vpmullq)\b[^\n]*%([xyz])mm\d+[ \t]*$",
                        re.M)
WIDTH = {"x": 0.5, "y": 1, "z": 2}   # products per instruction, against ymm


def macs_per_cycle(key: str) -> float:
    """A core's multiply-adds per cycle with "instruction width", e.g. "vpmaddwd xmm"."""
    instr, width = key.split()
    return MACS_PER_CYCLE.get(instr, MACS_PER_CYCLE["vpmaddwd"]) * WIDTH[width[0]]

_CHILD = r"""
import json, sys, tempfile, time
import numpy as np
import lstm_hw
sys.path.insert(0, {root!r})
what = {what!r}
out = {{}}
if what == "compile":
    net = lstm_hw.load({root!r} + "/netlists/lstm2x128.yaml")
    t0 = time.perf_counter()
    lstm_hw.Simulator(net, "interpreter").run(np.zeros((1, 2, 64)))   # the package's numba code
    out["interpreter"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lstm_hw.Simulator(net, "compiled").run(np.zeros((1, 2, 64)))
    out["seconds"] = time.perf_counter() - t0
elif what == "auto":
    net = lstm_hw.load({root!r} + "/netlists/lstm2x128.yaml")
    x = np.random.default_rng(1).uniform(-1, 1, (1, 5000, 64))
    t0 = time.perf_counter()
    lstm_hw.Simulator(net).run(x)
    out["seconds"] = time.perf_counter() - t0
else:
    from benchmarks.bench_engine import layer64
    with tempfile.TemporaryDirectory() as tmp:
        layer = lstm_hw.load(layer64(tmp))
    for narrow in (True, False):
        sim = lstm_hw.Simulator(layer, "compiled", narrow=narrow)
        for streams in (1, 4):
            sim.run(np.zeros((streams, 2, 64)))
        mod = sim.compiled()
        for fn in (mod.run_one, mod.run):
            out[f"{{fn.__name__}}, {{'narrow' if narrow else 'int64'}}"] = \
                "\n".join(fn.inspect_asm().values())
print(json.dumps(out))
"""


def _fresh(what: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": tmp, "LSTM_HW_CACHE_DIR": tmp}
        proc = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), what=what)],
                              env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout.splitlines()[-1])


def cpu_ghz() -> float:
    """The cores' clock as the kernel reports it (/proc/cpuinfo), in GHz."""
    mhz = re.findall(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)
    return max(map(float, mhz)) / 1000 if mhz else float("nan")


def run() -> dict[str, str]:
    """Prints the figures; returns each function's main multiply instruction (for bench_engine's
    peak figures)."""
    print("compiled engine: compile time and machine code (fresh processes, empty caches)")
    first = _fresh("compile")
    report("lstm2x128: the interpreter's first compile (numba's cache empty)",
           first["interpreter"], "s")
    report("lstm2x128 generated module, first run (compile of run_one)", first["seconds"], "s")
    report("lstm2x128, first run of 5,000 steps, auto (module compiled in the background)",
           _fresh("auto")["seconds"], "s")
    main = {}
    for name, asm in _fresh("asm").items():
        counts = Counter(f"{instr} {width}mm" for instr, width in MULTIPLIES.findall(asm))
        print(f"  layer64 {name}: {dict(counts) or 'no vector multiplies'}")
        # (vpdpwssd, VNNI, counts as vpmaddwd: one instruction for the multiply and the add)
        main[name] = max(counts, key=macs_per_cycle) if counts else "vpmullq ymm"
    ghz = cpu_ghz()
    for key in sorted(set(main.values()), key=macs_per_cycle):
        per_cycle = macs_per_cycle(key)
        report(f"peak of one core with {key} ({per_cycle:.3g} MAC/cycle x {ghz:.2f} GHz)",
               per_cycle * ghz * 1e9, "MAC/s")
    return main
