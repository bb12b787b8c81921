"""Tests of lstm_hw.fixed against an independent exact oracle and the Xilinx ap_fixed headers.

The oracle (own_quantise, in oracle_sim.py) is written from the HLS semantics and from
``ap_fixed_base.h`` (``operator=``, ``quantization_adjust``, ``overflow_adjust``) with Fractions
and Python ints; it shares no code with lstm_hw.fixed. The last test compiles a C++ program against the real headers (found in an
installed hls4ml package) and compares every conversion with ``requantise`` / ``quantise_float``.
"""
from __future__ import annotations

import itertools
import math
import random
import re
import struct
import subprocess
import time
from unittest import mock
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from external import hls4ml_root, need_executable
from oracle_sim import own_quantise

from lstm_hw import fixed, plain
from lstm_hw.fixed import (FixedFormat, FormatError, parse_format, quantise_float, quantise_floats,
                           requantise, requantise_array, requantise_arrays, to_decimal)

Q_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF",
           "AP_RND_CONV")
O_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP_SM")
RAW_LIMIT = 2**63 - 1   # requantise takes any int64 (but -2**63, kept out for symmetry)

# no example database in the work tree; numba's first call may be slow, so no deadline
BASE_SETTINGS = settings(database=None, deadline=None)


# ---------------------------------------------------------------------------------------------
# The oracle: exact value in, (raw, overflowed) out.

# The exact oracle (written from the HLS semantics and ap_fixed_base.h with Fractions; it shares
# no code with lstm_hw.fixed) lives in oracle_sim, whose simulator quantises with it too.
oracle = own_quantise


def oracle_fmt(x, fmt: FixedFormat) -> tuple[int, bool]:
    return oracle(Fraction(x), fmt.width, fmt.integer, fmt.signed, fmt.rounding, fmt.saturation,
                  fmt.saturation_bits)


def raw_value(v: int, frac: int) -> Fraction:
    return Fraction(v) * Fraction(2) ** -frac


# ---------------------------------------------------------------------------------------------
# Case generators, shared by hypothesis (pick = draw of st.integers) and the C++ check
# (pick = random.Random.randint), so both aim at the same interesting regions.

SPECIAL_FLOATS = (0.0, -0.0, 1e30, -1e30, 1e300, -1e300, 1.7976931348623157e308,
                  -1.7976931348623157e308, 5e-324, -5e-324, 1.5e-323, -1e-310,
                  2.2250738585072014e-308, -2.2250738585072014e-308, 1e-300, -1e-30,
                  0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5)


def _grid_point(pick, fmt: FixedFormat) -> int:
    """A target raw value near 0, lo or hi, sometimes one or more wrap periods beyond."""
    anchor = (0, fmt.lo, fmt.hi)[pick(0, 2)]
    periods = (0, 0, 1, -1, 5)[pick(0, 4)]
    return anchor + pick(-2, 2) + (periods << fmt.width)


def pick_raw(pick, fmt: FixedFormat, shift: int) -> int:
    """A raw source value (F2 = fmt.frac + shift fractional bits) to convert into fmt."""
    if pick(0, 3) == 0:
        return pick(-RAW_LIMIT, RAW_LIMIT)
    grid = _grid_point(pick, fmt)
    if shift > 0:   # choose the dropped bits: exact, a tie, just either side of it, or anything
        half = 1 << (shift - 1)
        kind = pick(0, 4)
        dropped = (0, half, half - 1, min(half + 1, 2 * half - 1), None)[kind]
        if dropped is None:
            dropped = pick(0, 2 * half - 1)
        v = (grid << shift) + dropped
    else:
        v = (grid >> -shift) + pick(-1, 1)
    return max(-RAW_LIMIT, min(RAW_LIMIT, v))


def pick_float(pick, fmt: FixedFormat) -> float:
    """A finite double to quantise into fmt: any bit pattern, a special value, or a grid tie."""
    kind = pick(0, 3)
    if kind == 0:
        x = struct.unpack("<d", struct.pack("<Q", pick(0, 2**64 - 1)))[0]
        return x if math.isfinite(x) else 0.0
    if kind == 1:
        return SPECIAL_FLOATS[pick(0, len(SPECIAL_FLOATS) - 1)]
    offset = (0.0, 0.5, 0.25, 0.75)[pick(0, 3)]
    x = math.ldexp(_grid_point(pick, fmt) + offset, -fmt.frac)   # exact: < 2**40, normal
    return math.nextafter(x, (-math.inf, x, math.inf)[pick(0, 2)])   # maybe one ulp off


@st.composite
def formats(draw):
    """Any format: W 1..64 (ap_ufixed 1..63), I -70..130 (so I < 0 and I > W), every mode,
    N 0..W."""
    signed = draw(st.booleans())
    width = draw(st.integers(1, 64 if signed else 63))
    modes = O_MODES if signed else tuple(o for o in O_MODES if o != "AP_WRAP_SM")
    integer = draw(st.one_of(st.integers(-8, width + 8), st.integers(-128, 128)))
    return FixedFormat(width, integer, signed,
                       draw(st.sampled_from(Q_MODES)), draw(st.sampled_from(modes)),
                       draw(st.integers(0, width)))


def _hypothesis_pick(draw):
    return lambda lo, hi: draw(st.integers(lo, hi))


@st.composite
def requantise_cases(draw):
    fmt = draw(formats())
    shift = draw(st.one_of(st.integers(-70, 70), st.integers(-200, 200)))
    return fmt, shift, pick_raw(_hypothesis_pick(draw), fmt, shift)


@st.composite
def float_cases(draw):
    fmt = draw(formats())
    if draw(st.booleans()):
        return fmt, draw(st.floats(allow_nan=False, allow_infinity=False))
    return fmt, pick_float(_hypothesis_pick(draw), fmt)


# ---------------------------------------------------------------------------------------------
# Property tests.

