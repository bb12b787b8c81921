"""``run``: simulate inputs and write per-step or per-cycle results and waveforms.

Inputs: a CSV of one sequence (streamed: memory does not grow with its length), or a dataset of
many sequences (a CSV with a leading ``seq`` column, an ``.npy`` or an ``.npz``; see
``datasets``), each sequence run from the reset state. Sequences of one length run together as
one batch of streams (one engine call), so a dataset of equal lengths costs one call; sequences
of other lengths run as further batches, each with its own length.

Per step: (``seq``,) ``step``, the outputs (and --signals) as exact decimals (repr floats with
--float), then for every output the clock cycle its value was valid (``NAME@cycle``). An
``.npz`` output holds one array per recorded signal [sequences, steps, elements]. Per cycle:
``cycle``, the input ``valid`` bit, every output's valid bit, then the chosen hardware signals;
--vcd alone writes the rows per step too. Output files are written whole or not at all
(lstm_hw/files.py); ``-`` or no output is stdout.
"""
from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..compile.cells import Kind
from ..compile.circuit import Circuit
from ..compile.pipeline import compile_circuit
from ..diagnostics import DataError
from ..files import STDOUT, open_output
from ..fixed import to_decimal
from ..progress import Progress
from ..sim.reference import run_reference, stream_reference
from ..sim.simulator import Simulator, Trace, select_signals
from .csvio import CsvInputs, iter_table, source_name, write_rows
from .datasets import Dataset, from_table, is_array_input, read_arrays, write_arrays


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
    if trace.formats[0] is None:   # a float trace
        return [[repr(float(v)) for v in row] for row in rows]
    fracs = [f.frac for f, n in zip(trace.formats, trace.sizes) for _ in range(n)]
    return [[to_decimal(v, fr) for v, fr in zip(row, fracs)] for row in rows]


def _signals(circuit: Circuit, patterns) -> list[str]:
    try:
        return [circuit.cells[i].name for i in select_signals(circuit, patterns)]
    except KeyError as exc:
        raise DataError(f"--signals: {exc.args[0]}") from None


def _is_npz(path: str | None) -> bool:
    return path is not None and Path(path).suffix.lower() == ".npz"


def run_csv(circuit: Circuit, req: RunRequest, out=sys.stdout, err=sys.stderr) -> None:
    outputs = [circuit.cells[i].name for i in circuit.outputs]
    record = outputs + [n for n in (_signals(circuit, req.signals) if req.signals else [])
                        if n not in outputs]
    columns = circuit.input_columns()
    if req.per_cycle and _is_npz(req.output):
        raise DataError(f"{req.output}: error: --per-cycle writes a CSV (an .npz holds one "
                        "value per step)")
    if is_array_input(req.input):
        dataset = read_arrays(req.input, [(circuit.cells[i].name, circuit.cells[i].size)
                                          for i in circuit.inputs])
    else:
        chunks = iter_table(req.input, columns)
        first = next(chunks)                  # the header and first rows checked up front
        whole = _is_npz(req.output) or ((req.per_cycle or req.vcd) and not req.float_)
        if first.seqs is None and not whole:
            _run_stream(circuit, req, record, outputs, itertools.chain([first], chunks),
                        out, err)
            return
        dataset = from_table(req.input, [first, *chunks], columns)
    if (req.per_cycle or req.vcd) and not req.float_:
        if len(dataset.sequences) != 1:
            raise DataError(f"{source_name(req.input)}: error: --per-cycle and --vcd show "
                            f"one sequence, this input has {len(dataset.sequences)}")
        sim = Simulator(circuit, req.engine)
        _run_cycles(circuit, sim, req, record, outputs, _quantised(sim, dataset, [0]), out, err)
        if req.per_cycle:
            return
        # --vcd alone: the rows per step as well, as a plain CSV input gives them without it
        plain = not is_array_input(req.input) and first.seqs is None
        _run_dataset(circuit, req, record, outputs, dataset, out, err, seq_column=not plain)
        return
    if _is_npz(req.output) and len(set(dataset.lengths())) > 1:
        raise DataError(f"{req.output}: error: an .npz output holds [sequences, steps, "
                        f"elements] arrays, but the sequences of {source_name(req.input)} "
                        f"have {min(dataset.lengths())} to {max(dataset.lengths())} steps "
                        "(write a CSV instead)")
    _run_dataset(circuit, req, record, outputs, dataset, out, err)


def _quantised(sim: Simulator, dataset: Dataset, which: list[int]) -> np.ndarray:
    """Raw inputs [len(which), steps, columns] of sequences of one length; a value that does
    not fit is refused where it stands in its file."""
    try:
        return sim.quantise_inputs(np.stack([dataset.sequences[k] for k in which]))
    except DataError as exc:
        if exc.step is None:
            raise
        k = sim.circuit.input_columns().index(exc.column)
        raise DataError(f"{dataset.locate(which[exc.stream], exc.step, k)}: "
                        f"{exc.detail}") from None


def _cycle_columns(circuit: Circuit, sim: Simulator | None,
                   outputs: list[str]) -> tuple[list[str], int, list[int]]:
    """The ``NAME@cycle`` header, the initiation interval and each output's latency: step t
    (from 0) of an output is valid in cycle t * ii + latency (a float run: as the fixed-point
    one would be)."""
    timing = sim.timing if sim else compile_circuit(circuit).timing
    return ([f"{n}@cycle" for n in outputs], timing.ii,
            [timing.finish[circuit.by_name[n]] for n in outputs])


