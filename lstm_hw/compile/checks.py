"""Checks between elaboration and scheduling: combinational loops and int64 headroom.

Headroom: the engine computes each cell's exact intermediate (a sum of aligned products) in int64
before quantising it. ``work_frac`` gives that intermediate's binary point, ``value_bounds`` the
largest magnitude every signal can take (from formats, constants, weights and table entries, not
from bit counts), and ``check_headroom`` proves from them that every intermediate, and every
partial sum on the way, fits int64, refusing the netlist, with the block's location and the
operand to narrow, where it might not. A signed 32 x 32-bit product (at most 2**62) fits.
"""
from __future__ import annotations

import math

import numpy as np

from ..diagnostics import Diagnostics
from .cells import Kind
from .circuit import Cell

INT64_MAX = 2**63 - 1


def combinational_order(cells: list[Cell], diag: Diagnostics) -> list[int]:
    """Combinational cells, operands first; a loop not broken by a reg is reported as a path."""
    comb = {c.id for c in cells if c.kind.combinational}
    deps = {cid: [a for a in (*cells[cid].args, *cells[cid].ctrl.values()) if a in comb]
            for cid in comb}
    order: list[int] = []
    state: dict[int, int] = {}          # 1 visiting, 2 done
    reported: set[frozenset] = set()
    for root in sorted(comb):
        if state.get(root):
            continue
        stack = [(root, iter(deps[root]))]
        path = [root]
        state[root] = 1
        while stack:
            cid, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[cid] = 2
                order.append(cid)
            elif state.get(nxt) == 1:
                loop = path[path.index(nxt):]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    _report_loop(cells, loop, diag)
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(deps[nxt])))
    return order


def _report_loop(cells: list[Cell], loop: list[int], diag: Diagnostics) -> None:
    # the DFS path lists readers before what they read; show it the way the data flows, from
    # the block defined first (so the message does not depend on where the search started)
    flow = list(reversed(loop))
    first = flow.index(min(flow))
    flow = flow[first:] + flow[:first]
    names = " -> ".join(cells[c].name for c in flow + flow[:1])
    notes = []
    for k, c in enumerate(flow):
        reader = cells[flow[(k + 1) % len(flow)]]
        notes.append((reader.loc, f"'{reader.name}' reads '{cells[c].name}'"))
    diag.error(cells[flow[0]].loc, f"combinational loop: {names} (a loop needs a 'reg')", notes)


def work_frac(cell: Cell, cells: list[Cell]) -> int:
    """Fractional bits of the cell's exact intermediate (before the final quantisation)."""
    fr = [cells[a].fmt.frac for a in cell.args]
    kind = cell.kind
    if kind is Kind.SUM:
        return max(fr)
    if kind is Kind.PRODUCT:
        return sum(fr)
    if kind is Kind.DOT:
        p = cell.params
        if p.accum is not None:
            return p.accum.frac
        x_fracs = [cells[a].fmt.frac for a in cell.args]
        return max([p.w_fmt.frac + f for f in x_fracs] + [p.b_fmt.frac])
    if kind is Kind.ACTIVATION and cell.params.impl == "pwl":
        return cell.params.pwl.coef_fmt.frac + max(fr[0], 0)
    if kind is Kind.ACTIVATION:
        return cell.fmt.frac
    if kind is Kind.CLIP:   # compared with lo and hi, which are in the cell's format
        return max(fr[0], cell.fmt.frac)
    return max(fr, default=cell.fmt.frac)


def element_fracs(cell: Cell, cells: list[Cell]) -> list[int]:
    """Fractional bits of each element of the concatenated operands."""
    out = []
    for a in cell.args:
        out += [cells[a].fmt.frac] * cells[a].size
    return out


def _aligned(bound: int, shift: int) -> int:
    """The bound of a value shifted left by ``shift`` (at least 1 before the shift: the engines
    shift whatever the value, and a shift by 64 or more is undefined)."""
    return max(bound, 1) << shift


def _requantised(bound: int, shift: int) -> int:
    """The bound of a value bounded by ``bound``, requantised by ``shift`` (rounding may add 1)."""
    return (bound >> shift) + 1 if shift >= 0 else bound << -shift


