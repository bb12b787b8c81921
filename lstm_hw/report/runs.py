"""``run``: simulate a CSV of inputs and write per-step or per-cycle results and waveforms.

Per step: ``step``, the outputs (and --signals) as exact decimals, then for every output the
clock cycle its value was valid (``NAME@cycle``). Per cycle: ``cycle``, the input ``valid`` bit,
every output's valid bit, then the chosen hardware signals. Output files are written whole or
not at all.
"""
from __future__ import annotations

import csv
import itertools
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..compile.circuit import Circuit
from ..diagnostics import DataError
from ..fixed import to_decimal
from ..sim.reference import run_reference
from ..sim.simulator import Simulator, Trace, select_signals
from .csvio import atomic_write, iter_table, read_table, write_rows


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
    outputs = [circuit.cells[i].name for i in circuit.outputs]
    record = outputs + [n for n in (_signals(circuit, req.signals) if req.signals else [])
                        if n not in outputs]
    if req.float_:
        trace = run_reference(circuit, read_table(req.input, circuit.input_columns()).data,
                              record)
        header = ["step"] + _columns(trace)
        rows = [[t + 1, *(repr(float(v)) for v in row)] for t, row in enumerate(trace.data[0])]
        _write(req.output, header, rows, out)
        return
    sim = Simulator(circuit, req.engine)
    if req.per_cycle or req.vcd:
        _run_cycles(circuit, sim, req, record, outputs, out, err)
    else:
        _run_steps(circuit, sim, req, record, outputs, out, err)


def _quantised(circuit, sim, path: str, tables) -> Iterator[np.ndarray]:
    """The CSV's chunks as raw inputs; a value that does not fit is refused at its row and
    column."""
    for table in tables:
        try:
            yield sim.quantise_inputs(table.data)
        except DataError as exc:
            if exc.step is None:
                raise
            col = table.positions[circuit.input_columns().index(exc.column)]
            raise DataError(f"{path}:{table.lines[exc.step]}:{col}: error: column "
                            f"'{exc.column}': {exc.detail}") from None


def _run_steps(circuit, sim, req, record, outputs, out, err) -> None:
    """One row per time step, streamed: the input is read, simulated and written in chunks,
    so memory does not grow with the length of the run."""
    cells = [circuit.cell(n) for n in record]
    lat = [sim.timing.finish[circuit.by_name[n]] for n in outputs]
    header = ["step"] + [n if c.size == 1 else f"{n}[{k}]" for n, c in zip(record, cells)
                         for k in range(c.size)] + [f"{n}@cycle" for n in outputs]
    chunks = _quantised(circuit, sim, req.input, iter_table(req.input, circuit.input_columns()))
    chunks = itertools.chain([next(chunks)], chunks)   # header and first rows checked up front
    overflow: dict[str, int] = {}
    ii = sim.timing.ii

    def emit(fh) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        step = 0
        for part in sim.stream(chunks, record):
            for k, v in part.overflow.items():
                overflow[k] = overflow.get(k, 0) + v
            for vals in _decimals(part, part.data[0]):
                writer.writerow([step + 1, *vals, *(step * ii + d for d in lat)])
                step += 1

    if req.output:
        with atomic_write(req.output) as fh:
            emit(fh)
    else:
        emit(out)
    _report_overflow(overflow, err)


def _run_cycles(circuit, sim, req, record, outputs, out, err) -> None:
    """One row per clock cycle, and/or the waveforms (the whole run is held)."""
    table = read_table(req.input, circuit.input_columns())
    raw = next(_quantised(circuit, sim, req.input, [table]))
    hw_record = ("all" if not req.signals else
                 [c.name for c in sim.hardware.cells if c.op == "input"] +
                 [sim.hardware.cells[sim.present[circuit.by_name[n]]].name for n in record])
    cycles = sim.run_cycles(raw, hw_record, raw_inputs=True)
    n_cycles = cycles.data.shape[1]
    valid = {n: sim.valid_cycles(circuit.by_name[n], raw.shape[1], n_cycles) for n in outputs}
    if req.vcd:
        from .vcd import write_vcd
        write_vcd(req.vcd, cycles, circuit.name, valid)
    if req.per_cycle:
        header = ["cycle", *(f"{n}.valid" for n in outputs)] + _columns(cycles)
        flags = np.stack([valid[n] for n in outputs], axis=1)
        rows = [[t, *flags[t], *vals] for t, vals in
                enumerate(_decimals(cycles, cycles.data[0]))]
        _write(req.output, header, rows, out)
    _report_overflow(cycles.overflow, err)


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
