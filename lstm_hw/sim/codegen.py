"""The compiled backend: a Program turned into a numba module of its own, per-cell loops.

The interpreter (kernel.py) dispatches on opcodes and reads every constant from arrays; here each
step becomes its own loop nest with its slots, sizes, shifts and format codes written in as
integer literals, so numba specialises the quantisation of each cell (the branches of
``requantise`` for one mode fold away) and a dot's inner loop runs over a contiguous copy of its
inputs. Element-wise steps of one size share one element loop, and an LSTM layer's gate dots one
loop over all their rows; weights are arrays passed in (weight_matrices), not code. numba's
compile time grows with the code (its typing and lowering, per statement), so the code is kept
short: the 2x128 network's first compile went from 13 s to 5 s this way. Loops are never
unrolled (a full unroll took minutes to compile at 32 units). The arithmetic is the same
``fixed.requantise`` / ``quantise_float`` the interpreter calls, and the tests hold the two
engines to the same bits.

Only integers from the Program are written into the source (no names), and the module is cached
as a real file named by the hash of its source, so numba's own cache keeps the machine code.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import sys
import threading
import types
from dataclasses import dataclass, replace
from pathlib import Path

import numba
import numpy as np

from ..compile.schedule import (COMPILED_ARGS, OP_ADD, OP_CLIP, OP_COPY, OP_DOT, OP_DOT_ACC,
                                OP_EXACT_SIGMOID, OP_EXACT_TANH, OP_MAX, OP_MIN, OP_MUL, OP_MUX,
                                OP_PWL, OP_TABLE, Program)
from ..diagnostics import InternalError
from ..files import replace_file

CACHE_ENV = "LSTM_HW_CACHE_DIR"
UNROLL_PRODUCTS = 32   # a dot this small is written out, its weights as literals, zeros left out
STREAM_LOOP = "for s in range(S):"
COPY_RUNS = 8          # a dot's inputs in at most this many runs of slots are copied run by run
ROW_GROUP = 4          # rows of a large dot computed together where there are many streams
BY_STREAM = 16         # narrow dots of these operands over many streams: stream by stream


def cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "lstm_hw")
    return Path(base) / "generated"


def _i(x) -> str:
    """An integer literal (the only thing taken from the Program into the source)."""
    return str(int(x))


class _Writer:
    """Lines of source, indented by blocks, and where each slot's value is read and written.

    In run_one (``one_stream``) there is no loop over streams (s is 0), and a one-element
    signal is also kept in a local ``v<slot>``: read from it and written to it. The locals stay
    in registers, where vals, which numba cannot tell apart from the other arrays, is stored and
    loaded again at every cell: the lecture's cell ran at 0.55x of the hand kernel. A local is
    written through to vals only where code indexing slots at run time reads it (``through``:
    a dot's input copies, a mux, a fold unit), at the trace when a run records more than the
    outputs, and once at the end (vals holds the state between runs).
    """

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0
        self.one_stream = False
        self.locals: set[int] = set()   # slots with a local in run_one
        self.through: set[int] = set()  # locals also written to vals at once
        self.e_zero = False             # inside elements(1) of run_one: e is 0
        self.quantisers: dict[tuple, str] = {}   # (shift, *format codes) -> name
        self.narrow = True              # exact dots in the integers their lanes allow
        self.counted = False            # the step being written counts overflows in nf
        self.in_fused = False           # inside a group's element loop (see fused)

    def quantiser(self, shift, codes) -> str:
        """The generated function quantising by a constant shift into a constant format."""
        key = (int(shift), *(int(c) for c in codes))
        return self.quantisers.setdefault(key, f"quantise{len(self.quantisers)}")

    def __call__(self, line: str = "") -> None:
        self.lines.append("    " * self.depth + line if line else "")

    def block(self, line: str):
        if self.one_stream and line == STREAM_LOOP:
            return contextlib.nullcontext()
        self(line)
        return _Indent(self)

    @contextlib.contextmanager
    def fused(self, p: Program, group: list[int]):
        """Steps of a group of _fused_groups written in one element loop (each step's own
        ``elements`` then opens none)."""
        if len(group) == 1:
            yield
            return
        with self.elements(int(p.size[group[0]]), f"size[{group[0]}]"):
            self.in_fused = True
            try:
                yield
            finally:
                self.in_fused = False

    @contextlib.contextmanager
    def elements(self, m: int, count: str):
        """``for e in range(count)``, count an expression worth m read at run time (a literal
        count would have LLVM unroll the loop fully, which took minutes to compile for wide
        layers); in run_one, for one element, ``e = 0`` and no loop."""
        if self.in_fused:   # inside the element loop of the step's group already
            yield
            return
        if not (self.one_stream and m == 1):
            with self.block(f"for e in range({count if m > 1 else 1}):"):
                yield
            return
        self("e = 0")
        outer, self.e_zero = self.e_zero, True
        try:
            yield
        finally:
            self.e_zero = outer

    def _where(self, slot: int, offset: int | str) -> tuple[int | None, str]:
        """(the local's slot or None, the place in vals) of slot + offset."""
        if offset == "e" and self.e_zero:
            offset = 0
        if offset == "e":
            return None, self.val(f"{slot} + e")
        local = slot + offset if self.one_stream and slot + offset in self.locals else None
        return local, self.val(slot + offset)

    def val(self, index) -> str:
        """The place in memory of slot ``index`` (an int or an expression) of stream s: in
        run_one an element of ``vv``, vals' one column (1-D indexing: numba lowers it in less
        time, and it is one multiply less at run time)."""
        return f"vv[{index}]" if self.one_stream else f"vals[{index}, s]"

    def ref(self, slot: int, offset: int | str = 0) -> str:
        """The value of slot + offset (an int, or "e": the element loop's counter)."""
        local, memory = self._where(slot, offset)
        return memory if local is None else f"v{local}"

    def store(self, slot: int, offset: int | str, value: str) -> None:
        local, memory = self._where(slot, offset)
        if local is not None:
            self(f"v{local} = {value}")
            if local not in self.through:
                return
            value = f"v{local}"
        self(f"{memory} = {value}")


class _Indent:
    def __init__(self, w: _Writer):
        self.w = w

    def __enter__(self):
        self.w.depth += 1

    def __exit__(self, *exc):
        self.w.depth -= 1


def generate_source(p: Program, narrow: bool = True) -> str:
    """The module's source: ``run(vals, inputs, record, ints, arg_slot, fold arrays...)``, and
    ``run_one``, the same for a single stream (``vals.shape[1] == 1``). narrow: each exact dot
    in the narrowest integers its lanes (schedule.DotLanes) prove exact; False: int64 only."""
    w = _Writer()
    w.narrow = narrow
    # Two functions, compiled lazily, each on its first call: with one stream, a loop over
    # streams around every cell costs more than the cell (the lecture's cell ran at 0.6x of
    # hand-written code), so run_one is written without them.
    for name, one_stream in (("run", False), ("run_one", True)):
        w()
        w()
        w.one_stream = one_stream
        _function(w, p, name)
    head = ["# Generated by lstm_hw.sim.codegen from a Program; do not edit (it is cached by hash).",
            f"# arithmetic {_arithmetic_version()}",
            "import numpy as np", "from numba import njit",
            "from lstm_hw.fixed import quantise_float, requantise, requantise_call",
            "from lstm_hw.sim.kernel import fold_edge",
            "from lstm_hw.sim.ops import (accumulate, clamp, exact_activation, extreme, mux_index, "
            "pwl_exact, table_index)"]
    # One small function per format and shift: numba inlines requantise into each once, and
    # LLVM inlines these (a few instructions, once constant) where they are called. Inlining
    # requantise at every call took a minute for the 2x128 network; calling the interpreter's
    # requantise_call instead ran the lecture's cell at 0.66x. With literal codes numba compiles
    # requantise's slow path (finish, taken at every saturation) for the format, 0.5-1 s a
    # format: worth it where the quantisers are the cycle (the lecture's cell: 0.7-0.8x of the
    # hand kernel without), not where wide dots are (the 2x128 network's first compile: 4.3 s
    # with int64 codes, 7 s with literals), which take int64 codes and the shared slow path.
    literal = not _large_dots(p)
    for (shift, *codes), name in w.quantisers.items():
        args = ", ".join(str(c) if literal else f"np.int64({c})" for c in (shift, *codes))
        head += ["", "", "@njit(cache=True, nogil=True)", f"def {name}(v):",
                 f"    return requantise(v, {args})"]
    return "\n".join(head + w.lines) + "\n"


def _function(w: _Writer, p: Program, name: str) -> None:
    n_steps = len(p.op)
    one_slot = p.one_slot
    max_n = max([int(p.arg1[i] - p.arg0[i]) for i in range(n_steps)] + [1])
    reg_rows = int(p.reg_size.sum()) if len(p.reg_size) else 0
    w("@njit(cache=True, nogil=True)")
    weights = "".join(f", {name}" for name, _ in _matrices(p, w.narrow))
    with w.block(f"def {name}(vals, inputs, record, {', '.join(COMPILED_ARGS)}{weights}):"):
        w("n_cycles = inputs.shape[0]")
        w("S = vals.shape[1]")
        if w.one_stream:
            w("s = 0")
            w("vv = vals[:, 0]")
            w.locals = _scalar_slots(p)
            w.through = w.locals & _read_from_vals(p)
            for n in sorted(w.locals):
                w(f"v{n} = vv[{n}]")
            # a run recording the outputs alone (the usual one) takes them from the locals
            w(f"outputs_only = record.shape[0] == {len(p.out_slots)}")
            with w.block("if outputs_only:"):
                for k, slot, length in _runs(p.out_slots):
                    with w.block(f"for k in range({length}):"):
                        with w.block(f"if record[{k} + k] != {slot} + k:"):
                            w("outputs_only = False")
        w("trace = np.empty((n_cycles, record.shape[0], S), np.int64)")
        w(f"overflow = np.zeros({n_steps + len(p.reg_out)}, np.int64)")
        int64_dots = [i for i in range(p.n_comb) if p.op[i] == OP_DOT_ACC or (
            i in _large_dots(p) and _lanes(w, p, i) is None)]
        if int64_dots:
            w("acc = np.empty(S, np.int64)")
        if not w.one_stream and _large_dots(p):
            for k in range(ROW_GROUP):
                w(f"acc{k} = np.empty(S, np.int64)")
        # a dot's inputs, copied contiguous (with one stream a vector, so its loop vectorises)
        narrow = {_lanes(w, p, i).bits for i in _large_dots(p) if _lanes(w, p, i)}
        for bits in sorted(narrow | ({64} if int64_dots else set())):
            w(f"{_xbuf(bits)} = np.empty({max_n}, np.int{bits})" if w.one_stream else
              f"{_xbuf(bits)} = np.empty((S, {max_n}), np.int{bits})" if _by_stream(w, bits) else
              f"{_xbuf(bits)} = np.empty(({max_n}, S), np.int{bits})")
        if 32 in narrow and not w.one_stream:   # the int32 sums of int32 lanes' blocks
            for k in range(ROW_GROUP):
                w(f"sum{k} = np.empty(S, np.int32)")
        w(f"nxt = np.empty({max(reg_rows, 1)}, np.int64)" if w.one_stream else
          f"nxt = np.empty(({max(reg_rows, 1)}, S), np.int64)")
        scalar_steps = [i for i in range(p.n_comb) if w.one_stream and p.size[i] == 1]
        for i in scalar_steps:
            w(f"ovf{i} = 0")
        with w.block("for t in range(n_cycles):"):
            _store_inputs(w, p)
            dots = _dot_groups(p, w.narrow)
            merged = {j: steps[0] for steps in dots.values() for j in steps[1:]}
            for group in _fused_groups(p):
                with w.fused(p, group):
                    for i in group:
                        if i in merged:
                            w(f"# step {i}: with step {merged[i]}")
                            continue
                        w(f"# step {i}")
                        _write_step(w, p, i, one_slot, len(dots.get(i, [i])))
            _trace(w, p)
            _latch(w, p, n_steps)
        for i in scalar_steps:
            w(f"overflow[{i}] += ovf{i}")
        for n in sorted(w.locals - w.through):
            w(f"vv[{n}] = v{n}")
        w("return trace, overflow")


def _store_inputs(w: _Writer, p: Program) -> None:
    """This cycle's inputs into their slots: a run of inputs into consecutive slots (an input
    vector) by a loop, each one-element input of run_one into its local."""
    in_memory = []
    for k, slot in enumerate(int(n) for n in p.in_slots):
        if slot in w.locals and w.one_stream:
            w.store(slot, 0, f"inputs[t, {k}, s]")
        else:
            in_memory.append(slot)
    for k, slot, length in _runs(p.in_slots, [int(n) for n in in_memory]):
        with w.block(f"for k in range({length}):"), w.block(STREAM_LOOP):
            w(f"{w.val(f'{slot} + k')} = inputs[t, {k} + k, s]")


def _runs(slots, only=None) -> list[tuple[int, int, int]]:
    """(first index, first slot, length) of each run of consecutive slots at consecutive
    indices in slots (of those in only, if given): a loop each."""
    runs: list[list[int]] = []
    for k, slot in enumerate(int(n) for n in slots):
        if only is not None and slot not in only:
            continue
        if runs and runs[-1][0] + runs[-1][2] == k and runs[-1][1] + runs[-1][2] == slot:
            runs[-1][2] += 1
        else:
            runs.append([k, slot, 1])
    return [tuple(r) for r in runs]


def _trace(w: _Writer, p: Program) -> None:
    """The recorded slots' values this cycle, into the trace."""
    if not w.one_stream:
        with w.block("for k in range(record.shape[0]):"):
            with w.block(STREAM_LOOP):
                w("trace[t, k, s] = vals[record[k], s]")
        return
    with w.block("if outputs_only:"):
        in_memory = [int(n) for n in p.out_slots if int(n) not in w.locals]
        for k, n in enumerate(p.out_slots):
            if int(n) in w.locals:
                w(f"trace[t, {k}, 0] = v{int(n)}")
        for k, slot, length in _runs(p.out_slots, in_memory):
            with w.block(f"for k in range({length}):"):
                w(f"trace[t, {k} + k, 0] = vv[{slot} + k]")
    with w.block("else:"):
        for n in sorted(w.locals - w.through):
            w(f"vv[{n}] = v{n}")
        with w.block("for k in range(record.shape[0]):"):
            w("trace[t, k, 0] = vv[record[k]]")


def _read_from_vals(p: Program) -> set[int]:
    """Slots that code indexing vals at run time reads: the inputs a dot copies, a mux's
    operands and select, a fold unit's operands and start bit."""
    slots: set[int] = set()
    for i in range(len(p.op)):
        folded = i >= p.n_comb
        if folded or p.op[i] == OP_MUX or _uses_xbuf(p, i):
            for k in range(p.arg0[i], p.arg1[i]):
                span = 1 + (int(p.size[i]) - 1) * int(p.arg_step[k]) if p.op[i] == OP_MUX else 1
                slots.update(range(int(p.arg_slot[k]), int(p.arg_slot[k]) + span))
        if p.op[i] == OP_MUX:
            sel, step = int(p.aux[i, 0]), int(p.aux[i, 1])
            slots.update(range(sel, sel + 1 + (int(p.size[i]) - 1) * step))
        if folded:
            slots.add(int(p.fold_start[i - p.n_comb]))
    return slots


# steps whose element e reads element e of each operand (or one element for all) alone, each
# written in an element loop of its own: written in one loop where they follow each other
ELEMENTWISE = (OP_ADD, OP_MUL, OP_TABLE, OP_PWL, OP_EXACT_SIGMOID, OP_EXACT_TANH, OP_MIN, OP_MAX,
               OP_CLIP)


def _fused_groups(p: Program) -> list[list[int]]:
    """The steps run every cycle, in order, in groups written in one element loop: runs of
    ELEMENTWISE steps of one size (above 1) where a step reads the output of one before it in
    its group only as element e (or element 0 for all). One loop, not one per step: an LSTM
    layer's gate activations, products, sum and tanh take one loop, which numba compiles in
    less time (0.6 s less for the 2x128 network) and which reads each value while it is hot."""
    groups: list[list[int]] = []
    for i in range(p.n_comb):
        group = groups[-1] if groups else []
        if group and p.op[i] in ELEMENTWISE and _joins(p, group, i):
            group.append(i)
        else:
            groups.append([i])
    return groups


def _joins(p: Program, group: list[int], i: int) -> bool:
    m = int(p.size[i])
    if m == 1 or p.op[group[0]] not in ELEMENTWISE or int(p.size[group[0]]) != m:
        return False
    outputs = [int(p.out[j]) for j in group]
    for k in range(p.arg0[i], p.arg1[i]):
        slot, step = int(p.arg_slot[k]), int(p.arg_step[k])
        last = slot + (m - 1) * step
        for out in outputs:
            if slot <= out + m - 1 and out <= last and not (slot == out and step in (0, 1)):
                return False
    return True


def _scalar_slots(p: Program) -> set[int]:
    """Slots that get a local in run_one: one-element signals of the inputs, of the steps run
    every cycle and of registers (fold units write vals directly: theirs stay in vals)."""
    steps = [int(p.out[i]) for i in range(p.n_comb) if p.size[i] == 1]
    regs = [int(p.reg_out[r]) for r in range(len(p.reg_out)) if p.reg_size[r] == 1]
    # (an input vector's elements stay in vals, where the element loops read them)
    inputs = [int(n) for n, size in zip(p.in_slots, p.in_sizes) if size == 1]
    return set(inputs) | set(steps) | set(regs)


def _large_dots(p: Program) -> list[int]:
    """The exact dots written as loops (the small ones are written out, see _small_dot)."""
    return [i for i in range(p.n_comb) if p.op[i] == OP_DOT and _uses_xbuf(p, i)]


def weight_matrices(p: Program, narrow: bool = True) -> tuple[np.ndarray, ...]:
    """The arguments after COMPILED_ARGS of the generated functions (see _matrices)."""
    return tuple(matrix for _, matrix in _matrices(p, narrow))


def _matrices(p: Program, narrow: bool) -> list[tuple[str, np.ndarray]]:
    """(name, array) of each argument after COMPILED_ARGS: each large exact dot's weights as a
    matrix in the integers of its lanes (int64 without), ``weights<step>``; for dots written
    as one (_dot_groups), their matrices one above the other and their biases, ``bias<step>``
    of the first. Indexed by loop counters alone (not a computed offset into ints, which numba
    must check for a negative index), a row loop vectorises; made here, not in the generated
    code, whose every reshape and cast numba would compile."""
    groups = _dot_groups(p, narrow)
    merged = {j for steps in groups.values() for j in steps[1:]}
    out = []
    for i in _large_dots(p):
        if i in merged:
            continue
        lanes = _narrow_lanes(p, i, narrow)
        bits = 64 if lanes is None else lanes.bits
        mats, biases = [], []
        for j in groups.get(i, [i]):
            m, n, par = int(p.size[j]), int(p.arg1[j] - p.arg0[j]), int(p.par[j])
            mats.append(p.ints[par:par + m * n].reshape(m, n).astype(f"int{bits}"))
            biases.append(p.ints[par + m * n:par + m * n + m])
        out.append((f"weights{i}", np.concatenate(mats)))
        if len(mats) > 1:
            out.append((f"bias{i}", np.concatenate(biases)))
    return out


def _dot_groups(p: Program, narrow: bool) -> dict[int, list[int]]:
    """Runs of large exact dots in narrow lanes written as one (first step: the run): dots one
    after the other with the same inputs, lanes, size, format and valid bit, each one's output
    right after the one before (an LSTM layer's four gates). One loop over all their rows: 0.6-1
    s less of numba's compile for the 2x128 network."""
    groups: dict[int, list[int]] = {}
    run: list[int] = []
    for i in range(p.n_comb):
        lanes = _narrow_lanes(p, i, narrow) if i in _large_dots(p) else None
        if lanes is None:
            run = []
            continue
        if run and _same_dot(p, run[-1], i, narrow):
            run.append(i)
            groups[run[0]] = run
        else:
            run = [i]
    return groups


def _same_dot(p: Program, a: int, b: int, narrow: bool) -> bool:
    la, lb = _narrow_lanes(p, a, narrow), _narrow_lanes(p, b, narrow)
    args = [range(p.arg0[i], p.arg1[i]) for i in (a, b)]
    return ((la.bits, la.blocks) == (lb.bits, lb.blocks)
            and p.size[a] == p.size[b] and p.shift[a] == p.shift[b]
            and list(p.q[a]) == list(p.q[b]) and p.valid[a] == p.valid[b]
            and p.out[b] == p.out[a] + p.size[a]
            and all(len(args[0]) == len(args[1]) and list(arr[args[0]]) == list(arr[args[1]])
                    for arr in (p.arg_slot, p.arg_step, p.arg_shift)))


def _uses_xbuf(p: Program, i: int) -> bool:
    """Step i is a dot written as loops over a copy of its inputs in xbuf."""
    return p.op[i] == OP_DOT_ACC or (
        p.op[i] == OP_DOT and p.size[i] * (p.arg1[i] - p.arg0[i]) > UNROLL_PRODUCTS)


def _lanes(w: _Writer, p: Program, i: int):
    """The narrow lanes of large exact dot i (schedule.DotLanes), or None: int64."""
    return _narrow_lanes(p, i, w.narrow)


def _narrow_lanes(p: Program, i: int, narrow: bool):
    lanes = p.lanes.get(i) if narrow and p.op[i] == OP_DOT else None
    return lanes if lanes is not None and lanes.narrow else None


def describe_dots(p: Program) -> dict[int, str]:
    """How the compiled engine computes each dot step, in words (``info`` prints them)."""
    out = {}
    for i in range(len(p.op)):
        if p.op[i] not in (OP_DOT, OP_DOT_ACC):
            continue
        n = int(p.size[i] * (p.arg1[i] - p.arg0[i]))
        if i >= p.n_comb:
            out[i] = f"int64 (folded: {int(p.fold_k[i - p.n_comb])} products a cycle)"
        elif p.op[i] == OP_DOT_ACC:
            out[i] = "int64 (each product and partial sum cast into its accum format)"
        elif not _uses_xbuf(p, i):
            out[i] = f"int64, written out ({n} products: too few for vector lanes)"
        else:
            out[i] = p.lanes[i].describe()
    return out


def _xbuf(bits: int) -> str:
    """The buffer a dot's inputs are copied into, by their integer type."""
    return "xbuf" if bits == 64 else f"xbuf{bits}"


def _by_stream(w: _Writer, bits: int) -> bool:
    """Whether run's dots of ``bits`` operands have each stream's inputs contiguous in their
    xbuf (xbuf[s, j], see _narrow_dot); else the streams are contiguous (xbuf[j, s])."""
    return not w.one_stream and bits == BY_STREAM


@dataclass(frozen=True)
class _Step:
    """Step i of the program as the code written for it sees it: its opcode, its output's first
    slot and size, its arguments a0..a1, its constants at par, its format codes (as text)."""
    w: _Writer
    p: Program
    i: int
    one_slot: int
    op: int
    base: int
    m: int
    a0: int
    a1: int
    par: int
    codes: str
    group: int = 1   # dots written as one (_dot_groups): m is all their rows

    @property
    def size_expr(self) -> str:
        """The step's element count, read at run time (see _Writer.elements)."""
        return f"size[{self.i}]" if self.group == 1 else f"{self.group} * size[{self.i}]"

    def bias(self, e: str) -> str:
        """Dot row e's bias (the rows of a group's dots: in bias<first step>, see _matrices)."""
        if self.group > 1:
            return f"bias{self.i}[{e}]"
        return f"ints[{self.par + self.m * (self.a1 - self.a0)} + {e}]"

    @classmethod
    def of(cls, w: _Writer, p: Program, i: int, one_slot: int) -> "_Step":
        return cls(w, p, i, one_slot, *(int(v) for v in (p.op[i], p.out[i], p.size[i], p.arg0[i],
                                                         p.arg1[i], p.par[i])),
                   ", ".join(_i(c) for c in p.q[i]))

    @property
    def n_in(self) -> str:
        """The step's input count as a run-time value (see _Writer.elements)."""
        return f"arg1[{self.i}] - arg0[{self.i}]"

    def elements(self):
        """A loop over the step's elements (see _Writer.elements)."""
        return self.w.elements(self.m, self.size_expr)

    def ref(self, k: int) -> str:
        """Argument k's value: its slot, one element each ("e") or one for all."""
        return self.w.ref(*_operand(self.p, k))

    def aligned(self, k: int) -> str:
        return f"{self.ref(k)} << {_i(self.p.arg_shift[k])}"

    def count(self, flag: str = "f") -> None:
        """Add flag (a value overflowed) to the step's count, when its data is valid. In
        run_one as a branch, which LLVM folds into the quantiser's own (its fast path never
        overflows): adding the flag cost the lecture's cell 9% of its speed."""
        vs = int(self.p.valid[self.i])
        valid = "" if vs == self.one_slot else f" and {self.w.ref(vs)} != 0"
        # (a group's row e is one of step i + e // rows)
        step = self.i if self.group == 1 else f"{self.i} + e // {self.m // self.group}"
        if self.w.one_stream or self.group > 1:
            # (a one-element step's count in a local: the lecture's cell ran at 0.45x of its
            # speed counting into overflow; a vector step's locals would be live across every
            # loop of the cycle, which numba's compile pays for)
            count = f"ovf{self.i}" if self.m == 1 else f"overflow[{step}]"
            with self.w.block(f"if {flag}{valid}:"):   # (a flag may be 2: ops.accumulate)
                self.w(f"{count} += {flag}")
            return
        self.w.counted = True
        if valid:
            self.w(f"nf += {flag} * ({self.w.ref(vs)} != 0)")
        else:
            self.w(f"nf += {flag}")

    def finish_scalar(self, expr: str, e) -> None:
        """The exact value expr, quantised into the step's format and stored as element e."""
        self.w(f"r, f = {self.w.quantiser(self.p.shift[self.i], self.p.q[self.i])}({expr})")
        self.w.store(self.base, e, "r")
        self.count()

    def finish(self, expr: str, e) -> None:
        with self.w.block(STREAM_LOOP):
            self.finish_scalar(expr, e)


def _write_step(w: _Writer, p: Program, i: int, one_slot: int, group: int = 1) -> None:
    """Step i (group > 1: and the dots after it it is written with, see _dot_groups)."""
    st = _Step.of(w, p, i, one_slot)
    if group > 1:
        st = replace(st, m=st.m * group, group=group)
    write = STEP_WRITERS.get(st.op)
    if write is None:
        raise InternalError(f"no code for opcode {st.op} (a bug in lstm_hw, please report it)")
    # many streams: the step's overflows counted in a local for its loops (few variables live
    # across the whole cycle, which numba and LLVM pay for at every loop), added up once
    start, w.counted = len(w.lines), False
    w("nf = 0")
    write(st)
    if w.counted:
        w(f"overflow[{i}] += nf")
    else:
        del w.lines[start]


def _dot(st: _Step) -> None:
    w, p, i, m, par = st.w, st.p, st.i, st.m, st.par
    n = st.a1 - st.a0
    if st.op == OP_DOT and m * n <= UNROLL_PRODUCTS:
        _small_dot(st)
        return
    _copy_inputs(w, p, i)
    lanes = _lanes(w, p, i)
    if lanes is not None:
        _narrow_dot(st, lanes)
        return
    xb = "xbuf[j]" if w.one_stream else "xbuf[j, s]"
    if st.op == OP_DOT and w.one_stream:
        with st.elements():
            w(f"sm = ints[{par + m * n} + e]")
            with w.block(f"for j in range({st.n_in}):"):
                w(f"sm += weights{i}[e, j] * {xb}")
            st.finish("sm", "e")
    elif st.op == OP_DOT:
        # ROW_GROUP rows at a time, each input read once for all of them: the inputs of
        # many streams come from the cache, not registers, and that traffic is what bounds
        # the loop (1.5x faster at 1,024 streams)
        grouped = m - m % ROW_GROUP
        if grouped:
            with w.block(f"for e0 in range(0, size[{i}] - size[{i}] % {ROW_GROUP}, "
                         f"{ROW_GROUP}):"):
                with w.block(STREAM_LOOP):
                    for k in range(ROW_GROUP):
                        w(f"acc{k}[s] = ints[{par + m * n} + e0 + {k}]")
                with w.block(f"for j in range({st.n_in}):"):
                    for k in range(ROW_GROUP):
                        w(f"w{k} = weights{i}[e0 + {k}, j]")
                    with w.block(STREAM_LOOP):
                        w("x = xbuf[j, s]")
                        for k in range(ROW_GROUP):
                            w(f"acc{k}[s] += w{k} * x")
                for k in range(ROW_GROUP):
                    w(f"e = e0 + {k}")
                    st.finish(f"acc{k}[s]", "e")
        if grouped < m:
            with w.block(f"for e in range(size[{i}] - size[{i}] % {ROW_GROUP}, size[{i}]):"):
                with w.block(STREAM_LOOP):
                    w(f"acc[s] = ints[{par + m * n} + e]")
                with w.block(f"for j in range({st.n_in}):"):
                    w(f"wt = weights{i}[e, j]")
                    with w.block("if wt != 0:"):
                        with w.block(STREAM_LOOP):
                            w("acc[s] += wt * xbuf[j, s]")
                st.finish("acc[s]", "e")
    else:   # OP_DOT_ACC: each product, and each partial sum, cast into accum
        acodes = ", ".join(_i(c) for c in p.aux[i, :5])
        with st.elements():
            w(f"row = {par} + e * {n}")
            with w.block(STREAM_LOOP):
                w(f"acc[s] = ints[{par + m * n} + e]")
            with w.block(f"for j in range({st.n_in}):"):
                w("wt = ints[row + j]")
                w(f"ps = arg_shift[{st.a0} + j]")
                with w.block(STREAM_LOOP):
                    w(f"total, f = accumulate(acc[s], {xb}, wt, ps, {acodes})")
                    w("acc[s] = total")
                    st.count()
            st.finish("acc[s]", "e")


def _narrow_dot(st: _Step, lanes) -> None:
    """An exact dot in narrow lanes: each block of columns summed in int32 (products of int16
    or int32 operands), then shifted by its alignment and added to the bias in int64. A single
    block's length is read at run time (as the int64 loops do); several blocks have literal
    bounds.

    With int16 operands (and with one stream), each row's block sum for one stream is a
    reduction over its inputs, contiguous in xbuf (see _by_stream), which LLVM turns into
    vpmaddwd (int16 pairs multiplied and summed into int32): at 1,024 streams 1.4x faster than
    the streams as the vector lanes, whose int32 sums went through memory at every product
    (vpmulld). With int32 operands there is no such instruction, and the streams as the lanes,
    ROW_GROUP rows at a time, each input read once for all of them, are 1.6x faster than the
    reductions (vpmulld either way)."""
    w, i, m, xb = st.w, st.i, st.m, _xbuf(lanes.bits)
    spans = [(f"{j0}, {j1}" if len(lanes.blocks) > 1 else st.n_in, shift)
             for j0, j1, shift in lanes.blocks]
    if w.one_stream or _by_stream(w, lanes.bits):
        x = f"{xb}[{'s, ' if _by_stream(w, lanes.bits) else ''}j]"
        with st.elements(), w.block(STREAM_LOOP):
            w(f"sm = {st.bias('e')}")
            for span, shift in spans:
                w("a = np.int32(0)")
                with w.block(f"for j in range({span}):"):
                    w(f"a = np.int32(a + np.int32(weights{i}[e, j]) * np.int32({x}))")
                w(f"sm += np.int64(a) << {shift}")
            st.finish_scalar("sm", "e")
        return

    def rows(first: str, count: int) -> None:
        """Rows first .. first + count - 1, each input read once for all of them."""
        with w.block(STREAM_LOOP):
            for k in range(count):
                w(f"acc{k}[s] = {st.bias(f'{first} + {k}')}")
        for span, shift in spans:
            with w.block(STREAM_LOOP):
                for k in range(count):
                    w(f"sum{k}[s] = 0")
            with w.block(f"for j in range({span}):"):
                for k in range(count):
                    w(f"w{k} = np.int32(weights{i}[{first} + {k}, j])")
                with w.block(STREAM_LOOP):
                    w(f"x = np.int32({xb}[j, s])")
                    for k in range(count):
                        w(f"sum{k}[s] = np.int32(sum{k}[s] + w{k} * x)")
            with w.block(STREAM_LOOP):
                for k in range(count):
                    w(f"acc{k}[s] += np.int64(sum{k}[s]) << {shift}")
        for k in range(count):
            w(f"e = {first} + {k}")
            st.finish(f"acc{k}[s]", "e")

    grouped, size = m - m % ROW_GROUP, st.size_expr
    if grouped:
        with w.block(f"for e0 in range(0, {size} - ({size}) % {ROW_GROUP}, {ROW_GROUP}):"):
            rows("e0", ROW_GROUP)
    if grouped < m:
        with w.block(f"for e1 in range({size} - ({size}) % {ROW_GROUP}, {size}):"):
            rows("e1", 1)


def _small_dot(st: _Step) -> None:
    """A small exact dot, as one would write it by hand: one sum per output, no loops."""
    w, p, m, par, a0 = st.w, st.p, st.m, st.par, st.a0
    n = st.a1 - a0
    with w.block(STREAM_LOOP):
        for e in range(m):
            terms = [_i(p.ints[par + m * n + e])]
            for j in range(n):
                wt = int(p.ints[par + e * n + j])
                if wt:
                    terms.append(f"{wt} * ({w.ref(int(p.arg_slot[a0 + j]))} << "
                                 f"{_i(p.arg_shift[a0 + j])})")
            w(f"v = {' + '.join(terms)}")
            st.finish_scalar("v", e)


def _add(st: _Step) -> None:
    with st.elements(), st.w.block(STREAM_LOOP):
        terms = [f"{'-' if st.p.arg_sign[k] < 0 else '+'} ({st.aligned(k)})"
                 for k in range(st.a0, st.a1)]
        st.w("v = 0 " + " ".join(terms))
        st.finish_scalar("v", "e")


def _mul(st: _Step) -> None:
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w("v = " + " * ".join(st.ref(k) for k in range(st.a0, st.a1)))
        st.finish_scalar("v", "e")


def _table(st: _Step) -> None:
    ta, tb, tc, trunc, tsize = (int(v) for v in st.p.aux[st.i, :5])
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"idx = table_index({st.ref(st.a0)}, {ta}, {tb}, {tc}, {trunc}, {tsize})")
        st.w.store(st.base, "e", f"ints[{st.par} + idx]")


def _pwl(st: _Step) -> None:
    nk, x_shift, c_shift = (int(v) for v in st.p.aux[st.i, :3])
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"v = pwl_exact({st.ref(st.a0)}, ints, {st.par}, {nk}, {x_shift}, {c_shift})")
        st.finish_scalar("v", "e")


