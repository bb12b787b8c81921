"""The engines against the slow exact oracle (lstm_hw/sim/oracle.py), bit for bit.

Every property runs on each engine of ENGINES, named explicitly (never "auto"): a new engine is
one more entry there. The compiled backend's code runs as plain Python (njit as identity) for
most examples and is compiled by numba for one example in NATIVE_EVERY (its compile takes
seconds).

(a) random valid netlists (every op, random formats, register feedback) and random inputs: every
    signal's raw value in every cycle, and the overflow counts, equal the oracle's (also run in
    two chunks; and for a few larger netlists, compiled);
(b) batch invariance: one stream alone and the same stream inside a batch of 1,000 give the same
    bits;
(c) the lecture's memory cell under several --precision settings, on the lecture's sequence and
    on seeded random sequences of the memory task;
(d) timed variants of the random netlists (pipeline latency, folded dots): other cycles, the
    same values per time step;
and, at the end, minimal cases of the bugs the random netlists found.

The netlists are YAML text written to a temporary file and loaded with ``lstm_hw.load``;
elaboration may refuse one for int64 headroom (counted: few are). The inputs are raw values that
fit their formats, biased to 0, to small values and to the ends of the range.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

import lstm_hw
from lstm_hw.sim import codegen
from lstm_hw.sim import simulator as simulator_module
from lstm_hw.tasks import memory
from lstm_hw.sim.oracle import Oracle, check_constants, own_quantise, quantise

Q_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF",
           "AP_RND_CONV")
O_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP_SM")
HEADROOM = "int64"   # elaboration's headroom refusal names the engine's int64 arithmetic
ROOT = Path(__file__).resolve().parent.parent
# By default the examples are the same on every run (derandomize); LSTM_HW_EXAMPLES=N runs N
# fresh random examples per property test instead (a longer hunt). Shrinking a failing random
# netlist can take hypothesis minutes, and the failure message already names the signal, cycle
# and circuit, so it is off unless LSTM_HW_SHRINK=1.
HUNT = int(os.environ.get("LSTM_HW_EXAMPLES", "0"))
PHASES = tuple(p for p in Phase if p != Phase.shrink or os.environ.get("LSTM_HW_SHRINK"))
SETTINGS = settings(database=None, deadline=None, phases=PHASES, derandomize=not HUNT,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


ENGINES = ["interpreter", "compiled", "numpy"]
NATIVE_EVERY = 40     # compiled engine: one example in this many compiled by numba
_runs = Counter()     # examples run per (test, engine), to pick the ones compiled natively


def simulator(circuit, engine: str, test: str, native: bool = False, **kw):
    """A Simulator on ``engine``; the compiled engine's generated code runs as plain Python
    except for every NATIVE_EVERY-th example of ``test`` (or when ``native``)."""
    sim = lstm_hw.Simulator(circuit, engine, **kw)
    _runs[test, engine] += 1
    if engine == "compiled" and not native and _runs[test, engine] % NATIVE_EVERY != 1:
        sim._compiled = codegen.load_python(codegen.generate_source(sim.program))
    return sim


def examples(n: int) -> settings:
    """n examples (derandomized: the same ones on every run of the same test session; which
    ones also depends on the modules imported, as hypothesis draws constants from local code)."""
    return settings(SETTINGS, max_examples=HUNT or n)


# YAML numbers whose decimal is exact enough to be interesting: integers, dyadic and non-dyadic.
DECIMALS = (0.5, -0.5, 0.25, -1.25, 0.1, -0.3, 0.7, 1.5, -2.75, 0.001, 3.125, -0.0625, 2.2)
NUMBERS = st.one_of(st.integers(-4, 4), st.sampled_from(DECIMALS))


# ---------------------------------------------------------------------------------------------
# The oracle's own quantiser on cases worked out by hand from the ap_fixed headers.

KNOWN = [   # (x, W, I, signed, rounding, overflow, N, raw)
    *[(Fraction(3, 8), 4, 2, True, q, "AP_WRAP", 0, r)                 # 1.5 LSB
      for q, r in zip(Q_MODES, (1, 1, 2, 1, 1, 2, 2))],
    *[(Fraction(-3, 8), 4, 2, True, q, "AP_WRAP", 0, r)
      for q, r in zip(Q_MODES, (-2, -1, -1, -1, -2, -2, -2))],
    (Fraction(5, 8), 4, 2, True, "AP_RND_CONV", "AP_WRAP", 0, 2),      # 2.5 -> 2 (even)
    (2, 4, 2, True, "AP_TRN", "AP_WRAP", 0, -8),
    (2, 4, 2, True, "AP_TRN", "AP_SAT", 0, 7),
    (-3, 4, 2, True, "AP_TRN", "AP_SAT", 0, -8),
    (2, 4, 2, True, "AP_TRN", "AP_SAT_ZERO", 0, 0),
    (-2, 4, 2, True, "AP_TRN", "AP_SAT_SYM", 0, -7),                    # lo itself is excluded
    (-3, 4, 2, True, "AP_TRN", "AP_SAT_SYM", 0, -7),
    (2, 4, 2, True, "AP_TRN", "AP_WRAP_SM", 0, 7),                      # 1000 -> 0111
    (9, 3, 3, False, "AP_TRN", "AP_WRAP", 1, 5),                        # 001 | 100
    (-1, 3, 3, False, "AP_TRN", "AP_SAT", 0, 0),
    (9, 4, 4, True, "AP_TRN", "AP_WRAP", 1, 1),                         # sign bit from source
    (-9, 4, 4, True, "AP_TRN", "AP_WRAP", 1, -1),
    (9, 4, 4, True, "AP_TRN", "AP_WRAP", 2, 5),                         # 0 then 1, then 01
    (Fraction(-1, 4), 3, 3, False, "AP_RND", "AP_SAT", 0, 0),           # rounds to 0: fits
]


@pytest.mark.parametrize("case", KNOWN, ids=[str(k) for k in range(len(KNOWN))])
def test_oracle_quantiser_known_cases(case):
    x, w, i, signed, q, o, n, raw = case
    assert own_quantise(Fraction(x), w, i, signed, q, o, n)[0] == raw


# ---------------------------------------------------------------------------------------------
# Random valid netlists.

@st.composite
def format_texts(draw):
    """'ap_fixed<W,I,Q,O,N>' / 'ap_ufixed<...>': widths 2..20, integer bits -2..12, any modes."""
    signed = draw(st.integers(0, 3)) > 0
    w = draw(st.integers(2, 20))
    i = draw(st.integers(-2, 12))
    q = draw(st.sampled_from(Q_MODES))
    o = draw(st.sampled_from(O_MODES if signed else [m for m in O_MODES if m != "AP_WRAP_SM"]))
    n = draw(st.integers(1, w)) if draw(st.integers(0, 5)) == 0 else 0
    args = [str(w), str(i)]
    short = draw(st.integers(0, 3))          # sometimes leave the HLS defaults implicit
    if short == 0 and q == "AP_TRN" and o == "AP_WRAP" and n == 0:
        pass
    elif short == 1 and o == "AP_WRAP" and n == 0:
        args.append(q)
    elif n == 0 and short != 3:
        args += [q, o]
    else:
        args += [q, o, str(n)]
    return f"{'ap_fixed' if signed else 'ap_ufixed'}<{','.join(args)}>"


def _decimal(x: Fraction) -> float:
    """A Fraction with a short decimal as the float YAML will write (asserted exact)."""
    f = float(x)
    assert Fraction(repr(f)) == x, x
    return f


@dataclass
class Spec:
    """A generated netlist: its YAML text and what the tests check beyond the oracle."""

    text: str
    tables: dict[str, tuple[str, str]] = field(default_factory=dict)    # name -> (func, entries)
    pwl_xs: dict[str, list[Fraction]] = field(default_factory=dict)     # name -> knot x values
    features: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, draw, blocks=(2, 9), timed=False):
        self.draw = draw
        self.n_blocks = blocks
        self.timed = timed
        self.size: dict[str, int] = {}            # every signal so far
        self.deps: dict[str, frozenset] = {}      # registers read combinationally
        self.blocks: dict[str, dict] = {}
        self.spec = Spec("")
        self.n = 0

    def feature(self, *names):
        self.spec.features.update(names)

    def fmt(self, p=0.5):
        return self.draw(format_texts()) if self.draw(st.floats(0, 1)) < p else None

    def pick(self, sizes=None, names=None):
        pool = sorted(n for n in (names or self.size) if sizes is None or self.size[n] in sizes)
        return self.draw(st.sampled_from(pool)) if pool else None

    def pick_upto(self, k_max, total_max):
        """1..k_max signals whose sizes add up to at most total_max."""
        ins = [self.pick(sizes=range(1, total_max + 1))]
        for _ in range(self.draw(st.integers(0, k_max - 1))):
            room = total_max - sum(self.size[a] for a in ins)
            nxt = self.pick(sizes=range(1, room + 1)) if room > 0 else None
            if nxt is None:
                break
            ins.append(nxt)
        return ins

    def numbers(self, k, scalar_ok=True):
        vals = [self.draw(NUMBERS) for _ in range(k)]
        if k == 1 and scalar_ok and self.draw(st.booleans()):
            return vals[0]
        return vals

    def add(self, name, block, size, reads=()):
        block = {k: v for k, v in block.items() if v is not None}
        if self.timed and block["op"] != "const" and self.draw(st.integers(0, 2)) == 0:
            block["latency"] = self.draw(st.integers(1, 3))
            self.feature("latency")
        if self.timed and block["op"] == "dot" and self.draw(st.integers(0, 2)) == 0:
            products = size * sum(self.size[a] for a in reads)    # fold onto fewer multipliers
            key = self.draw(st.sampled_from(["multipliers", "reuse"]))
            block[key] = self.draw(st.integers(1, products))
            self.feature(key)
        self.blocks[name] = block
        self.size[name] = size
        self.deps[name] = frozenset().union(*[self.deps[a] for a in reads]) if reads \
            else frozenset()
        self.feature(block["op"])

    def new_name(self):
        self.n += 1
        return f"b{self.n}"

    # -- one block per op ------------------------------------------------------------------
    def make_const(self, name):
        k = self.draw(st.integers(1, 4))
        self.add(name, {"op": "const", "value": self.numbers(k), "format": self.fmt()}, k)

    def make_dot(self, name, m=None, ins=None):
        ins = ins or self.pick_upto(3, 8)
        n = sum(self.size[a] for a in ins)
        m = m or self.draw(st.integers(1, 4))
        if m == 1 and self.draw(st.booleans()):
            weights = self.numbers(n)                 # a vector for one output (or a scalar)
        else:
            weights = [self.numbers(n, scalar_ok=False) for _ in range(m)]
        bias = self.draw(st.sampled_from(["none", "scalar", "vector"]))
        bias = None if bias == "none" else self.draw(NUMBERS) if bias == "scalar" \
            else self.numbers(m, scalar_ok=False)
        block = {"op": "dot", "in": ins if len(ins) > 1 or self.draw(st.booleans()) else ins[0],
                 "weights": weights, "bias": bias, "format": self.fmt(0.6),
                 "weight_format": self.fmt(0.4), "bias_format": self.fmt(0.3),
                 "accum": self.fmt(0.35)}
        for key in ("weight_format", "bias_format", "accum"):
            if key in block and block[key]:
                self.feature(f"dot.{key}")
        self.add(name, block, m, ins)

    def elementwise(self, k_min, k_max):
        first = self.pick()
        s = self.size[first]
        ins = [first] + [self.pick(sizes={1, s}) for _ in range(
            self.draw(st.integers(k_min, k_max)) - 1)]
        return ins, s

    def make_add(self, name, op="add"):
        ins, s = self.elementwise(2, 3) if op != "sub" else self.elementwise(2, 2)
        ins = self.draw(st.permutations(ins))
        self.add(name, {"op": op, "in": ins, "format": self.fmt(0.7)}, s, ins)

    def make_sub(self, name):
        self.make_add(name, "sub")

    def make_mul(self, name):
        self.make_add(name, "mul")

    def make_mux(self, name):
        ins, s = self.elementwise(2, 3)
        ins = self.draw(st.permutations(ins))
        sel = self.pick() if s == 1 else self.pick(sizes={1, s})
        s = max(s, self.size[sel])
        self.add(name, {"op": "mux", "in": ins, "sel": sel, "format": self.fmt(0.3)}, s,
                 ins + [sel])

    def make_min(self, name):
        self.make_add(name, "min")

    def make_max(self, name):
        self.make_add(name, "max")

    def make_clip(self, name):
        """lo and hi drawn on the grid of the clip's own format, inside its range."""
        x = self.pick()
        fmt_text = self.draw(format_texts())
        fmt = lstm_hw.parse_format(fmt_text)
        least = fmt.lo + (fmt.saturation == "AP_SAT_SYM" and fmt.signed)   # -2^(W-1) saturates
        lo, hi = sorted(self.draw(st.integers(least, fmt.hi)) for _ in range(2))
        value = [float(Fraction(r, 2 ** fmt.frac) if fmt.frac >= 0 else r * 2 ** -fmt.frac)
                 for r in (lo, hi)]
        self.add(name, {"op": "clip", "in": x, "lo": value[0], "hi": value[1],
                        "format": fmt_text}, self.size[x], [x])

    def make_activation(self, name, func):
        x = self.pick()
        block = {"op": func, "in": x, "format": self.fmt(0.8)}
        impl = self.draw(st.sampled_from(["table", "table", "table_default", "pwl_points",
                                          "pwl_segments", "exact"]))
        self.feature(f"{func}.{impl}")
        if impl == "exact":
            block["exact"] = True
        elif impl == "table_default":
            self.spec.tables[name] = (func, "nearest")
        elif impl == "table":
            size = self.draw(st.integers(2, 48))
            index = self.draw(st.sampled_from(["floor", "trunc", "trunc", None]))
            entries = self.draw(st.sampled_from(["nearest", "floor", None]))
            if index == "trunc":
                step = Fraction(self.draw(st.sampled_from(["0.25", "0.5", "1", "0.1", "0.2",
                                                           "0.125", "0.3"])))
                j = self.draw(st.integers(-2, size + 2))
                lo, hi = -j * step, -j * step + size * step
            else:
                lo = Fraction(self.draw(st.sampled_from(["-8", "-4", "-2.5", "-1", "-0.3", "0",
                                                         "0.5"])))
                hi = lo + Fraction(self.draw(st.sampled_from(["0.5", "1", "3", "4.2", "8",
                                                              "16"])))
            table = {"size": size, "range": [_decimal(lo), _decimal(hi)], "index": index,
                     "entries": entries}
            block["table"] = {k: v for k, v in table.items() if v is not None}
            self.spec.tables[name] = (func, entries or "nearest")
            self.feature(f"table.index.{index or 'floor'}", f"table.entries.{entries or 'nearest'}")
        else:
            pwl = {}
            if impl == "pwl_points":
                knots = [-6, -3, -2.5, -1, -0.3, 0, 0.1, 0.5, 1, 2, 2.2, 4, 6]
                xs = sorted(self.draw(st.sets(st.sampled_from(knots), min_size=2, max_size=5)))
                pwl["points"] = [[x, self.draw(NUMBERS)] for x in xs]
                self.spec.pwl_xs[name] = [Fraction(repr(x)) if isinstance(x, float)
                                          else Fraction(x) for x in xs]
            else:
                segs = self.draw(st.integers(1, 8))
                lo = Fraction(self.draw(st.sampled_from(["-8", "-4", "-2.5", "-1", "0"])))
                hi = lo + Fraction(self.draw(st.sampled_from(["0.5", "1", "3", "8"])))
                pwl["segments"] = segs
                pwl["range"] = [_decimal(lo), _decimal(hi)]
                self.spec.pwl_xs[name] = [lo + (hi - lo) * k / segs for k in range(segs + 1)]
            cf = self.fmt(0.6)
            if cf:
                pwl["coef_format"] = cf
            block["pwl"] = pwl
        self.add(name, block, self.size[x], [x])

    def make_sigmoid(self, name):
        self.make_activation(name, "sigmoid")

    def make_tanh(self, name):
        self.make_activation(name, "tanh")

    def make_identity(self, name, op="identity"):
        ins = self.pick_upto(2, 4)
        fmt = self.fmt(0.85 if op in ("identity", "cast") else 0.25)
        self.add(name, {"op": op, "in": ins if len(ins) > 1 else ins[0], "format": fmt},
                 sum(self.size[a] for a in ins), ins)

    def make_cast(self, name):
        self.make_identity(name, "cast")

    def make_concat(self, name):
        self.make_identity(name, "concat")

    def make_slice(self, name):
        ins = self.pick_upto(3, 6)
        n = sum(self.size[a] for a in ins)
        block = {"op": "slice", "in": ins if len(ins) > 1 else ins[0], "format": self.fmt(0.25)}
        kind = self.draw(st.sampled_from(["index", "indices", "range"]))
        opt_int = st.one_of(st.none(), st.integers(-n, n))
        idx = None
        if kind == "range":
            start, stop, step = self.draw(opt_int), self.draw(opt_int), \
                self.draw(st.sampled_from([None, 1, 2, -1, -2, 3]))
            idx = list(range(n))[slice(start, stop, step)]
            if idx:
                block.update(start=start, stop=stop, step=step)
        if not idx and kind != "indices":
            i = self.draw(st.integers(-n, n - 1))
            block["index"] = i
            idx = [i]
        elif not idx:
            idx = self.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
            block["index"] = idx
        self.feature(f"slice.{kind}")
        self.add(name, block, len(idx), ins)

    # -- the netlist -----------------------------------------------------------------------
    def build(self) -> Spec:
        draw = self.draw
        doc = {"lstm_hw": 1, "name": "random"}
        default = self.fmt(0.7)
        if default:
            doc["format"] = default
        inputs = {}
        for k in range(draw(st.integers(1, 3))):
            size = draw(st.integers(1, 4))
            port = {"size": size} if size > 1 or draw(st.booleans()) else {}
            f = self.fmt(0.75)
            if f:
                port["format"] = f
            inputs[f"x{k}"] = port or None
            self.size[f"x{k}"] = size
            self.deps[f"x{k}"] = frozenset()
        regs = []
        for k in range(draw(st.integers(1, 2))):
            name, size = f"r{k}", draw(st.integers(1, 4))
            init = self.numbers(size) if size > 1 else draw(st.sampled_from(
                [None, "scalar", "list"]))
            if init == "scalar":
                init = draw(NUMBERS)
            elif init == "list":
                init = [draw(NUMBERS)]
            regs.append(name)
            self.size[name] = size
            self.deps[name] = frozenset([name])
            self.blocks[name] = {"op": "reg", "in": None, "init": init, "format": self.fmt(0.5)}
            self.feature("reg")
            if init is not None:
                self.feature("reg.init")
        ops = ["const", "dot", "add", "sub", "mul", "sigmoid", "tanh", "identity", "cast",
               "concat", "slice", "mux", "min", "max", "clip"]
        for _ in range(draw(st.integers(*self.n_blocks))):
            getattr(self, f"make_{draw(st.sampled_from(ops))}")(self.new_name())
        # close the register loops: r0 reads something that reads r0
        for k, r in enumerate(regs):
            s = self.size[r]
            if k == 0:   # the loop
                pool = [b for b in self.blocks if self.blocks[b]["op"] != "reg"
                        and self.size[b] == s and r in self.deps[b]]
            else:        # any signal of its size, an input or another register too
                pool = [b for b in self.size if self.size[b] == s and b != r]
            src = self.pick(names=pool) if pool else None
            if src is None:
                name = self.new_name()
                if k > 0 or draw(st.booleans()):
                    self.make_dot(name, m=s, ins=[r] + ([self.pick()] if draw(st.booleans())
                                                        else []))
                else:
                    other = self.pick(sizes={1, s})
                    self.add(name, {"op": draw(st.sampled_from(["add", "sub", "mul"])),
                                    "in": draw(st.permutations([r, other])),
                                    "format": self.fmt(0.7)}, s, [r, other])
                src = name
            self.blocks[r]["in"] = src
        for r in regs:   # a register without an init list takes its size from its input
            if not isinstance(self.blocks[r]["init"], list) and any(
                    not isinstance(self.blocks[d]["init"], list)
                    for d in self.deps[self.blocks[r]["in"]]):
                self.blocks[r]["init"] = [self.draw(NUMBERS)]    # a list: it sets the size
        for r in regs:   # enable and reset: any signal of 1 or the register's size
            for key in ("enable", "reset"):
                if draw(st.integers(0, 2)) == 0:
                    self.blocks[r][key] = self.pick(sizes={1, self.size[r]})
                    self.feature(f"reg.{key}")
        if any(b["op"] == "dot" for b in self.blocks.values()) and draw(st.integers(0, 4)) == 0:
            dots = sorted(n for n, b in self.blocks.items() if b["op"] == "dot")
            part = draw(st.sampled_from(["", ":weight", ":bias", ":accum"]))
            doc["precision"] = {draw(st.sampled_from(dots)) + part: draw(format_texts())}
            self.feature("precision" + part)
        names = sorted(self.size)
        outputs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        doc["inputs"] = inputs
        doc["outputs"] = outputs
        doc["blocks"] = {n: {k: v for k, v in b.items() if v is not None}
                         for n, b in self.blocks.items()}
        self.spec.text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None,
                                        width=10_000)
        return self.spec


