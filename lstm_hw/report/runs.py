"""``run``: simulate a CSV of inputs and write per-step or per-cycle results and waveforms.

Per step: ``step``, the outputs (and --signals) as exact decimals, then for every output the
clock cycle its value was valid (``NAME@cycle``). Per cycle: ``cycle``, the input ``valid`` bit,
every output's valid bit, then the chosen hardware signals. Output files are written whole or
not at all.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..compile.circuit import Circuit
from ..diagnostics import DataError
from ..fixed import to_decimal
from ..sim.reference import run_reference
from ..sim.simulator import Simulator, Trace, select_signals
from .csvio import atomic_write, read_table, write_rows


@dataclass
class RunRequest:
    input: str
    output: str | None = None
    float_: bool = False
    signals: list[str] | None = None
    per_cycle: bool = False
    vcd: str | None = None
    engine: str = "auto"


def _columns(trace: Trace) -> list[str]:
    return [n if size == 1 else f"{n}[{k}]"
            for n, size in zip(trace.names, trace.sizes) for k in range(size)]


def _decimals(trace: Trace, rows: np.ndarray) -> list[list[str]]:
    fracs = [f.frac for f, n in zip(trace.formats, trace.sizes) for _ in range(n)]
    return [[to_decimal(v, fr) for v, fr in zip(row, fracs)] for row in rows]


def _signals(circuit: Circuit, patterns) -> list[str]:
    try:
        return [circuit.cells[i].name for i in select_signals(circuit, patterns)]
    except KeyError as exc:
        raise DataError(f"--signals: {exc.args[0]}") from None


def run_csv(circuit: Circuit, req: RunRequest, out=sys.stdout, err=sys.stderr) -> None:
    table = read_table(req.input, circuit.input_columns())
    x = table.data
    outputs = [circuit.cells[i].name for i in circuit.outputs]
    record = outputs + [n for n in (_signals(circuit, req.signals) if req.signals else [])
                        if n not in outputs]
    if req.float_:
        trace = run_reference(circuit, x, record)
        header = ["step"] + _columns(trace)
        rows = [[t + 1, *(repr(float(v)) for v in row)] for t, row in enumerate(trace.data[0])]
        _write(req.output, header, rows, out)
        return
    sim = Simulator(circuit, req.engine)
    try:
        raw = sim.quantise_inputs(x)
    except DataError as exc:
        if exc.step is None:
            raise
        line = table.lines[exc.step]
        col = table.positions[circuit.input_columns().index(exc.column)]
        raise DataError(f"{req.input}:{line}:{col}: error: column '{exc.column}': "
                        f"{exc.detail}") from None
    ii = sim.timing.ii
    if req.per_cycle or req.vcd:
        hw_record = ("all" if not req.signals else
                     [c.name for c in sim.hardware.cells if c.op == "input"] +
                     [sim.hardware.cells[sim.present[circuit.by_name[n]]].name for n in record])
        cycles = sim.run_cycles(raw, hw_record, raw_inputs=True)
        n_cycles = cycles.data.shape[1]
        valid = {n: sim.valid_cycles(circuit.by_name[n], raw.shape[1], n_cycles)
                 for n in outputs}
        if req.vcd:
            from .vcd import write_vcd
            write_vcd(req.vcd, cycles, circuit.name, valid)
    if req.per_cycle:
        header = ["cycle", *(f"{n}.valid" for n in outputs)] + _columns(cycles)
        flags = np.stack([valid[n] for n in outputs], axis=1)
        rows = [[t, *flags[t], *vals] for t, vals in
                enumerate(_decimals(cycles, cycles.data[0]))]
        _report_overflow(cycles.overflow, err)
    else:
        trace = sim.run(raw, record, raw_inputs=True)
        lat = [sim.timing.finish[circuit.by_name[n]] for n in outputs]
        header = ["step"] + _columns(trace) + [f"{n}@cycle" for n in outputs]
        rows = [[t + 1, *vals, *(t * ii + d for d in lat)]
                for t, vals in enumerate(_decimals(trace, trace.data[0]))]
        _report_overflow(trace.overflow, err)
    _write(req.output, header, rows, out)


def _report_overflow(overflow: dict[str, int], err) -> None:
    for name, count in overflow.items():
        print(f"warning: '{name}' overflowed its format {count} time"
              f"{'s' if count > 1 else ''}", file=err)


def _write(path: str | None, header, rows, out) -> None:
    if path:
        with atomic_write(path) as fh:
            write_rows(fh, header, rows)
    else:
        write_rows(out, header, rows)
