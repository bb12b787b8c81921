"""The simulator's Python face: inputs in, traces out, for many independent streams at once.

Inputs are float arrays [streams, steps, input elements] (or [steps, elements] for one stream),
quantised into the inputs' formats; a value that does not fit its input's format is refused.
Results hold raw integers [streams, steps, elements] with the format of every recorded signal.
"""
from __future__ import annotations

import fnmatch
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..compile.circuit import Circuit
from ..compile.pipeline import Compiled, compile_circuit
from ..compile.schedule import OP_DOT_ACC, RARE_OPS, Program
from ..compile.timing import Timing
from ..diagnostics import DataError
from ..fixed import FixedFormat, quantise_floats
from ..progress import slow_step
from .cache import recovering
from .vectorised import run_program_numpy

# The numpy engine (sim/vectorised.py) needs no numba; the interpreter (sim/kernel.py) and the
# compiled engine (sim/codegen.py) import it when they first run: importing numba takes 0.3 s,
# loading their code from its cache 0.7 s more.
ENGINES = ("auto", "interpreter", "compiled", "numpy")
# 'auto' takes the numpy engine for runs it finishes within AUTO_NUMPY_SECONDS by its estimate:
# Python's dispatch per cycle and slot, numpy's time per stream-cycle and unit of Program.work
# (measured: 15-30 us a slot and cycle, 18-37 ns a unit of work for the shipped netlists without
# rare ops; the interpreter costs numba's import and load first, about 1 s, or its compile)
AUTO_NUMPY_SECONDS = 0.25
NUMPY_SLOT_CYCLE_SECONDS = 20e-6
NUMPY_WORK_SECONDS = 40e-9
AUTO_COMPILE_WORK_FEW = 10 ** 9   # stream-cycles x Program.work from which 'auto' compiles...
AUTO_COMPILE_WORK = 10 ** 11      # ... with fewer than 64 streams, and with more
AUTO_CACHED_WORK = 10 ** 7        # ... and, compiled already (numba's cache), from here on
PARALLEL_MIN_STREAMS = 32         # streams per thread, at least, before splitting them
PARALLEL_MIN_WORK = 20_000_000    # cycles x streams x Program.work: below, one thread is quicker
PARALLEL_MIN_COMPILED_WORK = 1000  # Program.work below which the compiled engine is not split
BACKGROUND_CHUNK_SECONDS = 0.2    # the interpreter's cycles between looks at a background compile


@dataclass
class Trace:
    """Recorded signals of a run: ``data[stream, step, column]`` with one column per element."""

    names: list[str]                     # recorded signals, in column order
    sizes: list[int]
    formats: list[FixedFormat | None]    # None for a float (reference) trace
    data: np.ndarray
    overflow: dict[str, int] = field(default_factory=dict)

    def columns(self, name: str) -> slice:
        start = 0
        for n, size in zip(self.names, self.sizes):
            if n == name:
                return slice(start, start + size)
            start += size
        raise KeyError(name)

    def raw(self, name: str) -> np.ndarray:
        """[streams, steps, elements] raw integers (or floats for a float trace)."""
        return self.data[:, :, self.columns(name)]

    def values(self, name: str) -> np.ndarray:
        """[streams, steps, elements] as float64: exact where |raw| < 2**53 (every format up to
        53 bits), the nearest float64 beyond; ``raw()`` and ``FixedFormat.to_fraction`` are exact."""
        fmt = self.formats[self.names.index(name)]
        data = self.raw(name)
        return data if fmt is None else fmt.to_float(data)


def select_signals(circuit: Circuit, which) -> list[int]:
    """'outputs', 'all', or a list of names / globs -> cell ids (outputs first for 'outputs')."""
    if which == "outputs":
        return list(circuit.outputs)
    if which == "all":
        return [c.id for c in circuit.cells]
    ids = []
    for pattern in which:
        hits = [c.id for c in circuit.cells if fnmatch.fnmatchcase(c.name, pattern)]
        if not hits:
            raise KeyError(f"no signal matches '{pattern}'")
        ids += [h for h in hits if h not in ids]
    return ids