@st.composite
def netlists(draw, blocks=(2, 9), timed=False) -> Spec:
    """A random valid netlist: inputs, 1-2 registers (one in a feedback loop) and a number of
    blocks in the range ``blocks`` besides the blocks that close the register loops; timed:
    some blocks have pipeline latency and some dots are folded onto fewer multipliers."""
    return _Builder(draw, blocks, timed).build()


def load_text(text: str, **kw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.yaml"
        path.write_text(text)
        return lstm_hw.load(path, **kw)


def load_or_reject(spec: Spec):
    """The circuit, or a hypothesis rejection if elaboration refuses it for int64 headroom."""
    note(spec.text)
    try:
        return load_text(spec.text)
    except lstm_hw.NetlistError as exc:
        if all(HEADROOM in d.message for d in exc.diagnostics):
            assume(False)
        raise


def input_range(fmt) -> tuple[int, int]:
    """The raw values that fit fmt (AP_SAT_SYM leaves out the most negative one)."""
    hi = (1 << (fmt.width - 1)) - 1 if fmt.signed else (1 << fmt.width) - 1
    lo = (-hi if fmt.saturation == "AP_SAT_SYM" else -hi - 1) if fmt.signed else 0
    return lo, hi


def raw_values(fmt):
    """Raw values of fmt, biased to 0, small values and the ends of the range."""
    lo, hi = input_range(fmt)
    frac = fmt.width - fmt.integer
    specials = [lo, hi, 0, 1, -1] + ([1 << frac, -(1 << frac), 3 << frac] if frac >= 0 else [])
    small = st.integers(max(lo, -(4 << frac)), min(hi, 4 << frac)) if frac >= 0 else st.just(0)
    return st.one_of(st.just(0), st.integers(lo, hi), small,     # small: values within +-4
                     st.sampled_from([v for v in specials if lo <= v <= hi]))


def draw_inputs(data, circuit, n_streams, n_steps) -> np.ndarray:
    cols = []
    for cid in circuit.inputs:
        cell = circuit.cells[cid]
        for _ in range(cell.size):
            cols.append(data.draw(st.lists(raw_values(cell.fmt), min_size=n_streams * n_steps,
                                           max_size=n_streams * n_steps)))
    return np.array(cols, dtype=np.int64).T.reshape(n_streams, n_steps, len(cols))


def to_floats(circuit, raw: np.ndarray) -> np.ndarray:
    """Raw input values as the floats that quantise to them exactly."""
    fracs = [circuit.cells[c].fmt.frac for c in circuit.inputs
             for _ in range(circuit.cells[c].size)]
    return np.ldexp(raw.astype(np.float64), -np.array(fracs))


def assert_same(circuit, trace, want, streams=None):
    """Every signal, every cycle: the engine's raw values equal the oracle's."""
    for cell in circuit.cells:
        got = trace.raw(cell.name)
        exp = want.raw[cell.name] if streams is None else want.raw[cell.name][streams]
        if not np.array_equal(got, exp):
            s, t, e = np.argwhere(got != exp)[0]
            raise AssertionError(
                f"signal '{cell.name}' ({cell.op}, {cell.fmt}) stream {s} cycle {t} element {e}: "
                f"engine {got[s, t, e]}, oracle {exp[s, t, e]}\n{circuit.dump()}")


def check_elaborated_tables(circuit, spec: Spec) -> None:
    """Table entries and pwl knots as the docstring of compile/luts.py says they are built."""
    fn = {"sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)), "tanh": math.tanh}
    for name, (func, entries) in spec.tables.items():
        cell = circuit.cell(name)
        t = cell.params.table
        size = len(t.entries)
        step = (t.hi - t.lo) / size
        fmt = replace(cell.fmt, rounding={"nearest": "AP_RND", "floor": "AP_TRN"}[entries])
        want = [quantise(Fraction(fn[func](float(t.lo + i * step))), fmt)[0] for i in range(size)]
        assert [int(v) for v in t.entries] == want, name
    for name, xs in spec.pwl_xs.items():
        cell = circuit.cell(name)
        grid = Fraction(2) ** circuit.cells[cell.args[0]].fmt.frac
        assert [int(k) for k in cell.params.pwl.knots] == [math.ceil(x * grid) for x in xs]


# ---------------------------------------------------------------------------------------------
# (a) random netlists, every signal, every cycle

@pytest.mark.parametrize("engine", ENGINES)
@examples(200)
@given(spec=netlists(), data=st.data())
def test_random_netlists_match_oracle(engine, spec, data):
    circuit = load_or_reject(spec)
    assert check_constants(circuit) == []
    check_elaborated_tables(circuit, spec)
    n_streams, n_steps = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 8))
    raw = draw_inputs(data, circuit, n_streams, n_steps)
    sim = simulator(circuit, engine, "random")
    trace = sim.run(to_floats(circuit, raw), record="all")
    want = Oracle(circuit).run(raw)
    assert_same(circuit, trace, want)
    assert trace.overflow == want.overflow
    # the same run in two chunks, the state carried across
    cut = data.draw(st.integers(0, n_steps))
    parts = list(sim.stream([raw[:, :cut], raw[:, cut:]], record="all"))
    assert np.array_equal(np.concatenate([p.data for p in parts], axis=1), trace.data)