def _header(circuit: Circuit, record: list[str]) -> list[str]:
    return [n if circuit.cell(n).size == 1 else f"{n}[{k}]" for n in record
            for k in range(circuit.cell(n).size)]


def _write_steps(path: str | None, header: list[str], rows, out) -> None:
    """Rows as they come (a long run is never held whole), into ``path`` or ``out``."""
    with open_output(path or STDOUT, stdout=out) as fh:
        write_rows(fh, header, rows)


def _run_stream(circuit, req, record, outputs, tables: Iterator[CsvInputs], out, err) -> None:
    """One sequence, one row per time step, streamed: the input is read, simulated and
    written in chunks, so memory does not grow with the length of the run."""
    sim = None if req.float_ else Simulator(circuit, req.engine)
    cycle_names, ii, lat = _cycle_columns(circuit, sim, outputs)
    header = ["step"] + _header(circuit, record) + cycle_names
    overflow: dict[str, int] = {}
    if sim is None:
        parts = stream_reference(circuit, (t.data for t in tables), record)
    else:
        parts = sim.stream(_quantised_tables(sim, req.input, tables), record)

    def rows(progress: Progress):
        step = 0
        for part in parts:
            for k, v in part.overflow.items():
                overflow[k] = overflow.get(k, 0) + v
            for vals in _decimals(part, part.data[0]):
                yield [step + 1, *vals, *(step * ii + d for d in lat)]
                step += 1
            progress.update(part.data.shape[1])

    with Progress(None, "steps", "run") as progress:
        _write_steps(req.output, header, rows(progress), out)
    _report_overflow(overflow, err)


def _quantised_tables(sim, path: str, tables) -> Iterator[np.ndarray]:
    """The CSV's chunks as raw inputs; a value that does not fit is refused at its row and
    column."""
    columns = sim.circuit.input_columns()
    for table in tables:
        try:
            yield sim.quantise_inputs(table.data)
        except DataError as exc:
            if exc.step is None:
                raise
            col = table.positions[columns.index(exc.column)]
            raise DataError(f"{source_name(path)}:{table.lines[exc.step]}:{col}: error: column "
                            f"'{exc.column}': {exc.detail}") from None


def _run_dataset(circuit, req, record, outputs, dataset: Dataset, out, err,
                 seq_column: bool = True) -> None:
    """Many sequences, each from the reset state: one batch of streams per sequence length."""
    results: list[np.ndarray | None] = [None] * len(dataset.sequences)
    overflow: dict[str, int] = {}
    sim = None if req.float_ else Simulator(circuit, req.engine)
    trace = None
    progress = Progress(len(dataset.sequences), "sequences", "run")
    for batch in dataset.batches():
        if req.float_:
            trace = run_reference(circuit, np.stack([dataset.sequences[k] for k in batch]),
                                  record)
        else:
            trace = sim.run(_quantised(sim, dataset, batch), record, raw_inputs=True)
            for k, v in trace.overflow.items():
                overflow[k] = overflow.get(k, 0) + v
        for j, k in enumerate(batch):
            results[k] = trace.data[j]
        progress.update(len(batch))
    progress.close()
    if _is_npz(req.output):
        stacked = Trace(trace.names, trace.sizes, trace.formats, np.stack(results))
        arrays = {}
        for name in record:
            arrays[name] = stacked.values(name)
            if not req.float_:
                arrays[f"{name}.raw"] = stacked.raw(name)
        write_arrays(req.output, arrays)
    else:
        cycle_names, ii, lat = _cycle_columns(circuit, sim, outputs)
        seq = ["seq"] if seq_column else []
        header = seq + ["step"] + _header(circuit, record) + cycle_names

        def rows():
            for label, data in zip(dataset.labels, results):
                for t, vals in enumerate(_decimals(trace, data)):
                    yield [label][:len(seq)] + [t + 1, *vals, *(t * ii + d for d in lat)]

        _write_steps(req.output, header, rows(), out)
    _report_overflow(overflow, err)


def _run_cycles(circuit, sim, req, record, outputs, raw: np.ndarray, out, err) -> None:
    """One row per clock cycle, and/or the waveforms (the whole run is held)."""
    hw_record = ("all" if not req.signals else
                 [c.name for c in sim.hardware.cells if c.kind is Kind.INPUT] +
                 [sim.hardware.cells[sim.present[circuit.by_name[n]]].name for n in record])
    cycles = sim.run_cycles(raw, hw_record, raw_inputs=True)
    n_cycles = cycles.data.shape[1]
    valid = {n: sim.valid_cycles(circuit.by_name[n], raw.shape[1], n_cycles) for n in outputs}
    if req.vcd:
        from .vcd import write_vcd
        write_vcd(req.vcd, cycles, sim, valid, stdout=out)
    if req.per_cycle:
        header = ["cycle", *(f"{n}.valid" for n in outputs)] + _columns(cycles)
        flags = np.stack([valid[n] for n in outputs], axis=1)
        rows = [[t, *flags[t], *vals] for t, vals in
                enumerate(_decimals(cycles, cycles.data[0]))]
        _write_steps(req.output, header, rows, out)
        _report_overflow(cycles.overflow, err)   # else the run per step reports it


def _report_overflow(overflow: dict[str, int], err) -> None:
    for name, count in overflow.items():
        print(f"warning: '{name}' overflowed its format {count} time"
              f"{'s' if count > 1 else ''}", file=err)
