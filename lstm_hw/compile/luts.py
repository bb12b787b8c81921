"""Activation implementations: lookup tables and piecewise-linear segments, built exactly.

A table of ``size`` entries covers ``[lo, hi)`` in steps of ``(hi - lo) / size``; entry i holds
f(lo + i * step) (the left edge, as hls4ml builds its tables) rounded into the cell's format, or,
with an entry ``format`` (hls4ml's ``table_t``), quantised into that format with its own rounding
and overflow and then cast into the cell's format (as hls4ml casts a ``table_t`` entry into the
gate's type). ``float32``: f is computed as hls4ml's templates compute it in their C simulation,
in single precision with the C library's ``expf`` and ``tanhf`` (whose results differ from the
correctly rounded ones for about one ``tanhf`` argument in eight). The
index is formed from the fixed-point input with integer arithmetic only:
``floor`` mode: floor((x - lo) / step); ``trunc`` mode (hls4ml): trunc(x / step) + (-lo / step);
then clamped to [0, size - 1]. With int64 a, b, c derived exactly: floor((raw * a - b) / c) and
trunc(raw * a / c) - b.

A piecewise-linear unit has knots x0 < ... < xk with values y; between knots it computes
``slope * x + intercept`` with both coefficients in ``coef_format``; outside it holds y0 / yk.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from fractions import Fraction

import numpy as np

from ..fixed import FixedFormat, quantise_floats, requantise_array
from .cells import LIBM_ACTIVATIONS

DEFAULT_TABLE = {"size": 1024, "range": [-8, 8], "index": "floor", "entries": "nearest",
                 "format": None, "float32": False}
INDEX_MODES = ("floor", "trunc")
ENTRY_ROUNDING = {"nearest": "AP_RND", "floor": "AP_TRN"}


def exact_number(value) -> Fraction:
    """A YAML number as an exact rational (floats by their shortest decimal, so 0.1 is 1/10)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


@dataclass
class Table:
    entries: np.ndarray   # int64 raw values in the cell's format
    a: int
    b: int
    c: int
    trunc: bool
    lo: Fraction
    hi: Fraction
    entry_fmt: FixedFormat | None    # the entries' own format (hls4ml's table_t); None: the cell's

    def describe(self) -> str:
        stored = f" of {self.entry_fmt}" if self.entry_fmt is not None else ""
        return f"table[{len(self.entries)}]{stored} over [{float(self.lo):g}, {float(self.hi):g})"