@pytest.mark.parametrize("engine", ENGINES)
@examples(5)
@given(spec=netlists(blocks=(8, 12)), data=st.data())
def test_larger_netlists_match_oracle(engine, spec, data):
    """Larger netlists, compiled natively. The compiled backend's numba compile takes seconds per
    netlist the first time, then its cache (by the hash of the source) makes it quick."""
    circuit = load_or_reject(spec)
    raw = draw_inputs(data, circuit, data.draw(st.integers(2, 3)), data.draw(st.integers(1, 8)))
    sim = simulator(circuit, engine, "larger", native=True)
    trace = sim.run(raw, record="all", raw_inputs=True)
    want = Oracle(circuit).run(raw)
    assert_same(circuit, trace, want)
    assert trace.overflow == want.overflow
    # each stream alone (the compiled backend's one-stream function, run_one)
    for s in range(raw.shape[0]):
        alone = sim.run(raw[s:s + 1], record="all", raw_inputs=True)
        assert np.array_equal(alone.data, trace.data[s:s + 1])


def test_generator_elaborates_and_covers_every_op():
    """Most generated netlists elaborate (few headroom refusals) and every op and mode occurs."""
    counts = Counter()
    seen = set()

    @settings(SETTINGS, max_examples=400)
    @given(spec=netlists())
    def collect(spec):
        counts["drawn"] += 1
        try:
            load_text(spec.text)
        except lstm_hw.NetlistError as exc:
            assert all(HEADROOM in d.message for d in exc.diagnostics), exc.render()
            counts["headroom"] += 1
            return
        seen.update(spec.features)
        for fmt in _formats_in(spec.text):
            seen.update(m for m in Q_MODES + O_MODES if f"{m}," in fmt + "," or f"{m}>" in fmt)
            seen.add(fmt.split("<")[0])

    collect()
    assert counts["headroom"] <= 0.2 * counts["drawn"], counts
    want = {"const", "dot", "add", "sub", "mul", "sigmoid", "tanh", "identity", "cast", "reg",
            "concat", "slice", "mux", "min", "max", "clip", "dot.accum", "dot.weight_format", "dot.bias_format",
            "reg.init", "reg.enable", "reg.reset", "table.index.floor", "table.index.trunc",
            "table.entries.nearest", "table.entries.floor", "ap_fixed", "ap_ufixed",
            *[f"{f}.{i}" for f in ("sigmoid", "tanh") for i in ("table", "pwl_points",
                                                                 "pwl_segments", "exact")],
            *Q_MODES, *O_MODES}
    assert want <= seen, sorted(want - seen)


