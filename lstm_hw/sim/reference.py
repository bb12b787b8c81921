"""The float reference: the same circuit in float64, with no quantisation and no overflow.

Constants and weights keep the values written in the netlist, activations are the true
functions (whatever table or pwl the fixed-point cell uses), registers latch exactly. Every op's
meaning is ``cells.float_eval``; this module only clocks it. Vectorised over streams.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..compile.cells import float_eval
from ..compile.circuit import Circuit
from .simulator import Trace, as_streams, select_signals


def run_reference(circuit: Circuit, inputs, record="outputs") -> Trace:
    """float64 [streams, steps, columns] of the recorded signals, every stream from the
    initial state."""
    return next(stream_reference(circuit, [as_streams(inputs, len(circuit.input_columns()))],
                                 record))


def stream_reference(circuit: Circuit, chunks, record="outputs") -> Iterator[Trace]:
    """Input chunks [streams, steps, columns] one after the other, the state carried across:
    one trace per chunk, so memory stays bounded by the chunk size however long the run."""
    cells = circuit.cells
    ids = select_signals(circuit, record)
    width = sum(cells[i].size for i in ids)
    vals: dict[int, np.ndarray] = {}
    for chunk in chunks:
        x = as_streams(chunk, len(circuit.input_columns()))
        n_streams, n_steps, _ = x.shape
        if not vals:
            for r in circuit.regs:
                vals[r] = np.broadcast_to(cells[r].params.init,
                                          (n_streams, cells[r].size)).copy()
            for k in circuit.consts:
                vals[k] = np.broadcast_to(cells[k].params.value, (n_streams, cells[k].size))
        data = np.empty((n_streams, n_steps, width))
        for t in range(n_steps):
            _step(circuit, vals, x[:, t], ids, data[:, t])
        yield Trace([cells[i].name for i in ids], [cells[i].size for i in ids],
                    [None] * len(ids), data)


def _step(circuit: Circuit, vals: dict[int, np.ndarray], x: np.ndarray, ids: list[int],
          out: np.ndarray) -> None:
    """One clock: inputs x [streams, columns] applied, recorded signals into out [streams,
    columns], then the registers latch (vals updated in place)."""
    cells = circuit.cells
    n_streams = x.shape[0]
    col = 0
    for i in circuit.inputs:
        vals[i] = x[:, col:col + cells[i].size]
        col += cells[i].size
    for cid in circuit.order:
        c = cells[cid]
        res = float_eval(c, [vals[a] for a in c.args], {k: vals[v] for k, v in c.ctrl.items()})
        vals[cid] = _shaped(res, (n_streams, c.size))
    col = 0
    for i in ids:
        out[:, col:col + cells[i].size] = vals[i]
        col += cells[i].size
    latched = {}
    for r in circuit.regs:
        c = cells[r]
        nxt = vals[c.args[0]]
        if "enable" in c.ctrl:
            nxt = np.where(vals[c.ctrl["enable"]] != 0, nxt, vals[r])
        if "reset" in c.ctrl:
            nxt = np.where(vals[c.ctrl["reset"]] != 0, c.params.init, nxt)
        latched[r] = np.array(_shaped(nxt, (n_streams, c.size)))
    vals.update(latched)


def _shaped(value, shape: tuple[int, int]) -> np.ndarray:
    """value as [streams, size] (broadcast only where needed: it is most of a step's time)."""
    return value if getattr(value, "shape", None) == shape else np.broadcast_to(value, shape)
