"""``lstm-hw profile``: the values each signal takes, against the range of its format.

The float reference runs the memory task's sequences (the lecture's and the random ones that
check draws) or, without the task, seeded random inputs; per signal (over all its elements,
streams and steps) it reports min, max and percentiles (1, 50, 99, 99.9), and the answer that
hls4ml's profiling plots leave to the reader: the integer bits the signal needs, against the
ones its format gives.

Integer bits needed (sign included for ap_fixed): the fewest I such that every value, rounded to
the format's fractional step (as the hardware rounds it), lies in the format's range
[-2^(I-1), 2^(I-1) - 2^-F] (ap_ufixed: [0, 2^I - 2^-F]). Rounding matters: a gate whose float
value reaches 0.9997 becomes 1.0 with 8 fractional bits, which needs 2 integer bits, not 1.
The fixed-point circuit runs the same inputs, and its overflow counts are reported alongside.
Percentiles come from at most ``MAX_SAMPLES`` values per signal (evenly strided); min and max
from all of them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..compile.circuit import Circuit
from ..files import open_output
from ..fixed import FixedFormat
from ..progress import Progress
from ..report.csvio import write_rows
from ..report.table import render_table
from ..sim.reference import run_reference
from ..sim.simulator import Simulator
from ..tasks import memory
from .evaluate import EvalConfig, elaborate_setting, has_task, random_inputs

PERCENTILES = (1.0, 50.0, 99.0, 99.9)
MAX_SAMPLES = 1_000_000
BATCH = 250      # sequences per reference run (bounds memory on wide networks)


@dataclass
class SignalRange:
    name: str
    op: str
    fmt: FixedFormat
    lo: float
    hi: float
    percentiles: tuple[float, ...]    # at PERCENTILES
    needed: int | None                # integer bits needed (None: the signal is always 0)
    overflow: int                     # values that did not fit, in the fixed-point run

    @property
    def given(self) -> int:
        return self.fmt.integer

    @property
    def spare(self) -> int:
        """Integer bits given beyond the need (negative: short)."""
        return 0 if self.needed is None else self.given - self.needed

    def verdict(self) -> str:
        if self.needed is None:
            return f"always 0 (has {self.given} integer bits)"
        text = f"needs {self.needed} integer bits, has {self.given}"
        if self.spare > 0:
            text += f": wastes {self.spare}"
        elif self.spare < 0:
            text += f": {-self.spare} short"
        return text


@dataclass
class Profile:
    circuit: Circuit
    config: EvalConfig
    source: str                 # what the inputs were
    signals: list[SignalRange]

    def by_name(self) -> dict[str, SignalRange]:
        return {s.name: s for s in self.signals}


def integer_bits(lo: float, hi: float, fmt: FixedFormat) -> int | None:
    """Fewest integer bits I whose range, at fmt's fractional step, holds lo..hi rounded."""
    step = math.ldexp(1.0, -fmt.frac)
    lo_q, hi_q = round(lo / step) * step, round(hi / step) * step
    if lo_q == 0 and hi_q == 0:
        return None
    need = -64
    if fmt.signed:
        if hi_q > 0:    # hi_q <= 2^(I-1) - step  <=>  hi_q + step <= 2^(I-1)
            need = max(need, math.ceil(math.log2(hi_q + step)) + 1)
        if lo_q < 0:    # -2^(I-1) <= lo_q
            need = max(need, math.ceil(math.log2(-lo_q)) + 1)
    else:
        if hi_q > 0:
            need = max(need, math.ceil(math.log2(hi_q + step)))
        if lo_q < 0:
            need = 64   # no ap_ufixed holds a negative value
    return need


def profile_inputs(config: EvalConfig, circuit: Circuit) -> tuple[list[np.ndarray], str]:
    if has_task(circuit):
        return ([memory.LECTURE_INPUTS[None], random_inputs(config, circuit)],
                f"the lecture's sequence and {config.sequences} random sequences of "
                f"{config.steps} steps (seed {config.seed}), as check draws them")
    lo, hi = config.input_range
    return ([random_inputs(config, circuit)],
            f"{config.sequences} random sequences of {config.steps} steps, inputs uniform in "
            f"[{lo:g}, {hi:g}] (seed {config.seed})")


