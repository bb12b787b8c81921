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
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from external import hls4ml_root, need_executable
from oracle_sim import own_quantise

from lstm_hw.fixed import (FixedFormat, FormatError, parse_format, quantise_float, quantise_floats,
                           requantise, requantise_array, to_decimal)

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
# Cross-check against the Xilinx headers shipped in hls4ml.

HEADER_WIDTHS = (1, 2, 3, 5, 8, 16, 31, 32)
SOURCE_WIDTH = 64        # the source is ap_fixed<64, 64 - F2>, set from an int64 raw value
CASES_PER_SOURCE = 150
FLOAT_FORMATS = ("ap_fixed<8,4,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT_SYM>",
                 "ap_ufixed<8,0,AP_TRN,AP_WRAP>", "ap_fixed<12,-3,AP_RND_ZERO,AP_WRAP_SM>",
                 "ap_fixed<5,9,AP_RND_INF,AP_WRAP,2>", "ap_ufixed<32,40,AP_RND_MIN_INF,AP_SAT>",
                 "ap_fixed<32,32,AP_TRN_ZERO,AP_SAT_ZERO>", "ap_fixed<1,1,AP_RND,AP_SAT_SYM>",
                 "ap_fixed<31,-8,AP_RND_CONV,AP_WRAP_SM,1>", "ap_ufixed<3,3,AP_RND,AP_WRAP,3>")
# (no ap_ufixed<..., AP_WRAP_SM> here: the header's double constructor exit(1)s for it)


def _header_targets(rng: random.Random) -> list[FixedFormat]:
    """Every Q mode x O mode x N in {0, 1, 2, W} x signedness, W and I spread pseudo-randomly."""
    targets = []
    for signed, q, o, n_kind in itertools.product((True, False), Q_MODES, O_MODES, (0, 1, 2, "W")):
        if not signed and o == "AP_WRAP_SM":   # refused, as by the headers' C model
            continue
        width = rng.choice([w for w in HEADER_WIDTHS if n_kind in (0, "W") or n_kind <= w])
        integer = rng.choice((-rng.randint(1, 8), 0, rng.randint(1, 3), width,
                              width + rng.randint(1, 8)))   # I < 0, 0, small, = W, > W
        nbits = width if n_kind == "W" else n_kind
        targets.append(FixedFormat(width, integer, signed, q, o, nbits))
    return targets


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

int main() {
  std::ios::sync_with_stdio(false);
"""


def _as_raw(printed: int, fmt: FixedFormat) -> int:
    """The header's printed bits, read as fmt's raw value (whatever the sign extension)."""
    bits = printed & ((1 << fmt.width) - 1)
    return bits - (1 << fmt.width) if fmt.signed and bits >> (fmt.width - 1) else bits


def test_against_xilinx_headers(tmp_path):
    compiler = need_executable("g++")
    ap_types = hls4ml_root() / "templates" / "vivado" / "ap_types"
    assert (ap_types / "ap_fixed.h").is_file(), f"hls4ml is installed but has no {ap_types}"

    rng = random.Random(20240613)
    pick = rng.randint
    calls, stdin, checks = [], [], []   # checks: (fmt, description, expected raw, oracle raw)
    for fmt in _header_targets(rng):
        # two sources per target: one that quantises a little, one anywhere in -70..64 (the
        # header's C model asserts when a shift drops more bits than the 64-bit source has)
        for shift in (rng.randint(1, 12), rng.randint(-70, SOURCE_WIDTH)):
            src_frac = fmt.frac + shift
            calls.append(f"  from_fixed<{_cpp_type(fmt)}, {SOURCE_WIDTH - src_frac}>();")
            raws = [pick_raw(pick, fmt, shift) for _ in range(CASES_PER_SOURCE)]
            stdin.append(f"{len(raws)}\n" + "\n".join(map(str, raws)))
            for v in raws:
                checks.append((fmt, f"raw {v} with F2={src_frac}",
                               requantise(v, shift, *fmt.codes())[0],
                               oracle_fmt(raw_value(v, src_frac), fmt)[0]))
    n_fixed = len(checks)
    for text in FLOAT_FORMATS:
        fmt = parse_format(text)
        calls.append(f"  from_double<{_cpp_type(fmt)}>();")
        xs = [pick_float(pick, fmt) for _ in range(CASES_PER_SOURCE)]
        stdin.append(f"{len(xs)}\n" + "\n".join(x.hex() for x in xs))
        for x in xs:
            checks.append((fmt, f"double {x!r}", quantise_float(x, fmt.frac, *fmt.codes())[0],
                           oracle_fmt(x, fmt)[0]))

    source = tmp_path / "crosscheck.cpp"
    source.write_text(CPP_PROLOGUE + "\n".join(calls) + "\n}\n")
    start = time.monotonic()
    build = subprocess.run([compiler, "-std=c++14", "-O1", f"-I{ap_types}", str(source), "-o",
                            str(tmp_path / "crosscheck")], capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr[-5000:]
    compile_seconds = time.monotonic() - start
    run = subprocess.run([str(tmp_path / "crosscheck")], input="\n".join(stdin) + "\n",
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-5000:]
    printed = run.stdout.split()
    assert len(printed) == len(checks)

    library_wrong, oracle_wrong = [], []
    for (fmt, what, ours, theirs), out in zip(checks, printed):
        header = _as_raw(int(out), fmt)
        if ours != header:
            library_wrong.append(f"{fmt} <- {what}: header {header}, lstm_hw {ours}")
        if theirs != header:
            oracle_wrong.append(f"{fmt} <- {what}: header {header}, oracle {theirs}")
    print(f"compared {n_fixed} fixed->fixed and {len(checks) - n_fixed} double->fixed "
          f"conversions with g++ ({len(calls)} conversions compiled in {compile_seconds:.1f} s)")
    assert not library_wrong, f"{len(library_wrong)} mismatches:\n" + "\n".join(library_wrong[:20])
    assert not oracle_wrong, f"{len(oracle_wrong)} mismatches:\n" + "\n".join(oracle_wrong[:20])