def _exact(st: _Step) -> None:
    in_frac, out_frac = (int(v) for v in st.p.aux[st.i, :2])
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"y = exact_activation({st.ref(st.a0)}, {in_frac}, {st.op == OP_EXACT_TANH})")
        st.w(f"r, f = quantise_float(y, {out_frac}, {st.codes})")
        st.w.store(st.base, "e", "r")
        st.count()


def _copy(st: _Step) -> None:
    w, p = st.w, st.p
    for e in range(st.m):
        k = st.a0 + e
        with w.block(STREAM_LOOP):
            quantise = w.quantiser(p.arg_shift[k], p.q[st.i])
            w(f"r, f = {quantise}({w.ref(int(p.arg_slot[k]))})")
            w.store(st.base, e, "r")
            st.count()


def _mux(st: _Step) -> None:
    sel_slot, sel_step, sel_frac = (int(v) for v in st.p.aux[st.i, :3])
    a0 = st.a0
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"sv = {st.w.val(f'{sel_slot} + e * {sel_step}')}")
        st.w(f"k = mux_index(sv, {sel_frac}, {st.a1 - a0})")
        st.w(f"src = arg_slot[{a0} + k] + e * arg_step[{a0} + k]")
        st.w(f"r, f = requantise_call({st.w.val('src')}, arg_shift[{a0} + k], {st.codes})")
        st.w.store(st.base, "e", "r")
        st.count()


