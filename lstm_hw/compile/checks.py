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

from ..diagnostics import Diagnostics
from .cells import COMBINATIONAL
from .circuit import Cell

INT64_MAX = 2**63 - 1


def combinational_order(cells: list[Cell], diag: Diagnostics) -> list[int]:
    """Combinational cells, operands first; a loop not broken by a reg is reported as a path."""
    comb = {c.id for c in cells if c.op in COMBINATIONAL and c.op != "input"}
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
    if cell.op in ("add", "sub"):
        return max(fr)
    if cell.op == "mul":
        return sum(fr)
    if cell.op == "dot":
        p = cell.params
        if p["accum"] is not None:
            return p["accum"].frac
        x_fracs = [cells[a].fmt.frac for a in cell.args]
        return max([p["w_fmt"].frac + f for f in x_fracs] + [p["b_fmt"].frac])
    if cell.op in ("sigmoid", "tanh") and cell.params["impl"] == "pwl":
        return cell.params["pwl"].coef_fmt.frac + max(fr[0], 0)
    if cell.op in ("sigmoid", "tanh"):
        return cell.fmt.frac
    if cell.op == "clip":   # compared with lo and hi, which are in the cell's format
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
    if cell.op in ("add", "sub"):
        wf = work_frac(cell, cells)
        terms = [(_aligned(b, wf - f), n) for (b, n), f in zip(named, fr)]
        return sum(t for t, _ in terms), "the aligned sum", _widest(terms)
    if cell.op in ("min", "max", "clip"):   # compared once aligned, never summed
        wf = work_frac(cell, cells)
        terms = [(_aligned(b, wf - f), n) for (b, n), f in zip(named, fr) if wf > f]
        if cell.op == "clip" and wf > cell.fmt.frac:   # lo and hi, in the cell's format
            terms.append((cell.fmt.max_abs_raw() << (wf - cell.fmt.frac), f"its format "
                          f"({cell.fmt})"))
        bound, narrow = max(terms, default=(0, ""), key=lambda t: t[0])
        return bound, "the aligned operand", narrow
    if cell.op == "mul":
        prod = 1
        for b, _ in named:
            prod *= max(b, 1)   # partial products stay within the whole
        return prod, "the exact product", _widest(named)
    if cell.op == "dot":
        p = cell.params
        xb, xf, xn = [], [], []
        for a in cell.args:
            xb += [bounds[a]] * cells[a].size
            xf += [cells[a].fmt.frac] * cells[a].size
            xn += [f"the input '{cells[a].name}' ({cells[a].fmt}) or the weights "
                   f"({p['w_fmt']})"] * cells[a].size
        wf = work_frac(cell, cells)
        worst = (0, "the weighted sum", "")
        if p["accum"] is None:   # the compiled engine aligns each input before multiplying
            worst = max(((_aligned(b, wf - p["w_fmt"].frac - f), "an input aligned to the sum",
                          n) for b, f, n in zip(xb, xf, xn)), default=worst, key=lambda t: t[0])
        for i in range(cell.size):
            prods = [(abs(int(w)) * b, n) for w, b, n in zip(p["w_raw"][i], xb, xn)]
            if p["accum"] is not None:   # products, then partial sums, each cast into accum
                acc = p["accum"]
                top = max(prods, default=(0, ""), key=lambda t: t[0])
                # acc + product lies in [2 lo, 2 hi]: as a magnitude against 2**63 - 1
                total = (max(-2 * acc.lo - 1, 2 * acc.hi), "the accumulator's partial sum",
                         f"the 'accum' format ({acc})")
                row = max(total, (top[0], "a product", top[1]), key=lambda t: t[0])
            else:
                terms = [(_aligned(pv, wf - p["w_fmt"].frac - f), n)
                         for (pv, n), f, w in zip(prods, xf, p["w_raw"][i]) if w != 0]
                terms.append((_aligned(abs(int(p["b_raw"][i])), wf - p["b_fmt"].frac),
                              f"the bias format ({p['b_fmt']})"))
                row = (sum(t for t, _ in terms), "the weighted sum",
                       _widest(terms) + ", or give it an 'accum' format")
            worst = max(worst, row, key=lambda t: t[0])
        return worst
    if cell.op in ("sigmoid", "tanh") and cell.params["impl"] == "table":
        t = cell.params["table"]
        return (max(bounds[cell.args[0]], 1) * abs(t.a) + abs(t.b), "the table index",
                f"the input {named[0][1]} or the table's size")
    if cell.op in ("sigmoid", "tanh") and cell.params["impl"] == "pwl":
        pw = cell.params["pwl"]
        wf = work_frac(cell, cells)
        slope = max((abs(int(v)) for v in pw.slope), default=0)
        icpt = max((abs(int(v)) for v in pw.icpt), default=0)
        return (_aligned(slope * bounds[cell.args[0]], wf - pw.coef_fmt.frac - fr[0])
                + _aligned(icpt, wf - pw.coef_fmt.frac), "the segment's slope * x + intercept",
                f"the input {named[0][1]} or coef_format ({pw.coef_fmt})")
    return 0, "", ""   # casts, selections, exact activations: no intermediate beyond a value


def value_bounds(cells: list[Cell], order: list[int]) -> list[int]:
    """The largest magnitude each cell's raw value can take: its format's, or less where its
    operands' bounds, weights or table entries say so (a sigmoid's table holds values <= 1
    whatever its format). Registers hold their format's range (their loops are not followed)."""
    bounds = [c.fmt.max_abs_raw() for c in cells]
    for c in cells:
        if c.op == "const":
            bounds[c.id] = max((abs(int(v)) for v in c.params["raw"]), default=0)
    for cid in order:
        c = cells[cid]
        if c.op == "input":
            continue
        fmt_max = c.fmt.max_abs_raw()
        impl = c.params.get("impl")
        if impl == "table":
            b = max((abs(int(v)) for v in c.params["table"].entries), default=0)
        elif impl == "exact":   # |sigmoid|, |tanh| <= 1, rounded
            b = (1 << c.fmt.frac) + 1 if c.fmt.frac >= 0 else 1
        elif c.op == "clip":   # its limits may lie beyond its operand's values
            b = fmt_max
        elif c.op in ("identity", "concat", "slice", "mux", "min", "max"):
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
        if cell.op == "input":
            continue
        bound, what, narrow = _intermediate(cell, cells, bounds)
        if bound > INT64_MAX:
            diag.error(cell.loc, f"block '{cell.name}': {what} may reach "
                       f"2^{math.log2(bound):.1f}; the engine computes it exactly in int64 "
                       f"(below 2^63): narrow {narrow or 'its operands'}")
