"""Kernels written by hand for one circuit each: the speed the engine is measured against.

Each is plain @njit code for its circuit, streams innermost, with the circuit's constants read
from the elaborated netlist, and is checked bit for bit against the engine before it is timed.
They call the same ``requantise`` as the engine (the arithmetic is not what is compared).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.typed import List

from lstm_hw.fixed import RND_CONV, SAT, requantise


@njit(inline="always")
def _cell_step(x1, x2, x3, c, table, w100, bias_raw):
    """One step of the lecture's cell: (y, next c)."""
    z = requantise(x1 << 8, 8, RND_CONV, SAT, 16, 1, 0)[0]
    zi = requantise(w100 * x2 - bias_raw, 8, RND_CONV, SAT, 16, 1, 0)[0]
    zf = requantise(w100 * x2 + bias_raw, 8, RND_CONV, SAT, 16, 1, 0)[0]
    zo = requantise(w100 * x3 - bias_raw, 8, RND_CONV, SAT, 16, 1, 0)[0]
    ig = table[min(max((zi + 2048) >> 2, 0), 1023)]
    fg = table[min(max((zf + 2048) >> 2, 0), 1023)]
    og = table[min(max((zo + 2048) >> 2, 0), 1023)]
    write = requantise(z * ig, 8, RND_CONV, SAT, 16, 1, 0)[0]
    keep = requantise(c * fg, 8, RND_CONV, SAT, 16, 1, 0)[0]
    cn = requantise(write + keep, 0, RND_CONV, SAT, 16, 1, 0)[0]
    return requantise(cn * og, 8, RND_CONV, SAT, 16, 1, 0)[0], cn


@njit(cache=True)
def memory_cell(x, table, w100, bias_raw):
    """netlists/memory_cell.yaml: x [steps, 3, streams] raw (ap_fixed<16,8,RND_CONV,SAT>)."""
    steps, _, streams = x.shape
    y = np.empty((steps, streams), np.int64)
    if streams == 1:   # the cell memory in a register, no loop over streams
        c = 0
        for t in range(steps):
            y[t, 0], c = _cell_step(x[t, 0, 0], x[t, 1, 0], x[t, 2, 0], c, table, w100,
                                    bias_raw)
        return y
    cs = np.zeros(streams, np.int64)
    for t in range(steps):
        for s in range(streams):
            y[t, s], cs[s] = _cell_step(x[t, 0, s], x[t, 1, s], x[t, 2, s], cs[s], table, w100,
                                        bias_raw)
    return y


def memory_cell_args(circuit):
    """The cell's constants from its elaborated netlist (and a check that the hand code's
    assumptions about them hold)."""
    t = circuit.cell("in_gate").params.table
    assert (t.a, t.b, t.c) == (1, -2048, 4) and all(c.fmt == circuit.cells[0].fmt
                                                     for c in circuit.cells)
    return t.entries, 100 << 8, 10 << 16


# The LSTM layers' fixed constants: every signal ap_fixed<16, I, AP_RND_CONV, AP_SAT> (codes
# below), the sums quantised from 2**-24 to 2**-10, gate tables of 1024 entries indexed by
# (z + 8192) >> 4 (sigmoid) and (z + 4096) >> 3 (tanh). lstm_layers_args checks that a circuit
# has them; numba compiles them in as constants, as one writing the kernel by hand would.
Q16 = (RND_CONV, SAT, 16, 1, 0)
SUM_SHIFT = 14
SIG_OFFSET, SIG_SHIFT, TANH_OFFSET, TANH_SHIFT, TABLE_LAST = 8192, 4, 4096, 3, 1023
PRODUCT_SHIFTS = (18, 14, 14)   # i*g and f*c into the cell's format, o*tanh(c) into h's
FRACS = {"z_i": 10, "z_f": 10, "z_g": 10, "z_o": 10, "i": 14, "f": 14, "g": 14, "o": 14,
         "ig": 10, "fc": 10, "c_next": 10, "hc": 14, "h_next": 14}   # fractional bits


@njit(inline="always")
def _q16(v, shift):
    return requantise(v, shift, RND_CONV, SAT, 16, 1, 0)[0]


@njit(inline="always")
def _lookup(table, v, offset, shift):
    i = (v + offset) >> shift
    return table[0 if i < 0 else (TABLE_LAST if i > TABLE_LAST else i)]