@settings(BASE_SETTINGS, max_examples=4000)
@given(requantise_cases())
def test_requantise_matches_oracle(case):
    fmt, shift, v = case
    expected = oracle_fmt(raw_value(v, fmt.frac + shift), fmt)
    assert requantise(v, shift, *fmt.codes()) == expected, (str(fmt), shift, v)
    assert plain.arith().requantise_call(np.int64(v), shift, *fmt.codes()) == expected


@settings(BASE_SETTINGS, max_examples=600)
@given(formats(), st.one_of(st.integers(-5, 70), st.integers(-200, 200)), st.data())
def test_requantise_arrays_matches_oracle(fmt, shift, data):
    """The numpy engine's requantiser: rounding on the array, overflow element by element."""
    pick = _hypothesis_pick(data.draw)
    vs = [pick_raw(pick, fmt, shift) for _ in range(pick(1, 12))]
    raw, over = requantise_arrays(np.array(vs, np.int64), shift, *fmt.codes())
    expected = [oracle_fmt(raw_value(v, fmt.frac + shift), fmt) for v in vs]
    assert list(zip(raw.tolist(), over.tolist())) == expected, (str(fmt), shift, vs)


@settings(BASE_SETTINGS, max_examples=600)
@given(formats(), st.data())
def test_quantise_floats_of_many_magnitudes_match_oracle(fmt, data):
    """quantise_floats writes an array as integers of one binary point where it can, and
    quantises the values that do not fit it one by one: arrays mixing magnitudes far apart."""
    pick = _hypothesis_pick(data.draw)
    xs = [data.draw(st.floats(allow_nan=False, allow_infinity=False)) if pick(0, 1)
          else pick_float(pick, fmt) for _ in range(pick(1, 12))]
    expected = [oracle_fmt(x, fmt) for x in xs]
    raw, over = quantise_floats(np.array(xs), fmt)
    assert list(zip(raw.tolist(), over.tolist())) == expected, (str(fmt), [x.hex() for x in xs])
    with mock.patch.object(fixed, "NUMBA_MIN_VALUES", 0):   # numba's loop, for long inputs
        raw, over = quantise_floats(np.array(xs), fmt)
    assert list(zip(raw.tolist(), over.tolist())) == expected, (str(fmt), [x.hex() for x in xs])


@settings(BASE_SETTINGS, max_examples=3000)
@given(float_cases())
def test_quantise_float_matches_oracle(case):
    fmt, x = case
    expected = oracle_fmt(x, fmt)   # Fraction(float) is the float's exact value
    assert quantise_float(x, fmt.frac, *fmt.codes()) == expected, (str(fmt), x.hex())
    raw, over = quantise_floats(np.array([x]), fmt)
    assert (int(raw[0]), bool(over[0])) == expected
    assert fmt.quantise([x])[0] == expected[0]


def test_quantise_keeps_shape_and_refuses_non_finite():
    fmt = parse_format("ap_fixed<8,4,AP_RND,AP_SAT>")
    values = np.array([[0.0, 0.03125, -0.03125], [7.96875, 8.0, -9.0]])
    # grid 1/16: 0.03125 is a tie that AP_RND sends up (1) and -0.03125 up too (0);
    # 7.96875 = 127.5/16 rounds to 128 > 127 and saturates, 8.0 -> 128 saturates, -9 -> -128.
    raw, over = quantise_floats(values, fmt)
    assert raw.tolist() == [[0, 1, 0], [127, 127, -128]]
    assert over.tolist() == [[False, False, False], [True, True, True]]
    assert fmt.quantise(values).shape == (2, 3)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            fmt.quantise([1.0, bad])


def test_requantise_array_matches_scalar():
    fmt = parse_format("ap_fixed<6,3,AP_RND_CONV,AP_SAT_SYM>")
    raw = np.array([[-1000, -257, -64, 3], [8, 24, 40, 1000]])
    out = requantise_array(raw, 6, fmt)   # 6 -> 3 fractional bits
    assert out.shape == raw.shape
    assert out.tolist() == [[oracle_fmt(raw_value(int(v), 6), fmt)[0] for v in row] for row in raw]


@settings(BASE_SETTINGS, max_examples=500)
@given(formats(), st.data())
def test_format_round_trip(fmt, data):
    assert parse_format(str(fmt)) == fmt
    # every argument spelled out, with stray spaces, parses to the same format
    sp = data.draw(st.sampled_from(["", " ", "  "]))
    name = "ap_fixed" if fmt.signed else "ap_ufixed"
    args = f",{sp}".join(map(str, (fmt.width, fmt.integer, fmt.rounding, fmt.saturation,
                                   fmt.saturation_bits)))
    assert parse_format(f"{sp}{name}{sp}<{sp}{args}{sp}>{sp}") == fmt
    assert (fmt.lo, fmt.hi) == ((-(2 ** (fmt.width - 1)), 2 ** (fmt.width - 1) - 1) if fmt.signed
                                else (0, 2**fmt.width - 1))
    assert fmt.frac == fmt.width - fmt.integer


def test_format_defaults_and_short_names():
    assert parse_format("ap_fixed<16,6>") == FixedFormat(16, 6, True, "AP_TRN", "AP_WRAP", 0)
    assert parse_format("ap_ufixed<8,-2,AP_RND>") == FixedFormat(8, -2, False, "AP_RND")
    assert str(FixedFormat(16, 6)) == "ap_fixed<16,6>"
    assert str(FixedFormat(8, 0, False, "AP_RND")) == "ap_ufixed<8,0,AP_RND>"
    assert str(FixedFormat(8, 9, True, "AP_TRN", "AP_SAT")) == "ap_fixed<8,9,AP_TRN,AP_SAT>"
    assert str(FixedFormat(8, 9, True, "AP_TRN", "AP_WRAP", 2)) == "ap_fixed<8,9,AP_TRN,AP_WRAP,2>"


