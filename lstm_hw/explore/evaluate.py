"""Evaluate one setting: elaborate with its rules, score it, estimate its cost.

A netlist with the memory task (3 input elements, 1 output) is scored by ``run_check`` itself,
with the same sequences, steps, seed and tolerance as ``lstm-hw check``, so a sweep's verdict is
check's verdict. Every netlist is also compared with its float reference (which does not depend
on the formats, so it is computed once per process): max |fixed - float|, RMSE and SQNR per
output and per named signal, on the task's random sequences or, without the task, on seeded
random inputs drawn uniformly from ``input_range``.

This module is what a worker process (or a Dask worker) runs: ``evaluate_chunk`` is a plain
top-level function of plain, picklable arguments, and everything it returns is plain data.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .. import limits
from ..compile.circuit import Circuit
from ..compile.pipeline import compile_netlist, hardware_cost
from ..diagnostics import NetlistError
from ..netlist.parse import load_design
from ..report.params import parameter_errors
from ..rtl.synth import SynthTimeout
from ..sim.reference import run_reference
from ..sim.simulator import Simulator, select_signals
from ..tasks import memory
from ..tasks.check import run_check
from .grid import Setting


@dataclass(frozen=True)
class EvalConfig:
    """How every setting of a sweep (or a tune) is judged."""

    netlist: str
    base: tuple[str, ...] = ()           # --precision rules applied before the setting's
    weights_dir: str | None = None
    sequences: int = 1000
    steps: int = 50
    seed: int = 0
    tolerance: float | None = None       # None: the netlist's task tolerance (as check)
    signals: tuple[str, ...] = ()        # globs of signals whose error is reported too
    input_range: tuple[float, float] = (-1.0, 1.0)   # random inputs without the task
    cost: str = "model"                  # what settings are ranked by: "model" or "synth"


@dataclass(frozen=True)
class SignalError:
    """Fixed point against the float reference over every element, stream and step."""

    name: str
    is_output: bool     # an output, or a signal named with --signals
    max_abs: float
    rmse: float
    sqnr_db: float      # 10 log10(sum ref^2 / sum err^2); inf when the error is 0


@dataclass(frozen=True)
class TaskScore:
    passed: bool                # check's verdict
    lecture_passed: bool
    lecture_accuracy: float     # the worse of output and silent accuracy on the lecture's steps
    output_accuracy: float
    silent_accuracy: float
    max_err_ideal: float
    min_accuracy: float         # the netlist's own pass mark

    @property
    def accuracy(self) -> float:
        return min(self.output_accuracy, self.silent_accuracy)


@dataclass
class SettingResult:
    index: int                  # position in the sweep's grid order
    setting: Setting
    cost: dict[str, float]      # compile/cells.py: cost, summed (COST_KEYS)
    task: TaskScore | None
    errors: list[SignalError]   # outputs first, then the named signals
    overflow: dict[str, int]    # signal -> values that did not fit (all runs)
    bad_constants: list[str] = field(default_factory=list)   # constants out of their range
    pareto: bool = False

    @property
    def error(self) -> float:
        """The one number a sweep ranks by (lower is better): the fraction of steps wrong
        (1 - the worse of output and silent accuracy) with the task, else the worst RMSE."""
        if self.task is not None:
            return 1.0 - self.task.accuracy
        return max((e.rmse for e in self.output_errors()), default=0.0)

    def output_errors(self) -> list[SignalError]:
        return [e for e in self.errors if e.is_output]

    def worst(self) -> SignalError:
        """Worst over the outputs: the largest max |err| and RMSE, the lowest SQNR."""
        outs = self.output_errors() or self.errors
        return SignalError("outputs", True, max(e.max_abs for e in outs), max(e.rmse for e in outs),
                           min(e.sqnr_db for e in outs))


@dataclass
class Skipped:
    """A setting that did not elaborate (e.g. an int64 headroom refusal)."""

    index: int
    setting: Setting
    message: str


def has_task(circuit: Circuit) -> bool:
    return len(circuit.input_columns()) == 3 and len(circuit.output_columns()) == 1


# -- per-process caches (a worker evaluates many settings of one netlist) ----------------------
_DESIGNS: dict = {}
_INPUTS: dict = {}


def design_of(path: str):
    key = (os.path.abspath(path), os.stat(path).st_mtime_ns)
    if key not in _DESIGNS:
        _DESIGNS.clear()
        _DESIGNS[key] = load_design(path)
    return _DESIGNS[key]


def elaborate_setting(config: EvalConfig, rules=()) -> Circuit:
    """The netlist with the base rules, then ``rules``, through the whole pipeline (its compiled
    form kept with the circuit for the Simulator); raises NetlistError."""
    return compile_netlist(config.netlist, tuple(config.base) + tuple(rules), config.weights_dir,
                           design_of(config.netlist)).circuit


def random_inputs(config: EvalConfig, circuit: Circuit) -> np.ndarray:
    """The random sequences every setting runs: the task's (as check draws them) or uniform."""
    limits.check_run_memory(circuit, config.sequences, config.steps)
    if has_task(circuit):
        return memory.generate(config.sequences, config.steps, config.seed,
                               memory.spec_of(circuit.task))
    rng = np.random.default_rng(config.seed)
    lo, hi = config.input_range
    return rng.uniform(lo, hi, (config.sequences, config.steps, len(circuit.input_columns())))


