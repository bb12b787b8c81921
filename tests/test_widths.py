"""Wide formats (up to W = 64) and int64 headroom from value bounds.

Elaboration refuses a block only when its exact intermediate may not fit int64, judged from the
values its operands can take (formats, weights, constants, table entries), not from bit counts;
the message names the operand to narrow. What it accepts, both engines compute bit for bit as
the exact oracle (tests/oracle_sim.py) does. The formats themselves are checked against the
Xilinx headers in test_fixed.py.
"""
from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

import lstm_hw
from lstm_hw.fixed import parse_format
from oracle_sim import Oracle

ENGINES = ("interpreter", "compiled", "numpy")


def load_text(tmp_path, text: str):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return lstm_hw.load(path)


def refusal(tmp_path, text: str) -> str:
    with pytest.raises(lstm_hw.NetlistError) as exc:
        load_text(tmp_path, text)
    return str(exc.value)


def extreme_inputs(circuit, n_steps: int, seed: int) -> np.ndarray:
    """Raw inputs [1, steps, columns]: each input's ends, 0, and random values of any size."""
    rng = random.Random(seed)
    cols = []
    for cid in circuit.inputs:
        fmt = circuit.cells[cid].fmt
        for _ in range(circuit.cells[cid].size):
            col = [fmt.lo, fmt.hi, 0, fmt.lo + 1]
            while len(col) < n_steps:
                mag = rng.randint(0, 1 << rng.randint(0, fmt.width))
                col.append(max(fmt.lo, min(fmt.hi, -mag if fmt.signed and rng.random() < 0.5
                                           else mag)))
            rng.shuffle(col)
            cols.append(col[:n_steps])
    return np.array(cols, dtype=np.int64).T[None]


def assert_engines_match_oracle(circuit, raw: np.ndarray) -> None:
    want = Oracle(circuit).run(raw)
    for engine in ENGINES:
        trace = lstm_hw.Simulator(circuit, engine).run(raw, raw_inputs=True, record="all")
        for cell in circuit.cells:
            got = trace.raw(cell.name)
            assert np.array_equal(got, want.raw[cell.name]), (engine, cell.name, cell.fmt,
                                                              got.ravel()[:8],
                                                              want.raw[cell.name].ravel()[:8])
        assert trace.overflow == want.overflow, engine


# hls4ml's ap_fixed<32,16> everywhere: the cell update c' = f * c + i * g with exact products
# (ap_fixed<64,32>). By their formats the two products could each reach 2**62 and their sum
# 2**63, beyond int64; by their values (f, i and g come from tables, at most 1: 2**16 raw) the
# sum stays below 2**48.
CELL_32_16 = """
lstm_hw: 1
format: ap_fixed<32,16>
inputs: [zi, zf, zg]
outputs: [c]
blocks:
  i: {op: sigmoid, in: zi, table: {size: 1024, range: [-8, 8], index: trunc, entries: floor}}
  f: {op: sigmoid, in: zf, table: {size: 1024, range: [-8, 8], index: trunc, entries: floor}}
  g: {op: tanh, in: zg, table: {size: 1024, range: [-4, 4], index: trunc, entries: floor}}
  fc: {op: mul, in: [f, c], format: "ap_fixed<64,32>"}
  ig: {op: mul, in: [i, g], format: "ap_fixed<64,32>"}
  c_next: {op: add, in: [fc, ig]}
  c: {op: reg, in: c_next, init: 0}
"""


def test_hls4ml_32_16_cell_update_fits_by_its_values(tmp_path):
    circuit = load_text(tmp_path, CELL_32_16)
    raw = extreme_inputs(circuit, 40, seed=1)
    assert_engines_match_oracle(circuit, raw)


def test_42_bit_exact_product_and_its_sum(tmp_path):
    """f (ap_fixed<16,6>) * c (ap_fixed<26,6>) exactly is 42 bits; two of them summed, 43."""
    circuit = load_text(tmp_path, """
lstm_hw: 1
inputs: {f: {format: 'ap_fixed<16,6>'}, c: {format: 'ap_fixed<26,6>'},
         i: {format: 'ap_fixed<16,6>'}, g: {format: 'ap_fixed<26,6>'}}
outputs: [c_next]
blocks:
  fc: {op: mul, in: [f, c], format: 'ap_fixed<42,12>'}
  ig: {op: mul, in: [i, g], format: 'ap_fixed<42,12>'}
  c_next: {op: add, in: [fc, ig], format: 'ap_fixed<43,13,AP_RND_CONV,AP_SAT>'}
""")
    raw = extreme_inputs(circuit, 30, seed=2)
    assert_engines_match_oracle(circuit, raw)
    trace = lstm_hw.Simulator(circuit, "interpreter").run(raw, raw_inputs=True, record="all")
    f, c, i, g = (raw[0, :, k].tolist() for k in range(4))
    exact = [Fraction(a * b, 2**30) + Fraction(x * y, 2**30) for a, b, x, y in zip(f, c, i, g)]
    assert [Fraction(int(v), 2**30) for v in trace.raw("c_next")[0, :, 0]] == exact


@pytest.mark.parametrize("a, b", [("ap_fixed<32,16>", "ap_fixed<32,16>"),
                                  ("ap_fixed<63,20>", "ap_fixed<1,1>"),
                                  ("ap_ufixed<62,0>", "ap_fixed<2,2>"),
                                  ("ap_ufixed<31,31>", "ap_ufixed<32,-5>")])