def _widest(terms: list[tuple[int, str]]) -> str:
    """The name of the largest term's source."""
    return max(terms, key=lambda t: t[0])[1]


def _intermediate(cell: Cell, cells: list[Cell], bounds: list[int]) -> tuple[int, str, str]:
    """(largest magnitude of the cell's int64 intermediate, what it is, what to narrow) from the
    bounds of its operands' values."""
    fr = [cells[a].fmt.frac for a in cell.args]
    named = [(bounds[a], f"'{cells[a].name}' ({cells[a].fmt})") for a in cell.args]
    kind = cell.kind
    if kind is Kind.SUM:
        wf = work_frac(cell, cells)
        terms = [(_aligned(b, wf - f), n) for (b, n), f in zip(named, fr)]
        return sum(t for t, _ in terms), "the aligned sum", _widest(terms)
    if kind in (Kind.COMPARE, Kind.CLIP):   # compared once aligned, never summed
        wf = work_frac(cell, cells)
        terms = [(_aligned(b, wf - f), n) for (b, n), f in zip(named, fr) if wf > f]
        if kind is Kind.CLIP and wf > cell.fmt.frac:   # lo and hi, in the cell's format
            terms.append((cell.fmt.max_abs_raw() << (wf - cell.fmt.frac), f"its format "
                          f"({cell.fmt})"))
        bound, narrow = max(terms, default=(0, ""), key=lambda t: t[0])
        return bound, "the aligned operand", narrow
    if kind is Kind.PRODUCT:
        prod = 1
        for b, _ in named:
            prod *= max(b, 1)   # partial products stay within the whole
        return prod, "the exact product", _widest(named)
    if kind is Kind.DOT:
        return _dot_intermediate(cell, cells, bounds)
    if kind is Kind.ACTIVATION and cell.params.impl == "table":
        t = cell.params.table
        return (max(bounds[cell.args[0]], 1) * abs(t.a) + abs(t.b), "the table index",
                f"the input {named[0][1]} or the table's size")
    if kind is Kind.ACTIVATION and cell.params.impl == "pwl":
        pw = cell.params.pwl
        wf = work_frac(cell, cells)
        slope = max((abs(int(v)) for v in pw.slope), default=0)
        icpt = max((abs(int(v)) for v in pw.icpt), default=0)
        return (_aligned(slope * bounds[cell.args[0]], wf - pw.coef_fmt.frac - fr[0])
                + _aligned(icpt, wf - pw.coef_fmt.frac), "the segment's slope * x + intercept",
                f"the input {named[0][1]} or coef_format ({pw.coef_fmt})")
    return 0, "", ""   # casts, selections, exact activations: no intermediate beyond a value