def build_table(func: str, size: int, lo: Fraction, hi: Fraction, index: str, entries: str,
                in_fmt: FixedFormat, out_fmt: FixedFormat, entry_fmt: FixedFormat | None = None,
                float32: bool = False) -> Table:
    """Raises ValueError with the reason for a table that cannot be built.

    entry_fmt: the entries' own format (None: out_fmt, rounded as ``entries`` says); the
    entries returned are always in out_fmt, ready for the engines.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 2 <= size <= 1 << 20:
        raise ValueError(f"table size must be an integer from 2 to {1 << 20}, got {size!r}")
    if not lo < hi:
        raise ValueError(f"table range [{lo}, {hi}] is empty (expected lo < hi)")
    if index not in INDEX_MODES:
        raise ValueError(f"table index '{index}' is not one of {', '.join(INDEX_MODES)}")
    if entries not in ENTRY_ROUNDING:
        raise ValueError(f"table entries '{entries}' is not one of {', '.join(ENTRY_ROUNDING)}")
    step = (hi - lo) / size
    grid = Fraction(2) ** in_fmt.frac
    d = step * grid                       # one step in input raw units
    if index == "floor":                  # (raw - lo*2^F) / d
        off = lo * grid
        a = off.denominator * d.denominator
        b = off.numerator * d.denominator
        c = off.denominator * d.numerator
        # keep the integers small: the same ratio with the common factor taken out
        g = math.gcd(a, b, c)
        a, b, c = a // g, b // g, c // g
        trunc = False
    else:
        k = -lo / step
        if k.denominator != 1:
            raise ValueError("index 'trunc' needs -lo to be a whole number of steps")
        a, b, c, trunc = d.denominator, -int(k), d.numerator, True
    if max(a, abs(b), c) >= 1 << 62:     # the engines form the index in int64
        raise ValueError(f"table range [{float(lo):g}, {float(hi):g}] with {size} entries is "
                         f"out of scale for the input format {in_fmt} (its index would need "
                         "integers over 64 bits)")
    points = _float32_points(func, size, lo, hi) if float32 else \
        _table_points(func, size, lo, hi)
    if entry_fmt is None:
        raw, _ = quantise_floats(points, replace(out_fmt, rounding=ENTRY_ROUNDING[entries]))
        return Table(raw, int(a), int(b), int(c), trunc, lo, hi, None)
    stored, _ = quantise_floats(points, entry_fmt)
    raw = requantise_array(stored, entry_fmt.frac, out_fmt)
    return Table(raw, int(a), int(b), int(c), trunc, lo, hi, entry_fmt)


@lru_cache(maxsize=256)
def _table_points(func: str, size: int, lo: Fraction, hi: Fraction) -> np.ndarray:
    """f at the table's left edges, in float64 (cached: a sweep builds the same table in many
    formats, and the exact edges cost a Fraction each)."""
    step = (hi - lo) / size
    f = LIBM_ACTIVATIONS[func]
    values = np.array([f(float(lo + i * step)) for i in range(size)])
    values.flags.writeable = False
    return values


@lru_cache(maxsize=1)
def _libm():
    """The C library's single-precision expf and tanhf (hls4ml's C simulation calls them)."""
    lib = ctypes.CDLL(ctypes.util.find_library("m") or None)
    for name in ("expf", "tanhf"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lib


# each activation in single precision as hls4ml's table initialisers compute it (lib: libm)
FLOAT32_ACTIVATIONS = {
    "sigmoid": lambda lib, x: float(np.float32(1.0 / float(np.float32(1.0 + lib.expf(-x))))),
    "tanh": lambda lib, x: lib.tanhf(x)}


@lru_cache(maxsize=256)
def _float32_points(func: str, size: int, lo: Fraction, hi: Fraction) -> np.ndarray:
    """f at the table's left edges as hls4ml's init_sigmoid_table / init_tanh_table compute
    it: the edge as ``float in_val = (hi - lo) * (ii - size / 2.0) / size`` (in double, the
    middle of the range at ii = size / 2 for hls4ml's symmetric ranges), then
    ``1.0 / (1 + expf(-in_val))`` or ``tanhf(in_val)``, each rounded to float."""
    lib, f = _libm(), FLOAT32_ACTIVATIONS[func]
    mid = float(-lo / ((hi - lo) / size))
    span = float(hi - lo)
    values = np.empty(size)
    for ii in range(size):
        values[ii] = f(lib, float(np.float32(span * (ii - mid) / size)))
    values.flags.writeable = False
    return values


@dataclass
class Pwl:
    knots: np.ndarray      # int64: ceil(knot * 2^F_in), so raw >= knots[k] <=> x >= knot k
    slope: np.ndarray      # int64 raw in coef_fmt, one per segment (len(knots) + 1)
    icpt: np.ndarray       # int64 raw in coef_fmt
    coef_fmt: FixedFormat

    def describe(self) -> str:
        return f"pwl[{len(self.knots) - 1} segments] coef {self.coef_fmt}"


def build_pwl(func: str, points: list[tuple[Fraction, float]] | None, segments: int | None,
              lo: Fraction | None, hi: Fraction | None, in_fmt: FixedFormat,
              coef_fmt: FixedFormat) -> Pwl:
    if points is None:
        if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= 4096:
            raise ValueError("pwl needs 'points' or 'segments' (an integer from 1 to 4096)")
        if lo is None or not lo < hi:
            raise ValueError("pwl 'range' must be [lo, hi] with lo < hi")
        xs = [lo + (hi - lo) * k / segments for k in range(segments + 1)]
        points = [(x, LIBM_ACTIVATIONS[func](float(x))) for x in xs]
    if len(points) < 2 or any(b[0] <= a[0] for a, b in zip(points, points[1:])):
        raise ValueError("pwl points must be 2 or more [x, y] pairs with increasing x")
    x = np.array([float(p[0]) for p in points])
    y = np.array([float(p[1]) for p in points])
    slope = np.diff(y) / np.diff(x)
    icpt = y[:-1] - slope * x[:-1]
    # segment 0 holds y0 below the first knot, the last segment holds yk above the last
    slope = np.concatenate([[0.0], slope, [0.0]])
    icpt = np.concatenate([[y[0]], icpt, [y[-1]]])
    grid = Fraction(2) ** in_fmt.frac
    knots = np.array([-((-p[0] * grid).__floor__()) for p in points], dtype=np.int64)
    return Pwl(knots, quantise_floats(slope, coef_fmt)[0], quantise_floats(icpt, coef_fmt)[0],
               coef_fmt)