def profile(config: EvalConfig, circuit: Circuit | None = None,
            show_progress: bool = True) -> Profile:
    """Ranges of every signal over the task's sequences (or random inputs); show_progress:
    progress on stderr (off where a caller shows its own)."""
    circuit = circuit or elaborate_setting(config)
    cells = circuit.cells
    sets, source = profile_inputs(config, circuit)
    n_values = sum(x.shape[0] * x.shape[1] for x in sets)
    lo = {c.id: math.inf for c in cells}
    hi = {c.id: -math.inf for c in cells}
    samples: dict[int, list[np.ndarray]] = {c.id: [] for c in cells}
    overflow: dict[str, int] = {}
    sim = Simulator(circuit)
    bar = Progress(sum(x.shape[0] for x in sets), "sequences", "profile",
                   enabled=None if show_progress else False)
    for x in sets:
        for k in range(0, x.shape[0], BATCH):
            bar.update(min(BATCH, x.shape[0] - k))
            part = x[k:k + BATCH]
            ref = run_reference(circuit, part, record="all")
            for c in cells:
                v = ref.values(c.name)
                lo[c.id] = min(lo[c.id], float(v.min()))
                hi[c.id] = max(hi[c.id], float(v.max()))
                stride = max(1, -(-n_values * c.size // MAX_SAMPLES))
                samples[c.id].append(v.ravel()[::stride])
            for name, n in sim.run(part, strict=False).overflow.items():
                overflow[name] = overflow.get(name, 0) + n
    bar.close()
    out = []
    for c in cells:
        values = np.concatenate(samples[c.id])
        pct = tuple(float(p) for p in np.percentile(values, PERCENTILES))
        out.append(SignalRange(c.name, c.op, c.fmt, lo[c.id], hi[c.id], pct,
                               integer_bits(lo[c.id], hi[c.id], c.fmt), overflow.get(c.name, 0)))
    return Profile(circuit, config, source, out)


def _num(x: float) -> str:
    return f"{x:.4g}"


def render_profile(p: Profile) -> str:
    lines = [f"profile {p.config.netlist}: value ranges in the float reference over {p.source}",
             ""]
    rows = []
    for s in p.signals:
        rows.append([s.name, s.op, str(s.fmt), _num(s.lo), *[_num(v) for v in s.percentiles],
                     _num(s.hi), s.overflow or "", s.verdict()])
    lines.append(render_table(
        ["signal", "op", "format", "min", "p1", "p50", "p99", "p99.9", "max", "overflow",
         "integer bits"], rows, "lllrrrrrrrl"))
    short = [s for s in p.signals if s.spare < 0]
    waste = [s for s in p.signals if s.spare > 0]
    lines += ["", "The answer:"]
    if short:
        lines.append("  need more integer bits: " + ", ".join(
            f"{s.name} (needs {s.needed}, has {s.given})" for s in short))
    else:
        lines.append("  no signal needs more integer bits than its format has")
    if waste:
        lines.append("  waste integer bits: " + ", ".join(
            f"{s.name} ({s.spare})" for s in sorted(waste, key=lambda s: -s.spare)))
    lines.append("  (`lstm-hw tune` narrows the formats from here, keeping the task or an error "
                 "target)")
    return "\n".join(lines)


def write_profile_csv(p: Profile, path: str) -> None:
    header = ["signal", "op", "format", "min", *[f"p{v:g}" for v in PERCENTILES], "max",
              "integer_bits_needed", "integer_bits", "overflow"]
    rows = [[s.name, s.op, str(s.fmt), repr(s.lo), *[repr(v) for v in s.percentiles],
             repr(s.hi), "" if s.needed is None else s.needed, s.given, s.overflow]
            for s in p.signals]
    with open_output(path) as fh:
        write_rows(fh, header, rows)
