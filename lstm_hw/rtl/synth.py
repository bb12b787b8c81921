"""``lstm-hw synth``: Yosys on the Verilog export, its resource counts next to the cost model's.

Xilinx (default): ``synth_xilinx -family xcup`` (UltraScale+, the part the cost model assumes),
without I/O buffers; LUTs are LUT1..LUT6, FFs the flip-flop primitives, DSPs DSP48E1/E2 slices,
BRAMs RAMB36 (RAMB18 counts a half), LUTRAM the distributed RAM primitives. Generic: Yosys's own
``synth -lut 6``. LUT-equivalents add them up as ``cost()`` does: LUTs + LUTRAM + 100 per DSP +
FFs / 2 + 576 per BRAM (a RAMB36 holds 36 Kbit, 576 LUT6 ROMs). Results are cached under the
cache folder by the hash of the Verilog and the command, so a sweep synthesises a setting once.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..compile.cells import DSP_LUTS, FFS_PER_LUT, ROM_BITS_PER_LUT
from ..diagnostics import UserError
from .verilog import VerilogModule

TARGETS = ("xilinx", "generic")
TIMEOUT = 600
BRAM_LUTS = 36 * 1024 // ROM_BITS_PER_LUT
FF_CELLS = re.compile(r"^(FD[RSCP]E|FD[RSCP]E_1|\$_S?DFFE?_\w+|\$_DFF_\w+)$")


@dataclass
class SynthResult:
    target: str
    luts: int
    ffs: int
    dsps: int
    brams: float
    lutram: int
    seconds: float

    @property
    def lut_equivalents(self) -> float:
        return (self.luts + self.lutram + DSP_LUTS * self.dsps + self.ffs / FFS_PER_LUT
                + BRAM_LUTS * self.brams)


class SynthTimeout(UserError):
    exit_status = 1


def script(module: VerilogModule, path: str, target: str) -> str:
    if target == "xilinx":
        run = f"synth_xilinx -family xcup -noiopad -flatten -top {module.name}"
    else:
        run = f"synth -flatten -lut 6 -top {module.name}"
    return f"read_verilog {path}; {run}; tee -o stat.txt stat"


def cell_counts(stat: str) -> dict[str, int]:
    """The 'Number of cells' breakdown of Yosys's ``stat`` (the last module printed)."""
    counts: dict[str, int] = {}
    for line in stat.splitlines():
        m = re.match(r"^\s+(\S+)\s+(\d+)$", line)
        if m and not line.strip().startswith("Number"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def summarise(counts: dict[str, int], target: str, seconds: float) -> SynthResult:
    luts = sum(n for c, n in counts.items() if re.match(r"^(LUT[1-6]|\$lut)$", c))
    ffs = sum(n for c, n in counts.items() if FF_CELLS.match(c))
    dsps = sum(n for c, n in counts.items() if c.startswith("DSP48"))
    brams = sum(n * (1 if c.startswith("RAMB36") else 0.5) for c, n in counts.items()
                if c.startswith(("RAMB36", "RAMB18")))
    lutram = sum(n for c, n in counts.items() if re.match(r"^RAM(32|64|128|256)", c))
    return SynthResult(target, luts, ffs, dsps, brams, lutram, round(seconds, 1))


def cache_dir() -> Path:
    root = os.environ.get("LSTM_HW_CACHE_DIR") or Path.home() / ".cache" / "lstm_hw"
    return Path(root) / "synth"


def synthesise(module: VerilogModule, target: str = "xilinx",
               timeout: float = TIMEOUT) -> SynthResult:
    """Yosys on the module (cached by content); SynthTimeout past ``timeout`` seconds."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise UserError("error: synth needs Yosys on the PATH (Debian: apt-get install yosys)")
    key = hashlib.sha256((script(module, "top.v", target) + module.text).encode()).hexdigest()
    cached = cache_dir() / f"{key}.json"
    if cached.exists():
        return SynthResult(**json.loads(cached.read_text()))
    with tempfile.TemporaryDirectory(prefix="lstm_hw_synth_") as tmp:
        (Path(tmp) / "top.v").write_text(module.text)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([yosys, "-q", "-p", script(module, "top.v", target)], cwd=tmp,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SynthTimeout(f"error: Yosys took over {timeout:g} s on {module.name} "
                               f"(stopped; not waited for)") from None
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise UserError(f"error: Yosys failed on {module.name}:\n{proc.stderr[-2000:]}")
        result = summarise(cell_counts((Path(tmp) / "stat.txt").read_text()), target, seconds)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(asdict(result)))
    return result
