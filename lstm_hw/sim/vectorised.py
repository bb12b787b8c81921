"""The numpy engine: the interpreter's loop (sim/kernel.py) in Python, each step's work a few
numpy operations over all the streams at once.

It needs no numba: nothing to import or compile, so a small run (check's 1,000 sequences of 50
steps on the lecture's cell: 0.1 s) is over before numba would have loaded its cached interpreter
(about 1 s) or compiled it (seconds). Python's dispatch per cycle and step makes it slow for long
runs, so 'auto' takes it for small work only (sim/simulator.py).

The element functions are the other engines' own source run as plain Python (lstm_hw.plain):
requantising is fixed.requantise_arrays (arith.round_shift on arrays, a stream whose result
overflows through arith.requantise_call alone); table indices, the rare ops (ops.py) and fold
units (kernel.fold_edge) run per distinct value or per stream. The loop follows run_program
step for step: the same order of writes, the same overflow counts.
"""
from __future__ import annotations

import numpy as np

from ..compile.schedule import (OP_ADD, OP_CLIP, OP_COPY, OP_DOT, OP_DOT_ACC, OP_EXACT_SIGMOID,
                                OP_EXACT_TANH, OP_MAX, OP_MIN, OP_MUL, OP_MUX, OP_PWL, OP_TABLE)
from ..diagnostics import InternalError
from ..fixed import requantise_arrays
from ..plain import arith, kernel, ops


def per_value(f, x, *args):
    """f(x[s], *args) for every stream s, computed once per distinct value of x."""
    distinct, where = np.unique(x, return_inverse=True)
    return np.array([f(v, *args) for v in distinct], np.int64)[where.reshape(x.shape)]


def run_program_numpy(n_comb, valid, op, out, size, q, shift, arg0, arg1, par, aux, arg_slot,
                      arg_step, arg_shift, arg_sign, ints, reg_out, reg_in, reg_size, reg_q,
                      reg_shift, reg_plain, reg_en, reg_en_step, reg_rst, reg_rst_step, reg_init,
                      fold_state, fold_start, fold_t, fold_k, in_slots, vals, inputs, record):
    """kernel.run_program's contract: ``inputs`` [cycles, input elements, streams] from state
    ``vals`` [slots, streams] -> (trace [cycles, recorded slots, streams], overflow counts per
    step then per register); ``vals`` is left holding the state after the last cycle."""
    o_ = ops()
    n_cycles, n_streams = inputs.shape[0], vals.shape[1]
    n_steps, n_regs = op.shape[0], reg_out.shape[0]
    trace = np.empty((n_cycles, record.shape[0], n_streams), np.int64)
    overflow = np.zeros(n_steps + n_regs, np.int64)
    # Python ints (quicker to read than numpy scalars, and exact in shifts)
    opl, outl, sizel, shiftl, a0l, a1l, parl, validl = (
        x.tolist() for x in (op, out, size, shift, arg0, arg1, par, valid))
    ql, auxl = q.tolist(), aux.tolist()
    slotl, stepl, lsl, signl = (x.tolist() for x in (arg_slot, arg_step, arg_shift, arg_sign))
    dots = {}   # per dot: weights aligned (wt << shift: (wt * x) << shift mod 2**64), bias, slots
    for i in range(n_comb):
        if opl[i] == OP_DOT:
            m, n, p, a0 = sizel[i], a1l[i] - a0l[i], parl[i], a0l[i]
            w = ints[p:p + m * n].reshape(m, n) << arg_shift[a0:a0 + n][None, :]
            dots[i] = (w, ints[p + m * n:p + m * n + m][:, None], arg_slot[a0:a0 + n])

    for t in range(n_cycles):
        vals[in_slots] = inputs[t]
        for i in range(n_comb):
            o, base, m, sh, fq = opl[i], outl[i], sizel[i], shiftl[i], ql[i]
            a0, a1, p = a0l[i], a1l[i], parl[i]
            ovf = 0
            if o == OP_DOT:
                w, bias, srcs = dots[i]
                acc = bias + w @ vals[srcs]
                for e in range(m):
                    v, f = requantise_arrays(acc[e], sh, *fq)
                    vals[base + e] = v
                    ovf += np.count_nonzero(f & (vals[validl[i]] != 0))
            elif o == OP_ADD:
                for e in range(m):
                    acc = np.zeros(n_streams, np.int64)
                    for k in range(a0, a1):
                        term = vals[slotl[k] + e * stepl[k]] << lsl[k]
                        acc = acc + term if signl[k] > 0 else acc - term
                    v, f = requantise_arrays(acc, sh, *fq)
                    vals[base + e] = v
                    ovf += np.count_nonzero(f & (vals[validl[i]] != 0))
            elif o == OP_MUL:
                for e in range(m):
                    acc = vals[slotl[a0] + e * stepl[a0]].copy()
                    for k in range(a0 + 1, a1):
                        acc *= vals[slotl[k] + e * stepl[k]]
                    v, f = requantise_arrays(acc, sh, *fq)
                    vals[base + e] = v
                    ovf += np.count_nonzero(f & (vals[validl[i]] != 0))
            elif o == OP_TABLE:
                ta, tb, tc, trunc, tsize = auxl[i][:5]
                for e in range(m):
                    idx = per_value(o_.table_index, vals[slotl[a0] + e * stepl[a0]], ta, tb, tc,
                                    trunc, tsize)
                    vals[base + e] = ints[p + idx]
            elif o == OP_COPY:
                for e in range(m):
                    k = a0 + e
                    v, f = requantise_arrays(vals[slotl[k]], lsl[k], *fq)
                    vals[base + e] = v
                    ovf += np.count_nonzero(f & (vals[validl[i]] != 0))
            else:
                ovf = _rare_step(o_, i, o, vals, fq, auxl[i], sh, a0, a1, base, m, p, ints,
                                 validl[i], arg_slot, arg_step, arg_shift)
            overflow[i] += ovf

        trace[t] = vals[record]

        nxt = []
        for r in range(n_regs):
            src, dst, size_r = int(reg_in[r]), int(reg_out[r]), int(reg_size[r])
            if reg_plain[r]:   # a pipeline or balancing register: a copy
                nxt.append(vals[src:src + size_r].copy())
                continue
            new = np.empty((size_r, n_streams), np.int64)
            ovf = 0
            for e in range(size_r):
                v, f = requantise_arrays(vals[src + e], int(reg_shift[r]), *reg_q[r].tolist())
                if reg_en[r] >= 0:
                    hold = vals[reg_en[r] + e * reg_en_step[r]] == 0
                    v, f = np.where(hold, vals[dst + e], v), f & ~hold
                if reg_rst[r] >= 0:
                    reset = vals[reg_rst[r] + e * reg_rst_step[r]] != 0
                    v, f = np.where(reset, ints[reg_init[r] + e], v), f & ~reset
                new[e] = v
                ovf += np.count_nonzero(f)
            overflow[n_steps + r] += ovf
            nxt.append(new)
        if fold_t is not None:
            for u in range(fold_t.shape[0]):
                overflow[n_comb + u] += kernel().fold_edge(
                    n_comb + u, fold_state[u], fold_start[u], fold_t[u], fold_k[u], op, out, size,
                    q, shift, arg0, arg1, par, aux, arg_slot, arg_shift, ints, vals)
        for r in range(n_regs):
            vals[reg_out[r]:reg_out[r] + reg_size[r]] = nxt[r]
    return trace, overflow