@pytest.mark.parametrize("text", [
    "", "ap_fixed", "ap_fixed<16>", "ap_fixed<16,6,AP_RND,AP_SAT,0,1>", "ap_fixed16,6",
    "ap_int<8>", "fixed<8,4>", "ap_fixed<8,4", "ap_fixed<8,4>>", "ap_fixed<<8,4>",
    "ap_fixed<0,0>", "ap_fixed<65,1>", "ap_ufixed<64,1>", "ap_fixed<-4,1>", "ap_fixed<8,129>",
    "ap_fixed<8,-129>", "ap_fixed<8.0,4>",
    "ap_fixed<a,b>", "ap_fixed<8,4,AP_ROUND>", "ap_fixed<8,4,ap_rnd>", "ap_fixed<8,4,,AP_SAT>",
    "ap_fixed<8,4,AP_RND,AP_CLAMP>", "ap_fixed<8,4,AP_SAT,AP_RND>", "ap_fixed<8,4,AP_RND,AP_SAT,9>",
    "ap_fixed<8,4,AP_RND,AP_SAT,-1>", "ap_fixed<8,4,AP_RND,AP_SAT,x>", "ap_fixed<8,4> extra",
])
def test_parse_format_rejects_malformed(text):
    with pytest.raises(FormatError):
        parse_format(text)


@pytest.mark.parametrize("value", [None, 16, b"ap_fixed<16,6>", ("ap_fixed", 16, 6)])
def test_parse_format_rejects_non_strings(value):
    with pytest.raises(FormatError):
        parse_format(value)


def test_unsigned_wrap_sm_is_refused():
    # the headers' C model exit(1)s for ap_ufixed<..., AP_WRAP_SM>; we refuse it up front
    with pytest.raises(FormatError, match="AP_WRAP_SM"):
        parse_format("ap_ufixed<8,8,AP_TRN,AP_WRAP_SM>")


def test_format_error_is_value_error():
    with pytest.raises(ValueError):
        FixedFormat(8, 4, True, "AP_RND", "AP_SAT", 9)


@settings(BASE_SETTINGS, max_examples=1500)
@given(st.integers(-RAW_LIMIT, RAW_LIMIT), st.integers(-70, 110))
def test_to_decimal_is_exact(raw, frac):
    text = to_decimal(raw, frac)
    # canonical: optional sign, digits, and a fraction without trailing zeros; never "-0"
    assert re.fullmatch(r"-?(0|[1-9]\d*)(\.\d*[1-9])?", text), text
    assert text != "-0"
    assert Fraction(text) == raw_value(raw, frac)


def test_to_decimal_examples():
    assert to_decimal(0, 10) == "0"
    assert to_decimal(-1, 1) == "-0.5"
    assert to_decimal(-3, -4) == "-48"            # -3 * 2**4
    assert to_decimal(1, 40) == "0.0000000000009094947017729282379150390625"
    assert to_decimal(np.int64(37), 3) == "4.625"


# ---------------------------------------------------------------------------------------------
# Hand-derived corner cases: (format, exact value, expected raw, expected overflowed flag).

