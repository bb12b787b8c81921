"""``check``: does a netlist do the memory task in fixed point? Fixed vs float vs ideal.

Runs the lecture's sequence and seeded random sequences through the fixed-point engine and the
float reference, scores both against the ideal answer, and, when the fixed point fails, explains
where: the first wrong step with every signal's fixed and float value, the signals that overflowed
and the constants that did not fit their formats.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import limits
from ..compile.circuit import Circuit
from ..diagnostics import DataError
from ..report.params import parameter_errors
from ..report.table import fmt_num, render_table
from ..sim.reference import run_reference
from ..sim.simulator import Simulator
from . import memory


@dataclass
class CheckResult:
    circuit: Circuit
    lecture_fixed: np.ndarray           # y per step
    lecture_float: np.ndarray
    lecture_score: memory.Score
    n_sequences: int
    steps: int
    seed: int
    fixed: memory.Score
    float_: memory.Score
    max_fixed_float: float
    overflow: dict[str, int] = field(default_factory=dict)
    diagnosis: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.lecture_score.passed and self.fixed.passed


def task_ports(circuit: Circuit) -> None:
    if len(circuit.input_columns()) != 3 or len(circuit.output_columns()) != 1:
        raise DataError(f"the memory task needs 3 input elements (x1, x2, x3) and 1 output; "
                        f"'{circuit.name}' has inputs {circuit.input_columns()} and outputs "
                        f"{circuit.output_columns()}")


def run_check(circuit: Circuit, n_sequences: int = 1000, steps: int = 50, seed: int = 0,
              tolerance: float | None = None, sim: Simulator | None = None) -> CheckResult:
    """tolerance: None for the netlist's own (``task:``), else 0.5."""
    task_ports(circuit)
    limits.check_run_memory(circuit, n_sequences, steps)
    settings = circuit.task
    if tolerance is None:
        tolerance = settings.get("tolerance", 0.5)
    need = settings.get("min_accuracy", 1.0)
    sim = sim or Simulator(circuit)
    lec = sim.run(memory.LECTURE_INPUTS, record="all", strict=False)
    lec_float = run_reference(circuit, memory.LECTURE_INPUTS, record="all")
    out = circuit.cells[circuit.outputs[0]].name
    lec_y, lec_fy = lec.values(out)[0, :, 0], lec_float.values(out)[0, :, 0]
    x = memory.generate(n_sequences, steps, seed, memory.spec_of(settings))
    rnd = sim.run(x, strict=False)
    rnd_float = run_reference(circuit, x)
    y, fy = rnd.values(out)[:, :, 0], rnd_float.values(out)[:, :, 0]
    overflow = dict(lec.overflow)
    for k, v in rnd.overflow.items():
        overflow[k] = overflow.get(k, 0) + v
    result = CheckResult(circuit, lec_y, lec_fy,
                         memory.score(lec_y, memory.LECTURE_INPUTS, tolerance, need),
                         n_sequences, steps, seed, memory.score(y, x, tolerance, need),
                         memory.score(fy, x, tolerance, need),
                         float(np.abs(y - fy).max()) if y.size else 0.0, overflow)
    if not result.passed:
        result.diagnosis = diagnose(circuit, sim, result, x, lec, lec_float)
    return result


def diagnose(circuit, sim, result, x, lec, lec_float) -> list[str]:
    """Where it goes wrong: the first wrong step, signal by signal; overflows; bad constants."""
    if not result.lecture_score.passed:
        where, inputs, fixed, flt = "the lecture's sequence", memory.LECTURE_INPUTS, lec, lec_float
        seq, step = result.lecture_score.first_wrong
    else:
        seq, step = result.fixed.first_wrong
        where, inputs = f"random sequence {seq}", x[seq]
        fixed = sim.run(inputs, record="all", strict=False)
        flt = run_reference(circuit, inputs, record="all")
        seq = 0
    want = memory.ideal(inputs)[0, step]
    lines = [f"first wrong step: {where}, step {step + 1} (x1={fmt_num(inputs[step, 0])}, "
             f"x2={fmt_num(inputs[step, 1])}, x3={fmt_num(inputs[step, 2])}, ideal y="
             f"{fmt_num(want)}); every signal at that step:"]
    rows = []
    for c in circuit.cells:
        fv = fixed.values(c.name)[seq, step]
        rv = flt.values(c.name)[0 if flt.data.shape[0] == 1 else seq, step]
        for e in range(c.size):
            diff = abs(fv[e] - rv[e])
            mark = "<-" if diff >= 0.5 else ""
            rows.append([c.name if c.size == 1 else f"{c.name}[{e}]", str(c.fmt),
                         fmt_num(fv[e]), fmt_num(rv[e]), fmt_num(diff), mark])
    lines += ["  " + ln for ln in render_table(
        ["signal", "format", "fixed", "float", "|diff|", ""], rows, "llrrrl").splitlines()]
    if result.overflow:
        lines.append("overflow (values that did not fit their format, counted over all runs): "
                     + ", ".join(f"{k} {v}x" for k, v in result.overflow.items()))
    bad = [p for p in parameter_errors(circuit) if p.overflowed]
    for p in bad:
        lines.append(f"constant out of range: {p.describe()}")
    return lines


def render_check(r: CheckResult) -> str:
    c = r.circuit
    rows = []
    ideal = memory.LECTURE_Y
    for t, (x1, x2, x3) in enumerate(memory.LECTURE_INPUTS):
        ok = abs(r.lecture_fixed[t] - ideal[t]) < 0.5
        rows.append([t + 1, fmt_num(x1), fmt_num(x2), fmt_num(x3), fmt_num(ideal[t]),
                     fmt_num(r.lecture_fixed[t]), f"{r.lecture_float[t]:.4f}",
                     "ok" if ok else "WRONG"])
    lines = [f"{c.name}: the memory task (x2=1 adds x1, x2=-1 resets, x3=1 outputs)",
             "", "The lecture's sequence:",
             render_table(["step", "x1", "x2", "x3", "ideal", "fixed", "float", ""], rows,
                          "rrrrrrrl"), ""]
    f, fl = r.fixed, r.float_
    lines.append(f"{r.n_sequences} random sequences of {r.steps} steps (seed {r.seed}): "
                 f"{f.output_steps} output steps, {f.silent_steps} silent steps")
    lines.append(render_table(
        ["", "output acc", "silent acc", "max |y - ideal|"],
        [["fixed", f"{100 * f.output_accuracy:.2f}%", f"{100 * f.silent_accuracy:.2f}%",
          fmt_num(f.max_err_ideal)],
         ["float", f"{100 * fl.output_accuracy:.2f}%", f"{100 * fl.silent_accuracy:.2f}%",
          fmt_num(fl.max_err_ideal)]], "lrrr"))
    lines.append(f"max |fixed - float|: {fmt_num(r.max_fixed_float)}")
    if r.diagnosis:
        lines += ["", *r.diagnosis]
    need = r.fixed.min_accuracy
    rule = "" if need == 1.0 else f" (at least {100 * need:g}% of output and silent steps right)"
    lines += ["", f"PASS: the fixed-point circuit does the task{rule}" if r.passed else
              f"FAIL: the fixed-point circuit does not do the task{rule}"]
    return "\n".join(lines)