def _extreme(st: _Step) -> None:
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"v = {st.aligned(st.a0)}")
        for k in range(st.a0 + 1, st.a1):
            st.w(f"v = extreme(v, {st.aligned(k)}, {st.op == OP_MAX})")
        st.finish_scalar("v", "e")


def _clip(st: _Step) -> None:
    with st.elements(), st.w.block(STREAM_LOOP):
        st.w(f"v = clamp({st.aligned(st.a0)}, ints[{st.par} + e], ints[{st.par + st.m} + e])")
        st.finish_scalar("v", "e")


# the code written for each opcode (an opcode without an entry is an InternalError)
STEP_WRITERS = {OP_DOT: _dot, OP_DOT_ACC: _dot, OP_ADD: _add, OP_MUL: _mul, OP_TABLE: _table,
                OP_PWL: _pwl, OP_EXACT_SIGMOID: _exact, OP_EXACT_TANH: _exact, OP_COPY: _copy,
                OP_MUX: _mux, OP_MIN: _extreme, OP_MAX: _extreme, OP_CLIP: _clip}


def _dot_inputs(w: _Writer, p: Program, i: int) -> tuple[str, list[tuple[int, int]]]:
    """The buffer dot step i reads its inputs from, and (slot, shift) of each input as its copy
    there holds it (unaligned in narrow lanes, whose weights carry the alignment)."""
    lanes = _lanes(w, p, i)
    # (with accum the products are aligned one by one: see kernel.py)
    aligned = p.op[i] == OP_DOT and lanes is None
    return (_xbuf(lanes.bits if lanes else 64),
            [(int(p.arg_slot[k]), int(p.arg_shift[k]) if aligned else 0)
             for k in range(p.arg0[i], p.arg1[i])])


