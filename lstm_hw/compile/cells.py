"""The cell library: every op, its operands, its parameters and its meaning, in one table.

An op's meaning, for all of them: the operands' exact values are combined at full precision
(products keep F1 + F2 fractional bits, sums align to the finest operand and keep every bit) and
the exact result is quantised once into the cell's format (rounding, then overflow), except where
the table says otherwise (``dot`` with an ``accum`` format; activations). ``float_eval`` below is
that meaning in float64 without quantisation: the float reference.

| op        | operands             | params                                       | result                |
|-----------|----------------------|----------------------------------------------|-----------------------|
| input     | -                    | size, format                                 | the cycle's input     |
| const     | -                    | value                                        | value                 |
| dot       | in (concatenated: n) | weights (m x n or n), bias, weight_format,   | W @ in + bias (m)     |
|           |                      | bias_format, accum                           |                       |
| add       | in (2 or more)       | -                                            | sum, broadcasting     |
| sub       | in (exactly 2)       | -                                            | in[0] - in[1]         |
| mul       | in (2 or more)       | -                                            | product, broadcasting |
| sigmoid   | in (1)               | table / pwl / exact                          | 1 / (1 + exp(-x))     |
| tanh      | in (1)               | table / pwl / exact                          | tanh(x)               |
| identity  | in (concatenated)    | -                                            | in, cast (alias cast) |
| reg       | in (1)               | init, enable, reset                          | state, latched at the |
|           |                      |                                              | clock edge            |
| concat    | in (concatenated)    | -                                            | in                    |
| slice     | in (concatenated)    | start, stop, step / index                    | in[start:stop:step]   |
| mux       | in (2 or more)       | sel (a signal)                               | in[floor(sel)],       |
|           |                      |                                              | clamped to the ends   |
| min       | in (2 or more)       | -                                            | smallest, broadcasting|
| max       | in (2 or more)       | -                                            | largest, broadcasting |
| clip      | in (1)               | lo, hi (numbers, in the result's format)     | min(max(in, lo), hi)  |

``min``/``max`` compare the operands' exact values; ``clip`` compares its operand exactly with
``lo`` and ``hi`` as quantised into the cell's format (they must fit it, lo <= hi), so its result
never overflows. Structural ops (reg, concat, slice, mux) keep their operand's format unless one is set for them.

Timing (compile/timing.py): every combinational op takes ``latency: N``, N pipeline register
stages on its output; a ``dot`` takes ``multipliers: K`` (or hls4ml's ``reuse: R``, K =
ceil(products / R)) and then computes its m x n products K per cycle over ceil(m*n / K) cycles
into an exact accumulator, its result registered at the end. Values never change, only when.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np


class Kind(enum.Enum):
    """What a cell computes, as the compiler's checks, timing, costs and reports need to know
    it: they dispatch on an op's kind, never on its name, so an op of an existing kind is one
    row of OPS (plus its fixed-point meaning in sim/ops.py and its lowering in schedule.py)."""
    INPUT = "the cycle's input"
    CONST = "a constant"
    STATE = "a register: the state carried to the next step"
    DOT = "a weighted sum of the concatenated operands"
    SUM = "an elementwise sum or difference"
    PRODUCT = "an elementwise product"
    ACTIVATION = "a sigmoid or tanh unit (table, pwl or exact)"
    CAST = "the operands' elements, cast"
    SLICE = "selected elements of the operands, cast"
    SELECT = "one operand's element, picked by a signal"
    COMPARE = "the smallest or largest operand"
    CLIP = "the operand clamped to constant limits"

    @property
    def combinational(self) -> bool:
        return self not in (Kind.INPUT, Kind.CONST, Kind.STATE)


@dataclass(frozen=True)
class OpSpec:
    name: str
    kind: Kind
    min_in: int                 # number of `in` operands
    max_in: int | None          # None: unbounded
    params: tuple[str, ...]     # accepted parameters besides op, in, format
    required: tuple[str, ...] = ()
    concat: bool = False        # `in` operands are concatenated into one vector
    elementwise: bool = False   # operands broadcast against each other
    structural: bool = False    # inherits its operand's format
    signals: dict[str, str] = field(default_factory=dict)   # params that name a signal
    # the constants it quantises: (parameter, raw integers' key, format's key or None: the
    # cell's format), for the report of how far they moved
    constants: tuple[tuple[str, str, str | None], ...] = ()
    doc: str = ""


ACT_PARAMS = ("table", "pwl", "exact")

OPS: dict[str, OpSpec] = {spec.name: spec for spec in [
    OpSpec("const", Kind.CONST, 0, 0, ("value",), ("value",),
           constants=(("value", "raw", None),), doc="a constant vector"),
    OpSpec("dot", Kind.DOT, 1, None, ("weights", "bias", "weight_format", "bias_format",
                                      "accum", "multipliers", "reuse"),
           ("weights",), concat=True,
           constants=(("weights", "w_raw", "w_fmt"), ("bias", "b_raw", "b_fmt")),
           doc="weighted sum: W @ in + bias"),
    OpSpec("add", Kind.SUM, 2, None, (), elementwise=True, doc="elementwise sum"),
    OpSpec("sub", Kind.SUM, 2, 2, (), elementwise=True, doc="elementwise difference"),
    OpSpec("mul", Kind.PRODUCT, 2, None, (), elementwise=True, doc="elementwise product"),
    OpSpec("sigmoid", Kind.ACTIVATION, 1, 1, ACT_PARAMS, doc="logistic function"),
    OpSpec("tanh", Kind.ACTIVATION, 1, 1, ACT_PARAMS, doc="hyperbolic tangent"),
    OpSpec("identity", Kind.CAST, 1, None, (), concat=True,
           doc="pass-through, cast to the format"),
    OpSpec("reg", Kind.STATE, 1, 1, ("init", "enable", "reset"), structural=True,
           signals={"enable": "the signal that lets it latch",
                    "reset": "the signal that sets it to its init"},
           constants=(("init", "init_raw", None),),
           doc="register: latches in at the clock edge"),
    OpSpec("concat", Kind.CAST, 1, None, (), concat=True, structural=True,
           doc="concatenation"),
    OpSpec("slice", Kind.SLICE, 1, None, ("start", "stop", "step", "index"), concat=True,
           structural=True, doc="selects elements"),
    OpSpec("mux", Kind.SELECT, 2, None, ("sel",), ("sel",), elementwise=True, structural=True,
           signals={"sel": "the signal that picks one of its inputs"},
           doc="selects one operand by the value of sel"),
    OpSpec("min", Kind.COMPARE, 2, None, (), elementwise=True, doc="elementwise minimum"),
    OpSpec("max", Kind.COMPARE, 2, None, (), elementwise=True, doc="elementwise maximum"),
    OpSpec("clip", Kind.CLIP, 1, 1, ("lo", "hi"), ("lo", "hi"), doc="clamped to [lo, hi]"),
]}
# the circuit's inputs are cells too (made from the netlist's `inputs:`, not a block's op)
SPECS: dict[str, OpSpec] = {"input": OpSpec("input", Kind.INPUT, 0, 0, ()), **OPS}
ALIASES = {"cast": "identity"}
# the --precision PARTs besides a block's result format: what sets them, and which ops have them
PRECISION_PARTS = {"weight": ("a dot's weight format", Kind.DOT),
                   "bias": ("a dot's bias format", Kind.DOT),
                   "accum": ("a dot's accumulator format", Kind.DOT),
                   "table": ("a sigmoid or tanh table's entry format", Kind.ACTIVATION),
                   "table_size": ("the entries of a sigmoid or tanh table", Kind.ACTIVATION)}
TIMING_PARAMS = ("latency",)


def sigmoid(x):
    # exp(-x) overflows to inf for x < -709: the result 0.0 is the right limit
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": np.tanh}
# One value at a time with the C library's functions, which the engine's `exact` activations
# call too: tables and pwl knots are built with these, so their entries do not depend on
# numpy's vectorised (and here and there less accurate) exp and tanh.
def libm_sigmoid(x: float) -> float:
    """The logistic function of one float64 (sim/ops.py compiles this one definition for the
    engines' exact activations); exp(-x) overflows below -709: the limit, 0."""
    return 0.0 if x < -700.0 else 1.0 / (1.0 + math.exp(-x))


LIBM_ACTIVATIONS = {"sigmoid": libm_sigmoid, "tanh": math.tanh}


def float_eval(cell, args: list[np.ndarray], ctrl: dict[str, np.ndarray]) -> np.ndarray:
    """The float64 meaning of a combinational cell; arrays are [streams, elements]."""
    op = cell.op
    if op == "dot":
        # einsum, not BLAS: the same sums in the same order whatever the batch or the threads
        x = np.concatenate(args, axis=1)
        return np.einsum("sj,ij->si", x, cell.params.weights) + cell.params.bias
    if op == "add":
        return sum(args[1:], args[0])
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if op in ACTIVATIONS:
        return ACTIVATIONS[op](args[0])
    if op in ("identity", "concat"):
        return np.concatenate(args, axis=1)
    if op == "slice":
        return np.concatenate(args, axis=1)[:, cell.params.index]
    if op in ("min", "max"):
        pick = np.minimum if op == "min" else np.maximum
        out = args[0]
        for a in args[1:]:
            out = pick(out, a)
        return out
    if op == "clip":
        return np.minimum(np.maximum(args[0], cell.params.lo), cell.params.hi)
    if op == "mux":
        sel = np.clip(np.floor(ctrl["sel"]), 0, len(args) - 1).astype(np.int64)
        stacked = np.stack(np.broadcast_arrays(*args), axis=0)      # [operand, stream, elem]
        sel = np.broadcast_to(sel, stacked.shape[1:])
        return np.take_along_axis(stacked, sel[None], axis=0)[0]
    raise KeyError(op)


# The cost model's constants: a mid-range AMD/Xilinx UltraScale+ FPGA as Yosys's synth_xilinx
# maps onto it (see cost(); calibrated against it by benchmarks/bench_rtl.py --calibrate).
DSP_A, DSP_B = 27, 18     # a DSP48E2 slice multiplies 27 x 18 bits (7-series DSP48E1: 25 x 18)
DSP_MIN_PRODUCT = 9       # synth_xilinx puts a product of >= 9 bits (operands >= 2 bits) in DSPs
DSP_LUTS = 100            # one DSP slice in LUT-equivalents (about the LUT:DSP ratio of such parts)
ROM_BITS_PER_LUT = 64     # a LUT6 holds 64 bits of ROM (a block RAM's worth, in synth.py)
STORED_BITS_PER_LUT = 24  # a ROM column synthesised as stored bits: LUT6s, their mux tree and
                          # what ABC adds, fitted on sigmoid tables of 16 to 4,096 entries
INDEX_BITS_PER_LUT = 5    # comparing a table index with a constant: a LUT6 per 5 index bits
MUX_INPUTS_PER_LUT = 3    # a LUT6 picks one of 4 inputs: an n-way choice is (n - 1) / 3 per bit
FFS_PER_LUT = 2           # a slice has two flip-flops per LUT
COST_KEYS = ("multipliers", "mult_bits", "dsp", "mult_luts", "adder_bits", "logic_bits",
             "reg_bits", "table_bits", "table_luts", "total")


def multiplier_cost(wa: int, wb: int) -> tuple[int, int]:
    """(DSP slices, LUTs) of one wa x wb bit multiplier, as synth_xilinx builds it: a product of
    fewer than DSP_MIN_PRODUCT bits, or by a 1-bit operand, in LUTs (~ wa * wb); any other in
    DSP48E2 slices tiling it, ceil(wa/27) * ceil(wb/18) (either way round, the fewer), their
    partial products added in LUTs (one per bit of the sum above the first slice's 18)."""
    if min(wa, wb) < 2 or wa + wb < DSP_MIN_PRODUCT:
        return 0, wa * wb
    tiles = min(-(-wa // DSP_A) * -(-wb // DSP_B), -(-wa // DSP_B) * -(-wb // DSP_A))
    return tiles, (tiles - 1) * (wa + wb - DSP_B)


def mux_luts(ways: int, bits: int) -> int:
    """LUTs of a choice of one of ``ways`` values of ``bits`` bits (a LUT6 is a 4-to-1 mux)."""
    return -(-(ways - 1) // MUX_INPUTS_PER_LUT) * bits


def table_reads(table, x_fmt) -> np.ndarray:
    """The entries a table can read, in index order: those its input's values reach (a 5-bit
    input reaches at most 32 of 1024; inputs over 16 bits are taken to reach them all)."""
    if x_fmt.width > 16:
        return table.entries
    big = max(abs(x_fmt.lo), abs(x_fmt.hi)) * abs(table.a) + abs(table.b) >= 2**62
    num = np.arange(x_fmt.lo, x_fmt.hi + 1, dtype=np.int64).astype(object if big else np.int64)
    num = num * table.a
    if table.trunc:      # as sim/ops.py's table_index: toward zero, then - b; else floor
        idx = np.where(num < 0, -(-num // table.c), num // table.c) - table.b
    else:
        idx = (num - table.b) // table.c
    idx = np.clip(idx.astype(np.int64), 0, len(table.entries) - 1)
    return table.entries[np.unique(idx)]


def table_luts(entries, width: int) -> int:
    """LUTs of a ROM of ``entries`` (raw integers, ``width`` bits each) read without a register,
    as logic synthesis builds it from its contents: per output bit, a column that changes value
    t times along the index is (t + 1) // 2 intervals of the n-bit index, each two comparisons
    with constants (n / INDEX_BITS_PER_LUT LUTs), unless storing the column is cheaper (entries /
    STORED_BITS_PER_LUT LUTs); plus n for the index logic. A smooth function (a sigmoid of few
    output bits) costs far less than its bits / 64, a table of fine entries more."""
    e = np.asarray(entries, dtype=np.int64) & ((1 << width) - 1)
    n = max(_log2_ceil(len(e)), 1)
    luts = n
    for j in range(width):
        changes = int(np.count_nonzero(np.diff((e >> j) & 1)))
        if changes:
            luts += min((changes + 1) // 2 * -(-n // INDEX_BITS_PER_LUT),
                        -(-len(e) // STORED_BITS_PER_LUT))
    return luts


def constant_bits(raw: int) -> int:
    """Operand bits of a multiplier by a constant: its significant bits (trailing zeros are a
    shift) and a sign. 0 for 0 (no product), 1 for a power of two (a shift, no multiplier)."""
    v = abs(int(raw))
    if v == 0:
        return 0
    v >>= (v & -v).bit_length() - 1
    return v.bit_length() + 1 if v > 1 else 1


def _log2_ceil(n: int) -> int:
    return max(int(n) - 1, 0).bit_length()


def constant_range(raw: int, frac: int) -> tuple[int, int]:
    """(integer bits, fractional bits) that the magnitude of the constant raw * 2**-frac takes:
    for m * 2**e with m odd, ceil(log2 m) + e and max(-e, 0)."""
    v = abs(int(raw))
    if v == 0:
        return 0, 0
    shift = (v & -v).bit_length() - 1
    m, e = v >> shift, shift - frac
    return (m - 1).bit_length() + e, max(-e, 0)


def cost(cell, cells, built: set | None = None) -> dict[str, float]:
    """The hardware cost estimate of one cell of a circuit (``hardware_cost`` in
    compile/pipeline.py sums it over the clocked hardware that ``verilog`` exports; ``info``,
    ``sweep`` and ``tune`` rank by its ``total``). A model for comparing settings, calibrated
    against Yosys's synth_xilinx (benchmarks/bench_rtl.py --calibrate), not a synthesis result:

    - multipliers (``mul``; ``dot`` products; ``pwl`` slopes), each with its operand widths
      (``mult_bits`` sums wa * wb). A product by a constant weight takes the weight's significant
      bits plus a sign (trailing zeros are a shift); weights of 0 and powers of two cost nothing.
      A product of >= 9 bits: ``dsp`` += the DSP48E2 slices (27 x 18) that tile it (synthesis
      puts even a product by a constant there), a smaller one ``mult_luts`` += wa * wb
      (``multiplier_cost``).
    - ``adder_bits``: every adder at the width it works at (about one LUT per bit, carry chain):
      a ``dot`` row of t terms (its nonzero products and bias) has t - 1 adders, as wide as the
      ``accum`` format or, without one, the exact sum (max integer bits + max fractional bits of
      the products + ceil(log2 t) growth bits; a product by a constant m * 2**e, m odd, has the
      input's integer bits + ceil(log2 m) + e and its fractional bits + max(-e, 0)); ``add``/
      ``sub`` of n operands: n - 1 adders as wide as their exact sum; ``min``/``max`` of n
      operands: n - 1 comparators (adders) and n - 1 muxes as wide as the aligned operands;
      ``clip``: two of each; a pwl's knots: a comparator each.
    - ``logic_bits``: quantising the exact result into the cell's format: saturation (every mode
      but AP_WRAP, where integer bits are dropped) a LUT per bit of the format, two after
      rounding (whose carry decides the overflow; rounding alone rides on the adder's carry
      chain); a ``mux`` of n operands, (n - 1) / 3 LUTs per bit (``mux_luts``).
    - ``reg_bits``: registers (``reg``: in the hardware also the pipeline, balancing and valid
      registers), bits = width.
    - ``table_bits``: lookup tables, entries x width (pwl: slopes and intercepts), for
      reference; ``table_luts``: the logic that holds them, from the entries the input can
      reach (``table_reads``, ``table_luts``: a smooth table costs less than its bits / 64).
      ``exact`` activations are a simulation device and cost nothing here.
    - a folded ``dot`` (``multipliers: K`` over T cycles) is the state machine the Verilog export
      writes: K multipliers of the widest weight by the widest (aligned) input, each fed by a
      T-way choice of weight (a ROM over the steps) and of input, K accumulating adders whose
      sum goes to one of the rows (a mux of the rows and one back into each), registers for
      the inputs, the accumulators and the results, and a step counter; only the inputs and
      rows of nonzero weights are chosen (synthesis folds away a step of weight 0, whose row
      gets itself back, and a choice between equal values), and a multiplier with no nonzero
      weight is not built.

    ``total`` (LUT-equivalents) = mult_luts + adder_bits + logic_bits + table_luts
    + 100 * dsp + reg_bits / 2 (two flip-flops per LUT).

    ``built``: the products by constants that earlier cells of the circuit build, as (input
    cell, element, weight); a ``dot`` adds its own, and one already there costs no multiplier
    again (synthesis merges identical logic: the lecture's z_in and z_forget share x2 * 100).
    """
    c = dict.fromkeys(COST_KEYS, 0)
    fmt, n, op, p = cell.fmt, cell.size, cell.op, cell.params

    def mult(wa: int, wb: int, count: int = 1) -> None:
        dsp, luts = multiplier_cost(wa, wb)
        c["multipliers"] += count
        c["mult_bits"] += count * wa * wb
        c["dsp"] += count * dsp
        c["mult_luts"] += count * luts

    exact = None     # (integer bits, fractional bits) of the exact result, before quantisation
    arg_fmts = [cells[a].fmt for a in cell.args]
    if op == "dot":
        w_fmt, b_fmt, acc = p.w_fmt, p.b_fmt, p.accum
        x_fmts = [cells[a].fmt for a in cell.args for _ in range(cells[a].size)]
        x_elems = [(a, e) for a in cell.args for e in range(cells[a].size)]
        built = set() if built is None else built
        folded = p.multipliers and p.w_raw.size > p.multipliers
        widest, ints, fracs = 0, [], []
        for row, bias in zip(p.w_raw, p.b_raw):
            used = [k for k, v in enumerate(row) if v]
            terms = []
            for k in used:       # a product's exact range: the input's, scaled by the weight
                i_w, f_w = constant_range(row[k], w_fmt.frac)
                terms.append((x_fmts[k].integer + i_w, x_fmts[k].frac + f_w))
            if bias:
                i_b, f_b = constant_range(bias, b_fmt.frac)
                terms.append((i_b + 1, f_b))
            if not folded:
                for k in used:
                    bits = constant_bits(row[k])
                    if bits > 1 and (*x_elems[k], int(row[k])) not in built:
                        mult(bits, x_fmts[k].width)
                    built.add((*x_elems[k], int(row[k])))
            if not terms:
                continue
            i_bits = max(t[0] for t in terms) + _log2_ceil(len(terms))
            f_bits = max(t[1] for t in terms)
            ints.append(i_bits)
            fracs.append(f_bits)
            width = acc.width if acc else i_bits + f_bits
            widest = max(widest, width)
            if not folded:
                c["adder_bits"] += (len(terms) - 1) * width
        if folded:
            _folded_dot(c, cell, x_fmts, widest, mult)
        elif p.multipliers:    # one cycle: the dot, its result registered
            c["reg_bits"] += n * fmt.width
        if acc:
            exact = (acc.integer, acc.frac)
        elif ints:
            exact = (max(ints), max(fracs))
    elif op in ("add", "sub"):
        exact = (max(f.integer for f in arg_fmts) + _log2_ceil(len(arg_fmts)),
                 max(f.frac for f in arg_fmts))
        c["adder_bits"] += n * (len(arg_fmts) - 1) * sum(exact)
    elif op == "mul":
        i_bits, f_bits = arg_fmts[0].integer, arg_fmts[0].frac
        for f in arg_fmts[1:]:
            mult(i_bits + f_bits, f.width, n)
            i_bits, f_bits = i_bits + f.integer, f_bits + f.frac
        exact = (i_bits, f_bits)
    elif op == "identity":
        exact = (max(f.integer for f in arg_fmts), max(f.frac for f in arg_fmts))
    elif op in ("min", "max"):   # a comparator (a subtractor) and a mux per extra operand
        exact = (max(f.integer for f in arg_fmts), max(f.frac for f in arg_fmts))
        c["adder_bits"] += n * (len(arg_fmts) - 1) * sum(exact)
        c["logic_bits"] += n * (len(arg_fmts) - 1) * sum(exact)
    elif op == "clip":           # two comparators and two muxes; the result always fits
        x_fmt = arg_fmts[0]
        compared = max(x_fmt.integer, fmt.integer) + max(x_fmt.frac, fmt.frac)
        c["adder_bits"] += 2 * n * compared
        c["logic_bits"] += 2 * n * compared
        exact = (fmt.integer, max(x_fmt.frac, fmt.frac))
    elif op == "mux":
        c["logic_bits"] += n * mux_luts(len(arg_fmts), fmt.width)
    elif op == "reg":
        c["reg_bits"] += n * fmt.width
    elif op in ACTIVATIONS and cell.impl == "table":
        stored = p.table.entry_fmt or fmt      # hls4ml's table_t, or the cell's format
        c["table_bits"] += len(p.table.entries) * stored.width
        c["table_luts"] += table_luts(table_reads(p.table, arg_fmts[0]), fmt.width)
    elif op in ACTIVATIONS and cell.impl == "pwl":
        pw, x_fmt = p.pwl, arg_fmts[0]
        c["table_bits"] += 2 * len(pw.slope) * pw.coef_fmt.width
        c["table_luts"] += n * (table_luts(pw.slope, pw.coef_fmt.width)
                                + table_luts(pw.icpt, pw.coef_fmt.width))
        mult(pw.coef_fmt.width, x_fmt.width, n)
        exact = (pw.coef_fmt.integer + x_fmt.integer + 1, pw.coef_fmt.frac + x_fmt.frac)
        c["adder_bits"] += n * (sum(exact) + len(pw.knots) * x_fmt.width)
    if exact is not None and exact[0] > fmt.integer and fmt.saturation != "AP_WRAP":
        rounded = exact[1] > fmt.frac and fmt.rounding != "AP_TRN"
        c["logic_bits"] += n * fmt.width * (2 if rounded else 1)
    c["reg_bits"] += cell.latency * n * fmt.width
    c["total"] = (c["mult_luts"] + c["adder_bits"] + c["logic_bits"] + c["table_luts"]
                  + DSP_LUTS * c["dsp"] + c["reg_bits"] / FFS_PER_LUT)
    return c


def _folded_dot(c: dict, cell, x_fmts, acc_width: int, mult) -> None:
    """A folded dot's state machine (rtl/verilog.py: fold), added into the cost ``c``."""
    p, m = cell.params, cell.size
    k_mul = int(p.multipliers)
    w_raw = np.asarray(p.w_raw, dtype=np.int64).ravel()
    n_in = len(x_fmts)
    steps = -(-len(w_raw) // k_mul)
    top_frac = max(f.frac for f in x_fmts)   # inputs aligned to the finest binary point
    xw = max(f.integer for f in x_fmts) + top_frac
    ww = max(int(abs(w_raw).max()).bit_length() + 1, 2)
    c["table_bits"] += int((w_raw != 0).sum()) * p.w_fmt.width
    for s in range(k_mul):          # multiplier s takes products s, s + K, s + 2K...
        ks = range(s, len(w_raw), k_mul)
        # synthesis folds a step of weight 0 away (its row gets itself back) and a choice
        # between equal values: only the inputs and rows of nonzero weights are chosen
        live = [k for k in ks if w_raw[k]]
        if not live:
            continue
        rows = len({k // n_in for k in live})
        mult(ww, xw)
        c["table_luts"] += table_luts([w_raw[k] for k in ks], ww)
        c["logic_bits"] += (mux_luts(len({k % n_in for k in live}), xw)
                            + mux_luts(rows, acc_width) + rows * acc_width)
        c["adder_bits"] += acc_width
    c["logic_bits"] += (n_in * xw + m * acc_width)    # start: load the inputs and the biases
    c["reg_bits"] += n_in * xw + m * acc_width + _log2_ceil(steps) + 1 + m * cell.fmt.width


def total_cost(cells) -> dict[str, float]:
    """``cost`` summed over a circuit's cells (keys COST_KEYS)."""
    out = dict.fromkeys(COST_KEYS, 0)
    built: set = set()
    for cell in cells:
        for key, value in cost(cell, cells, built).items():
            out[key] += value
    return out
