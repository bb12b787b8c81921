"""Each op's fixed-point meaning on one element, written once for every engine.

The interpreter (kernel.py) calls these with values it reads from the Program's arrays; the
compiled backend (codegen.py) writes calls to them with the Program's integers as literals, and
LLVM inlines them there and folds the constants. The meaning they implement is in the cell table
(compile/cells.py); the exact reference they are tested against is sim/oracle.py. Quantisation
itself is arith.requantise / quantise_float. The numpy engine (vectorised.py) runs them as plain
Python (lstm_hw.plain), per stream or per distinct value.

Program layouts they read (compile/schedule.py writes them): a table's entries at ``par``; a pwl's
knots at ``par``, its slopes and intercepts (one more than the knots) after them.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..compile.cells import libm_sigmoid
from ..arith import floor_shift, requantise_call as requantise

# exp and tanh as the C library computes them (tables and pwl knots are built with the same
# functions, in compile/cells.py)
sigmoid_float = njit(cache=True, nogil=True)(libm_sigmoid)


@njit(cache=True, nogil=True)
def table_index(x, a, b, c, trunc, size):
    """The entry an activation table reads for input raw x: (x * a - b) // c ('floor'), or
    x * a / c truncated toward zero, as C's integer division, then - b ('trunc'); clamped."""
    if trunc:
        num = x * a
        idx = abs(num) // c
        if num < 0:
            idx = -idx
        idx -= b
    else:
        idx = (x * a - b) // c
    if idx < 0:
        idx = 0
    elif idx > size - 1:
        idx = size - 1
    return idx


@njit(cache=True, nogil=True)
def pwl_exact(x, ints, knots, n_knots, x_shift, c_shift):
    """A pwl activation's exact value for input raw x: the segment is the number of knots <= x,
    its slope * x + intercept aligned to the step's intermediate."""
    seg = 0
    while seg < n_knots and x >= ints[knots + seg]:
        seg += 1
    slope = ints[knots + n_knots + seg]
    icpt = ints[knots + 2 * n_knots + 1 + seg]
    return ((slope * x) << x_shift) + (icpt << c_shift)


@njit(cache=True, nogil=True)
def exact_activation(x, in_frac, tanh):
    """The true sigmoid (or tanh) of raw x with in_frac fractional bits, in float64."""
    v = math.ldexp(float(x), -in_frac)
    if tanh:
        return math.tanh(v)
    return sigmoid_float(v)


@njit(cache=True, nogil=True)
def mux_index(sel, sel_frac, n_in):
    """The operand a mux passes for select raw sel: floor(sel), clamped to the operands."""
    k = floor_shift(sel, sel_frac)   # no shift by 64 or more (undefined in LLVM)
    if k < 0:
        return 0
    if k > n_in - 1:
        return n_in - 1
    return k


@njit(cache=True, nogil=True)
def accumulate(acc, x, weight, shift, aq, ao, aw, asg, anb):
    """One term of a dot with an accum format (hls4ml's accum_t): the product cast into accum,
    then the partial sum cast into accum. Returns (the new sum, overflows 0..2)."""
    prod, f1 = requantise(weight * x, shift, aq, ao, aw, asg, anb)
    total, f2 = requantise(acc + prod, np.int64(0), aq, ao, aw, asg, anb)
    return total, f1 + f2


@njit(cache=True, nogil=True)
def extreme(a, b, largest):
    """min (largest false) or max of two aligned exact values."""
    if largest:
        return a if a >= b else b
    return a if a <= b else b


@njit(cache=True, nogil=True)
def clamp(x, lo, hi):
    """clip's exact value: x, lo and hi aligned alike, lo <= hi."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
