"""Fixed-point formats with the semantics of Vivado/Vitis HLS ``ap_fixed``.

A value of format ``ap_fixed<W,I,Q,O,N>`` is held as a raw int64 ``r`` meaning ``r * 2**-F`` with
``F = W - I`` fractional bits (F may be negative or exceed W). ``ap_fixed`` goes up to W = 64,
``ap_ufixed`` up to W = 63 (an unsigned 64-bit raw value does not fit int64), I from -128 to 128.
Every quantisation in lstm_hw goes through :func:`finish`: the exact value is first floored onto
the target's grid (``T``, plus the
first dropped bit ``qb`` and whether any lower dropped bit was set, ``r``), then the rounding mode
decides the increment, then the overflow mode handles a result outside ``[lo, hi]``. This mirrors
``ap_fixed_base::quantization_adjust`` and ``overflow_adjust`` of the Xilinx headers bit for bit,
including AP_WRAP / AP_WRAP_SM with N saturation bits.

The scalar functions are compiled with numba because the engine's kernel calls them; they are the
one definition of the arithmetic that the kernel, elaboration (weights, constants) and the Python
API share. Tests check them against exact rational arithmetic, not against this code.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numba import njit

ROUNDING_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF",
                  "AP_RND_CONV")
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP_SM")
MAX_WIDTH = 64            # ap_fixed; ap_ufixed up to MAX_WIDTH - 1 (its raw value is an int64)
MAX_INTEGER = 128         # |I|: any I the headers take within this range, I > W and I <= 0 too

# Integer codes the kernel sees (index into the tuples above).
TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV = range(7)
WRAP, SAT, SAT_ZERO, SAT_SYM, WRAP_SM = range(5)

INT64_MAX = np.int64(2**63 - 1)


class FormatError(ValueError):
    """A format string or parameter that is not a valid ap_fixed type."""


@dataclass(frozen=True)
class FixedFormat:
    """``ap_fixed<width, integer, rounding, saturation, saturation_bits>`` (hls4ml's words)."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    saturation: str = "AP_WRAP"
    saturation_bits: int = 0

    def __post_init__(self):
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise FormatError(f"width must be an integer from 1 to {MAX_WIDTH}, got {self.width}")
        if not self.signed and self.width == MAX_WIDTH:
            raise FormatError(f"ap_ufixed has at most {MAX_WIDTH - 1} bits here (raw values are "
                              f"int64), got {self.width}: use ap_fixed<{MAX_WIDTH},...> or "
                              f"ap_ufixed<{MAX_WIDTH - 1},...>")
        if not isinstance(self.integer, int) or abs(self.integer) > MAX_INTEGER:
            raise FormatError(f"integer bits must be an integer within +-{MAX_INTEGER}, "
                              f"got {self.integer}")
        if self.rounding not in ROUNDING_MODES:
            raise FormatError(f"unknown quantisation mode '{self.rounding}' "
                              f"(expected one of {', '.join(ROUNDING_MODES)})")
        if self.saturation not in OVERFLOW_MODES:
            raise FormatError(f"unknown overflow mode '{self.saturation}' "
                              f"(expected one of {', '.join(OVERFLOW_MODES)})")
        if not self.signed and self.saturation == "AP_WRAP_SM":
            raise FormatError("ap_ufixed does not support AP_WRAP_SM (sign-magnitude wrapping "
                              "needs a sign; HLS refuses it too)")
        if not 0 <= self.saturation_bits <= self.width:
            raise FormatError(f"saturation bits must be from 0 to the width {self.width}, "
                              f"got {self.saturation_bits}")

    @property
    def frac(self) -> int:
        """Fractional bits F = W - I (the raw value's binary point)."""
        return self.width - self.integer

    @property
    def lo(self) -> int:
        """Smallest raw value."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        """Largest raw value."""
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def q_code(self) -> int:
        return ROUNDING_MODES.index(self.rounding)

    @property
    def o_code(self) -> int:
        return OVERFLOW_MODES.index(self.saturation)

    def codes(self) -> tuple[int, int, int, int, int]:
        """(q, o, width, signed, saturation_bits) as the kernel takes them."""
        return self.q_code, self.o_code, self.width, int(self.signed), self.saturation_bits

    def max_abs_raw(self) -> int:
        return max(-self.lo, self.hi)

    def to_fraction(self, raw: int) -> Fraction:
        return Fraction(int(raw)) * Fraction(2) ** -self.frac

    def to_float(self, raw):
        """Raw integer(s) to float64: exact where |raw| < 2**53 (every format of width <= 53),
        else the nearest float64. Exact values: to_fraction, to_decimal."""
        return np.ldexp(np.asarray(raw, dtype=np.float64), -self.frac)

    def quantise(self, values) -> np.ndarray:
        """Float value(s) to raw integers in this format (exact rounding from the float64 value)."""
        return quantise_floats(np.asarray(values, dtype=np.float64), self)[0]

    def __str__(self) -> str:
        name = "ap_fixed" if self.signed else "ap_ufixed"
        args = [str(self.width), str(self.integer)]
        if self.rounding != "AP_TRN" or self.saturation != "AP_WRAP" or self.saturation_bits:
            args.append(self.rounding)
        if self.saturation != "AP_WRAP" or self.saturation_bits:
            args.append(self.saturation)
        if self.saturation_bits:
            args.append(str(self.saturation_bits))
        return f"{name}<{','.join(args)}>"


_FORMAT_RE = re.compile(r"^\s*(ap_fixed|ap_ufixed)\s*<([^<>]*)>\s*$")


def parse_format(text: str) -> FixedFormat:
    """Parse ``ap_fixed<W,I[,Q[,O[,N]]]>`` or ``ap_ufixed<...>``; raises FormatError."""
    if not isinstance(text, str):
        raise FormatError(f"a format is a string like 'ap_fixed<16,8>', got {text!r}")
    m = _FORMAT_RE.match(text)
    if not m:
        raise FormatError(f"'{text}' is not a format (expected ap_fixed<W,I[,Q[,O[,N]]]> "
                          f"or ap_ufixed<...>)")
    args = [a.strip() for a in m.group(2).split(",")]
    if not 2 <= len(args) <= 5:
        raise FormatError(f"'{text}': expected 2 to 5 template arguments, got {len(args)}")
    try:
        width, integer = int(args[0]), int(args[1])
        nbits = int(args[4]) if len(args) > 4 else 0
    except ValueError:
        raise FormatError(f"'{text}': width, integer bits and saturation bits must be integers") \
            from None
    return FixedFormat(width, integer, m.group(1) == "ap_fixed",
                       args[2] if len(args) > 2 else "AP_TRN",
                       args[3] if len(args) > 3 else "AP_WRAP", nbits)


# ---------------------------------------------------------------------------------------------
# The arithmetic (numba-compiled; callable from Python too).

@njit(cache=True, inline="always")
def round_increment(q, neg, qb, r, odd):
    """1 if the floored value must be incremented: ``quantization_adjust`` of ap_fixed.

    neg: the exact value is negative; qb: first dropped bit; r: any lower dropped bit is set;
    odd: the floored value's lowest bit (for ties to even).
    """
    if q == RND:
        return qb
    if q == RND_ZERO:
        return qb and (neg or r)
    if q == RND_MIN_INF:
        return qb and r
    if q == RND_INF:
        return qb and ((not neg) or r)
    if q == RND_CONV:
        return qb and (odd or r)
    if q == TRN_ZERO:
        return neg and (qb or r)
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


def _requantise(v, shift, q, o, width, signed, nbits):
    """Raw ``v`` with F2 fractional bits into a format with F = F2 - shift: (raw, overflowed).

    The common case (a right shift whose result fits) is a few operations, which fold further
    where the format is a constant; everything else goes to ``finish`` / ``_requantise_any``.
    """
    if 0 <= shift <= 62:
        floor_val = v >> shift
        below = shift - 1 if shift > 0 else 0   # the first dropped bit (no shift by -1)
        qb = shift > 0 and ((v >> below) & 1) != 0
        r = shift > 1 and (v & ones(below)) != 0
        val = floor_val + (1 if round_increment(q, v < 0, qb, r, (floor_val & 1) != 0) else 0)
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
def _quantise_floats(x, frac, q, o, width, signed, nbits):
    raw = np.empty(x.size, np.int64)
    over = np.empty(x.size, np.bool_)
    flat = x.ravel()
    for i in range(flat.size):
        raw[i], over[i] = quantise_float(flat[i], frac, q, o, width, signed, nbits)
    return raw, over


def quantise_floats(values: np.ndarray, fmt: FixedFormat) -> tuple[np.ndarray, np.ndarray]:
    """Float64 array into raw integers of ``fmt``: (raw, overflowed), same shape as values.

    Non-finite values are refused: they have no fixed-point meaning.
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("NaN or infinite value cannot be quantised")
    flat = np.ascontiguousarray(x.ravel())
    if not flat.flags.writeable:   # one compiled version (numba types read-only arrays apart)
        flat = flat.copy()
    raw, over = _quantise_floats(flat, fmt.frac, *fmt.codes())
    return raw.reshape(x.shape), over.reshape(x.shape)


def requantise_array(raw: np.ndarray, src_frac: int, fmt: FixedFormat) -> np.ndarray:
    """Raw integers with src_frac fractional bits into fmt (Python convenience, not the engine)."""
    flat = np.asarray(raw, dtype=np.int64).ravel()
    out = np.array([requantise(int(v), src_frac - fmt.frac, *fmt.codes())[0] for v in flat],
                   dtype=np.int64)
    return out.reshape(np.shape(raw))


def to_decimal(raw: int, frac: int) -> str:
    """The exact decimal string of raw * 2**-frac (every such number has a finite decimal)."""
    raw = int(raw)
    if frac <= 0:
        return str(raw << -frac)
    sign = "-" if raw < 0 else ""
    mag = abs(raw)
    whole, rest = divmod(mag, 1 << frac)
    if rest == 0:
        return f"{sign}{whole}"
    digits = (rest * 5 ** frac)  # rest / 2**frac == rest * 5**frac / 10**frac
    text = str(digits).rjust(frac, "0").rstrip("0")
    return f"{sign}{whole}.{text}"
