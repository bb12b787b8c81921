"""The cell library: every op, its operands, its parameters and its meaning, in one table.

An op's meaning, for all of them: the operands' exact values are combined at full precision
(products keep F1 + F2 fractional bits, sums align to the finest operand and keep every bit) and
the exact result is quantised once into the cell's format (rounding, then overflow), except where
the table says otherwise (``dot`` with an ``accum`` format; activations). ``float_eval`` below is
that meaning in float64 without quantisation: the float reference.

| op        | operands             | params                                       | result                |
|-----------|----------------------|----------------------------------------------|-----------------------|
| input     | -                    | size, format                                 | the cycle's input     |
| const     | -                    | value                                        | value                 |
| dot       | in (concatenated: n) | weights (m x n or n), bias, weight_format,   | W @ in + bias (m)     |
|           |                      | bias_format, accum                           |                       |
| add       | in (2 or more)       | -                                            | sum, broadcasting     |
| sub       | in (exactly 2)       | -                                            | in[0] - in[1]         |
| mul       | in (2 or more)       | -                                            | product, broadcasting |
| sigmoid   | in (1)               | table / pwl / exact                          | 1 / (1 + exp(-x))     |
| tanh      | in (1)               | table / pwl / exact                          | tanh(x)               |
| identity  | in (concatenated)    | -                                            | in, cast (alias cast) |
| reg       | in (1)               | init, enable, reset                          | state, latched at the |
|           |                      |                                              | clock edge            |
| concat    | in (concatenated)    | -                                            | in                    |
| slice     | in (concatenated)    | start, stop, step / index                    | in[start:stop:step]   |
| mux       | in (2 or more)       | sel (a signal)                               | in[floor(sel)],       |
|           |                      |                                              | clamped to the ends   |

Structural ops (reg, concat, slice, mux) keep their operand's format unless one is set for them.

Timing (compile/timing.py): every combinational op takes ``latency: N``, N pipeline register
stages on its output; a ``dot`` takes ``multipliers: K`` (or hls4ml's ``reuse: R``, K =
ceil(products / R)) and then computes its m x n products K per cycle over ceil(m*n / K) cycles
into an exact accumulator, its result registered at the end. Values never change, only when.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OpSpec:
    name: str
    min_in: int                 # number of `in` operands
    max_in: int | None          # None: unbounded
    params: tuple[str, ...]     # accepted parameters besides op, in, format
    required: tuple[str, ...] = ()
    concat: bool = False        # `in` operands are concatenated into one vector
    elementwise: bool = False   # operands broadcast against each other
    structural: bool = False    # inherits its operand's format
    doc: str = ""


ACT_PARAMS = ("table", "pwl", "exact")

OPS: dict[str, OpSpec] = {spec.name: spec for spec in [
    OpSpec("const", 0, 0, ("value",), ("value",), doc="a constant vector"),
    OpSpec("dot", 1, None, ("weights", "bias", "weight_format", "bias_format", "accum",
                            "multipliers", "reuse"),
           ("weights",), concat=True, doc="weighted sum: W @ in + bias"),
    OpSpec("add", 2, None, (), elementwise=True, doc="elementwise sum"),
    OpSpec("sub", 2, 2, (), elementwise=True, doc="elementwise difference"),
    OpSpec("mul", 2, None, (), elementwise=True, doc="elementwise product"),
    OpSpec("sigmoid", 1, 1, ACT_PARAMS, doc="logistic function"),
    OpSpec("tanh", 1, 1, ACT_PARAMS, doc="hyperbolic tangent"),
    OpSpec("identity", 1, None, (), concat=True, doc="pass-through, cast to the format"),
    OpSpec("reg", 1, 1, ("init", "enable", "reset"), structural=True,
           doc="register: latches in at the clock edge"),
    OpSpec("concat", 1, None, (), concat=True, structural=True, doc="concatenation"),
    OpSpec("slice", 1, None, ("start", "stop", "step", "index"), concat=True, structural=True,
           doc="selects elements"),
    OpSpec("mux", 2, None, ("sel",), elementwise=True, structural=True,
           doc="selects one operand by the value of sel"),
]}
ALIASES = {"cast": "identity"}
TIMING_PARAMS = ("latency",)
COMBINATIONAL = frozenset(OPS) - {"const", "reg"}


def sigmoid(x):
    # exp(-x) overflows to inf for x < -709: the result 0.0 is the right limit
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": np.tanh}
SCALAR_ACTIVATIONS = {"sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0,
                      "tanh": math.tanh}


def float_eval(cell, args: list[np.ndarray], ctrl: dict[str, np.ndarray]) -> np.ndarray:
    """The float64 meaning of a combinational cell; arrays are [streams, elements]."""
    op = cell.op
    if op == "dot":
        x = np.concatenate(args, axis=1)
        return x @ cell.params["weights"].T + cell.params["bias"]
    if op == "add":
        return sum(args[1:], args[0])
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if op in ACTIVATIONS:
        return ACTIVATIONS[op](args[0])
    if op in ("identity", "concat"):
        return np.concatenate(args, axis=1)
    if op == "slice":
        return np.concatenate(args, axis=1)[:, cell.params["index"]]
    if op == "mux":
        sel = np.clip(np.floor(ctrl["sel"]), 0, len(args) - 1).astype(np.int64)
        stacked = np.stack(np.broadcast_arrays(*args), axis=0)      # [operand, stream, elem]
        sel = np.broadcast_to(sel, stacked.shape[1:])
        return np.take_along_axis(stacked, sel[None], axis=0)[0]
    raise KeyError(op)


def cost(cell, cells) -> dict[str, int]:
    """A first hardware estimate: multipliers (weights of 0 and powers of two are wires and
    shifts), their operand bits, adder bits, register bits and lookup-table bits."""
    c = {"multipliers": 0, "mult_bits": 0, "adder_bits": 0, "reg_bits": 0, "table_bits": 0}
    w = cell.fmt.width
    if cell.op == "dot":
        raw = np.abs(cell.params["w_raw"])
        wbits = cell.params["w_fmt"].width
        xbits = [cells[a].fmt.width for a in cell.args for _ in range(cells[a].size)]
        for row in raw:
            real = [(wbits, xb) for v, xb in zip(row, xbits) if v and (int(v) & (int(v) - 1))]
            c["multipliers"] += len(real)
            c["mult_bits"] += sum(a * b for a, b in real)
            c["adder_bits"] += (int(np.count_nonzero(row))) * w
    elif cell.op in ("add", "sub"):
        c["adder_bits"] += cell.size * w * (len(cell.args) - 1)
    elif cell.op == "mul":
        widths = [cells[a].fmt.width for a in cell.args]
        c["multipliers"] += cell.size * (len(cell.args) - 1)
        c["mult_bits"] += cell.size * int(np.prod(widths))
    elif cell.op == "reg":
        c["reg_bits"] += cell.size * w
    elif cell.op in ACTIVATIONS and cell.params.get("impl") == "table":
        c["table_bits"] += len(cell.params["table"].entries) * w
    elif cell.op in ACTIVATIONS and cell.params.get("impl") == "pwl":
        pw = cell.params["pwl"]
        c["table_bits"] += 3 * len(pw.slope) * pw.coef_fmt.width
        c["multipliers"] += cell.size
        c["mult_bits"] += cell.size * pw.coef_fmt.width * cells[cell.args[0]].fmt.width
    return c