def _formats_in(text: str) -> list[str]:
    import re
    return re.findall(r"ap_u?fixed<[^>]*>", text)


# ---------------------------------------------------------------------------------------------
# (b) batch invariance

@pytest.mark.parametrize("engine", ENGINES)
@examples(10)
@given(spec=netlists(), data=st.data())
def test_stream_alone_equals_stream_in_batch(engine, spec, data):
    circuit = load_or_reject(spec)
    n_steps = 12
    raw = draw_inputs(data, circuit, 1, n_steps)
    where = data.draw(st.integers(0, 999))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    batch = np.empty((1000, n_steps, raw.shape[2]), np.int64)
    col = 0
    for cid in circuit.inputs:
        fmt = circuit.cells[cid].fmt
        for _ in range(circuit.cells[cid].size):
            lo, hi = input_range(fmt)
            batch[:, :, col] = rng.integers(lo, hi + 1, (1000, n_steps))
            col += 1
    batch[where] = raw[0]
    sim = simulator(circuit, engine, "batch", threads=1)
    alone = sim.run(to_floats(circuit, raw), record="all")
    many = sim.run(to_floats(circuit, batch), record="all")
    assert np.array_equal(alone.data[0], many.data[where])
    # the batch split over two threads (whatever the work, for the test) and put back together
    with mock.patch.object(simulator_module, "PARALLEL_MIN_WORK", 0), \
            mock.patch.object(simulator_module, "PARALLEL_MIN_COMPILED_WORK", 0):
        split = simulator(circuit, engine, "batch", threads=2).run(batch, record="all",
                                                                   raw_inputs=True)
    assert np.array_equal(split.data, many.data)
    assert split.overflow == many.overflow
    raw_alone = sim.run(raw, record="all", raw_inputs=True)
    assert np.array_equal(raw_alone.data, alone.data)
    # and both equal the oracle (on the one stream)
    assert_same(circuit, alone, Oracle(circuit).run(raw))