def _copy_inputs(w: _Writer, p: Program, i: int) -> None:
    """A dot's inputs, concatenated into xbuf (so the dot's inner loop vectorises), each
    aligned there once (not at every product). A dot with the inputs of the step before it
    (the four gates of an LSTM layer) finds them in xbuf already; runs of consecutive slots
    with one shift (the usual case: x, then h) are copied by a loop each."""
    buf, inputs = _dot_inputs(w, p, i)
    if i > 0 and _uses_xbuf(p, i - 1) and _dot_inputs(w, p, i - 1) == (buf, inputs):
        w(f"# the inputs of the step before, in {buf} already")
        return
    runs: list[list[int]] = []   # [first index in xbuf, first slot, shift, length]
    for j, (slot, shift) in enumerate(inputs):
        if runs and runs[-1][1] + runs[-1][3] == slot and runs[-1][2] == shift:
            runs[-1][3] += 1
        else:
            runs.append([j, slot, shift, 1])
    xb = buf + ("[{} + j]" if w.one_stream else
                "[s, {} + j]" if buf == _xbuf(BY_STREAM) else "[{} + j, s]")
    if len(runs) > COPY_RUNS:
        with w.block(f"for j in range(arg1[{i}] - arg0[{i}]):"):
            w(f"src = arg_slot[{int(p.arg0[i])} + j]")
            w(f"ls = arg_shift[{int(p.arg0[i])} + j]" if p.op[i] == OP_DOT and buf == "xbuf"
              else "ls = 0")
            with w.block(STREAM_LOOP):
                w(f"{xb.format(0)} = {w.val('src')} << ls")
        return
    for first, slot, shift, length in runs:
        with w.block(f"for j in range({length}):"), w.block(STREAM_LOOP):
            w(f"{xb.format(first)} = {w.val(f'{slot} + j')} << {shift}")