CORNER_CASES = [
    # Rounding that carries into overflow: 7.5 on ap_fixed<4,4> (grid 1, range -8..7) is a tie;
    # AP_RND goes up to 8 > 7.
    ("ap_fixed<4,4,AP_RND,AP_SAT>", "7.5", 7, True),           # saturate to hi
    ("ap_fixed<4,4,AP_RND,AP_WRAP>", "7.5", -8, True),         # 8 mod 16 = 0b1000 = -8
    ("ap_fixed<4,4,AP_RND,AP_SAT_ZERO>", "7.5", 0, True),
    ("ap_fixed<4,4,AP_RND_CONV,AP_SAT>", "7.5", 7, True),      # tie to even is 8: overflow
    ("ap_fixed<4,4,AP_RND_CONV,AP_SAT>", "6.5", 6, False),     # tie to even is 6
    ("ap_fixed<4,4,AP_RND_MIN_INF,AP_SAT>", "7.5", 7, False),  # tie to -inf stays at 7
    ("ap_ufixed<4,4,AP_RND,AP_WRAP>", "15.5", 0, True),        # 16 mod 16
    # A negative value that rounds up to 0 is in range even for ap_ufixed.
    ("ap_ufixed<4,4,AP_RND,AP_SAT>", "-0.25", 0, False),       # floor -1, rest .75: up to 0
    ("ap_ufixed<4,4,AP_RND,AP_SAT>", "-0.5", 0, False),        # tie to +inf: 0
    ("ap_ufixed<4,4,AP_RND_INF,AP_SAT>", "-0.5", 0, True),     # tie away: -1 < 0 saturates to 0
    ("ap_ufixed<4,4,AP_RND_INF,AP_WRAP>", "-0.5", 15, True),   # -1 mod 16
    # I > W: ap_fixed<4,8> has F = -4, grid 16, range -8..7 (values -128..112).
    ("ap_fixed<4,8,AP_RND,AP_SAT>", "100", 6, False),          # 100/16 = 6.25 -> 6
    ("ap_fixed<4,8,AP_RND,AP_SAT>", "120", 7, True),           # 7.5 -> 8 > 7 -> 7
    ("ap_fixed<4,8,AP_TRN,AP_WRAP>", "-136", 7, True),         # floor(-8.5) = -9; -9 mod 16 = 7
    ("ap_fixed<4,8,AP_TRN_ZERO,AP_SAT>", "-136", -8, False),   # -8.5 -> -8 = lo: in range
    ("ap_fixed<4,8,AP_TRN,AP_SAT>", "-136", -8, True),         # -9 < lo
    # I < 0: ap_ufixed<4,-2> has F = 6, grid 1/64, range 0..15 (values 0..15/64).
    ("ap_ufixed<4,-2,AP_TRN,AP_SAT>", "0.1953125", 12, False),  # 0.1953125*64 = 12.5 -> 12
    ("ap_ufixed<4,-2,AP_RND,AP_SAT>", "0.1953125", 13, False),  # tie to +inf -> 13
    ("ap_ufixed<4,-2,AP_RND_CONV,AP_SAT>", "0.1953125", 12, False),  # tie to even -> 12
    ("ap_ufixed<4,-2,AP_TRN,AP_SAT>", "0.25", 15, True),       # 16 > 15
    ("ap_ufixed<4,-2,AP_TRN,AP_WRAP>", "0.25", 0, True),       # 16 mod 16
    ("ap_fixed<4,-2,AP_TRN,AP_SAT_SYM>", "-0.125", -7, True),  # -8 = lo becomes -hi = -7
    # AP_SAT_SYM at and beyond the minimum of ap_fixed<8,8> (range -128..127).
    ("ap_fixed<8,8,AP_TRN,AP_SAT_SYM>", "-128", -127, True),
    ("ap_fixed<8,8,AP_TRN,AP_SAT_SYM>", "-127", -127, False),
    ("ap_fixed<8,8,AP_TRN,AP_SAT_SYM>", "-200", -127, True),
    ("ap_fixed<8,8,AP_TRN,AP_SAT_SYM>", "200", 127, True),
    ("ap_fixed<8,8,AP_TRN,AP_SAT>", "-128", -128, False),
    ("ap_ufixed<8,8,AP_TRN,AP_SAT_SYM>", "-3", 0, True),       # unsigned: plain saturation
    # Width 1: ap_fixed<1,1> holds -1..0. The header's SAT_SYM underflow writes 1 | 1 = 0b1 = -1.
    ("ap_fixed<1,1,AP_TRN,AP_SAT_SYM>", "-1", -1, True),
    ("ap_fixed<1,1,AP_TRN,AP_SAT_SYM>", "-5", -1, True),
    ("ap_fixed<1,1,AP_TRN,AP_SAT_SYM>", "3", 0, True),
    ("ap_fixed<1,1,AP_TRN,AP_WRAP>", "1", -1, True),           # 1 mod 2 = 0b1 = -1
    ("ap_ufixed<1,1,AP_RND,AP_SAT>", "0.5", 1, False),
    # AP_WRAP with N saturation bits, ap_fixed<8,8>: set the sign bit from the source's sign,
    # the next N-1 bits to its opposite, keep the rest of the wrapped bits.
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,2>", "150", 86, True),       # 1001_0110 -> 0101_0110 = 86
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,2>", "-150", -86, True),     # 0110_1010 -> 1010_1010 = -86
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,1>", "150", 22, True),       # 1001_0110 -> 0001_0110 = 22
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,8>", "150", 127, True),      # 0 then seven 1s: saturates
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,8>", "-150", -128, True),    # 1 then seven 0s
    ("ap_fixed<8,8,AP_TRN,AP_WRAP,2>", "100", 100, False),     # in range: untouched
    # unsigned: the top N bits are set, on overflow and on underflow alike
    ("ap_ufixed<8,8,AP_TRN,AP_WRAP,3>", "300", 236, True),     # 0010_1100 -> 1110_1100
    ("ap_ufixed<8,8,AP_TRN,AP_WRAP,3>", "-100", 252, True),    # 1001_1100 -> 1111_1100
    # AP_WRAP_SM, ap_fixed<8,8>. N=0: lD = bit 8 of the source; if it differs from bit 7 of the
    # wrapped bits, invert them all and set bit 7 to lD.
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM>", "130", 125, True),     # 0_1000_0010: ~ -> 0111_1101
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM>", "-130", -127, True),   # 1_0111_1110: ~ -> 1000_0001
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM>", "260", -5, True),      # 1_0000_0100: ~ -> 1111_1011
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM>", "384", -128, True),    # 1_1000_0000: agree, keep
    # N=1: invert when bit 7 differs from the source's sign, then bit 7 = sign.
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM,1>", "130", 125, True),   # 1000_0010 -> 0111_1101
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM,1>", "260", 4, True),     # 0000_0100: keep
    # N=2: invert when bit 6 equals the sign, then bit 6 = !sign, bit 7 = sign.
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM,2>", "130", 125, True),   # bit6 0 == 0: ~ -> 0111_1101
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM,2>", "200", 72, True),    # 1100_1000 -> 0100_1000
    ("ap_fixed<8,8,AP_TRN,AP_WRAP_SM,2>", "-200", -72, True),  # 0011_1000: bit6 0 != sign 1,
                                                               # keep; bit7 = 1: 1011_1000
]

# Ties and near-ties for every rounding mode, on ap_fixed<8,4> (grid 1/16, no overflow here);
# the expected raws are for the scaled values -2.5, -3.5, -2.25, -2.75 and 2.5.
#   -2.5 : floor -3, tie.  -3.5 : floor -4, tie.  -2.25 : floor -3, rest .75.  -2.75 : rest .25.
TIE_EXPECTED = {      # mode:            -2.5  -3.5  -2.25  -2.75  2.5
    "AP_TRN":         (-3, -4, -3, -3, 2),   # floor
    "AP_TRN_ZERO":    (-2, -3, -2, -2, 2),   # towards zero
    "AP_RND":         (-2, -3, -2, -3, 3),   # nearest, ties to +inf
    "AP_RND_ZERO":    (-2, -3, -2, -3, 2),   # nearest, ties to zero
    "AP_RND_MIN_INF": (-3, -4, -2, -3, 2),   # nearest, ties to -inf
    "AP_RND_INF":     (-3, -4, -2, -3, 3),   # nearest, ties away from zero
    "AP_RND_CONV":    (-2, -4, -2, -3, 2),   # nearest, ties to even (-2, -4, 2)
}
CORNER_CASES += [
    (f"ap_fixed<8,4,{mode},AP_SAT>", Fraction(scaled) / 16, raw, False)
    for mode, raws in TIE_EXPECTED.items()
    for scaled, raw in zip(("-5/2", "-7/2", "-9/4", "-11/4", "5/2"), raws)
]