def _rare_step(o_, i, o, vals, fq, aux, sh, a0, a1, base, m, p, ints, vs, arg_slot, arg_step,
               arg_shift):
    """One step of an op of RARE_OPS, stream by stream through ops.py's functions, as
    run_program does it; returns its overflow count."""
    a = arith()
    ovf = 0
    for s in range(vals.shape[1]):
        for e in range(m):
            src = arg_slot[a0] + e * arg_step[a0]
            if o == OP_DOT_ACC:
                n = a1 - a0
                acc = ints[p + m * n + e]
                for j in range(n):
                    acc, f = o_.accumulate(acc, vals[arg_slot[a0 + j], s], ints[p + e * n + j],
                                           arg_shift[a0 + j], *aux[:5])
                    ovf += f * (vals[vs, s] != 0)
                v, f = a.requantise_call(acc, sh, *fq)
            elif o == OP_PWL:
                v, f = a.requantise_call(o_.pwl_exact(vals[src, s], ints, p, *aux[:3]), sh, *fq)
            elif o == OP_EXACT_SIGMOID or o == OP_EXACT_TANH:
                y = o_.exact_activation(vals[src, s], aux[0], o == OP_EXACT_TANH)
                v, f = a.quantise_float(y, aux[1], *fq)
            elif o == OP_MUX:
                sel_slot, sel_step, sel_frac = aux[:3]
                k = a0 + o_.mux_index(vals[sel_slot + e * sel_step, s], sel_frac, a1 - a0)
                v, f = a.requantise_call(vals[arg_slot[k] + e * arg_step[k], s], arg_shift[k],
                                         *fq)
            elif o == OP_MIN or o == OP_MAX:
                acc = vals[src, s] << arg_shift[a0]
                for k in range(a0 + 1, a1):
                    acc = o_.extreme(acc, vals[arg_slot[k] + e * arg_step[k], s] << arg_shift[k],
                                     o == OP_MAX)
                v, f = a.requantise_call(acc, sh, *fq)
            elif o == OP_CLIP:
                x = vals[src, s] << arg_shift[a0]
                v, f = a.requantise_call(o_.clamp(x, ints[p + e], ints[p + m + e]), sh, *fq)
            else:
                raise InternalError("unknown opcode in the program (a bug in lstm_hw, please "
                                    "report it)")
            vals[base + e, s] = v
            ovf += f * (vals[vs, s] != 0)
    return int(ovf)
