"""Timing: when each value of a time step is valid, and the clocked circuit that makes it so.

``analyse`` schedules every cell as soon as its operands are valid (ASAP), counting cycles from
the cycle in which a time step's inputs are applied (offset 0). Sources (inputs, constants,
registers) are valid at 0; a cell starts when its last operand is valid and finishes
``latency`` cycles later, plus ``ceil(m*n / multipliers)`` cycles for a folded ``dot``. A state
register must latch a step's value before the next step reads it: the initiation interval (II,
cycles between time steps) is at least its input's finish + 1, and at least every folded dot's
cycle count (its multipliers are busy that long).

``expand`` turns the circuit into the hardware that runs it: ``latency`` becomes a chain of
pipeline registers (the last one keeps the block's name, the combinational part is
``NAME.comb``); an operand that is valid earlier than its reader starts is delayed by balancing
registers (``NAME.d1``, ``NAME.d2``... shared by all readers); an input ``valid`` (1 in the cycle a
step's inputs are applied) runs down a chain ``valid.d1``...; each state register latches only
when the valid bit of its input says so; a folded dot is a state machine started by the valid
bit of its operands. Values never change, only the cycle they appear in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import limits
from ..diagnostics import Diagnostics, SourceLoc
from ..fixed import FixedFormat
from .cells import Kind
from .checks import combinational_order
from .circuit import Cell, Circuit, Clocking, NoParams, RegParams

VALID_FMT = FixedFormat(1, 1, signed=False)


@dataclass
class Timing:
    ii: int                          # cycles between time steps
    min_ii: int                      # the least the design allows
    start: dict[int, int]            # cell id -> cycle offset its operands are all valid
    finish: dict[int, int]           # cell id -> cycle offset its value is valid
    fold_cycles: dict[int, int]      # folded dot id -> cycles per result
    written: dict[int, int] = field(default_factory=dict)   # reg -> offset it latches after
    loop: list[int] = field(default_factory=list)   # the recurrence limiting the II, if one

    @property
    def timed(self) -> bool:
        return any(self.finish.values()) or bool(self.fold_cycles) or self.ii > 1


def fold_cycles(cell: Cell) -> int:
    if cell.kind is not Kind.DOT or not cell.params.multipliers:
        return 0
    k = cell.params.multipliers
    products = cell.params.w_raw.size
    return -(-products // k)


def analyse(circuit: Circuit, diag: Diagnostics | None = None) -> Timing:
    """Schedule the circuit; an II asked for (clock: ii) that the design cannot meet is an error."""
    cells = circuit.cells
    start = {c.id: 0 for c in cells}
    finish = {c.id: 0 for c in cells}
    folds = {}
    for cid in circuit.order:
        c = cells[cid]
        start[cid] = max((finish[a] for a in (*c.args, *c.ctrl.values())), default=0)
        t = fold_cycles(c)
        if t:
            folds[cid] = t
        finish[cid] = start[cid] + t + c.latency
    # A register is read by step k at the offsets its readers start and written at the edge
    # after its input is valid: the next step may start once the write lands before its first
    # read. Its step value is sampled at that first read (its "finish").
    readers: dict[int, list[int]] = {r: [] for r in circuit.regs}
    for cid in circuit.order:
        for a in (*cells[cid].args, *cells[cid].ctrl.values()):
            if a in readers:
                readers[a].append(start[cid])
    written = {}
    min_ii, loop, limit = 1, [], None
    for r in circuit.regs:
        c = cells[r]
        written[r] = max(finish[a] for a in (*c.args, *c.ctrl.values()))
        # readers later than the write see it through balancing registers (expand); the
        # register itself holds the step's value up to the write
        finish[r] = min(readers[r] + [written[r]])
        need = written[r] - finish[r] + 1
        if need > min_ii:
            min_ii, limit = need, ("loop", r)
    for cid, t in folds.items():
        if t > min_ii:
            min_ii, limit = t, ("fold", cid)
    if limit and limit[0] == "loop":
        loop = loop_path(cells, finish, limit[1])
    ii = circuit.clock.get("ii", min_ii)
    timing = Timing(ii, min_ii, start, finish, folds, written, loop)
    if ii < min_ii:
        diag = diag or Diagnostics()
        loc = circuit.clock.get("loc", SourceLoc(circuit.path))
        if limit[0] == "fold":
            c = cells[limit[1]]
            diag.error(loc, f"clock: ii {ii} is too short: dot '{c.name}' on "
                       f"{c.params.multipliers} multipliers takes {min_ii} cycles per time "
                       f"step", [(c.loc, f"'{c.name}' is folded here")])
        else:
            reg = cells[limit[1]]
            late = max((*reg.args, *reg.ctrl.values()), key=lambda a: finish[a])
            what = next((k for k, v in reg.ctrl.items() if v == late), None)
            path = " -> ".join(cells[p].name for p in loop)
            notes = [(cells[p].loc, f"'{cells[p].name}' is valid at cycle {finish[p]} of the step")
                     for p in loop]
            head = (f"its {what} '{cells[late].name}' is valid only at cycle {finish[late]}"
                    if what else f"the recurrence {path} -> {reg.name} takes {min_ii} cycles "
                    f"(read at cycle {finish[reg.id]}, written after cycle {written[reg.id]})")
            diag.error(loc, f"clock: ii {ii} is too short for register '{reg.name}': {head}, "
                       f"so a time step can start only every {min_ii} cycles", notes)
        diag.abort_if_errors()
    return timing


def loop_path(cells: list[Cell], finish: dict[int, int], reg: int) -> list[int]:
    """The register's recurrence: from the register through the cells that depend on it to its
    input, following the latest such operand (the latest operand at all where none does)."""
    on_loop = {reg}
    changed = True   # cells need not be in order here: grow to a fixed point
    while changed:
        changed = False
        for c in cells:
            if c.id not in on_loop and not c.is_reg and any(
                    a in on_loop for a in (*c.args, *c.ctrl.values())):
                on_loop.add(c.id)
                changed = True
    path = []
    cid = reg
    while True:
        ops = (*cells[cid].args, *cells[cid].ctrl.values())
        if (cid != reg and not cells[cid].kind.combinational) or not ops:
            break
        looped = [a for a in ops if a in on_loop]
        cid = max(looped or ops, key=lambda a: (finish[a], a == reg))
        path.append(cid)
        if cid == reg:
            break
    return path[::-1]


def expand(circuit: Circuit, timing: Timing) -> tuple[Circuit, dict[int, int]]:
    """The clocked circuit, and for every original cell the id presenting its value."""
    src = circuit.cells
    out: list[Cell] = []

    def add(name, op, size, fmt, args=(), ctrl=None, params=None, loc=None,
            clocking=None) -> int:
        cid = len(out)
        out.append(Cell(cid, name, op, size, fmt, tuple(args), dict(ctrl or {}),
                        params or NoParams(), loc or SourceLoc(circuit.path), clocking))
        return cid

    now: dict[int, int] = {}        # original id -> new id presenting its value at its finish
    chains: dict[int, list[int]] = {}

    def delayed(a: int, at: int) -> int:
        """Original a's value as it was at its finish, seen at cycle offset ``at``."""
        if a >= 0 and src[a].kind is Kind.CONST:
            return now[a]
        # a register holds a step's value from its first read until it is written; later
        # readers see it through balancing registers clocked from there
        base = timing.written[a] if a in timing.written else timing.finish.get(a, 0)
        if a in timing.written and at <= base:
            return now[a]
        chain = chains.setdefault(a, [now[a]])
        name = "valid" if a < 0 else src[a].name
        while len(chain) <= at - base:
            prev = out[chain[-1]]
            chain.append(add(f"{name}.d{len(chain)}", "reg", prev.size, prev.fmt,
                             [chain[-1]], params=_reg_params(prev.size), loc=prev.loc))
        return chain[at - base]

    for i in circuit.inputs:
        c = src[i]
        now[i] = add(c.name, "input", c.size, c.fmt, loc=c.loc)
    valid = add("valid", "input", 1, VALID_FMT)
    now[-1] = valid
    for k in circuit.consts:
        now[k] = add(src[k].name, "const", src[k].size, src[k].fmt, params=src[k].params,
                     loc=src[k].loc)
    for r in circuit.regs:
        now[r] = add(src[r].name, "reg", src[r].size, src[r].fmt, params=src[r].params,
                     loc=src[r].loc)
    for cid in circuit.order:
        c = src[cid]
        at = timing.start[cid]
        args = [delayed(a, at) for a in c.args]
        ctrl = {k: delayed(v, at) for k, v in c.ctrl.items()}
        lat = c.latency
        fold = timing.fold_cycles.get(cid, 0)
        clocking = Clocking(delayed(-1, at), fold, delayed(-1, at) if fold else None)
        name = f"{c.name}.comb" if lat else c.name
        cur = add(name, c.op, c.size, c.fmt, args, ctrl, c.params, c.loc, clocking)
        for k in range(1, lat + 1):
            cur = add(c.name if k == lat else f"{c.name}.p{k}", "reg", c.size, c.fmt, [cur],
                      params=_reg_params(c.size), loc=c.loc)
        now[cid] = cur
    for r in circuit.regs:
        c = src[r]
        at = max(timing.finish[a] for a in (*c.args, *c.ctrl.values()))
        reg = out[now[r]]
        reg.args = (delayed(c.args[0], at),)
        gate = delayed(-1, at)
        reg.ctrl = {"enable": gate}
        for key in ("enable", "reset"):
            if key in c.ctrl:   # the user's control counts only in the cycle its step is valid
                user = delayed(c.ctrl[key], at)
                reg.ctrl[key] = add(f"{c.name}.{key}", "mul", 1 if out[user].size == 1 else c.size,
                                    out[user].fmt, [gate, user], loc=c.loc)
    diag = Diagnostics()
    order = combinational_order(out, diag)
    diag.abort_if_errors()
    inputs = [now[i] for i in circuit.inputs] + [valid]
    clocked = Circuit(circuit.name, circuit.doc, circuit.path, out, inputs,
                      [now[o] for o in circuit.outputs], order,
                      {c.name: c.id for c in out}, circuit.task, circuit.clock, circuit.files)
    return clocked, now