# Floats far outside the grid, where scaling by 2**F leaves float64's range.
CORNER_CASES += [
    ("ap_fixed<8,4,AP_TRN,AP_SAT>", 1e30, 127, True),
    ("ap_fixed<8,4,AP_TRN,AP_SAT>", -1e30, -128, True),
    ("ap_fixed<8,4,AP_TRN,AP_WRAP>", 1e30, 0, True),      # 1e30 = m*2**47: *16 is 0 mod 256
    ("ap_fixed<8,-32,AP_TRN,AP_SAT>", 1e300, 127, True),  # F = 40: 1e300*2**40 is no float
    ("ap_fixed<8,-32,AP_RND,AP_SAT_SYM>", -1.7976931348623157e308, -127, True),
    ("ap_fixed<8,16,AP_TRN,AP_WRAP>", -5e-324, -1, False),  # F = -8: floor(-tiny/256) = -1
    ("ap_fixed<8,16,AP_TRN_ZERO,AP_WRAP>", -5e-324, 0, False),
    ("ap_fixed<8,16,AP_RND_MIN_INF,AP_WRAP>", -5e-324, 0, False),  # no tie: nearest is 0
    ("ap_fixed<8,16,AP_RND_INF,AP_WRAP>", 5e-324, 0, False),
    ("ap_ufixed<8,16,AP_TRN,AP_SAT>", -5e-324, 0, True),    # -1 underflows the unsigned range
    ("ap_ufixed<8,16,AP_TRN,AP_WRAP>", -5e-324, 255, True),
]


@pytest.mark.parametrize("text, value, raw, over", CORNER_CASES)
def test_corner_case(text, value, raw, over):
    fmt = parse_format(text)
    x = Fraction(value)
    assert oracle_fmt(x, fmt) == (raw, over)   # the oracle agrees with the hand derivation ...
    if Fraction(float(x)) == x:                # ... and so does the library, from a float ...
        assert quantise_float(float(x), fmt.frac, *fmt.codes()) == (raw, over)
        assert fmt.quantise([float(x)])[0] == raw
    v = x * 2**40                              # ... and from a raw value with 40 fraction bits
    if v.denominator == 1 and abs(v) <= RAW_LIMIT:
        assert requantise(int(v), 40 - fmt.frac, *fmt.codes()) == (raw, over)


# ---------------------------------------------------------------------------------------------
# Cross-check against the Xilinx headers shipped in hls4ml: one C++ program, compiled once, does
# (a) conversions from a 64-bit source into every mode's targets, (b) conversions from doubles,
# (c) casts, products, sums and differences of operand pairs in random formats up to W = 64,
# each cast into a random target; lstm_hw.fixed, the oracle and the interpreter (on one netlist
# of the operations of (c)) must give the header's bits.

HEADER_WIDTHS = (1, 2, 3, 5, 8, 16, 31, 32, 33, 48, 53, 54, 62, 63, 64)
SOURCE_WIDTH = 64        # the source is ap_fixed<64, 64 - F2>, set from an int64 raw value
CASES_PER_SOURCE = 150
FLOAT_FORMATS = ("ap_fixed<8,4,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT_SYM>",
                 "ap_ufixed<8,0,AP_TRN,AP_WRAP>", "ap_fixed<12,-3,AP_RND_ZERO,AP_WRAP_SM>",
                 "ap_fixed<5,9,AP_RND_INF,AP_WRAP,2>", "ap_ufixed<32,40,AP_RND_MIN_INF,AP_SAT>",
                 "ap_fixed<32,32,AP_TRN_ZERO,AP_SAT_ZERO>", "ap_fixed<1,1,AP_RND,AP_SAT_SYM>",
                 "ap_fixed<31,-8,AP_RND_CONV,AP_WRAP_SM,1>", "ap_ufixed<3,3,AP_RND,AP_WRAP,3>",
                 "ap_fixed<64,32,AP_RND,AP_SAT>", "ap_fixed<64,80,AP_RND_CONV,AP_WRAP_SM>",
                 "ap_ufixed<63,-10,AP_RND_INF,AP_WRAP,5>", "ap_fixed<60,2,AP_TRN_ZERO,AP_WRAP,60>")
# (no ap_ufixed<..., AP_WRAP_SM> here: the header's double constructor exit(1)s for it)
N_OPERATIONS = 105        # (a, b, target) format triples of part (c): every Q x O mode thrice
PAIRS_PER_OPERATION = 24
INT64_MAX = 2**63 - 1


def _integer_bits(rng: random.Random, width: int) -> int:
    """I < 0, 0, small, = W, > W (a little or a lot), or anywhere lstm_hw allows."""
    return rng.choice((-rng.randint(1, 8), 0, rng.randint(1, 3), width, width + rng.randint(1, 8),
                       width + rng.randint(9, 64), rng.randint(-128, 128)))


def _header_targets(rng: random.Random) -> list[FixedFormat]:
    """Every Q mode x O mode x N in {0, 1, 2, W} x signedness, W and I spread pseudo-randomly."""
    targets = []
    for signed, q, o, n_kind in itertools.product((True, False), Q_MODES, O_MODES, (0, 1, 2, "W")):
        if not signed and o == "AP_WRAP_SM":   # refused, as by the headers' C model
            continue
        width = rng.choice([w for w in HEADER_WIDTHS if (n_kind in (0, "W") or n_kind <= w)
                            and (signed or w < 64)])
        nbits = width if n_kind == "W" else n_kind
        targets.append(FixedFormat(width, _integer_bits(rng, width), signed, q, o, nbits))
    return targets