def as_streams(inputs, n_columns: int) -> np.ndarray:
    """float64 [streams, steps, columns] from [steps, columns] or [streams, steps, columns]."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != n_columns:
        raise DataError(f"inputs must be [streams, steps, {n_columns}] or [steps, {n_columns}], "
                        f"got shape {x.shape}")
    return x


class Simulator:
    """Bit-exact fixed-point simulation of an elaborated circuit."""

    def __init__(self, circuit: Circuit | Compiled, engine: str = "auto",
                 threads: int | None = None, narrow: bool = True):
        """circuit: an elaborated circuit (lstm_hw.load) or its compiled form (compile_netlist).
        engine: 'interpreter' (one compiled kernel for every netlist), 'compiled' (code
        generated for this netlist, compiled once and cached), 'numpy' (no numba: each step
        one numpy operation over the streams) or 'auto' (numpy for small runs, compiled for
        long ones). threads: how many cores may share the streams (default: all).
        narrow: the compiled engine computes exact dots in the narrowest integers their bounds
        allow (schedule.DotLanes); False: in int64 (the same bits, for comparing)."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        self.engine = engine
        self.narrow = narrow
        self.threads = threads or os.cpu_count() or 1
        self._compiled = None
        self._source: str | None = None
        self._weights: tuple | None = None   # the compiled module's weight matrices
        self._prepared: set[tuple[str, bool]] = set()   # (engine, one stream) compiled
        self._cache_unusable = False
        self._compiling: threading.Thread | None = None   # 'auto': the module's first compile
        self._compile_error: BaseException | None = None
        compiled = circuit if isinstance(circuit, Compiled) else compile_circuit(circuit)
        self.circuit: Circuit = compiled.circuit
        self.timing: Timing = compiled.timing
        self.hardware: Circuit = compiled.hardware   # the clocked circuit that runs
        self.present = compiled.present
        self.program: Program = compiled.program
        self.max_latency = max(self.timing.finish[o] for o in self.circuit.outputs)

    def quantise_inputs(self, inputs) -> np.ndarray:
        """Float inputs -> raw int64 [streams, steps, columns]; a value that does not fit its
        input's format is refused (DataError naming the step and column)."""
        return self._quantise(inputs, strict=True)[0]

    def _quantise(self, inputs, strict: bool) -> tuple[np.ndarray, dict[str, int]]:
        """(raw inputs, overflow counts per input); not strict: a value that does not fit is
        quantised with its format's overflow mode, and counted."""
        cols = self.circuit.input_columns()
        x = as_streams(inputs, len(cols))
        if not np.all(np.isfinite(x)):
            s, t, k = np.argwhere(~np.isfinite(x))[0]
            raise DataError(f"stream {s}, step {t}, input '{cols[k]}': {x[s, t, k]} is not a "
                            "number", int(t), cols[k], f"{x[s, t, k]} is not a number", int(s))
        raw = np.empty(x.shape, np.int64)
        counts: dict[str, int] = {}
        k = 0
        for cid in self.circuit.inputs:
            cell = self.circuit.cells[cid]
            fmt = cell.fmt
            part = x[:, :, k:k + cell.size]
            r, over = quantise_floats(part, fmt)
            if over.any() and not strict:
                counts[cell.name] = int(over.sum())
            elif over.any():
                s, t, e = np.argwhere(over)[0]
                detail = (f"{part[s, t, e]:g} does not fit the input's format {fmt} "
                          f"[{fmt.to_float(fmt.lo):g}, {fmt.to_float(fmt.hi):g}]")
                raise DataError(f"stream {s}, step {t}, input '{cols[k + e]}': {detail}",
                                int(t), cols[k + e], detail, int(s))
            raw[:, :, k:k + cell.size] = r
            k += cell.size
        return raw, counts

    def run(self, inputs, record="outputs", *, raw_inputs: bool = False,
            strict: bool = True) -> Trace:
        """Simulate every stream from the initial state, one time step per cycle.

        Inputs that do not fit their format are refused (strict) or overflow as the format says,
        counted in the trace's ``overflow`` like any other signal's.
        """
        raw, counts = ((np.asarray(inputs, np.int64), {}) if raw_inputs
                       else self._quantise(inputs, strict))
        if raw.ndim == 2:
            raw = raw[None]
        trace = self._run_raw(raw, select_signals(self.circuit, record))
        trace.overflow = {**counts, **trace.overflow}
        return trace

    def initial_state(self, n_streams: int) -> np.ndarray:
        return np.repeat(self.program.initial[:, None], n_streams, axis=1)

    def source(self) -> str:
        """The compiled backend's source for this program (generated once)."""
        if self._source is None:
            from .codegen import generate_source
            self._source = generate_source(self.program, self.narrow)
        return self._source

    def compiled(self):
        """The compiled backend's module for this program (generated and cached on first use)."""
        if self._compiled is None:
            from .codegen import load_module
            self._compiled = load_module(self.source())
        return self._compiled

    def _weight_matrices(self) -> tuple:
        """The compiled module's arguments after the Program's (codegen.weight_matrices),
        made once (two threads making them at once make the same arrays)."""
        if self._weights is None:
            from .codegen import weight_matrices
            self._weights = weight_matrices(self.program, self.narrow)
        return self._weights

    def _compiled_usable(self) -> bool:
        """Generate and import the compiled module once, before any thread needs it; False
        (with a warning, once) when its cache folder cannot be used."""
        if self._compiled is None and not self._cache_unusable:
            try:
                self.compiled()
            except OSError as exc:
                from .codegen import CACHE_ENV, cache_dir
                self._cache_unusable = True
                reason = exc.strerror or exc
                print(f"warning: the cache folder {cache_dir()} cannot be used ({reason}): "
                      f"running on the interpreter (set {CACHE_ENV} to another folder)",
                      file=sys.stderr)
        return self._compiled is not None

    def _pick_engine(self, stream_cycles: int, n_streams: int) -> str:
        if self.engine != "auto":
            return self.engine
        # A small run is over in the numpy engine before numba would have loaded (rare ops
        # run there stream by stream: those stay with numba).
        # The compiled module costs a compile on its first use (seconds; then numba's cache):
        # it pays where the interpreter would take longer, sooner with few streams, where the
        # interpreter's per-cell dispatch dominates (it runs at 0.05-0.1x of the compiled code,
        # and at 0.3-0.9x with many streams).
        # Compiled already (numba's cache on disk), it costs a load: it pays from a much
        # smaller run. Products cast one by one (a dot's accum) slow the interpreter down
        # like few streams do.
        work = stream_cycles * self.program.work
        if self.numpy_seconds(stream_cycles, n_streams) < AUTO_NUMPY_SECONDS \
                and not self._rare_ops():
            return "numpy"
        if work < AUTO_CACHED_WORK:
            return "interpreter"
        from .codegen import is_compiled
        if is_compiled(self.source(), "run_one" if n_streams == 1 else "run"):
            return "compiled"
        few = n_streams < 64 or bool((self.program.op == OP_DOT_ACC).any())
        return "compiled" if work >= (AUTO_COMPILE_WORK_FEW if few else AUTO_COMPILE_WORK) \
            else "interpreter"

    def _kernel(self, vals: np.ndarray, cycle_inputs: np.ndarray, record: np.ndarray):
        """_run_kernel, rebuilding a corrupted numba cache on the way (sim/cache.py)."""
        return recovering(lambda: self._run_kernel(vals, cycle_inputs, record))

    def _run_kernel(self, vals: np.ndarray, cycle_inputs: np.ndarray, record: np.ndarray):
        """Run the program: cycle_inputs [cycles, input slots, streams] -> (trace, overflow).

        Streams are independent: with enough of them, they are split over the cores, one
        thread each (the kernels release the GIL), and put back together in order."""
        n_streams = vals.shape[1]
        stream_cycles = cycle_inputs.shape[0] * n_streams
        engine = self._pick_engine(stream_cycles, n_streams)
        if engine == "compiled" and not self._compiled_usable():
            engine = "interpreter"
        if engine == "compiled" and self.engine == "auto" and not self._ready(n_streams):
            return self._run_while_compiling(vals, cycle_inputs, record)
        self._prepare(engine, vals, cycle_inputs, record)
        parts = min(self.threads, n_streams // PARALLEL_MIN_STREAMS)
        if engine == "compiled" and self.program.work < PARALLEL_MIN_COMPILED_WORK:
            parts = 1   # the compiled code of a small circuit is as quick as a split's copies
        if engine == "numpy":
            parts = 1   # Python holds the GIL between its numpy operations
        if parts < 2 or stream_cycles * self.program.work < PARALLEL_MIN_WORK:
            return self._kernel_part(vals, cycle_inputs, record, engine)
        cuts = np.linspace(0, n_streams, parts + 1).astype(int)
        halves = [(np.ascontiguousarray(vals[:, a:b]),
                   np.ascontiguousarray(cycle_inputs[:, :, a:b])) for a, b in zip(cuts, cuts[1:])]
        with ThreadPoolExecutor(parts) as pool:
            results = list(pool.map(lambda h: self._kernel_part(h[0], h[1], record, engine),
                                    halves))
        counts: dict[str, int] = {}
        for (v, _), (a, b), (_, c) in zip(halves, zip(cuts, cuts[1:]), results):
            vals[:, a:b] = v
            for k, n in c.items():
                counts[k] = counts.get(k, 0) + n
        return np.concatenate([t for t, _ in results], axis=2), counts

    def _ready(self, n_streams: int) -> bool:
        """Whether the compiled function for n_streams is compiled, or cached by numba (a
        load, not a compile)."""
        from .codegen import is_compiled
        one = n_streams == 1
        return ("compiled", one) in self._prepared or \
            is_compiled(self.source(), "run_one" if one else "run")

    def _run_while_compiling(self, vals, cycle_inputs, record):
        """'auto' taking the compiled engine for the first time: numba compiles the module in a
        background thread (seconds: 15 for the 2-layer, 128-unit network) while the
        interpreter runs the cycles (its kernel releases the GIL); once the module is ready
        the rest run compiled. The engines give the same bits, and the state carries over,
        so where the switch falls changes nothing but the time. A run over before the compile
        leaves it running for the next one."""
        self._prepare("interpreter", vals, cycle_inputs, record)   # numba compiles one at once
        if cycle_inputs.shape[0] == 0:
            return self._kernel_part(vals, cycle_inputs, record, "interpreter")
        if self._compiling is None:
            blank = vals.copy()   # the compile's run of no cycles: not the vals being run

            def build():
                try:
                    self._prepare("compiled", blank, cycle_inputs[:0], record)
                except BaseException as exc:   # raised again in the run's own thread
                    self._compile_error = exc
            self._compiling = threading.Thread(target=build, name="lstm_hw compile",
                                               daemon=True)
            self._compiling.start()
        traces, counts, done, step = [], {}, 0, 16
        n_cycles = cycle_inputs.shape[0]
        while done < n_cycles:
            compiled = not self._compiling.is_alive()
            if compiled and self._compile_error is not None:
                raise self._compile_error
            t0 = time.perf_counter()
            part = cycle_inputs[done:] if compiled else cycle_inputs[done:done + step]
            trace, c = self._kernel_part(vals, part, record,
                                         "compiled" if compiled else "interpreter")
            traces.append(trace)
            for k, v in c.items():
                counts[k] = counts.get(k, 0) + v
            done += part.shape[0]
            if time.perf_counter() - t0 < BACKGROUND_CHUNK_SECONDS / 2:
                step *= 2
        if self._compiling is not None and not self._compiling.is_alive():
            self._compiling = None
        return (traces[0] if len(traces) == 1 else np.concatenate(traces)), counts

    def _prepare(self, engine: str, vals, cycle_inputs, record) -> None:
        """Compile the engine's code (or load it from numba's cache) on a run of no cycles,
        saying so on stderr if that takes over a second, so that a first compile is not
        mistaken for a hang."""
        key = (engine, vals.shape[1] == 1 and engine == "compiled")   # run_one: its own code
        if key in self._prepared or engine == "numpy":   # numpy: nothing to compile
            return
        what = (f"compiling '{self.circuit.name}' for the compiled engine" if engine == "compiled"
                else "compiling the interpreter")
        with slow_step(f"{what} (the first time only: numba caches it)"):
            self._kernel_part(vals.copy(), cycle_inputs[:0], record, engine)
        self._prepared.add(key)

    def _kernel_part(self, vals, cycle_inputs, record, engine: str):
        p = self.program
        if engine == "compiled":
            module = self.compiled()
            run = module.run_one if vals.shape[1] == 1 else module.run
            trace, overflow = run(vals, cycle_inputs, record, *p.compiled_args(),
                                  *self._weight_matrices())
        elif engine == "numpy":
            trace, overflow = run_program_numpy(*p.kernel_args(), vals, cycle_inputs, record)
        else:
            trace, overflow = self._interpret(vals, cycle_inputs, record)
        return trace, self._overflow_counts(overflow)

    def numpy_seconds(self, stream_cycles: int, n_streams: int) -> float:
        """The numpy engine's time for a run, roughly (its dispatch per cycle and slot, its
        numpy work per stream-cycle)."""
        p = self.program
        return (stream_cycles // max(n_streams, 1) * p.n_slots * NUMPY_SLOT_CYCLE_SECONDS
                + stream_cycles * p.work * NUMPY_WORK_SECONDS)

    def _rare_ops(self) -> bool:
        """Whether the program has an op of RARE_OPS or a fold unit: run stream by
        stream in the numpy engine, so 'auto' leaves it to numba."""
        p = self.program
        return bool(np.isin(p.op, RARE_OPS).any()) or len(p.fold_t) > 0

    def _interpret(self, vals, cycle_inputs, record):
        from .kernel import run_program
        p = self.program
        # None where the program has none: the kernel is then compiled without that code
        rare_ops = p.op if np.isin(p.op[:p.n_comb], RARE_OPS).any() else None
        return run_program(*p.kernel_args(), vals, cycle_inputs, record, rare_ops)

    def _overflow_counts(self, overflow) -> dict[str, int]:
        p = self.program
        cells = self.hardware.cells
        counts = {}
        for step, n in zip(list(p.cell_ids) + list(p.reg_ids), overflow):
            if n:
                name = cells[step].name.removesuffix(".comb")
                counts[name] = counts.get(name, 0) + int(n)
        return counts

    def cycle_inputs(self, raw: np.ndarray, n_cycles: int | None = None, first_step: int = 0,
                     first_cycle: int = 0) -> np.ndarray:
        """Step inputs [streams, steps, columns] -> what the hardware sees in each cycle
        [cycles, columns (+ valid), streams]: a step's inputs are applied for II cycles, its
        valid bit is 1 in the first of them; after the last step they are held, not valid.
        raw holds steps first_step..; the cycles asked for start at first_cycle."""
        steps = raw.shape[1]
        if not self.timing.timed:
            return np.ascontiguousarray(raw.transpose(1, 2, 0))
        ii = self.timing.ii
        n_cycles = (steps - 1) * ii + 1 if n_cycles is None else n_cycles
        cycle = first_cycle + np.arange(n_cycles)
        step = cycle // ii - first_step
        valid = (cycle % ii == 0) & (step < steps)
        x = np.empty((n_cycles, raw.shape[2] + 1, raw.shape[0]), np.int64)
        x[:, :-1, :] = raw.transpose(1, 2, 0)[np.minimum(step, steps - 1)]
        x[:, -1, :] = valid[:, None]
        return x

    def stream(self, chunks, record="outputs") -> Iterator[Trace]:
        """Simulate raw input chunks [streams, steps, columns] one after the other, the state
        carried across, yielding each step's recorded values as soon as they are valid: memory
        stays bounded by the chunk size however long the run."""
        cells = self.circuit.cells
        ids = select_signals(self.circuit, record)
        hw = [self.present[i] for i in ids]
        slots = np.array([self.program.slot_of[h] + e for h in hw
                          for e in range(self.hardware.cells[h].size)], dtype=np.int64)
        finish = np.array([self.timing.finish[i] for i in ids for _ in range(cells[i].size)],
                          dtype=np.int64)
        ii, lat = self.timing.ii, int(finish.max(initial=0))
        aligned = len(finish) > 0 and bool((finish == finish[0]).all())
        names, sizes, fmts = ([cells[i].name for i in ids], [cells[i].size for i in ids],
                              [cells[i].fmt for i in ids])
        vals, buf, buf_start, done, total, last = None, None, 0, 0, 0, None

        def advance(raw, first_step, n_cycles):
            nonlocal vals, buf, buf_start, done
            if vals is None:
                vals = self.initial_state(raw.shape[0])
            c0 = buf_start + (0 if buf is None else buf.shape[0])
            trace, counts = self._kernel(vals, self.cycle_inputs(raw, n_cycles, first_step, c0),
                                         slots)
            buf = trace if buf is None else np.concatenate([buf, trace])
            end = c0 + n_cycles                       # cycles run so far
            ready = min(total, (end - 1 - lat) // ii + 1) if end > lat else 0
            if ready <= done:
                return Trace(names, sizes, fmts, np.empty((raw.shape[0], 0, len(slots)),
                                                          np.int64), counts)
            if aligned:   # every signal is ready at the same cycle of its step: a slice
                first = done * ii + int(finish[0]) - buf_start
                data = buf[first:first + (ready - done) * ii:ii].transpose(2, 0, 1)
            else:
                at = np.arange(done, ready)[:, None] * ii + finish[None, :] - buf_start
                data = buf[at, np.arange(len(slots))[None, :], :].transpose(2, 0, 1)
            done = ready
            keep = done * ii - buf_start               # the earliest cycle still needed
            buf, buf_start = buf[keep:], buf_start + keep
            return Trace(names, sizes, fmts, data, counts)

        for raw in chunks:
            first, total, last = total, total + raw.shape[1], raw[:, -1:]
            yield advance(raw, first, raw.shape[1] * ii)
        if last is not None and done < total:          # drain the pipeline
            more = (total - 1) * ii + lat + 1 - (buf_start + len(buf))
            yield advance(last, total - 1, max(more, 1))

    def _run_raw(self, raw: np.ndarray, ids: list[int]) -> Trace:
        parts = list(self.stream([raw], [self.circuit.cells[i].name for i in ids]))
        counts: dict[str, int] = {}
        for part in parts:
            for k, v in part.overflow.items():
                counts[k] = counts.get(k, 0) + v
        first = parts[0]
        data = first.data if len(parts) == 1 else np.concatenate([p.data for p in parts], axis=1)
        return Trace(first.names, first.sizes, first.formats, data, counts)

    def valid_cycles(self, cid: int, n_steps: int, n_cycles: int) -> np.ndarray:
        """0/1 per cycle: 1 where signal cid holds the value of a time step."""
        bits = np.zeros(n_cycles, np.int64)
        at = np.arange(n_steps) * self.timing.ii + self.timing.finish[cid]
        bits[at[at < n_cycles]] = 1
        return bits

    def run_cycles(self, inputs, record="all", *, raw_inputs: bool = False) -> Trace:
        """Every cycle of the hardware (pipeline, balancing and valid registers included):
        ``data[stream, cycle, column]`` over the hardware's signals matching ``record``."""
        raw = np.asarray(inputs, np.int64) if raw_inputs else self.quantise_inputs(inputs)
        if raw.ndim == 2:
            raw = raw[None]
        ids = select_signals(self.hardware, record)
        hw = self.hardware.cells
        record_slots = np.array([self.program.slot_of[h] + e for h in ids
                                 for e in range(hw[h].size)], dtype=np.int64)
        n_cycles = (raw.shape[1] - 1) * self.timing.ii + self.max_latency + 1
        trace, counts = self._kernel(self.initial_state(raw.shape[0]),
                                     self.cycle_inputs(raw, n_cycles), record_slots)
        return Trace([hw[h].name for h in ids], [hw[h].size for h in ids],
                     [hw[h].fmt for h in ids], trace.transpose(2, 0, 1), counts)