def _reg_params(size: int) -> RegParams:
    return RegParams(np.zeros(size), np.zeros(size, np.int64))


def check_budget(circuit: Circuit, timing: Timing, diag: Diagnostics) -> None:
    """Refuse, before the hardware is built, a design too big to run: more hardware cells or
    more memory per stream than the limits (lstm_hw/limits.py), or time steps so long that one
    step of one stream is more work than the limit. Bounds, not exact counts: every value is
    taken as delayed through the whole step (at most ``depth`` balancing registers)."""
    cells = circuit.cells
    depth = max(timing.finish.values(), default=0)
    stages = {c.id: c.latency + (depth if timing.timed else 0) for c in cells}
    n_cells = len(cells) + sum(stages.values())
    elements = {c.id: c.size * (1 + stages[c.id]) for c in cells}
    worst = max(cells, key=lambda c: (stages[c.id], c.size))
    if n_cells > limits.get("cells"):
        why = (f"latency {worst.latency:,}" if worst.latency
               else f"a time step {depth:,} cycles deep")
        diag.error(worst.loc, f"'{worst.name}': {why} makes the clocked hardware up to "
                   f"{n_cells:,} cells, more than the limit of {limits.get('cells'):,}; "
                   f"{limits.how_to_raise('cells')}")
        return
    nbytes, most = 8 * sum(elements.values()), limits.get("memory")
    if nbytes > most:
        big = max(cells, key=lambda c: elements[c.id])
        diag.error(big.loc, f"'{big.name}' ({big.size:,} elements"
                   + (f" x {1 + stages[big.id]:,} pipeline stages" if stages[big.id] else "")
                   + f"): the design needs up to {limits.format_bytes(nbytes)} per stream, more "
                   f"than the limit of {limits.format_bytes(most)}; "
                   f"{limits.how_to_raise('memory')}")
        return
    work = timing.ii * sum(elements.values())
    if work > limits.get("work"):
        loc = circuit.clock.get("loc", SourceLoc(circuit.path))
        diag.error(loc, f"a time step takes {timing.ii:,} cycles of {sum(elements.values()):,} "
                   f"signal elements: about {work:.1e} evaluations per stream and step, more "
                   f"than the limit of {limits.get('work'):.1e}; {limits.how_to_raise('work')}")
