"""Kernels written by hand for one circuit each: the speed the engine is measured against.

Each is plain @njit code for its circuit, streams innermost, with the circuit's constants read
from the elaborated netlist, and is checked bit for bit against the engine before it is timed.
They call the same ``requantise`` as the engine (the arithmetic is not what is compared).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.typed import List

from lstm_hw.fixed import requantise


@njit(cache=True)
def memory_cell(x, table, w100, bias_raw):
    """netlists/memory_cell.yaml: x [steps, 3, streams] raw (ap_fixed<16,8,RND_CONV,SAT>)."""
    steps, _, streams = x.shape
    y = np.empty((steps, streams), np.int64)
    c = np.zeros(streams, np.int64)
    for t in range(steps):
        for s in range(streams):
            x1, x2, x3 = x[t, 0, s], x[t, 1, s], x[t, 2, s]
            z = requantise(x1 << 8, 8, 6, 1, 16, 1, 0)[0]
            zi = requantise(w100 * x2 - bias_raw, 8, 6, 1, 16, 1, 0)[0]
            zf = requantise(w100 * x2 + bias_raw, 8, 6, 1, 16, 1, 0)[0]
            zo = requantise(w100 * x3 - bias_raw, 8, 6, 1, 16, 1, 0)[0]
            ig = table[min(max((zi + 2048) >> 2, 0), 1023)]
            fg = table[min(max((zf + 2048) >> 2, 0), 1023)]
            og = table[min(max((zo + 2048) >> 2, 0), 1023)]
            write = requantise(z * ig, 8, 6, 1, 16, 1, 0)[0]
            keep = requantise(c[s] * fg, 8, 6, 1, 16, 1, 0)[0]
            cn = requantise(write + keep, 0, 6, 1, 16, 1, 0)[0]
            y[t, s] = requantise(cn * og, 8, 6, 1, 16, 1, 0)[0]
            c[s] = cn
    return y


def memory_cell_args(circuit):
    """The cell's constants from its elaborated netlist (and a check that the hand code's
    assumptions about them hold)."""
    t = circuit.cell("in_gate").params["table"]
    assert (t.a, t.b, t.c) == (1, -2048, 4) and all(c.fmt == circuit.cells[0].fmt
                                                     for c in circuit.cells)
    return t.entries, 100 << 8, 10 << 16


@njit(cache=True)
def _table(v, entries, a, b, c):
    i = (v * a - b) // c
    return entries[0 if i < 0 else (len(entries) - 1 if i >= len(entries) else i)]


@njit(cache=True)
def lstm_layers(x, weights, biases, sh_dot, align, tables, tparams, fmts, shifts):
    """A stack of LSTM layers (PyTorch gate order, flat importer names), streams innermost.

    x: [steps, inputs, streams]; weights[l]: [4, n, m + n] raw; biases[l]: [4, n] raw at the
    sums' working precision; sh_dot[l]: the sums' requantising shift; align[l]: each input's
    shift to that precision (applied once per step, not per product); tables: [gate table, tanh
    table]; fmts: codes (q, o, w, signed, n) of sums, gates, cell, hidden; shifts: products.
    """
    steps, m0, streams = x.shape
    n_layers = len(weights)
    n = weights[0].shape[1]
    c = np.zeros((n_layers, n, streams), np.int64)
    h = np.zeros((n_layers, n, streams), np.int64)
    out = np.empty((steps, n, streams), np.int64)
    xin = np.empty((max(m0, n) + n, streams), np.int64)
    xa = np.empty((max(m0, n) + n, streams), np.int64)
    z = np.empty((4, n, streams), np.int64)
    hn = np.empty((n, streams), np.int64)
    sig, tnh = tables[0], tables[1]
    sa, sb, sc = tparams[0, 0], tparams[0, 1], tparams[0, 2]
    ta, tb, tc = tparams[1, 0], tparams[1, 1], tparams[1, 2]
    fz, fcell, fh = fmts[0], fmts[2], fmts[3]   # (the gates are table entries already)
    for t in range(steps):
        m = m0
        for k in range(m0):
            for s in range(streams):
                xin[k, s] = x[t, k, s]
        for layer in range(n_layers):
            W = weights[layer]
            B = biases[layer]
            sd = sh_dot[layer]
            al = align[layer]
            for k in range(n):
                for s in range(streams):
                    xin[m + k, s] = h[layer, k, s]
            for k in range(m + n):
                for s in range(streams):
                    xa[k, s] = xin[k, s] << al[k]
            for g in range(4):
                for u in range(n):
                    if streams == 1:
                        acc = B[g, u]
                        for j in range(m + n):
                            acc += W[g, u, j] * xa[j, 0]
                        z[g, u, 0] = requantise(acc, sd, fz[0], fz[1], fz[2], fz[3], fz[4])[0]
                    else:
                        for s in range(streams):
                            z[g, u, s] = B[g, u]
                        for j in range(m + n):
                            wv = W[g, u, j]
                            for s in range(streams):
                                z[g, u, s] += wv * xa[j, s]
                        for s in range(streams):
                            z[g, u, s] = requantise(z[g, u, s], sd, fz[0], fz[1], fz[2], fz[3],
                                                    fz[4])[0]
            for u in range(n):
                for s in range(streams):
                    i = _table(z[0, u, s], sig, sa, sb, sc)
                    f = _table(z[1, u, s], sig, sa, sb, sc)
                    gg = _table(z[2, u, s], tnh, ta, tb, tc)
                    o = _table(z[3, u, s], sig, sa, sb, sc)
                    write = requantise(i * gg, shifts[0], fcell[0], fcell[1], fcell[2],
                                       fcell[3], fcell[4])[0]
                    keep = requantise(f * c[layer, u, s], shifts[1], fcell[0], fcell[1],
                                      fcell[2], fcell[3], fcell[4])[0]
                    cn = requantise((write << shifts[2]) + (keep << shifts[3]), shifts[4],
                                    fcell[0], fcell[1], fcell[2], fcell[3], fcell[4])[0]
                    c[layer, u, s] = cn
                    ht = _table(cn, tnh, ta, tb, tc)
                    hn[u, s] = requantise(o * ht, shifts[5], fh[0], fh[1], fh[2], fh[3],
                                          fh[4])[0]
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
    """Constants of an imported LSTM stack (instances l1, l2... of lstm_layer) for lstm_layers."""
    from lstm_hw.compile.checks import work_frac
    cells = circuit.cells
    cell = circuit.cell
    weights, biases, sh_dot, align = [], [], [], []
    for k in range(1, n_layers + 1):
        dots = [cell(f"l{k}.z_{g}") for g in "ifgo"]
        ws = [d.params["w_raw"] for d in dots]
        wf = work_frac(dots[0], cells)
        assert all(work_frac(d, cells) == wf and d.fmt == dots[0].fmt for d in dots)
        assert all(_shifts(d, cells, wf) == _shifts(dots[0], cells, wf) for d in dots)
        align.append(np.array(_shifts(dots[0], cells, wf), np.int64))
        weights.append(np.ascontiguousarray(np.stack(ws)))
        biases.append(np.stack([d.params["b_raw"] << (wf - d.params["b_fmt"].frac)
                                for d in dots]))
        sh_dot.append(wf - dots[0].fmt.frac)
    sig, tnh = cell("l1.i").params["table"], cell("l1.g").params["table"]
    tables = (sig.entries, tnh.entries)
    tparams = np.array([[sig.a, sig.b, sig.c], [tnh.a, tnh.b, tnh.c]], np.int64)
    fz, fg = cell("l1.z_i").fmt, cell("l1.i").fmt
    fc, fh = cell("l1.c_next").fmt, cell("l1.h_next").fmt
    fmts = np.array([f.codes() for f in (fz, fg, fc, fh)], np.int64)
    write, keep = cell("l1.ig").fmt, cell("l1.fc").fmt
    add_wf = max(write.frac, keep.frac)
    shifts = np.array([fg.frac + cell("l1.g").fmt.frac - write.frac,
                       fg.frac + fc.frac - keep.frac, add_wf - write.frac,
                       add_wf - keep.frac, add_wf - fc.frac,
                       fg.frac + cell("l1.hc").fmt.frac - fh.frac], np.int64)
    assert write == fc and keep == fc and cell("l1.g").fmt == cell("l1.hc").fmt == fg
    return (List(weights), List(biases), np.array(sh_dot, np.int64), List(align),
            List(tables), tparams, fmts, shifts)


def _shifts(dot, cells, wf):
    out = []
    for a in dot.args:
        out += [wf - dot.params["w_fmt"].frac - cells[a].fmt.frac] * cells[a].size
    return out