def _operand(p: Program, k: int) -> tuple[int, int | str]:
    """Argument k's slot, and its offset: "e" (one element each) or 0 (one for all)."""
    slot, step = int(p.arg_slot[k]), int(p.arg_step[k])
    return slot, ("e" if step else 0)


def _next_value(w: _Writer, r: int, size: int, row: int) -> str:
    """Where register r's next value (element e) waits for the clock edge: a local for a
    one-element register of run_one, else row + e of nxt."""
    if w.one_stream:
        return f"nxt{r}" if size == 1 else f"nxt[{row} + e]"
    return f"nxt[{row} + e, s]"


def _direct(p: Program, r: int) -> bool:
    """Register r copies its source unchanged, which no clock edge writes (another register,
    a fold unit): written from it at the edge, with no copy in nxt before."""
    size, src = int(p.reg_size[r]), int(p.reg_in[r])
    return bool(p.reg_plain[r]) and not len(p.fold_t) and not any(
        src < int(p.reg_out[q]) + int(p.reg_size[q]) and int(p.reg_out[q]) < src + size
        for q in range(len(p.reg_out)))


def _latch(w: _Writer, p: Program, n_steps: int) -> None:
    """Every register's next value is computed (into nxt) before any is written. With one
    stream, a one-element register's next value is a local instead: a value on the cycle's
    critical path (the cell memory) then makes one trip through memory a cycle, not two."""
    row = 0
    for r in range(len(p.reg_out)):
        size, dst, src = int(p.reg_size[r]), int(p.reg_out[r]), int(p.reg_in[r])
        if _direct(p, r):   # (its rows of nxt stay unused: the rows after it keep their place)
            row += size
            continue
        nxt = _next_value(w, r, size, row)
        w(f"# register {r}")
        with w.elements(size, f"reg_size[{r}]"), w.block(STREAM_LOOP):
            if p.reg_plain[r]:
                w(f"{nxt} = {w.ref(src, 'e')}")
            else:
                rst, en = int(p.reg_rst[r]), int(p.reg_en[r])
                cond = "if"
                if rst >= 0:
                    idx = (rst, "e" if p.reg_rst_step[r] else 0)
                    with w.block(f"if {w.ref(*idx)} != 0:"):
                        w(f"{nxt} = ints[{_i(p.reg_init[r])} + e]")
                    cond = "elif"
                if en >= 0:
                    idx = (en, "e" if p.reg_en_step[r] else 0)
                    with w.block(f"{cond} {w.ref(*idx)} == 0:"):
                        w(f"{nxt} = {w.ref(dst, 'e')}")
                    cond = "elif"
                latch = [f"r, f = {w.quantiser(p.reg_shift[r], p.reg_q[r])}({w.ref(src, 'e')})",
                         f"{nxt} = r", f"overflow[{n_steps + r}] += f"]
                if cond == "elif":
                    with w.block("else:"):
                        for line in latch:
                            w(line)
                else:
                    for line in latch:
                        w(line)
        row += size
    for u in range(len(p.fold_t)):
        i = p.n_comb + u
        w(f"overflow[{i}] += fold_edge({i}, fold_state[{u}], fold_start[{u}], fold_t[{u}], "
          f"fold_k[{u}], op, out, size, q, shift, arg0, arg1, par, aux, arg_slot, arg_shift, "
          "ints, vals)")
    row = 0
    for r in range(len(p.reg_out)):
        size, dst, src = int(p.reg_size[r]), int(p.reg_out[r]), int(p.reg_in[r])
        with w.elements(size, f"reg_size[{r}]"):
            with w.block(STREAM_LOOP):   # (w.ref inside: it knows e = 0 there)
                w.store(dst, "e", w.ref(src, "e") if _direct(p, r) else
                        _next_value(w, r, size, row))
        row += size