@njit(cache=True)
def lstm_layers(x, weights, biases, align, sig, tnh):
    """A stack of LSTM layers (PyTorch gate order), streams innermost.

    x: [steps, inputs, streams]; weights[l]: [4, n, m + n] raw; biases[l]: [4, n] raw at the
    sums' working precision (2**-24); align[l]: each input's shift to that precision (applied
    once per step, not per product); sig, tnh: the gate tables.
    """
    steps, m0, streams = x.shape
    n_layers = len(weights)
    n = weights[0].shape[1]
    c = np.zeros((n_layers, n, streams), np.int64)
    h = np.zeros((n_layers, n, streams), np.int64)
    out = np.empty((steps, n, streams), np.int64)
    xin = np.empty((max(m0, n) + n, streams), np.int64)
    xa = np.empty((max(m0, n) + n, streams), np.int64)
    x1 = np.empty(max(m0, n) + n, np.int64)
    z = np.empty((4, n, streams), np.int64)
    hn = np.empty((n, streams), np.int64)
    for t in range(steps):
        m = m0
        for k in range(m0):
            for s in range(streams):
                xin[k, s] = x[t, k, s]
        for layer in range(n_layers):
            W = weights[layer]
            B = biases[layer]
            al = align[layer]
            for k in range(n):
                for s in range(streams):
                    xin[m + k, s] = h[layer, k, s]
            for k in range(m + n):
                for s in range(streams):
                    xa[k, s] = xin[k, s] << al[k]
            if streams == 1:   # a contiguous vector: the dot's loop vectorises
                for k in range(m + n):
                    x1[k] = xa[k, 0]
            for g in range(4):
                for u in range(n):
                    if streams == 1:
                        acc = B[g, u]
                        for j in range(m + n):
                            acc += W[g, u, j] * x1[j]
                        z[g, u, 0] = _q16(acc, SUM_SHIFT)
                    else:
                        for s in range(streams):
                            z[g, u, s] = B[g, u]
                        for j in range(m + n):
                            wv = W[g, u, j]
                            for s in range(streams):
                                z[g, u, s] += wv * xa[j, s]
                        for s in range(streams):
                            z[g, u, s] = _q16(z[g, u, s], SUM_SHIFT)
            for u in range(n):
                for s in range(streams):
                    i = _lookup(sig, z[0, u, s], SIG_OFFSET, SIG_SHIFT)
                    f = _lookup(sig, z[1, u, s], SIG_OFFSET, SIG_SHIFT)
                    gg = _lookup(tnh, z[2, u, s], TANH_OFFSET, TANH_SHIFT)
                    o = _lookup(sig, z[3, u, s], SIG_OFFSET, SIG_SHIFT)
                    cn = _q16(_q16(i * gg, PRODUCT_SHIFTS[0]) +
                              _q16(f * c[layer, u, s], PRODUCT_SHIFTS[1]), 0)
                    c[layer, u, s] = cn
                    ht = _lookup(tnh, cn, TANH_OFFSET, TANH_SHIFT)
                    hn[u, s] = _q16(o * ht, PRODUCT_SHIFTS[2])
            for u in range(n):
                for s in range(streams):
                    h[layer, u, s] = hn[u, s]
                    xin[u, s] = hn[u, s]
            m = n
        for u in range(n):
            for s in range(streams):
                out[t, u, s] = hn[u, s]
    return out


def lstm_layers_args(circuit, n_layers: int):
    """Constants of an imported LSTM stack (instances l1, l2... of lstm_layer) for lstm_layers,
    after checking that the circuit has the formats and tables lstm_layers is written for."""
    from lstm_hw.compile.checks import work_frac
    cells = circuit.cells
    cell = circuit.cell
    weights, biases, align = [], [], []
    for k in range(1, n_layers + 1):
        dots = [cell(f"l{k}.z_{g}") for g in "ifgo"]
        wf = work_frac(dots[0], cells)
        assert all(work_frac(d, cells) == wf for d in dots)
        assert all(_shifts(d, cells, wf) == _shifts(dots[0], cells, wf) for d in dots)
        assert wf - dots[0].fmt.frac == SUM_SHIFT
        align.append(np.array(_shifts(dots[0], cells, wf), np.int64))
        weights.append(np.ascontiguousarray(np.stack([d.params.w_raw for d in dots])))
        biases.append(np.stack([d.params.b_raw << (wf - d.params.b_fmt.frac)
                                for d in dots]))
        got = {s: (cell(f"l{k}.{s}").fmt.codes(), cell(f"l{k}.{s}").fmt.frac) for s in FRACS}
        assert got == {s: (Q16, f) for s, f in FRACS.items()}, got
        assert cell(f"l{k}.c").fmt == cell(f"l{k}.c_next").fmt
        assert cell(f"l{k}.h").fmt == cell(f"l{k}.h_next").fmt
        tables = {s: cell(f"l{k}.{s}").params.table for s in ("i", "f", "o", "g", "hc")}
        for s, t in tables.items():
            want = (1, -SIG_OFFSET, 1 << SIG_SHIFT) if s in "ifo" else \
                (1, -TANH_OFFSET, 1 << TANH_SHIFT)
            assert (t.a, t.b, t.c, len(t.entries), t.trunc) == (*want, TABLE_LAST + 1, False)
        assert all(np.array_equal(tables[s].entries, tables["i"].entries) for s in "fo")
        assert np.array_equal(tables["hc"].entries, tables["g"].entries)
    sig, tnh = tables["i"].entries, tables["g"].entries
    return List(weights), List(biases), List(align), sig, tnh


def _shifts(dot, cells, wf):
    out = []
    for a in dot.args:
        out += [wf - dot.params.w_fmt.frac - cells[a].fmt.frac] * cells[a].size
    return out