def _random_format(rng: random.Random, q: str = "AP_TRN", o: str = "AP_WRAP",
                   frac: int | None = None) -> FixedFormat:
    """W 1..64 (wide ones often), any I (or the I giving ``frac``), N 0 or 1..W."""
    signed = o == "AP_WRAP_SM" or rng.random() < 0.7
    width = rng.choice((rng.randint(1, 64), rng.randint(33, 64), 64))
    width = min(width, 64 if signed else 63)
    integer = _integer_bits(rng, width) if frac is None else width - frac
    integer = max(-128, min(128, integer))
    nbits = rng.choice((0, 0, rng.randint(1, width)))
    return FixedFormat(width, integer, signed, q, o, nbits)


def _operations(rng: random.Random) -> list[tuple[FixedFormat, FixedFormat, FixedFormat]]:
    """(a, b, target) triples: targets in every Q x O mode in turn; b is mostly narrow enough,
    and aligned closely enough, for a * b and a +- b to fit int64, and the target's grid is
    often near the operands' (rounding then meets its ties)."""
    modes = [(q, o) for q in Q_MODES for o in O_MODES]
    triples = []
    while len(triples) < N_OPERATIONS:
        a = _random_format(rng)
        if rng.random() < 0.75:
            width = rng.randint(1, max(1, 64 - a.width))
            frac = a.frac + rng.randint(-(63 - width), max(0, 63 - a.width))
            b = FixedFormat(width, max(-128, min(128, width - frac)),
                            width == 64 or rng.random() < 0.7)
        else:
            b = _random_format(rng)
        q, o = modes[len(triples) % len(modes)]
        near = max(a.frac, b.frac) - rng.randint(-3, 10)
        t = _random_format(rng, q, o, near if rng.random() < 0.6 else None)
        if not _header_asserts(a, b, t):
            triples.append((a, b, t))
    return triples


def _header_asserts(a: FixedFormat, b: FixedFormat, t: FixedFormat) -> bool:
    """Whether the headers' C model asserts in one of the operations: rounding reads the bit
    below the target's grid even where it lies above the source's top bit (F2 - F > W2, a
    target grid coarser than the source's whole range), for the source types the headers give
    a, a * b and a +- b."""
    if t.rounding == "AP_TRN":
        return False
    ia = a.integer + (b.signed and not a.signed)
    ib = b.integer + (a.signed and not b.signed)
    sources = [(a.width, a.frac, a.signed), (a.width + b.width, a.frac + b.frac,
               a.signed or b.signed)]
    plus_w = max(ia, ib) + 1 + max(a.frac, b.frac)
    sources += [(plus_w, max(a.frac, b.frac), a.signed or b.signed),
                (plus_w, max(a.frac, b.frac), True)]
    return any(f2 - t.frac > w2 and not (t.rounding == "AP_TRN_ZERO" and not s2)
               for w2, f2, s2 in sources)