# ---------------------------------------------------------------------------------------------
# (c) the lecture's memory cell under several precision settings

PRECISIONS = {
    "as written": [],
    "12,6 rnd sat": ["*=ap_fixed<12,6,AP_RND,AP_SAT>"],
    "10,5 trn wrap": ["*=ap_fixed<10,5>"],
    "mixed": ["*_gate=ap_ufixed<8,0,AP_RND,AP_SAT>", "z*:weight=ap_fixed<10,8,AP_RND_ZERO>",
              "z*:accum=ap_fixed<18,9,AP_RND_INF,AP_SAT_SYM>", "c=ap_fixed<20,10,AP_RND_CONV,"
              "AP_WRAP_SM>", "y=ap_fixed<8,4,AP_RND_MIN_INF,AP_SAT_ZERO>"],
    "narrow wrap n": ["*=ap_fixed<9,5,AP_TRN_ZERO,AP_WRAP,2>",
                      "*_gate=ap_fixed<6,1,AP_RND,AP_WRAP_SM,1>"],
    "wide gates": ["z_*=ap_fixed<14,8,AP_RND,AP_SAT>", "*_gate=ap_fixed<10,2,AP_RND_CONV,AP_SAT>"],
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(PRECISIONS))
def test_memory_cell_matches_oracle(name, engine):
    circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell.yaml", precision=PRECISIONS[name])
    assert check_constants(circuit) == []
    seqs = memory.generate(20, 40, seed=7)
    lecture = np.zeros((1, 40, 3))
    lecture[0, :len(memory.LECTURE_INPUTS)] = memory.LECTURE_INPUTS
    inputs = np.concatenate([lecture, seqs])
    sim = simulator(circuit, engine, "memory cell")
    trace = sim.run(inputs, record="all")
    fmts = [circuit.cells[c].fmt for c in circuit.inputs]
    raw = np.array([[[quantise(Fraction(v), f)[0] for v, f in zip(row, fmts)] for row in seq]
                    for seq in inputs], dtype=np.int64)
    want = Oracle(circuit).run(raw)
    assert_same(circuit, trace, want)
    assert trace.overflow == want.overflow
    if name == "as written":   # the lecture's answer, as a sanity check of the oracle itself
        y = want.raw["y"][0, :len(memory.LECTURE_Y), 0] / 256
        assert list(y) == list(memory.LECTURE_Y)