_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _arithmetic_version() -> str:
    """A hash of the code the generated module inlines and calls (fixed.py, arith.py, ops.py,
    kernel.py):
    numba caches the module by its own source only, so a change there must change the source."""
    sim = Path(__file__).parent
    text = b"".join(p.read_bytes() for p in (sim.parent / "fixed.py", sim.parent / "arith.py",
                                             sim / "ops.py", sim / "kernel.py"))
    return hashlib.sha256(text).hexdigest()[:16]


def _module_name(source: str) -> str:
    return f"lstm_hw_gen_{hashlib.sha256(source.encode()).hexdigest()[:24]}"


def is_compiled(source: str, function: str) -> bool:
    """Whether numba has the machine code of the generated module's ``function`` (run: many
    streams; run_one: one) cached on disk, next to the module or in the NUMBA_CACHE_DIR mirror
    of its folder: then using it costs a load, not a compile."""
    name = _module_name(source)
    folder = cache_dir().resolve()
    if not (folder / f"{name}.py").is_file():
        return False
    places = [folder / "__pycache__"]
    if numba.config.CACHE_DIR:
        places.append(Path(numba.config.CACHE_DIR) / str(folder).lstrip(os.sep))
    return any(any(p.glob(f"{name}.{function}-*.nbi")) for p in places if p.is_dir())


def load_module(source: str):
    """Import the generated source from a file named by its hash (written once, atomically).

    Thread-safe: the threads a run is split over may ask for the module at once, and none may
    see it half imported."""
    name = _module_name(source)
    with _LOAD_LOCK:
        if name in sys.modules:
            return sys.modules[name]
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        if not path.exists() or path.read_bytes() != source.encode():
            if path.exists():   # the same name means the same source: this copy is damaged
                print(f"warning: the cached module {path} was damaged: written again",
                      file=sys.stderr)
            with replace_file(str(path)) as fh:
                fh.write(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
        return module


def load_python(source: str):
    """The generated module run as plain Python (``njit`` an identity decorator): the same
    code, slow, without numba's compile. The tests run most of their examples this way and
    compile a sample."""
    plain = source.replace("from numba import njit",
                           "def njit(*args, **kwargs):\n    return lambda f: f", 1)
    if plain == source:
        raise InternalError("the generated module does not import njit as expected")
    module = types.ModuleType("lstm_hw_gen_python")
    exec(compile(plain, "<lstm_hw generated, plain Python>", "exec"), module.__dict__)
    return module
