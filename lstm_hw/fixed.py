"""Fixed-point formats with the semantics of Vivado/Vitis HLS ``ap_fixed``.

A value of format ``ap_fixed<W,I,Q,O,N>`` is held as a raw int64 ``r`` meaning ``r * 2**-F`` with
``F = W - I`` fractional bits (F may be negative or exceed W). ``ap_fixed`` goes up to W = 64,
``ap_ufixed`` up to W = 63 (an unsigned 64-bit raw value does not fit int64), I from -128 to 128.
The arithmetic on raw values (rounding, overflow: ``requantise``, ``quantise_float``, ``finish``)
is lstm_hw.arith, numba-compiled; its names are importable from here too, and importing them
imports numba (0.3 s; its first compile or cache load costs more). This module does not: arrays
(a netlist's constants, a run's inputs) are quantised by the same source run as plain Python on
numpy arrays (lstm_hw.plain), so that loading and checking a small netlist needs no numba.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

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


NUMBA_MIN_VALUES = 1_000_000   # quantise_floats: above, numba's loop

# The arithmetic's numba functions (lstm_hw.arith), importable from here, imported on first use.
_ARITH = ("round_increment", "round_shift", "ones", "raw_range", "floor_shift", "finish",
          "requantise", "requantise_call", "quantise_float")


def __getattr__(name: str):
    if name in _ARITH:
        from . import arith
        return getattr(arith, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def requantise_arrays(v: np.ndarray, shift: int, q, o, width, signed, nbits):
    """arith.requantise_call over an int64 array: (raw, overflowed) arrays, in numpy.

    The rounding is arith.round_shift on the whole array; an element it does not settle (its
    result overflows, or the shift is outside 0..62) goes through requantise_call alone, both
    run as plain Python (lstm_hw.plain): the same source as the compiled engines."""
    from .plain import arith
    a = arith()
    if 0 <= shift <= 62:
        val = a.round_shift(v, shift, q)[0]
        lo, hi = a.raw_range(width, signed)
        slow = (val < lo) | (val > hi)       # the overflow mode decides these
        if o == SAT_SYM and signed:
            slow |= val == lo
    else:
        val, slow = np.empty_like(v), np.ones(v.shape, np.bool_)
    over = np.zeros(v.shape, np.bool_)
    if 0 <= shift <= 62 and (o in (SAT, SAT_ZERO, SAT_SYM) or (o == WRAP_SM and not signed)):
        # saturation, as arith.finish does it, on the whole array: a sweep of narrow formats
        # saturates many inputs, which one by one took a sweep twice as long
        above = val[slow] > hi
        if o == SAT_ZERO:
            val[slow] = 0
        elif o == SAT_SYM:
            val[slow] = np.where(above, hi, -hi if signed and width > 1 else lo)
        else:
            val[slow] = np.where(above, hi, lo)
        over[slow] = True
        return val, over
    for i in np.flatnonzero(slow):
        val[i], over[i] = a.requantise_call(v[i], shift, q, o, width, signed, nbits)
    return val, over


def quantise_floats(values: np.ndarray, fmt: FixedFormat) -> tuple[np.ndarray, np.ndarray]:
    """Float64 array into raw integers of ``fmt``: (raw, overflowed), same shape as values.

    Non-finite values are refused: they have no fixed-point meaning. arith.quantise_float on
    every value, in numpy: each value is its 53-bit integer mantissa, requantised by a shift
    its exponent gives (requantise_arrays, once per distinct exponent). Over NUMBA_MIN_VALUES
    values, numba's loop of quantise_float is quicker even with its load (a long run's inputs).
    """
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("NaN or infinite value cannot be quantised")
    flat = np.ascontiguousarray(x.ravel())
    if flat.size > NUMBA_MIN_VALUES:
        from .arith import quantise_floats_loop
        if not flat.flags.writeable:   # one compiled version (numba types read-only arrays apart)
            flat = flat.copy()
        raw, over = quantise_floats_loop(flat, fmt.frac, *fmt.codes())
        return raw.reshape(x.shape), over.reshape(x.shape)
    m, e = np.frexp(flat)                          # flat = m * 2**e, 0.5 <= |m| < 1, or 0
    mant = np.ldexp(m, 53).astype(np.int64)        # exact: |mant| < 2**53
    shift = 53 - fmt.frac - e.astype(np.int64)     # mant's fractional bits minus the format's
    raw, over = np.empty(flat.shape, np.int64), np.empty(flat.shape, np.bool_)
    order = np.argsort(shift, kind="stable")       # the values of one shift together
    for some in np.split(order, np.flatnonzero(np.diff(shift[order])) + 1):
        if some.size:
            raw[some], over[some] = requantise_arrays(mant[some], int(shift[some[0]]),
                                                      *fmt.codes())
    return raw.reshape(x.shape), over.reshape(x.shape)


def requantise_array(raw: np.ndarray, src_frac: int, fmt: FixedFormat) -> np.ndarray:
    """Raw integers with src_frac fractional bits into fmt (Python convenience, not the engine)."""
    v = np.array(raw, dtype=np.int64).ravel()
    return requantise_arrays(v, src_frac - fmt.frac, *fmt.codes())[0].reshape(np.shape(raw))


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