# ---------------------------------------------------------------------------------------------
# (d) timed hardware: the same values per time step

@pytest.mark.parametrize("engine", ENGINES)
@examples(200)
@given(spec=netlists(timed=True), data=st.data())
def test_timed_netlists_match_oracle(engine, spec, data):
    """Pipelined and folded hardware: the cycles change, a time step's values do not."""
    circuit = load_or_reject(spec)
    raw = draw_inputs(data, circuit, data.draw(st.integers(1, 3)), data.draw(st.integers(1, 8)))
    sim = simulator(circuit, engine, "timed")
    note(f"ii {sim.timing.ii}, finish {sim.timing.finish}")
    trace = sim.run(raw, record="all", raw_inputs=True)
    want = Oracle(circuit).run(raw)
    assert_same(circuit, trace, want)
    assert trace.overflow == want.overflow


# ---------------------------------------------------------------------------------------------
# Minimal cases of bugs the random netlists found.

def test_table_trunc_index_truncates_toward_zero():
    """index: trunc is hls4ml's ``trunc(x / step) + (-lo / step)`` (C's int conversion truncates
    toward zero): x = -0.5 with step 1 over [-8, 8) takes entry 0 + 8, the one for 0.0."""
    circuit = load_text("""
lstm_hw: 1
inputs: {x: {format: 'ap_fixed<8,4>'}}
outputs: [y]
blocks:
  y: {op: sigmoid, in: x, format: 'ap_fixed<16,2,AP_RND,AP_SAT>',
      table: {size: 16, range: [-8, 8], index: trunc}}
""")
    xs = np.array([-0.5, -1.5, 0.5, -8, 7.9375, -0.0625])
    entries = circuit.cell("y").params.table.entries
    want = entries[[8, 7, 8, 0, 15, 8]]
    raw = (xs * 16).astype(np.int64)[None, :, None]
    assert list(Oracle(circuit).run(raw).raw["y"][0, :, 0]) == list(want)
    got = lstm_hw.Simulator(circuit).run(xs[None, :, None]).raw("y")[0, :, 0]
    assert list(got) == list(want)


def test_size_inference_waits_for_every_operand():
    """y adds v (2 elements, known only once the register r is sized from d) and x (1 element,
    broadcast): y has 2 elements. Sizing y from the operands known so far gives 1."""
    circuit = load_text("""
lstm_hw: 1
inputs: [x]
outputs: [y]
blocks:
  r: {op: reg, in: d}
  v: {op: concat, in: [r, r]}
  y: {op: add, in: [v, x]}
  d: {op: identity, in: x}
""")
    assert circuit.cell("y").size == 2


def test_timed_register_reports_the_state_of_its_step():
    """r latches x at the edge after cycle 0 of each step, but its first reader y starts at
    cycle 2 (d's latency): r's value for step k must still be its state in step k (5, then
    x[k-1]), as y's is r + d = 5 + 1, 1 + 2, ... and as the untimed circuit gives."""
    text = """
lstm_hw: 1
format: ap_fixed<16,8>
inputs: [x]
outputs: [y]
blocks:
  r: {op: reg, in: x, init: 5}
  d: {op: identity, in: x, latency: 2}
  y: {op: add, in: [r, d]}
"""
    circuit = load_text(text)
    xs = np.array([1.0, 2.0, 3.0, 4.0])[None, :, None]
    trace = lstm_hw.Simulator(circuit, "interpreter").run(xs, record="all")
    want = Oracle(circuit).run((xs * 256).astype(np.int64))
    assert list(want.raw["r"][0, :, 0]) == [5 * 256, 256, 512, 768]
    assert list(trace.raw("y")[0, :, 0]) == list(want.raw["y"][0, :, 0])
    assert list(trace.raw("r")[0, :, 0]) == list(want.raw["r"][0, :, 0])


