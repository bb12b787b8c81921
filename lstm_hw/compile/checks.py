"""Checks between elaboration and scheduling: combinational loops and int64 headroom.

Headroom: the engine computes each cell's exact intermediate (a sum of aligned products) in int64
before quantising it. ``work_frac`` gives that intermediate's binary point, and ``check_headroom``
proves from the operand formats (and the actual weights) that its magnitude stays below 2**62,
refusing the netlist, with the block's location, where it might not.
"""
from __future__ import annotations

from ..diagnostics import Diagnostics
from .cells import COMBINATIONAL
from .circuit import Cell

LIMIT_BITS = 62


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


def _bound(cell: Cell, cells: list[Cell]) -> tuple[int, str]:
    """Largest magnitude of any int64 intermediate of the cell, and what it is."""
    mags = [cells[a].fmt.max_abs_raw() for a in cell.args]
    fr = [cells[a].fmt.frac for a in cell.args]
    if cell.op in ("add", "sub"):
        wf = work_frac(cell, cells)
        return sum(m << (wf - f) for m, f in zip(mags, fr)), "the aligned sum"
    if cell.op in ("min", "max", "clip"):
        wf = work_frac(cell, cells)
        limits = [cell.fmt.max_abs_raw() << (wf - cell.fmt.frac)] if cell.op == "clip" else []
        return max([m << (wf - f) for m, f in zip(mags, fr)] + limits), "the aligned operand"
    if cell.op == "mul":
        prod = 1
        for m in mags:
            prod *= m
        return prod, "the exact product"
    if cell.op == "dot":
        p = cell.params
        xm, xf = [], []
        for a in cell.args:
            xm += [cells[a].fmt.max_abs_raw()] * cells[a].size
            xf += [cells[a].fmt.frac] * cells[a].size
        wf = work_frac(cell, cells)
        worst = 0
        for i in range(cell.size):
            w = [abs(int(v)) for v in p["w_raw"][i]]
            prods = [wv * m for wv, m in zip(w, xm)]
            if p["accum"] is not None:
                worst = max([worst, *prods, 2 * p["accum"].max_abs_raw()])
            else:
                total = sum(pv << (wf - p["w_fmt"].frac - f) for pv, f in zip(prods, xf))
                total += abs(int(p["b_raw"][i])) << (wf - p["b_fmt"].frac)
                worst = max(worst, total)
        return worst, "the weighted sum"
    if cell.op in ("sigmoid", "tanh") and cell.params["impl"] == "table":
        t = cell.params["table"]
        return mags[0] * abs(t.a) + abs(t.b), "the table index"
    if cell.op in ("sigmoid", "tanh") and cell.params["impl"] == "pwl":
        pw = cell.params["pwl"]
        cm = pw.coef_fmt.max_abs_raw()
        wf = work_frac(cell, cells)
        return ((cm * mags[0]) << (wf - pw.coef_fmt.frac - fr[0])) + (cm << (wf - pw.coef_fmt.frac)), \
            "the segment's slope * x + intercept"
    return max(mags, default=0), "the value"


def check_headroom(cells: list[Cell], diag: Diagnostics) -> None:
    for cell in cells:
        if cell.op not in COMBINATIONAL or cell.op == "input":
            continue
        bound, what = _bound(cell, cells)
        if bound >= 1 << LIMIT_BITS:
            hint = " or give it an 'accum' format" if cell.op == "dot" and \
                cell.params["accum"] is None else ""
            diag.error(cell.loc, f"block '{cell.name}': {what} may need "
                       f"{bound.bit_length() + 1} bits; the engine's int64 arithmetic allows "
                       f"{LIMIT_BITS + 1}: narrow the operand formats{hint}")
