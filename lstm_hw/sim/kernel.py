"""The clocked engine: one numba-compiled interpreter of a Program (see compile/schedule.py).

Each cycle: the cycle's inputs are written into their slots, the combinational steps run in
order, the recorded slots are sampled, then every register latches at once (next values are
computed into a buffer first, so a register reading another sees its old value). Streams are the
innermost loop everywhere: with many streams each step's work is a vectorisable loop.

The arithmetic is arith.requantise / quantise_float, the one definition of ap_fixed semantics,
and each op's element meaning is a function of ops.py, which the compiled backend calls too.
The numpy engine (vectorised.py) follows this loop step for step, and runs fold_edge as plain
Python (lstm_hw.plain).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..compile.schedule import (OP_ADD, OP_CLIP, OP_COPY, OP_DOT, OP_DOT_ACC,
                                OP_EXACT_SIGMOID, OP_EXACT_TANH, OP_MAX, OP_MIN, OP_MUL, OP_MUX,
                                OP_PWL, OP_TABLE)
from ..diagnostics import InternalError
from ..arith import quantise_float, requantise_call as requantise
from .ops import (accumulate, clamp, exact_activation, extreme, mux_index, pwl_exact,
                  table_index)


@njit(cache=True, nogil=True)
def run_program(n_comb, valid, op, out, size, q, shift, arg0, arg1, par, aux, arg_slot,
                arg_step, arg_shift, arg_sign, ints, reg_out, reg_in, reg_size, reg_q, reg_shift,
                reg_plain, reg_en, reg_en_step, reg_rst, reg_rst_step, reg_init, fold_state, fold_start,
                fold_t, fold_k, in_slots, vals, inputs, record, rare_ops):
    """Run ``inputs`` [cycles, input elements, streams] from state ``vals`` [slots, streams].

    Returns (trace [cycles, recorded slots, streams], overflow counts per step then per register);
    ``vals`` is left holding the state after the last cycle, so a run can continue in chunks.

    rare_ops and fold_t may be None where the program has no op of RARE_OPS, no fold unit:
    numba then prunes their code before compiling it, which makes the first run of the common
    programs (the lecture's cell) start a second sooner. Each variant is compiled (and cached)
    on its first use.
    """
    n_cycles = inputs.shape[0]
    n_streams = vals.shape[1]
    n_steps = op.shape[0]   # the combinational steps, then the fold units' rows
    n_regs = reg_out.shape[0]
    trace = np.empty((n_cycles, record.shape[0], n_streams), np.int64)
    overflow = np.zeros(n_steps + n_regs, np.int64)
    acc = np.empty(n_streams, np.int64)
    reg_total = 0
    for r in range(n_regs):
        reg_total += reg_size[r]
    nxt = np.empty((reg_total, n_streams), np.int64)

    for t in range(n_cycles):
        for k in range(in_slots.shape[0]):
            for s in range(n_streams):
                vals[in_slots[k], s] = inputs[t, k, s]

        for i in range(n_comb):
            o = op[i]
            vs = valid[i]   # overflow counts only on valid data
            base = out[i]
            m = size[i]
            qq, oo, w, sg, nb = q[i, 0], q[i, 1], q[i, 2], q[i, 3], q[i, 4]
            sh = shift[i]
            a0 = arg0[i]
            a1 = arg1[i]
            p = par[i]
            ovf = 0
            if o == OP_DOT or o == OP_DOT_ACC:
                n = a1 - a0
                for e in range(m):
                    row = p + e * n
                    if o == OP_DOT:
                        b = ints[p + m * n + e]
                        for s in range(n_streams):
                            acc[s] = b
                        for j in range(n):
                            wt = ints[row + j]
                            if wt != 0:
                                src = arg_slot[a0 + j]
                                ls = arg_shift[a0 + j]
                                for s in range(n_streams):
                                    acc[s] += (wt * vals[src, s]) << ls
                        for s in range(n_streams):
                            v, f = requantise(acc[s], sh, qq, oo, w, sg, nb)
                            vals[base + e, s] = v
                            ovf += f * (vals[vs, s] != 0)
                    elif rare_ops is not None:
                        aq, ao, aw, asg, anb = aux[i, 0], aux[i, 1], aux[i, 2], aux[i, 3], aux[i, 4]
                        b = ints[p + m * n + e]
                        for s in range(n_streams):
                            acc[s] = b
                        for j in range(n):
                            wt = ints[row + j]
                            src = arg_slot[a0 + j]
                            ps = arg_shift[a0 + j]
                            for s in range(n_streams):
                                total, f = accumulate(acc[s], vals[src, s], wt, ps, aq, ao, aw,
                                                      asg, anb)
                                acc[s] = total
                                ovf += f * (vals[vs, s] != 0)
                        for s in range(n_streams):
                            v, f = requantise(acc[s], sh, qq, oo, w, sg, nb)
                            vals[base + e, s] = v
                            ovf += f * (vals[vs, s] != 0)
            elif o == OP_ADD:
                for e in range(m):
                    for s in range(n_streams):
                        acc[s] = 0
                    for k in range(a0, a1):
                        src = arg_slot[k] + e * arg_step[k]
                        ls = arg_shift[k]
                        if arg_sign[k] > 0:
                            for s in range(n_streams):
                                acc[s] += vals[src, s] << ls
                        else:
                            for s in range(n_streams):
                                acc[s] -= vals[src, s] << ls
                    for s in range(n_streams):
                        v, f = requantise(acc[s], sh, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_MUL:
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    for s in range(n_streams):
                        acc[s] = vals[src, s]
                    for k in range(a0 + 1, a1):
                        src = arg_slot[k] + e * arg_step[k]
                        for s in range(n_streams):
                            acc[s] *= vals[src, s]
                    for s in range(n_streams):
                        v, f = requantise(acc[s], sh, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_TABLE:
                ta, tb, tc, trunc, tsize = aux[i, 0], aux[i, 1], aux[i, 2], aux[i, 3], aux[i, 4]
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    for s in range(n_streams):
                        vals[base + e, s] = ints[p + table_index(vals[src, s], ta, tb, tc, trunc,
                                                                 tsize)]
            elif o == OP_COPY:
                for e in range(m):
                    k = a0 + e
                    src = arg_slot[k]
                    rs = arg_shift[k]
                    for s in range(n_streams):
                        v, f = requantise(vals[src, s], rs, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif rare_ops is None:   # the program has no rare op (Simulator): none is known
                raise InternalError("unknown opcode in the program (a bug in lstm_hw, please "
                                    "report it)")
            elif o == OP_PWL:
                nk, x_shift, c_shift = aux[i, 0], aux[i, 1], aux[i, 2]
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    for s in range(n_streams):
                        v, f = requantise(pwl_exact(vals[src, s], ints, p, nk, x_shift, c_shift),
                                          sh, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_EXACT_SIGMOID or o == OP_EXACT_TANH:
                in_frac, out_frac = aux[i, 0], aux[i, 1]
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    for s in range(n_streams):
                        y = exact_activation(vals[src, s], in_frac, o == OP_EXACT_TANH)
                        v, f = quantise_float(y, out_frac, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_MUX:
                sel_slot, sel_step, sel_frac = aux[i, 0], aux[i, 1], aux[i, 2]
                n_in = a1 - a0
                for e in range(m):
                    ss = sel_slot + e * sel_step
                    for s in range(n_streams):
                        k = mux_index(vals[ss, s], sel_frac, n_in)
                        src = arg_slot[a0 + k] + e * arg_step[a0 + k]
                        v, f = requantise(vals[src, s], arg_shift[a0 + k], qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_MIN or o == OP_MAX:
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    ls = arg_shift[a0]
                    for s in range(n_streams):
                        acc[s] = vals[src, s] << ls
                    for k in range(a0 + 1, a1):
                        src = arg_slot[k] + e * arg_step[k]
                        ls = arg_shift[k]
                        for s in range(n_streams):
                            acc[s] = extreme(acc[s], vals[src, s] << ls, o == OP_MAX)
                    for s in range(n_streams):
                        v, f = requantise(acc[s], sh, qq, oo, w, sg, nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            elif o == OP_CLIP:
                ls = arg_shift[a0]
                for e in range(m):
                    src = arg_slot[a0] + e * arg_step[a0]
                    lo, hi = ints[p + e], ints[p + m + e]
                    for s in range(n_streams):
                        v, f = requantise(clamp(vals[src, s] << ls, lo, hi), sh, qq, oo, w, sg,
                                          nb)
                        vals[base + e, s] = v
                        ovf += f * (vals[vs, s] != 0)
            else:
                raise InternalError("unknown opcode in the program (a bug in lstm_hw, please "
                                    "report it)")
            overflow[i] += ovf

        for k in range(record.shape[0]):
            for s in range(n_streams):
                trace[t, k, s] = vals[record[k], s]

        row = 0
        for r in range(n_regs):
            qq, oo, w, sg, nb = reg_q[r, 0], reg_q[r, 1], reg_q[r, 2], reg_q[r, 3], reg_q[r, 4]
            ovf = 0
            if reg_plain[r]:   # a pipeline or balancing register: a copy
                for e in range(reg_size[r]):
                    for s in range(n_streams):
                        nxt[row + e, s] = vals[reg_in[r] + e, s]
                row += reg_size[r]
                continue
            for e in range(reg_size[r]):
                for s in range(n_streams):
                    if reg_rst[r] >= 0 and vals[reg_rst[r] + e * reg_rst_step[r], s] != 0:
                        nxt[row + e, s] = ints[reg_init[r] + e]
                    elif reg_en[r] >= 0 and vals[reg_en[r] + e * reg_en_step[r], s] == 0:
                        nxt[row + e, s] = vals[reg_out[r] + e, s]
                    else:
                        v, f = requantise(vals[reg_in[r] + e, s], reg_shift[r], qq, oo, w, sg, nb)
                        nxt[row + e, s] = v
                        ovf += f
            overflow[n_steps + r] += ovf
            row += reg_size[r]
        if fold_t is not None:
            for u in range(fold_t.shape[0]):
                overflow[n_comb + u] += fold_edge(n_comb + u, fold_state[u], fold_start[u],
                                                  fold_t[u], fold_k[u], op, out, size, q, shift,
                                                  arg0, arg1, par, aux, arg_slot, arg_shift,
                                                  ints, vals)
        row = 0
        for r in range(n_regs):
            for e in range(reg_size[r]):
                for s in range(n_streams):
                    vals[reg_out[r] + e, s] = nxt[row + e, s]
            row += reg_size[r]
    return trace, overflow


@njit(cache=True, nogil=True)
def fold_edge(i, state, start, n_cycles, per_cycle, op, out, size, q, shift, arg0, arg1, par,
              aux, arg_slot, arg_shift, ints, vals):
    """One clock edge of a folded dot (step row i): start, accumulate ``per_cycle`` products,
    and at the last cycle register the quantised result. Returns the overflow count."""
    m = size[i]
    a0 = arg0[i]
    n = arg1[i] - a0
    p = par[i]
    cnt, busy, acc, buf = state, state + 1, state + 2, state + 2 + m
    accum = op[i] == OP_DOT_ACC
    aq, ao, aw, asg, anb = aux[i, 0], aux[i, 1], aux[i, 2], aux[i, 3], aux[i, 4]
    ovf = 0
    for s in range(vals.shape[1]):
        if vals[start, s] != 0:
            for j in range(n):
                vals[buf + j, s] = vals[arg_slot[a0 + j], s]
            for e in range(m):
                vals[acc + e, s] = ints[p + m * n + e]
            vals[cnt, s] = 0
            vals[busy, s] = 1
        if vals[busy, s] == 0:
            continue
        c = vals[cnt, s]
        last = (c + 1) * per_cycle
        if last > m * n:
            last = m * n
        for k in range(c * per_cycle, last):
            e = k // n
            j = k - e * n
            if accum:
                total, f = accumulate(vals[acc + e, s], vals[buf + j, s], ints[p + k],
                                      arg_shift[a0 + j], aq, ao, aw, asg, anb)
                vals[acc + e, s] = total
                ovf += f
            else:
                vals[acc + e, s] += (ints[p + k] * vals[buf + j, s]) << arg_shift[a0 + j]
        vals[cnt, s] = c + 1
        if c + 1 == n_cycles:
            for e in range(m):
                v, f = requantise(vals[acc + e, s], shift[i], q[i, 0], q[i, 1], q[i, 2],
                                  q[i, 3], q[i, 4])
                vals[out[i] + e, s] = v
                ovf += f
            vals[busy, s] = 0
    return ovf