def test_one_stream_counts_both_overflows_of_an_accum_term():
    """A term of a dot with accum can overflow twice (its product, then the partial sum:
    ops.accumulate returns 2). run_one counted it once: y's second term, 2 * 1 saturated to
    0.875 and 0.875 + 0.875 saturated again, overflows 2 times a cycle, 3 with the first term."""
    circuit = load_text("""
lstm_hw: 1
format: ap_fixed<8,4>
inputs: {x: {size: 2}}
outputs: [y]
blocks:
  y: {op: dot, in: x, weights: [[1, 1]], accum: 'ap_fixed<4,1,AP_TRN,AP_SAT>'}
""")
    raw = np.full((1, 3, 2), 2 * 16, np.int64)
    want = Oracle(circuit).run(raw).overflow
    assert want == {"y": 9}
    for native in (True, False):
        sim = simulator(circuit, "compiled", "accum_overflows", native=native)
        assert sim.run(raw, raw_inputs=True).overflow == want, native


# ---------------------------------------------------------------------------------------------
# (e) narrow lanes: the compiled engine's exact dots in int16/int32 where the bounds prove it
# (compile/schedule.py: DotLanes), against the oracle and the int64 code.

@st.composite
def narrow_format_texts(draw):
    """Mostly formats of 4-12 bits (whose sums fit int32 lanes), sometimes any (format_texts)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(format_texts())
    w = draw(st.integers(4, 12))
    signed = draw(st.integers(0, 3)) > 0
    return (f"{'ap_fixed' if signed else 'ap_ufixed'}<{w},{draw(st.integers(-2, w + 2))},"
            f"{draw(st.sampled_from(Q_MODES))},{draw(st.sampled_from(('AP_WRAP', 'AP_SAT')))}>")


@st.composite
def wide_dot_netlists(draw) -> str:
    """A dot with many products (written as loops, not out, so its lanes apply): 1-3 inputs of
    1-12 elements, often of one format (one alignment shift), its own output fed back through a
    register as another input, weights drawn as raw values of their format biased to its ends
    (so the int32 sums meet their bounds), random output formats."""
    n_in = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 12)) for _ in range(n_in)]
    m = draw(st.integers(1, 9))
    feedback = draw(st.booleans())
    n = sum(sizes) + (m if feedback else 0)
    assume(m * n > codegen.UNROLL_PRODUCTS)
    shared = draw(narrow_format_texts())
    fmts = [shared if draw(st.integers(0, 2)) else draw(narrow_format_texts())
            for _ in range(n_in + 1)]
    w_text = draw(narrow_format_texts())
    w_fmt = lstm_hw.fixed.parse_format(w_text)
    raw = draw(st.lists(st.lists(raw_values(w_fmt), min_size=n, max_size=n),
                        min_size=m, max_size=m))
    weights = "[" + ", ".join("[" + ", ".join(_dyadic(v, w_fmt.frac) for v in row) + "]"
                              for row in raw) + "]"
    ports = "\n".join(f"  x{k}: {{size: {s}, format: '{fmts[k]}'}}" for k, s in enumerate(sizes))
    ins = [f"x{k}" for k in range(n_in)] + (["h"] if feedback else [])
    bias = f", bias: {draw(NUMBERS)}" if draw(st.booleans()) else ""
    lines = ["lstm_hw: 1", "name: wide", f"format: '{draw(format_texts())}'", "inputs:", ports,
             "outputs: [d]", "blocks:",
             f"  d: {{op: dot, in: [{', '.join(ins)}], weights: {weights}{bias}, "
             f"weight_format: '{w_text}', format: '{draw(format_texts())}'}}"]
    if feedback:
        lines.append(f"  h: {{op: reg, in: d, init: 0, format: '{fmts[-1]}'}}")
    return "\n".join(lines) + "\n"


def _dyadic(raw: int, frac: int) -> str:
    """raw * 2**-frac as its exact decimal (every dyadic fraction has a finite one)."""
    if frac <= 0:
        return str(raw << -frac)
    digits = str(abs(raw) * 5**frac).rjust(frac + 1, "0")
    return f"{'-' if raw < 0 else ''}{digits[:-frac]}.{digits[-frac:]}"


LANES_SEEN = Counter()   # lane choices the wide-dot property met (checked by the next test)


@examples(200)
@given(text=wide_dot_netlists(), data=st.data())
def test_narrow_lanes_match_oracle_and_int64(text, data):
    circuit = load_or_reject(Spec(text))
    raw = draw_inputs(data, circuit, data.draw(st.integers(1, 3)), data.draw(st.integers(1, 6)))
    want = Oracle(circuit).run(raw)
    narrow = simulator(circuit, "compiled", "narrow")
    wide = lstm_hw.Simulator(circuit, "compiled", narrow=False)
    wide._compiled = codegen.load_python(wide.source())
    lanes = list(narrow.program.lanes.values())
    LANES_SEEN.update(f"int{la.bits}, {len(la.blocks)} blocks" if la.narrow else
                      la.why.split(" ")[0] for la in lanes)
    for sim in (narrow, wide):
        trace = sim.run(raw, record="all", raw_inputs=True)
        assert_same(circuit, trace, want)
        assert trace.overflow == want.overflow
        for s in range(raw.shape[0]):   # one stream alone: run_one's code
            alone = sim.run(raw[s:s + 1], record="all", raw_inputs=True)
            assert np.array_equal(alone.data, trace.data[s:s + 1])


def test_narrow_lanes_property_met_every_choice():
    """The property above drew int16 and int32 operands, one block and several, and dots kept in
    int64 (so each of the compiled engine's dot codes was checked)."""
    if not LANES_SEEN:
        pytest.skip("runs after test_narrow_lanes_match_oracle_and_int64 in the same session")
    kinds = {k.split(",")[0] for k in LANES_SEEN}
    assert {"int16", "int32"} <= kinds, LANES_SEEN
    assert any(not k.startswith("int") for k in LANES_SEEN), LANES_SEEN        # int64: why
    assert any(not k.endswith(" 1 blocks") for k in LANES_SEEN if k.startswith("int")), \
        LANES_SEEN


def _limit_netlist(weights: list[list[int]], w_format: str, x_bits: int = 16) -> str:
    """17 integer inputs of x_bits bits into a dot of integer weights, 17 a row (4 rows: 68
    products: loops, two int32 blocks of 8.5 products on average at least)."""
    return ("lstm_hw: 1\nname: limit\nformat: 'ap_fixed<48,48>'\n"
            f"inputs:\n  x: {{size: 17, format: 'ap_fixed<{x_bits},{x_bits}>'}}\noutputs: [d]\n"
            f"blocks:\n  d: {{op: dot, in: x, weights: {weights}, weight_format: '{w_format}'}}\n")


@pytest.mark.parametrize("case", ["fits", "one more", "one product"])
def test_dot_at_the_int32_limit_picks_its_lanes_and_stays_exact(case):
    """Row 0's sum of |w| max|x| at 2^31 - 32,768 (65,535 x 32,768: one int32 block), one weight
    step more (2^31: two blocks; in one, the inputs all -32,768 would wrap an int32 to -2^31),
    and a single product of 2^31 (int64). Inputs at the ends of their range, compiled by
    numba, against the oracle."""
    row = {"fits": [-3855] * 17, "one more": [-3855] * 16 + [-3856],
           "one product": [-65536] + [-1] * 16}[case]
    weights = [row, [1] * 17, [-1] * 17, list(range(17))]
    circuit = load_text(_limit_netlist(weights, "ap_fixed<18,18>"))
    lanes = lstm_hw.Simulator(circuit, "compiled").program.lanes[0]
    if case == "fits":
        assert sum(abs(v) for v in row) == 65535
        assert (lanes.bits, len(lanes.blocks)) == (16, 1)
    elif case == "one more":
        assert sum(abs(v) for v in row) == 65536
        assert lanes.narrow and len(lanes.blocks) == 2
    else:
        assert not lanes.narrow and "2^31" in lanes.why
    x = np.array([[[-32768] * 17, [32767] * 17, [-32768] * 16 + [32767], [0] * 17]])
    sim = lstm_hw.Simulator(circuit, "compiled")
    trace = sim.run(x, record="all", raw_inputs=True)
    assert_same(circuit, trace, Oracle(circuit).run(x))
    got = trace.raw("d")[0, 0, 0]
    assert got == -32768 * sum(row)      # beyond int32 where the case says so
    if case != "fits":
        assert abs(got) >= 2**31


@pytest.mark.parametrize("streams", [2, 3, 40, 129])
@pytest.mark.parametrize("case", ["int16, 2 blocks", "int32, 1 block", "int32, 2 dots as one"])
def test_narrow_dot_over_many_streams_stays_exact(case, streams):
    """run's narrow dots on streams of different inputs, most at the ends of their range,
    compiled by numba: every stream as the oracle, and as the stream alone (run_one). The int16
    dot (each stream's inputs contiguous, each row's block sums a reduction over them) is the
    one a weight step over the int32 limit above; the int32 ones (the streams as the vector
    lanes, rows in groups of codegen.ROW_GROUP and one or two left over) have 20-bit inputs,
    the last two dots of 5 rows written as one (codegen._dot_groups)."""
    x_bits = 16 if case.startswith("int16") else 20
    if case.startswith("int16"):
        weights = [[-3855] * 16 + [-3856], [1] * 17, [-1] * 17, list(range(17))]
        circuit = load_text(_limit_netlist(weights, "ap_fixed<18,18>"))
    elif case == "int32, 1 block":
        weights = [[-100] * 17, [3] * 17, list(range(-8, 9)), [100] * 17, [-7] * 17]
        assert len(weights) % codegen.ROW_GROUP == 1
        circuit = load_text(_limit_netlist(weights, "ap_fixed<8,8>", x_bits))
    else:
        text = _limit_netlist([[-100] * 17] * 5, "ap_fixed<8,8>", x_bits).replace("[d]", "[d, e]")
        weights = np.random.default_rng(5).integers(-100, 101, (5, 17)).tolist()
        circuit = load_text(text + f"  e: {{op: dot, in: x, weights: {weights}, "
                                   "weight_format: 'ap_fixed<8,8>'}\n")
    sim = lstm_hw.Simulator(circuit, "compiled", threads=1)
    lanes = sim.program.lanes[0]
    kind = f"int{lanes.bits}, {len(lanes.blocks)} block" + "s" * (len(lanes.blocks) > 1)
    assert kind == case if "dots" not in case else kind == "int32, 1 block"
    assert codegen._dot_groups(sim.program, True) == ({0: [0, 1]} if "dots" in case else {})
    rng = np.random.default_rng(streams)
    top = 2 ** (x_bits - 1)
    x = rng.integers(-top, top, (streams, 4, 17))
    x[:, :3] = rng.choice([-top, top - 1, 0], (streams, 3, 17))
    trace = sim.run(x, record="all", raw_inputs=True)
    assert_same(circuit, trace, Oracle(circuit).run(x))
    for s in (0, streams // 2, streams - 1):
        alone = sim.run(x[s:s + 1], record="all", raw_inputs=True)
        assert np.array_equal(alone.data, trace.data[s:s + 1])


def test_dots_written_as_one_count_each_ones_overflows():
    """a, b and c (same inputs, lanes and format, outputs one after the other: an LSTM layer's
    gates) are written as one loop over their 12 rows (codegen._dot_groups); d, in another
    format, is not. Each row's overflows are counted for its own dot: b saturates, a never."""
    rng = np.random.default_rng(5)
    rows = {"a": rng.integers(-1, 2, (4, 9)) / 16, "b": rng.integers(2, 5, (4, 9)).astype(float),
            "c": rng.integers(-3, 4, (4, 9)) / 4, "d": rng.integers(-3, 4, (4, 9)) / 4}
    blocks = "".join(
        f"  {name}: {{op: dot, in: x, weights: {w.tolist()}, format: "
        f"'{'ap_fixed<8,4,AP_TRN,AP_SAT>' if name != 'd' else 'ap_fixed<9,4,AP_RND,AP_SAT>'}'}}\n"
        for name, w in rows.items())
    circuit = load_text("lstm_hw: 1\nformat: 'ap_fixed<8,4>'\ninputs: {x: {size: 9}}\n"
                        f"outputs: [a, b, c, d]\nblocks:\n{blocks}")
    sim = lstm_hw.Simulator(circuit, "compiled")
    source = sim.source()
    assert source.count("with step") == 2 * 2, source   # b and c, in run and run_one
    raw = rng.integers(-128, 128, (3, 20, 9))
    want = Oracle(circuit).run(raw)
    assert want.overflow.get("b", 0) > 0 and "a" not in want.overflow, want.overflow
    for native in (True, False):
        sim = simulator(circuit, "compiled", "dot_groups", native=native)
        for streams in (raw[:1], raw):   # run_one, run
            trace = sim.run(streams, record="all", raw_inputs=True)
            assert_same(circuit, trace, Oracle(circuit).run(streams))
            assert trace.overflow == Oracle(circuit).run(streams).overflow, native