def reference_of(config: EvalConfig, circuit: Circuit):
    """(inputs, names of the compared signals, float reference trace), once per process."""
    key = (config, os.stat(config.netlist).st_mtime_ns)
    if key not in _INPUTS:
        _INPUTS.clear()
        x = random_inputs(config, circuit)
        names = [circuit.cells[i].name for i in circuit.outputs]
        extra = [circuit.cells[i].name for i in select_signals(circuit, list(config.signals))] \
            if config.signals else []
        names += [n for n in extra if n not in names]
        _INPUTS[key] = (x, names, run_reference(circuit, x, record=names))
    return _INPUTS[key]


# Every setting is a new program: the interpreter runs it at once, where the compiled backend
# would generate and compile code for each one (the same bits either way).
ENGINE = "interpreter"


class _Recorder(Simulator):
    """A Simulator that keeps the trace of its random-sequence run (what check scores), with
    the named signals recorded too, so that the error against the float reference needs no
    second run."""

    def __init__(self, circuit: Circuit, record: list[str], n_sequences: int,
                 threads: int | None = None):
        super().__init__(circuit, engine=ENGINE, threads=threads)
        self.names, self.n = record, n_sequences
        self.trace = None

    def run(self, inputs, record="outputs", **kw):
        batch = np.ndim(inputs) == 3 and np.shape(inputs)[0] == self.n and record == "outputs"
        trace = super().run(inputs, self.names if batch else record, **kw)
        if batch:
            self.trace = trace
        return trace


def signal_errors(fixed, ref, names: list[str], n_outputs: int) -> list[SignalError]:
    out = []
    for k, name in enumerate(names):
        f, r = fixed.values(name), ref.values(name)
        err = f - r
        power, noise = float(np.sum(r * r)), float(np.sum(err * err))
        sqnr = math.inf if noise == 0 else (10 * math.log10(power / noise) if power > 0
                                            else -math.inf)
        out.append(SignalError(name, k < n_outputs,
                               float(np.abs(err).max()) if err.size else 0.0,
                               float(np.sqrt(np.mean(err * err))) if err.size else 0.0, sqnr))
    return out


def setting_cost(config: EvalConfig, circuit: Circuit) -> dict[str, float]:
    """What a setting costs: the model's estimate of its hardware (COST_KEYS), or with
    ``config.cost == "synth"`` Yosys's synth_xilinx of its Verilog export (cached by content):
    ``total`` its LUT-equivalents and ``dsp`` its DSP slices in place of the model's, the
    model's total kept as ``model_total``, and its ``luts``, ``ffs`` and ``brams``."""
    model = hardware_cost(circuit)
    if config.cost != "synth":
        return model
    from ..rtl.synth import synthesise
    from ..rtl.verilog import export_verilog
    r = synthesise(export_verilog(circuit), "xilinx")
    return {**model, "model_total": model["total"], "total": r.lut_equivalents, "dsp": r.dsps,
            "luts": r.luts + r.lutram, "ffs": r.ffs, "brams": r.brams}


def evaluate(config: EvalConfig, setting: Setting, index: int = 0,
             threads: int | None = None):
    """SettingResult, or Skipped if the setting does not elaborate. threads: the cores one
    engine call may use (1 in a worker process: the settings are the parallel part)."""
    try:
        circuit = elaborate_setting(config, setting.rules)
    except NetlistError as exc:
        return Skipped(index, setting, str(exc).splitlines()[0])
    x, names, ref = reference_of(config, circuit)
    n_out = len(circuit.outputs)
    bad = [f"{p.cell}.{p.what}" for p in parameter_errors(circuit) if p.overflowed]
    try:
        cost = setting_cost(config, circuit)
    except SynthTimeout as exc:
        return Skipped(index, setting, str(exc).removeprefix("error: "))
    if has_task(circuit):
        sim = _Recorder(circuit, names, config.sequences, threads)
        r = run_check(circuit, config.sequences, config.steps, config.seed, config.tolerance,
                      sim=sim)
        lec = r.lecture_score
        task = TaskScore(r.passed, lec.passed, min(lec.output_accuracy, lec.silent_accuracy),
                         r.fixed.output_accuracy,
                         r.fixed.silent_accuracy, r.fixed.max_err_ideal, r.fixed.min_accuracy)
        errors = signal_errors(sim.trace, ref, names, n_out)
        overflow = r.overflow
    else:
        trace = Simulator(circuit, engine=ENGINE, threads=threads).run(x, record=names,
                                                                       strict=False)
        task, errors, overflow = None, signal_errors(trace, ref, names, n_out), trace.overflow
    order = {c.name: c.id for c in circuit.cells}
    overflow = dict(sorted(overflow.items(), key=lambda kv: order.get(kv[0], -1)))
    return SettingResult(index, setting, cost, task, errors, overflow, bad)


def evaluate_chunk(config: EvalConfig, chunk: list[tuple[int, Setting]]) -> list:
    """What a worker runs: several settings, in order."""
    return [evaluate(config, setting, index, threads=1) for index, setting in chunk]