def _dot_intermediate(cell: Cell, cells: list[Cell], bounds: list[int]) -> tuple[int, str, str]:
    """``_intermediate`` of a dot: the largest row sum of aligned products (or, with an ``accum``
    format, the largest product or partial sum). A layer has m x n products: where the largest
    possible term times n is below 2**62, the terms are computed in int64 arrays (exact), else
    one by one in Python integers."""
    p = cell.params
    xb, xf, xn = [], [], []
    for a in cell.args:
        xb += [bounds[a]] * cells[a].size
        xf += [cells[a].fmt.frac] * cells[a].size
        xn += [f"the input '{cells[a].name}' ({cells[a].fmt}) or the weights "
               f"({p.w_fmt})"] * cells[a].size
    wf, acc = work_frac(cell, cells), p.accum
    # each product aligned to the sum's binary point (not with accum: it is cast instead)
    shifts = [0 if acc is not None else wf - p.w_fmt.frac - f for f in xf]
    worst = (0, "the weighted sum", "")
    if acc is None:   # the compiled engine aligns each input before multiplying
        worst = max(((_aligned(b, s), "an input aligned to the sum", n)
                     for b, s, n in zip(xb, shifts, xn)), default=worst, key=lambda t: t[0])
    w_raw = np.asarray(p.w_raw).reshape(cell.size, len(xb))
    w_max = max(-int(w_raw.min(initial=0)), int(w_raw.max(initial=0)))
    column = [max(b, 1) << s for b, s in zip(xb, shifts)]
    if max(w_max, 1) * max(column, default=1) * (len(xb) + 1) < 2**62:
        w_abs = np.abs(w_raw)
        terms = w_abs * np.asarray(xb, dtype=np.int64)
        if acc is None:
            terms = np.maximum(terms, 1) << np.asarray(shifts, dtype=np.int64)
            terms[w_abs == 0] = 0
    else:   # beyond int64: Python integers, one by one
        terms = np.array([[abs(int(w)) * b if acc is not None else
                           _aligned(abs(int(w)) * b, s) if w else 0
                           for w, b, s in zip(row, xb, shifts)] for row in w_raw],
                         dtype=object).reshape(w_raw.shape)
    if acc is not None:   # products, then partial sums, each cast into accum
        if cell.size == 0:
            return worst
        top = (0, "a product", "")
        if terms.size:
            i, j = np.unravel_index(np.argmax(terms), terms.shape)
            top = (int(terms[i, j]), "a product", xn[j])
        return max(worst, _accum_total(acc), top, key=lambda t: t[0])
    biases = [_aligned(abs(int(b)), wf - p.b_fmt.frac) for b in p.b_raw]
    sums = [int(t) + b for t, b in zip(terms.sum(axis=1), biases)]
    if not sums:
        return worst
    i = max(range(cell.size), key=lambda k: sums[k])
    j = int(np.argmax(terms[i])) if terms.shape[1] else 0
    widest = xn[j] if terms.shape[1] and int(terms[i, j]) >= biases[i] else \
        f"the bias format ({p.b_fmt})"
    return max(worst, (sums[i], "the weighted sum", widest + ", or give it an 'accum' format"),
               key=lambda t: t[0])

def _accum_total(acc) -> tuple[int, str, str]:
    # acc + product lies in [2 lo, 2 hi]: as a magnitude against 2**63 - 1
    return (max(-2 * acc.lo - 1, 2 * acc.hi), "the accumulator's partial sum",
            f"the 'accum' format ({acc})")


def value_bounds(cells: list[Cell], order: list[int]) -> list[int]:
    """The largest magnitude each cell's raw value can take: its format's, or less where its
    operands' bounds, weights or table entries say so (a sigmoid's table holds values <= 1
    whatever its format). Registers hold their format's range (their loops are not followed)."""
    bounds = [c.fmt.max_abs_raw() for c in cells]
    for c in cells:
        if c.kind is Kind.CONST:
            bounds[c.id] = max((abs(int(v)) for v in c.params.raw), default=0)
    for cid in order:
        c = cells[cid]
        if c.kind is Kind.INPUT:
            continue
        fmt_max = c.fmt.max_abs_raw()
        impl = c.impl
        if impl == "table":
            b = max((abs(int(v)) for v in c.params.table.entries), default=0)
        elif impl == "exact":   # |sigmoid|, |tanh| <= 1, rounded
            b = (1 << c.fmt.frac) + 1 if c.fmt.frac >= 0 else 1
        elif c.kind is Kind.CLIP:   # its limits may lie beyond its operand's values
            b = fmt_max
        elif c.kind in (Kind.CAST, Kind.SLICE, Kind.SELECT, Kind.COMPARE):
            # one operand's element, cast
            b = max(_requantised(bounds[a], cells[a].fmt.frac - c.fmt.frac) for a in c.args)
        else:
            b = _requantised(_intermediate(c, cells, bounds)[0], work_frac(c, cells) - c.fmt.frac)
        bounds[cid] = min(fmt_max, b)
    return bounds


def check_headroom(cells: list[Cell], order: list[int], diag: Diagnostics) -> None:
    """Refuse a cell whose exact intermediate may not fit int64, naming what to narrow."""
    bounds = value_bounds(cells, order)
    for cid in order:
        cell = cells[cid]
        if cell.kind is Kind.INPUT:
            continue
        bound, what, narrow = _intermediate(cell, cells, bounds)
        if bound > INT64_MAX:
            diag.error(cell.loc, f"block '{cell.name}': {what} may reach "
                       f"2^{math.log2(bound):.1f}; the engine computes it exactly in int64 "
                       f"(below 2^63): narrow {narrow or 'its operands'}")