def test_products_that_fit_int64_are_accepted(tmp_path, a, b):
    """A signed 32 x 32-bit product is at most 2**62: it fits, as do other full-range ones."""
    fa, fb = parse_format(a), parse_format(b)
    assert fa.max_abs_raw() * fb.max_abs_raw() < 2**63
    frac = fa.frac + fb.frac   # the exact product's binary point
    circuit = load_text(tmp_path, f"""
lstm_hw: 1
inputs: {{a: {{format: '{a}'}}, b: {{format: '{b}'}}}}
outputs: [p]
blocks:
  p: {{op: mul, in: [a, b], format: 'ap_fixed<64,{64 - frac}>'}}
  w: {{op: identity, in: p, format: 'ap_fixed<64,{61 - frac},AP_RND_CONV,AP_WRAP_SM>'}}
""")
    raw = extreme_inputs(circuit, 24, seed=3)
    raw[0, :4] = [[fa.lo, fb.lo], [fa.lo, fb.hi], [fa.hi, fb.hi], [fa.hi, fb.lo]]
    assert_engines_match_oracle(circuit, raw)
    got = lstm_hw.Simulator(circuit, "compiled").run(raw, raw_inputs=True).raw("p")[0, :, 0]
    assert got.tolist() == [int(x) * int(y) for x, y in raw[0]]


@pytest.mark.parametrize("text, what, narrow", [
    ("""
inputs: {a: {format: 'ap_fixed<64,32>'}, b: {format: 'ap_fixed<40,8>'}}
outputs: [p]
blocks:
  p: {op: mul, in: [a, b], format: 'ap_fixed<64,32>'}
""", "the exact product may reach 2^102.0", "narrow 'a' (ap_fixed<64,32>)"),
    ("""
inputs: {a: {format: 'ap_fixed<60,30>'}, b: {format: 'ap_fixed<20,-20>'}}
outputs: [s]
blocks:
  s: {op: add, in: [a, b]}
""", "the aligned sum may reach 2^", "narrow 'a' (ap_fixed<60,30>)"),
    ("""
format: ap_fixed<40,20>
inputs: {x: {size: 2}}
outputs: [y]
blocks:
  y: {op: dot, in: x, weights: [100000, 3], bias: 1}
""", "the weighted sum may reach 2^", "narrow the input 'x' (ap_fixed<40,20>) or the weights"),
    ("""
format: ap_fixed<40,20>
inputs: {x: {size: 2}}
outputs: [y]
blocks:
  y: {op: dot, in: x, weights: [1, 3], accum: 'ap_fixed<64,40>'}
""", "the accumulator's partial sum may reach 2^64.0", "narrow the 'accum' format"),
])
def test_refusal_names_the_operand_to_narrow(tmp_path, text, what, narrow):
    message = refusal(tmp_path, "lstm_hw: 1" + text)
    assert what in message and narrow in message, message
    assert "int64" in message


def test_value_bounds_not_bit_counts(tmp_path):
    """The same product is accepted or refused by what its operand holds: the constant 3 in
    ap_fixed<64,62> (raw 12) times a 58-bit input fits; any value of that format does not."""
    product = """
  p: {op: mul, in: [x, k], format: 'ap_fixed<64,44>'}
"""
    circuit = load_text(tmp_path, """
lstm_hw: 1
inputs: {x: {format: 'ap_fixed<58,40>'}}
outputs: [p]
blocks:
  k: {op: const, value: 3, format: 'ap_fixed<64,62>'}""" + product)
    assert_engines_match_oracle(circuit, extreme_inputs(circuit, 16, seed=4))
    message = refusal(tmp_path, """
lstm_hw: 1
inputs: {x: {format: 'ap_fixed<58,40>'}, k: {format: 'ap_fixed<64,62>'}}
outputs: [p]
blocks:""" + product)
    assert "the exact product" in message and "narrow 'k' (ap_fixed<64,62>)" in message


def test_wide_mux_select_shifts_are_clamped(tmp_path):
    """A select with 120 fractional bits (a right shift past 63) or -60 (a left shift of a
    62-bit value, past int64): the index is floor(sel) clamped, in both engines."""
    circuit = load_text(tmp_path, """
lstm_hw: 1
inputs: {a: {format: 'ap_fixed<8,4>'}, b: {format: 'ap_fixed<8,4>'},
         fine: {format: 'ap_fixed<64,-56>'}, coarse: {format: 'ap_fixed<62,122>'}}
outputs: [m1, m2]
blocks:
  m1: {op: mux, in: [a, b], sel: fine}
  m2: {op: mux, in: [a, b], sel: coarse}
""")
    raw = extreme_inputs(circuit, 24, seed=5)
    assert_engines_match_oracle(circuit, raw)
    trace = lstm_hw.Simulator(circuit, "compiled").run(raw, raw_inputs=True, record="all")
    a, b, fine, coarse = (raw[0, :, k] for k in range(4))
    assert trace.raw("m1")[0, :, 0].tolist() == a.tolist()   # |fine| < 2**-56: floor 0 or -1
    assert trace.raw("m2")[0, :, 0].tolist() == np.where(coarse > 0, b, a).tolist()
