"""The living reference: a slow, obvious simulator of lstm_hw's fixed-point semantics (DESIGN.md
sections 3-4), which every engine (and the RTL backend) is tested against, bit for bit.

It walks the elaborated Circuit directly (cells, ``order``, ``regs``, params) one stream and one
cycle at a time, computes every cell's exact value with ``fractions.Fraction`` and quantises it
with its own quantiser below (round the exact value onto 2**-F, then handle overflow as Xilinx's
``ap_fixed_base.h`` ``overflow_adjust`` does). It shares no arithmetic with lstm_hw: nothing from
lstm_hw.arith's requantise / quantise_float / finish, lstm_hw.compile.schedule or lstm_hw.sim.
Only the elaborated data (formats, raw weights, table entries, knots) is taken from lstm_hw.

Semantics, per op (the exact value is quantised once into the cell's format unless said):
  dot       sum_j w_j x_j + b; with ``accum`` format A: acc = cast_A(b); for each j in input
            order acc = cast_A(acc + cast_A(w_j x_j)); then cast into the output format
  add/sub/mul   elementwise, operands of one element broadcast
  identity/concat/slice   each (selected) element cast
  mux       k = floor(sel) clamped to [0, n-1]; operand k's element cast
  min/max   the smallest / largest exact operand, cast
  clip      min(max(x, lo), hi) exactly, lo and hi as elaborated into the cell's format, cast
  table     idx = floor((x - lo) / step) ('floor') or trunc(x / step) + (-lo / step) ('trunc'),
            step = (hi - lo) / size, clamped to [0, size-1]; the result is entries[idx] as given
  pwl       segment = number of knots (raw, ceil(knot * 2**F_in)) <= x_raw;
            y = slope * x + intercept exactly (coefficients raw in coef_fmt), quantised
  exact     1 / (1 + exp(-x)) or tanh(x) in float64 (Python's math) from float(x) (the nearest
            double: wider inputs are rounded), then the
            float's exact value quantised
  reg       at the end of each cycle, all at once: reset non-zero -> init; else enable present and
            zero -> hold; else the input cast into the register's format
Each cycle: apply the inputs, evaluate ``circuit.order``, record every signal, latch registers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

# ---------------------------------------------------------------------------------------------
# The quantiser: exact value -> (raw, overflowed).

def _bit(value: int, i: int) -> bool:
    return (value >> i) & 1 == 1


def _with_bits(value: int, lo: int, hi: int, ones: bool) -> int:
    """value with bits lo..hi (inclusive; empty when hi < lo) all set to `ones`."""
    if hi < lo:
        return value
    mask = ((1 << (hi - lo + 1)) - 1) << lo
    return value | mask if ones else value & ~mask


def _round_up(rounding: str, rest: Fraction, floor: int, negative: bool) -> bool:
    """Whether the value floor + rest (0 <= rest < 1) rounds up to floor + 1."""
    if rest == 0 or rounding == "AP_TRN":
        return False
    if rounding == "AP_TRN_ZERO":
        return negative
    if rest != Fraction(1, 2):          # every AP_RND* mode takes the nearest grid point ...
        return rest > Fraction(1, 2)
    return {                            # ... and differs only on exact ties
        "AP_RND": True,                 # towards +inf
        "AP_RND_ZERO": negative,        # towards zero
        "AP_RND_MIN_INF": False,        # towards -inf
        "AP_RND_INF": not negative,     # away from zero
        "AP_RND_CONV": floor % 2 == 1,  # to even
    }[rounding]


def own_quantise(x: Fraction, width: int, integer: int, signed: bool, rounding: str,
                 saturation: str, nbits: int) -> tuple[int, bool]:
    """Raw value of ``ap_[u]fixed<width, integer, rounding, saturation, nbits>`` assigned ``x``."""
    scaled = Fraction(x) * Fraction(2) ** (width - integer)
    floor = math.floor(scaled)
    negative = x < 0
    r = floor + _round_up(rounding, scaled - floor, floor, negative)

    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    symmetric = saturation == "AP_SAT_SYM" and signed
    if lo <= r <= hi and not (symmetric and r == lo):
        return r, False

    # Out of range: the rest follows overflow_adjust in ap_fixed_base.h.
    if saturation == "AP_SAT" or (saturation == "AP_WRAP_SM" and not signed):
        return (hi if r > hi else lo), True
    if saturation == "AP_SAT_ZERO":
        return 0, True
    if saturation == "AP_SAT_SYM":
        if r > hi or not signed:
            return (hi if r > hi else lo), True
        # The header writes 10..0 | 1, i.e. -hi; for width 1 that is the single bit, i.e. lo.
        return (-hi if width > 1 else lo), True

    top = width - 1
    bits = r & ((1 << width) - 1)           # the W bits left after wrapping
    if saturation == "AP_WRAP":
        if nbits and signed:                # sign bit from the source, next N-1 bits opposite it
            bits = _with_bits(bits, top, top, negative)
            bits = _with_bits(bits, width - nbits, top - 1, not negative)
        elif nbits:                         # unsigned: the top N bits are set (even on underflow)
            bits = _with_bits(bits, width - nbits, top, True)
    else:                                   # AP_WRAP_SM, signed
        if nbits == 0:
            deleted = _bit(floor, width)    # lowest deleted bit of the truncated source (lD)
            if deleted != _bit(bits, top):
                bits = _with_bits(~bits & ((1 << width) - 1), top, top, deleted)
        else:
            if nbits == 1:
                invert = _bit(bits, top) != negative
            else:
                invert = _bit(bits, width - nbits) == negative
            if invert:
                bits = ~bits & ((1 << width) - 1)
            bits = _with_bits(bits, width - nbits, top - 1, not negative)
            bits = _with_bits(bits, top, top, negative)
    if signed and _bit(bits, top):
        bits -= 1 << width
    return bits, True


def quantise(x, fmt) -> tuple[int, bool]:
    """Exact value x (Fraction, int or float) into FixedFormat fmt: (raw, overflowed)."""
    return own_quantise(Fraction(x), fmt.width, fmt.integer, fmt.signed, fmt.rounding,
                        fmt.saturation, fmt.saturation_bits)


def value_of(raw: int, frac: int) -> Fraction:
    return Fraction(int(raw)) * Fraction(2) ** -frac


def frac_of(fmt) -> int:
    return fmt.width - fmt.integer


def _trunc_div(a: Fraction) -> int:
    """a rounded toward zero."""
    return math.floor(a) if a >= 0 else -math.floor(-a)


# ---------------------------------------------------------------------------------------------
# The simulator.

@dataclass
class OracleTrace:
    raw: dict[str, np.ndarray]                      # name -> int64 [streams, steps, elements]
    overflow: dict[str, int] = field(default_factory=dict)


class Oracle:
    def __init__(self, circuit):
        self.c = circuit
        self.cells = circuit.cells

    # -- one cell --------------------------------------------------------------------------
    def val(self, state: dict, cid: int, e: int) -> Fraction:
        """Element e of signal cid as an exact value (one-element signals broadcast)."""
        cell = self.cells[cid]
        raw = state[cid][e if cell.size > 1 else 0]
        return value_of(raw, frac_of(cell.fmt))

    def elements(self, state: dict, args) -> list[tuple[int, Fraction]]:
        """The concatenated operands: (raw, exact value) per element."""
        out = []
        for a in args:
            f = frac_of(self.cells[a].fmt)
            out += [(r, value_of(r, f)) for r in state[a]]
        return out

    def eval_cell(self, cell, state: dict, count) -> list[int]:
        op, fmt, p = cell.op, cell.fmt, cell.params

        def q(x, fmt=fmt):
            raw, over = quantise(x, fmt)
            if over:
                count()
            return raw

        if op == "dot":
            xs = [v for _, v in self.elements(state, cell.args)]
            wf, bf = frac_of(p.w_fmt), frac_of(p.b_fmt)
            acc_fmt = p.accum
            out = []
            for i in range(cell.size):
                w = [value_of(r, wf) for r in p.w_raw[i]]
                b = value_of(p.b_raw[i], bf)
                if acc_fmt is None:
                    out.append(q(sum((wj * xj for wj, xj in zip(w, xs)), Fraction(0)) + b))
                else:
                    af = frac_of(acc_fmt)
                    acc = value_of(quantise(b, acc_fmt)[0], af)   # a constant: not counted
                    for wj, xj in zip(w, xs):
                        prod = value_of(q(wj * xj, acc_fmt), af)
                        acc = value_of(q(acc + prod, acc_fmt), af)
                    out.append(q(acc))
            return out
        if op in ("add", "sub", "mul"):
            out = []
            for e in range(cell.size):
                vals = [self.val(state, a, e) for a in cell.args]
                if op == "add":
                    x = sum(vals, Fraction(0))
                elif op == "sub":
                    x = vals[0] - vals[1]
                else:
                    x = Fraction(1)
                    for v in vals:
                        x *= v
                out.append(q(x))
            return out
        if op in ("identity", "concat", "slice"):
            el = self.elements(state, cell.args)
            index = list(p.index) if op == "slice" else range(len(el))
            return [q(el[int(i)][1]) for i in index]
        if op == "mux":
            out = []
            n = len(cell.args)
            for e in range(cell.size):
                k = math.floor(self.val(state, cell.ctrl["sel"], e))
                k = min(max(k, 0), n - 1)
                out.append(q(self.val(state, cell.args[k], e)))
            return out
        if op in ("min", "max"):
            pick = min if op == "min" else max
            return [q(pick(self.val(state, a, e) for a in cell.args)) for e in range(cell.size)]
        if op == "clip":
            f = frac_of(fmt)
            return [q(min(max(self.val(state, cell.args[0], e), value_of(p.lo_raw[e], f)),
                          value_of(p.hi_raw[e], f))) for e in range(cell.size)]
        if op in ("sigmoid", "tanh"):
            return [self.activation(cell, self.val(state, cell.args[0], e),
                                    state[cell.args[0]][e], q) for e in range(cell.size)]
        raise AssertionError(f"oracle: no meaning for op '{op}'")

    def activation(self, cell, x: Fraction, x_raw: int, q) -> int:
        p = cell.params
        if p.impl == "table":
            t = p.table
            size = len(t.entries)
            lo, hi = Fraction(t.lo), Fraction(t.hi)
            step = (hi - lo) / size
            if t.trunc:
                k = -lo / step
                assert k.denominator == 1
                idx = _trunc_div(x / step) + int(k)
            else:
                idx = math.floor((x - lo) / step)
            idx = min(max(idx, 0), size - 1)
            return int(t.entries[idx])
        if p.impl == "pwl":
            pw = p.pwl
            seg = sum(1 for k in pw.knots if int(k) <= int(x_raw))
            cf = frac_of(pw.coef_fmt)
            return q(value_of(pw.slope[seg], cf) * x + value_of(pw.icpt[seg], cf))
        assert p.impl == "exact", p.impl
        xf = float(x)   # the nearest double: exact up to 53 significant bits, as the engines'
        if cell.op == "tanh":
            y = math.tanh(xf)
        else:
            try:
                y = 1.0 / (1.0 + math.exp(-xf))
            except OverflowError:               # exp(-x) beyond float64: the limit, 0
                y = 0.0
        return q(Fraction(y))

    # -- the clock -------------------------------------------------------------------------
    def run(self, raw_inputs) -> OracleTrace:
        """raw_inputs: int [streams, steps, input columns] (raw values in the inputs' formats)."""
        x = np.asarray(raw_inputs)
        if x.ndim == 2:
            x = x[None]
        n_streams, n_steps, _ = x.shape
        cells = self.cells
        out = {c.name: np.zeros((n_streams, n_steps, c.size), np.int64) for c in cells}
        overflow: dict[str, int] = {}

        def counter(name):
            def count():
                overflow[name] = overflow.get(name, 0) + 1
            return count

        for s in range(n_streams):
            state: dict[int, list[int]] = {}
            for r in self.c.regs:
                state[r] = [int(v) for v in cells[r].params.init_raw]
            for k in self.c.consts:
                state[k] = [int(v) for v in cells[k].params.raw]
            for t in range(n_steps):
                col = 0
                for i in self.c.inputs:
                    state[i] = [int(v) for v in x[s, t, col:col + cells[i].size]]
                    col += cells[i].size
                for cid in self.c.order:
                    cell = cells[cid]
                    state[cid] = self.eval_cell(cell, state, counter(cell.name))
                    assert len(state[cid]) == cell.size
                for cell in cells:
                    out[cell.name][s, t, :] = state[cell.id]
                nxt = {}
                for r in self.c.regs:
                    cell = cells[r]
                    vals = []
                    for e in range(cell.size):
                        rst = cell.ctrl.get("reset")
                        en = cell.ctrl.get("enable")
                        if rst is not None and self.val(state, rst, e) != 0:
                            vals.append(int(cell.params.init_raw[e]))
                        elif en is not None and self.val(state, en, e) == 0:
                            vals.append(state[r][e])
                        else:
                            raw, over = quantise(self.val(state, cell.args[0], e), cell.fmt)
                            if over:
                                counter(cell.name)()
                            vals.append(raw)
                    nxt[r] = vals
                state.update(nxt)
        return OracleTrace(out, overflow)


def check_constants(circuit) -> list[str]:
    """Elaboration's quantisation of weights, biases, constants and register inits, checked
    against this quantiser from their float64 values; returns the mismatches found."""
    bad = []

    def cmp(cell, what, floats, raws, fmt):
        want = [quantise(Fraction(float(v)), fmt)[0] for v in np.ravel(floats)]
        got = [int(v) for v in np.ravel(raws)]
        if want != got:
            bad.append(f"{cell.name}.{what} in {fmt}: elaborated {got}, oracle {want}")

    for cell in circuit.cells:
        p = cell.params
        if cell.op == "dot":
            cmp(cell, "weights", p.weights, p.w_raw, p.w_fmt)
            cmp(cell, "bias", p.bias, p.b_raw, p.b_fmt)
        elif cell.op == "const":
            cmp(cell, "value", p.value, p.raw, cell.fmt)
        elif cell.op == "reg":
            cmp(cell, "init", p.init, p.init_raw, cell.fmt)
    return bad