def _span(rng: random.Random, fmt: FixedFormat, n: int) -> list[int]:
    """n raw values across fmt's whole range: its ends, 0, +-1, and uniform and log-uniform."""
    ends = [fmt.lo, fmt.hi, fmt.lo + 1, fmt.hi - 1, 0, 1, -1]
    out = [max(fmt.lo, min(fmt.hi, rng.choice(ends))) for _ in range(n // 3)]
    while len(out) < n:
        mag = rng.randint(0, 1 << rng.randint(0, fmt.width)) if rng.random() < 0.5 \
            else rng.randint(fmt.lo, fmt.hi)
        v = -mag if fmt.signed and rng.random() < 0.5 else mag
        out.append(max(fmt.lo, min(fmt.hi, v)))
    rng.shuffle(out)
    return out


def _exact(op: str, ra: int, rb: int, fa: int, fb: int) -> tuple[int, int]:
    """The exact intermediate of ``op`` and its fractional bits, as the engine computes it."""
    if op == "cast":
        return ra, fa
    if op == "mul":
        return ra * rb, fa + fb
    wf = max(fa, fb)
    v = (ra << (wf - fa)) + (rb << (wf - fb)) * (1 if op == "add" else -1)
    return v, wf


def _fits(a: FixedFormat, b: FixedFormat, op: str) -> bool:
    """Whether the engine's int64 holds op's exact result for every a and b of these formats."""
    if op == "cast":
        return True
    if op == "mul":
        return a.max_abs_raw() * b.max_abs_raw() <= INT64_MAX
    wf = max(a.frac, b.frac)
    return (a.max_abs_raw() << (wf - a.frac)) + (b.max_abs_raw() << (wf - b.frac)) <= INT64_MAX


OPS = ("cast", "mul", "add", "sub")
EXACT = {"cast": lambda x, y: x, "mul": lambda x, y: x * y, "add": lambda x, y: x + y,
         "sub": lambda x, y: x - y}


def _cpp_type(fmt: FixedFormat) -> str:
    name = "ap_fixed" if fmt.signed else "ap_ufixed"
    return (f"{name}<{fmt.width}, {fmt.integer}, {fmt.rounding}, {fmt.saturation}, "
            f"{fmt.saturation_bits}>")


CPP_PROLOGUE = """\
#include <ap_fixed.h>
#include <cstdlib>
#include <iostream>
#include <string>

// Reads a count and that many int64 raw values of ap_fixed<64, SI>; prints the target's raw value.
template <class Target, int SI> void from_fixed() {
  int n; std::cin >> n;
  for (int i = 0; i < n; ++i) {
    long long raw; std::cin >> raw;
    ap_fixed<64, SI> src; src.V = raw;
    // Assign through the base class: ap_fixed_base::operator= is the conversion, and unlike
    // Target's converting constructor it does not exit(1) for ap_ufixed<..., AP_WRAP_SM>.
    Target t;
    static_cast<typename Target::Base&>(t) = src;
    std::cout << t.V.to_int64() << '\\n';
  }
}

// Reads a count and that many doubles (C99 hex, exact); prints the target's raw value.
template <class Target> void from_double() {
  int n; std::cin >> n;
  for (int i = 0; i < n; ++i) {
    std::string text; std::cin >> text;
    Target t = std::strtod(text.c_str(), 0);
    std::cout << t.V.to_int64() << '\\n';
  }
}

// Reads a count and that many pairs of raw values of A and B; prints Target's raw values of
// a, a * b, a + b and a - b (the headers' exact product and sums, then the conversion).
template <class A, class B, class Target> void operations() {
  int n; std::cin >> n;
  for (int i = 0; i < n; ++i) {
    long long ra, rb; std::cin >> ra >> rb;
    A a; a.V = ra;
    B b; b.V = rb;
    Target c = a, p = a * b, s = a + b, d = a - b;
    std::cout << c.V.to_int64() << ' ' << p.V.to_int64() << ' ' << s.V.to_int64() << ' '
              << d.V.to_int64() << '\\n';
  }
}

int main() {
  std::ios::sync_with_stdio(false);
"""


def _as_raw(printed: int, fmt: FixedFormat) -> int:
    """The header's printed bits, read as fmt's raw value (whatever the sign extension)."""
    bits = printed & ((1 << fmt.width) - 1)
    return bits - (1 << fmt.width) if fmt.signed and bits >> (fmt.width - 1) else bits


@dataclass
class HeaderRun:
    """What the compiled headers printed, with the cases that produced it."""
    conversions: list[tuple[FixedFormat, str, int, Fraction, int | None]]
    # (target, description, header's raw, exact value, lstm_hw's raw or None)
    operations: list[tuple[FixedFormat, FixedFormat, FixedFormat, list[tuple[int, int]]]]
    results: list[list[list[int]]]     # per operation, per pair: the header's raw per op
    n_fixed: int
    seconds: float


@pytest.fixture(scope="module")
def xilinx(tmp_path_factory) -> HeaderRun:
    """The C++ cross-check program, compiled once with g++ against the headers, and its output."""
    compiler = need_executable("g++")
    ap_types = hls4ml_root() / "templates" / "vivado" / "ap_types"
    assert (ap_types / "ap_fixed.h").is_file(), f"hls4ml is installed but has no {ap_types}"
    tmp = tmp_path_factory.mktemp("xilinx")

    rng = random.Random(20240613)
    pick = rng.randint
    calls, stdin, conversions = [], [], []
    for fmt in _header_targets(rng):
        # two sources per target: one that quantises a little, one anywhere in -70..64 (the
        # header's C model asserts when a shift drops more bits than the 64-bit source has)
        for shift in (rng.randint(1, 12), rng.randint(-70, SOURCE_WIDTH)):
            src_frac = fmt.frac + shift
            calls.append(f"  from_fixed<{_cpp_type(fmt)}, {SOURCE_WIDTH - src_frac}>();")
            raws = [pick_raw(pick, fmt, shift) for _ in range(CASES_PER_SOURCE)]
            stdin.append(f"{len(raws)}\n" + "\n".join(map(str, raws)))
            conversions += [(fmt, f"raw {v} with F2={src_frac}", raw_value(v, src_frac),
                             requantise(v, shift, *fmt.codes())[0]) for v in raws]
    n_fixed = len(conversions)
    for text in FLOAT_FORMATS:
        fmt = parse_format(text)
        calls.append(f"  from_double<{_cpp_type(fmt)}>();")
        xs = [pick_float(pick, fmt) for _ in range(CASES_PER_SOURCE)]
        stdin.append(f"{len(xs)}\n" + "\n".join(x.hex() for x in xs))
        conversions += [(fmt, f"double {x!r}", Fraction(x),
                         quantise_float(x, fmt.frac, *fmt.codes())[0]) for x in xs]
    operations = []
    for a, b, t in _operations(rng):
        pairs = list(zip(_span(rng, a, PAIRS_PER_OPERATION), _span(rng, b, PAIRS_PER_OPERATION)))
        operations.append((a, b, t, pairs))
        calls.append(f"  operations<{_cpp_type(a)}, {_cpp_type(b)}, {_cpp_type(t)}>();")
        stdin.append(f"{len(pairs)}\n" + "\n".join(f"{x} {y}" for x, y in pairs))

    source = tmp / "crosscheck.cpp"
    source.write_text(CPP_PROLOGUE + "\n".join(calls) + "\n}\n")
    start = time.monotonic()
    build = subprocess.run([compiler, "-std=c++14", "-O0", f"-I{ap_types}", str(source), "-o",
                            str(tmp / "crosscheck")], capture_output=True, text=True,
                           timeout=900)
    assert build.returncode == 0, build.stderr[-5000:]
    seconds = time.monotonic() - start
    run = subprocess.run([str(tmp / "crosscheck")], input="\n".join(stdin) + "\n",
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-5000:]
    printed = [int(v) for v in run.stdout.split()]
    n_ops = sum(len(pairs) for *_, pairs in operations) * len(OPS)
    assert len(printed) == len(conversions) + n_ops

    header = iter(printed)
    checked = [(fmt, what, _as_raw(next(header), fmt), x, ours)
               for fmt, what, x, ours in conversions]
    results = [[[_as_raw(next(header), t) for _ in OPS] for _ in pairs]
               for _, _, t, pairs in operations]
    return HeaderRun(checked, operations, results, n_fixed, seconds)


def test_against_xilinx_headers(xilinx):
    """lstm_hw.fixed and the oracle give the headers' bits: conversions from int64 raw values and
    doubles, and casts, products, sums and differences in formats up to W = 64 (the library
    where the exact result fits int64, as the engine computes it; the oracle everywhere)."""
    library_wrong, oracle_wrong = [], []
    for fmt, what, header, x, ours in xilinx.conversions:
        if ours != header:
            library_wrong.append(f"{fmt} <- {what}: header {header}, lstm_hw {ours}")
        theirs = oracle_fmt(x, fmt)[0]
        if theirs != header:
            oracle_wrong.append(f"{fmt} <- {what}: header {header}, oracle {theirs}")
    in_int64 = dict.fromkeys(OPS, 0)
    formats = set()
    for (a, b, t, pairs), rows in zip(xilinx.operations, xilinx.results):
        formats |= {a, b, t}
        for (ra, rb), row in zip(pairs, rows):
            for op, header in zip(OPS, row):
                what = f"{t} <- {op}({a} {ra}, {b} {rb})"
                theirs = oracle_fmt(EXACT[op](raw_value(ra, a.frac), raw_value(rb, b.frac)), t)[0]
                if theirs != header:
                    oracle_wrong.append(f"{what}: header {header}, oracle {theirs}")
                if not _fits(a, b, op):
                    continue
                in_int64[op] += 1
                v, frac = _exact(op, ra, rb, a.frac, b.frac)
                ours = requantise(v, frac - t.frac, *t.codes())[0]
                if ours != header:
                    library_wrong.append(f"{what}: header {header}, lstm_hw {ours}")
    n_ops = sum(len(rows) for rows in xilinx.results) * len(OPS)
    print(f"compared {xilinx.n_fixed} fixed->fixed and "
          f"{len(xilinx.conversions) - xilinx.n_fixed} double->fixed conversions and {n_ops} "
          f"operations ({in_int64} in int64) in {len(formats)} formats with g++ "
          f"(compiled in {xilinx.seconds:.1f} s)")
    # the cases reach what the issue asks: >= 300 formats up to W = 64, I > W and I <= 0, every
    # mode and N > 0, and most products and sums within the engine's int64
    targets = [t for _, _, t, _ in xilinx.operations]
    assert len(formats) >= 300 and max(f.width for f in formats) == 64
    assert any(t.integer > t.width for t in targets) and any(t.integer <= 0 for t in targets)
    assert {(t.rounding, t.saturation) for t in targets} == \
        {(q, o) for q in Q_MODES for o in O_MODES}
    assert sum(t.saturation_bits > 0 for t in targets) >= 20
    assert min(in_int64.values()) >= len(targets) * PAIRS_PER_OPERATION // 3, in_int64
    assert not library_wrong, f"{len(library_wrong)} mismatches:\n" + "\n".join(library_wrong[:20])
    assert not oracle_wrong, f"{len(oracle_wrong)} mismatches:\n" + "\n".join(oracle_wrong[:20])


def _operations_netlist(operations) -> str:
    """One netlist computing every operation of the cross-check: inputs a<k>, b<k>; blocks
    cast<k>, mul<k>, add<k>, sub<k> in the target's format (those whose result fits int64)."""
    inputs, blocks = [], []
    for k, (a, b, t, _) in enumerate(operations):
        inputs += [f"  a{k}: {{format: '{a}'}}", f"  b{k}: {{format: '{b}'}}"]
        for op in OPS:
            if _fits(a, b, op):
                args = f"a{k}" if op == "cast" else f"[a{k}, b{k}]"
                blocks.append(f"  {op}{k}: {{op: {'identity' if op == 'cast' else op}, "
                              f"in: {args}, format: '{t}'}}")
    return ("lstm_hw: 1\nname: crosscheck\ninputs:\n" + "\n".join(inputs) +
            "\noutputs: [cast0]\nblocks:\n" + "\n".join(blocks) + "\n")


NATIVE_SAMPLE = 12   # operations whose netlist the compiled engine's test has numba compile


# Every operation through the interpreter, and through the compiled engine's generated code run
# as plain Python (numba's compile of a netlist of all ~1,200 blocks takes many minutes); the
# compiled engine proper, numba-compiled, on a netlist of a sample of the operations.
@pytest.mark.parametrize("engine", ["interpreter", "compiled-python", "compiled", "numpy"])
def test_engines_against_xilinx_headers(xilinx, engine, tmp_path):
    """The same operations, as blocks of one netlist, through the engine: the headers' bits."""
    import lstm_hw
    from lstm_hw.sim import codegen
    operations, results = xilinx.operations, xilinx.results
    if engine == "compiled":
        picked = np.random.default_rng(7).choice(len(operations), NATIVE_SAMPLE, replace=False)
        operations = [operations[k] for k in sorted(picked)]
        results = [results[k] for k in sorted(picked)]
    path = tmp_path / "crosscheck.yaml"
    path.write_text(_operations_netlist(operations))
    circuit = lstm_hw.load(path)   # every block in int64 by its value bounds: none refused
    n_pairs = PAIRS_PER_OPERATION
    raw = np.array([[v for *_, pairs in operations for v in pairs[i]]
                    for i in range(n_pairs)], dtype=np.int64)
    sim = lstm_hw.Simulator(circuit, "compiled" if engine.startswith("compiled") else engine)
    if engine == "compiled-python":
        sim._compiled = codegen.load_python(codegen.generate_source(sim.program))
    trace = sim.run(raw[None], raw_inputs=True, record="all")
    wrong, compared = [], 0
    for k, ((a, b, t, pairs), rows) in enumerate(zip(operations, results)):
        for j, op in enumerate(OPS):
            if f"{op}{k}" not in circuit.by_name:
                continue
            got = trace.raw(f"{op}{k}")[0, :, 0]
            for (ra, rb), row, ours in zip(pairs, rows, got):
                compared += 1
                if int(ours) != row[j]:
                    wrong.append(f"{t} <- {op}({a} {ra}, {b} {rb}): header {row[j]}, "
                                 f"{engine} {ours}")
    assert not wrong, f"{len(wrong)} mismatches:\n" + "\n".join(wrong[:20])
    assert compared >= len(operations) * n_pairs * 2   # casts, and most of the rest
