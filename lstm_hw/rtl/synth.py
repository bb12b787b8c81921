"""``lstm-hw synth``: Yosys on the Verilog export, its resource counts next to the cost model's.

Xilinx (default): ``synth_xilinx -family xcup`` (UltraScale+, the part the cost model assumes),
without I/O buffers; LUTs are LUT1..LUT6, FFs the flip-flop primitives, DSPs DSP48E1/E2 slices,
BRAMs RAMB36 (RAMB18 counts a half), LUTRAM the distributed RAM primitives. Generic: Yosys's own
``synth -lut 6``. LUT-equivalents add them up as ``cost()`` does: LUTs + LUTRAM + 100 per DSP +
FFs / 2 + 576 per BRAM (a RAMB36 holds 36 Kbit, 576 LUT6 ROMs). Results are cached under the
cache folder by the hash of the Verilog and the command, so a sweep synthesises a setting once.

Per netlist signal (and so per module instance): the export is flat, so after synthesis Yosys's
``autoname`` names every cell after the signal it drives, and a cell is counted for the netlist
signal whose Verilog name (names.py: ``l1.c`` element 3 is ``l1_c_3``) begins its name; cells
left without such a name (logic shared between signals, which synthesis merged) count apart.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..compile.cells import DSP_LUTS, FFS_PER_LUT, ROM_BITS_PER_LUT
from ..diagnostics import UserError
from .verilog import VerilogModule

TARGETS = ("xilinx", "generic")
RESOURCES = ("luts", "ffs", "dsps", "brams", "lutram")
TIMEOUT = 600
BRAM_LUTS = 36 * 1024 // ROM_BITS_PER_LUT
FF_CELLS = re.compile(r"^(FD[RSCP]E|FD[RSCP]E_1|\$_S?DFFE?_\w+|\$_DFF_\w+)$")
# the cells of each resource, as Yosys selections (names listed per resource); a RAMB18 is
# half a BRAM
SELECT = {"xilinx": {"luts": "t:LUT1 t:LUT2 t:LUT3 t:LUT4 t:LUT5 t:LUT6",
                     "ffs": "t:FDRE t:FDSE t:FDCE t:FDPE t:FDRE_1 t:FDSE_1 t:FDCE_1 t:FDPE_1",
                     "dsps": "t:DSP48*", "ramb36": "t:RAMB36*", "ramb18": "t:RAMB18*",
                     "lutram": "t:RAM32* t:RAM64* t:RAM128* t:RAM256*"},
          "generic": {"luts": "t:$lut", "ffs": "t:$_DFF_* t:$_SDFF* t:$_DFFE_* t:$_SDFFE*"}}


@dataclass
class SynthResult:
    target: str
    luts: int
    ffs: int
    dsps: int
    brams: float
    lutram: int
    seconds: float
    names: dict[str, list[str]] = field(default_factory=dict)   # resource -> its cells' names

    @property
    def lut_equivalents(self) -> float:
        return lut_equivalents({k: getattr(self, k) for k in RESOURCES})


def lut_equivalents(counts: dict[str, float]) -> float:
    """LUT-equivalents of Yosys's counts (keys RESOURCES), as cost() adds up its own."""
    return (counts["luts"] + counts["lutram"] + DSP_LUTS * counts["dsps"]
            + counts["ffs"] / FFS_PER_LUT + BRAM_LUTS * counts["brams"])


class SynthTimeout(UserError):
    exit_status = 1


def script(module: VerilogModule, path: str, target: str) -> str:
    if target == "xilinx":
        run = f"synth_xilinx -family xcup -noiopad -flatten -top {module.name}"
    else:
        run = f"synth -flatten -lut 6 -top {module.name}"
    lists = "".join(f"; tee -o {what}.txt select -list {sel}"
                    for what, sel in SELECT[target].items())
    return f"read_verilog {path}; {run}; autoname; tee -o stat.txt stat{lists}"


def cell_counts(stat: str) -> dict[str, int]:
    """The 'Number of cells' breakdown of Yosys's ``stat`` (the last module printed)."""
    counts: dict[str, int] = {}
    for line in stat.splitlines():
        m = re.match(r"^\s+(\S+)\s+(\d+)$", line)
        if m and not line.strip().startswith("Number"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def cell_names(listing: str) -> list[str]:
    """The cell names in ``select -list``'s 'module/name' lines."""
    return [line.strip().split("/", 1)[1] for line in listing.splitlines() if "/" in line]


def summarise(counts: dict[str, int], target: str, seconds: float,
              names: dict[str, list[str]] | None = None) -> SynthResult:
    luts = sum(n for c, n in counts.items() if re.match(r"^(LUT[1-6]|\$lut)$", c))
    ffs = sum(n for c, n in counts.items() if FF_CELLS.match(c))
    dsps = sum(n for c, n in counts.items() if c.startswith("DSP48"))
    brams = sum(n * (1 if c.startswith("RAMB36") else 0.5) for c, n in counts.items()
                if c.startswith(("RAMB36", "RAMB18")))
    lutram = sum(n for c, n in counts.items() if re.match(r"^RAM(32|64|128|256)", c))
    return SynthResult(target, luts, ffs, dsps, brams, lutram, round(seconds, 1), names or {})


def _die_with_parent() -> None:
    """In Yosys's process, before it starts (Linux): killed when the process that started it
    ends, so a sweep worker stopped by Ctrl-C or SIGTERM leaves no Yosys running."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG


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
                                  capture_output=True, text=True, timeout=timeout,
                                  preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            raise SynthTimeout(f"error: Yosys took over {timeout:g} s on {module.name} "
                               f"(stopped; not waited for)") from None
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise UserError(f"error: Yosys failed on {module.name}:\n{proc.stderr[-2000:]}")
        names = {what: cell_names((Path(tmp) / f"{what}.txt").read_text())
                 for what in SELECT[target]}
        result = summarise(cell_counts((Path(tmp) / "stat.txt").read_text()), target, seconds,
                           names)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(asdict(result)))
    return result


def by_signal(result: SynthResult, verilog: dict[str, str]) -> dict[str | None, dict]:
    """Yosys's cells per hardware signal (None: cells named after no signal): each cell goes to
    the signal whose Verilog identifier (``verilog``: identifier -> hardware cell name, from
    names.py) is the longest prefix of its name ending at an ``_`` or at its end (the export's
    internal wires are named after their signal too: ``l1_c_3_sum``)."""
    out: dict[str | None, dict[str, float]] = {}
    for what, names in result.names.items():
        for name in names:
            owner, cut = None, len(name)
            while cut > 0:
                if name[:cut] in verilog:
                    owner = verilog[name[:cut]]
                    break
                cut = name.rfind("_", 0, cut)
            counts = out.setdefault(owner, dict.fromkeys(RESOURCES, 0))
            if what.startswith("ramb"):
                counts["brams"] += 0.5 if what == "ramb18" else 1
            else:
                counts[what] += 1
    return out
