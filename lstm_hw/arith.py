"""The ap_fixed arithmetic on raw int64 values: rounding, overflow, quantising floats.

Every quantisation in lstm_hw goes through :func:`finish`: the exact value is first floored onto
the target's grid (``T``, plus the first dropped bit ``qb`` and whether any lower dropped bit was
set, ``r``), then the rounding mode decides the increment, then the overflow mode handles a
result outside ``[lo, hi]``. This mirrors ``ap_fixed_base::quantization_adjust`` and
``overflow_adjust`` of the Xilinx headers bit for bit, including AP_WRAP / AP_WRAP_SM with N
saturation bits. Formats (and their codes) are lstm_hw.fixed's.

The functions are compiled with numba because the engines call them; they are the one definition
of the arithmetic that the engines, elaboration (weights, constants) and the Python API share.
The same source also runs as plain Python (``lstm_hw.plain.arith()``: no numba import, no
compile), where a few values are quantised or where the numpy engine meets a value its
vectorised path does not settle; :func:`round_shift` and :func:`round_increment` are written
with ``&`` and ``|`` so that they take arrays of streams there too. Tests check them against
exact rational arithmetic, not against this code.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .fixed import (INT64_MAX, RND, RND_CONV, RND_INF, RND_MIN_INF, RND_ZERO, SAT, SAT_SYM,
                    SAT_ZERO, TRN_ZERO, WRAP, WRAP_SM)

@njit(cache=True, inline="always")
def round_increment(q, neg, qb, r, odd):
    """True if the floored value must be incremented: ``quantization_adjust`` of ap_fixed.

    neg: the exact value is negative; qb: first dropped bit; r: any lower dropped bit is set;
    odd: the floored value's lowest bit (for ties to even). Booleans, or boolean arrays (the
    numpy engine's streams): hence ``&``, ``|`` and ``!=`` rather than and, or, not.
    """
    if q == RND:
        return qb
    if q == RND_ZERO:
        return qb & (neg | r)
    if q == RND_MIN_INF:
        return qb & r
    if q == RND_INF:
        return qb & ((neg != True) | r)   # noqa: E712 (neg an array in the numpy engine)
    if q == RND_CONV:
        return qb & (odd | r)
    if q == TRN_ZERO:
        return neg & (qb | r)
    return False


@njit(cache=True, inline="always")
def ones(n):
    """The n lowest bits set, n from 0 to 64 (a shift by 64 is undefined in LLVM: no 1 << 64)."""
    return np.int64(-1) if n >= 64 else INT64_MAX >> (63 - n)


@njit(cache=True, inline="always")
def raw_range(width, signed):
    """(lo, hi): the smallest and largest raw value of a format (no shift by 64, no overflow)."""
    if signed:
        hi = ones(width - 1)
        return -hi - 1, hi
    return np.int64(0), ones(width)


@njit(cache=True, inline="always")
def floor_shift(v, shift):
    """floor(v * 2**-shift) for any shift, saturated to the int64 range where shift < 0 would
    leave it (the mux's select index; shifts are clamped: a shift by 64 or more is undefined)."""
    if shift >= 0:
        return v >> (shift if shift < 63 else 63)
    k = -shift if -shift < 63 else 63
    if v > (INT64_MAX >> k):
        return INT64_MAX
    if v < ((-INT64_MAX - 1) >> k):
        return -INT64_MAX - 1
    return v << k


@njit(cache=True)
def finish(floor_val, k, qb, r, neg, q, o, width, signed, nbits):
    """Round, then handle overflow, as HLS does; returns (raw, overflowed).

    The exact value, floored onto the target grid, is floor_val * 2**k: k = 0 after a right
    shift (then |floor_val| < 2**63 - 1 where a bit may be rounded in), k > 0 for a left shift,
    which drops no bits (qb = r = False) and may go far beyond int64. qb: the first dropped bit;
    r: any lower dropped bit is set; neg: the exact value is negative.
    """
    lo, hi = raw_range(width, signed)
    kk = k if k < 63 else 63
    if k == 0:
        val = floor_val + (1 if round_increment(q, neg, qb, r, (floor_val & 1) != 0) else 0)
        fits = lo <= val <= hi
        over = val > hi
    else:   # in range iff ceil(lo / 2**k) <= floor_val <= floor(hi / 2**k); lo is 0 or -2**(W-1)
        fits = ((lo >> k) if k < width else 0) <= floor_val <= (hi >> kk)
        over = floor_val > 0
        val = (floor_val << kk) if k < 64 else np.int64(0)   # its low 64 bits, all wrapping needs
    if fits and not (o == SAT_SYM and signed and val == lo):
        return val, False
    if o == SAT or (o == WRAP_SM and not signed):   # unsigned AP_WRAP_SM saturates in HLS
        return (hi if over else lo), True
    if o == SAT_ZERO:
        return np.int64(0), True
    if o == SAT_SYM:   # the header writes 10..0 | 1 for -hi: at width 1 that is lo
        return (hi if over else (-hi if signed and width > 1 else lo)), True
    mask = ones(width)
    bits = val & mask
    sign = neg
    top_bit = np.int64(1) << (width - 1)
    if o == WRAP:
        if nbits > 0:
            if signed:
                bits = (bits & ~top_bit) | (top_bit if sign else 0)
                if nbits > 1:
                    rng = ones(nbits - 1) << (width - nbits)
                    bits = (bits & ~rng) if sign else (bits | rng)
            else:
                bits = bits | (ones(nbits) << (width - nbits))
    else:  # AP_WRAP_SM, signed
        top = (bits >> (width - 1)) & 1
        if nbits == 0:
            # the lowest deleted bit: bit W of the floored source floor_val * 2**k
            pos = width - k
            ld = ((floor_val >> (pos if pos < 63 else 63)) & 1) if pos >= 0 else 0
            if ld != top:
                bits = (~bits) & mask
            bits = (bits & ~top_bit) | (top_bit if ld else 0)
        else:
            if nbits == 1:
                if sign != (top == 1):
                    bits = (~bits) & mask
            else:
                lno = (bits >> (width - nbits)) & 1
                if (lno == 1) == sign:
                    bits = (~bits) & mask
                rng = ones(nbits - 1) << (width - nbits)
                bits = (bits & ~rng) if sign else (bits | rng)
            bits = (bits & ~top_bit) | (top_bit if sign else 0)
    bits &= mask
    if signed and (bits & top_bit) != 0:
        bits |= ~mask   # sign extension (nothing to extend at W = 64)
    return bits, True


@njit(cache=True, inline="always")
def round_shift(v, shift, q):
    """v * 2**-shift rounded as q says, shift from 0 to 62: (rounded, floored, qb, r), qb the
    first dropped bit, r any lower one. v an int64, or an int64 array (the numpy engine)."""
    floor_val = v >> shift
    below = shift - 1 if shift > 0 else 0   # the first dropped bit (no shift by -1)
    qb = ((v >> below) & 1) != 0
    if shift == 0:
        qb = False                            # nothing is dropped
    r = (v & ones(below)) != 0                # ones(0) is 0: r is False at shifts 0 and 1
    return floor_val + round_increment(q, v < 0, qb, r, (floor_val & 1) != 0), floor_val, qb, r


def _requantise(v, shift, q, o, width, signed, nbits):
    """Raw ``v`` with F2 fractional bits into a format with F = F2 - shift: (raw, overflowed).

    The common case (a right shift whose result fits) is a few operations, which fold further
    where the format is a constant; everything else goes to ``finish`` / ``_requantise_any``.
    """
    if 0 <= shift <= 62:
        val, floor_val, qb, r = round_shift(v, shift, q)
        lo, hi = raw_range(width, signed)
        if lo <= val <= hi and not (o == SAT_SYM and signed and val == lo):
            return val, False
        return finish(floor_val, 0, qb, r, v < 0, q, o, width, signed, nbits)
    return _requantise_any(v, shift, q, o, width, signed, nbits)


# The same function twice: inlined where it is called (code generated for one netlist, where
# the format codes are constants and most of it folds away), and called (the interpreter, which
# would otherwise inline it at every op and take several times longer to compile).
requantise = njit(cache=True, inline="always")(_requantise)
requantise_call = njit(cache=True)(_requantise)


@njit(cache=True)
def _requantise_any(v, shift, q, o, width, signed, nbits):
    """requantise for every shift (left shifts, and shifts past the int64 width)."""
    # One call of finish, with variables rather than constants: a literal argument would
    # have numba compile finish a second time, specialised to it.
    floor_val = v
    k = np.int64(0)
    qb = r = False
    if shift > 63:   # every bit is dropped; above bit 63 the bits are copies of the sign
        floor_val = v >> 63
        qb = v < 0
        r = (v << 1) != 0 if shift == 64 else v != 0
    elif shift > 0:
        floor_val = v >> shift
        qb = ((v >> (shift - 1)) & 1) != 0
        r = (v & ones(shift - 1)) != 0
    elif shift < 0:
        k = -shift
    return finish(floor_val, k, qb, r, v < 0, q, o, width, signed, nbits)


@njit(cache=True)
def quantise_float(x, frac, q, o, width, signed, nbits):
    """A float64 value into a format with ``frac`` fractional bits: (raw, overflowed).

    Exact for every finite x: x = mant * 2**(exp - 53) with an integer |mant| < 2**53, which
    requantise takes as a raw value with 53 - exp fractional bits (scaling x itself by 2**frac
    could overflow to inf or lose bits of a subnormal, and floor(x) overflows int64).
    """
    m, e = math.frexp(x)
    return requantise_call(np.int64(math.ldexp(m, 53)), 53 - e - frac, q, o, width, signed,
                           nbits)


@njit(cache=True)
def quantise_floats_loop(x, frac, q, o, width, signed, nbits):
    """quantise_float of every value of a 1-D array: (raw, overflowed) arrays."""
    raw = np.empty(x.size, np.int64)
    over = np.empty(x.size, np.bool_)
    for i in range(x.size):
        raw[i], over[i] = quantise_float(x[i], frac, q, o, width, signed, nbits)
    return raw, over
