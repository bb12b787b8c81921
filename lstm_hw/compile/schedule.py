"""Circuit -> Program: the circuit lowered to flat numpy arrays that the kernel interprets.

Signals live in one int64 array ``vals[slot, stream]``; cell c's output occupies slots
``out[c] .. out[c] + size[c] - 1``. The combinational steps run in ``order``; each step has:

  op[i]            opcode (OP_* below)
  out[i], size[i]  output slots
  q[i, :]          output format codes (rounding, overflow, width, signed, saturation bits)
  shift[i]         right shift from the step's exact intermediate to the output format
  arg0[i]..arg1[i] its operand rows in the ``arg_*`` arrays:
    arg_slot[k]    slot of the operand (an element for DOT and COPY, a vector base otherwise)
    arg_step[k]    0 if the operand broadcasts (one element), else 1
    arg_shift[k]   left shift aligning the operand to the intermediate (COPY, MUX: the
                   requantising right shift of that element)
    arg_sign[k]    +1 or -1 (ADD)
  par[i]           start of its constants in ``ints`` (weights, bias, table, knots, ...)
  aux[i, :]        op-specific integers (table a, b, c, trunc, size; sel slot and step;
                   dot-accum format codes)

Registers latch after the combinational steps: reg r copies ``reg_in[r]`` quantised into its own
format (``reg_q``, ``reg_shift``) into ``reg_out[r]``, unless ``reg_en`` is set and zero (hold);
``reg_rst`` set and non-zero loads ``ints[reg_init[r] + e]`` instead (synchronous reset).
``initial`` holds every slot's value before the first cycle (constants, register inits).

A step's ``valid[i]`` is the slot of the valid bit of the data it computes (a slot holding 1
where the data is always valid);
overflow is counted only on valid data. Folded dots (timing.py) are sequential units that run at
the clock edge after the registers' next values are taken: unit u, started when
``fold_start[u]`` is non-zero, captures its operands and works ``fold_k[u]`` products a cycle
for ``fold_t[u]`` cycles, keeping its count, busy flag, exact accumulators and operand copies in
the slots from ``fold_state[u]``; its step row (``fold_step[u]``) holds its operands, weights and
formats as a DOT step would.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..diagnostics import InternalError
from ..fixed import requantise_array
from .checks import element_fracs, value_bounds, work_frac
from .circuit import Circuit

OP_DOT, OP_DOT_ACC, OP_ADD, OP_MUL, OP_TABLE, OP_PWL, OP_EXACT_SIGMOID, OP_EXACT_TANH, \
    OP_COPY, OP_MUX, OP_MIN, OP_MAX, OP_CLIP = range(1, 14)
OP_NAMES = {OP_DOT: "dot", OP_DOT_ACC: "dot_accum", OP_ADD: "add", OP_MUL: "mul",
            OP_TABLE: "table", OP_PWL: "pwl", OP_EXACT_SIGMOID: "exact_sigmoid",
            OP_EXACT_TANH: "exact_tanh", OP_COPY: "copy", OP_MUX: "mux", OP_MIN: "min",
            OP_MAX: "max", OP_CLIP: "clip"}
# Ops the interpreter compiles only for programs that have one (sim/kernel.run_program) and the
# numpy engine runs stream by stream
RARE_OPS = (OP_DOT_ACC, OP_PWL, OP_EXACT_SIGMOID, OP_EXACT_TANH, OP_MUX, OP_MIN, OP_MAX,
            OP_CLIP)
NO_SLOT = -1
INT32_MAX = 2**31 - 1
LANE_BITS = (16, 32)   # the narrow operand types, narrowest first
MIN_BLOCK = 8          # fewer products per int32 block than this on average: int64 instead
# aux columns (AUX_COLUMNS of them) by opcode: OP_DOT_ACC the accum format's codes from
# AUX_ACCUM; OP_TABLE a, b, c, trunc, size (ops.table_index); OP_PWL knots, x shift, constant
# shift (ops.pwl_exact); OP_EXACT_* the input's and the output's fractional bits; OP_MUX the
# select's slot, step and fractional bits (ops.mux_index)
AUX_COLUMNS = 9
AUX_ACCUM = 0
# The arrays the engines take, in the order of their parameters (Program.kernel_args,
# Program.compiled_args): one list each, so no call site unpacks them by hand
KERNEL_ARGS = ("n_comb", "valid", "op", "out", "size", "q", "shift", "arg0", "arg1", "par", "aux",
               "arg_slot", "arg_step", "arg_shift", "arg_sign", "ints", "reg_out", "reg_in",
               "reg_size", "reg_q", "reg_shift", "reg_plain", "reg_en", "reg_en_step", "reg_rst",
               "reg_rst_step", "reg_init", "fold_state", "fold_start", "fold_t", "fold_k",
               "in_slots")
COMPILED_ARGS = ("ints", "arg_slot", "arg_step", "arg_shift", "op", "out", "size", "q", "shift",
                 "arg0", "arg1", "par", "aux", "reg_size", "fold_state", "fold_start", "fold_t",
                 "fold_k")


@dataclass(frozen=True)
class DotLanes:
    """The integers the compiled engine computes an exact dot in, proven from bounds.

    ``bits``: 16 or 32 where every weight and every input's raw value fit that signed type,
    else 64. ``blocks``: column ranges [j0, j1) of one alignment shift each, in each of which
    every row's sum of |w| max|x| is at most 2**31 - 1: the block is summed in int32 (exact
    under that bound), shifted by its alignment ((w x) << s, the same as the int64 engine's
    w (x << s)) and added to the bias in int64. No blocks: int64 throughout, ``why`` says
    what the bounds forbid.
    """
    bits: int
    blocks: tuple[tuple[int, int, int], ...]   # (j0, j1, alignment shift)
    bound: int      # the largest block sum of |w| max|x| (before its shift)
    why: str = ""

    @property
    def narrow(self) -> bool:
        return bool(self.blocks)

    def describe(self) -> str:
        if not self.narrow:
            return f"int64 ({self.why})"
        n = len(self.blocks)
        return (f"int{self.bits} operands, int32 sums in {n} block{'s' if n > 1 else ''} "
                f"(each at most 2^{np.log2(max(self.bound, 1)):.1f} < 2^31)")


def dot_lanes(w: np.ndarray, shifts: list[int], x_lo: list[int], x_hi: list[int]) -> DotLanes:
    """The lanes of an exact dot: raw weights ``w`` [rows, inputs] (int64), each input's
    alignment ``shifts`` and the range [x_lo, x_hi] of its raw values (see DotLanes)."""
    m, n = w.shape
    if n == 0 or m == 0:
        return DotLanes(64, (), 0, "no products")
    if min(x_lo) < -INT32_MAX - 1 or max(x_hi) > INT32_MAX or min(shifts) < 0 \
            or int(w.min()) < -INT32_MAX - 1 or int(w.max()) > INT32_MAX:
        return DotLanes(64, (), 0, "a weight or an input needs more than 32 bits")
    lo, hi = min(int(w.min()), min(x_lo)), max(int(w.max()), max(x_hi))
    bits = next(b for b in LANE_BITS if -(1 << (b - 1)) <= lo and hi < 1 << (b - 1))
    x_max = np.maximum(-np.array(x_lo, dtype=np.int64), np.array(x_hi, dtype=np.int64))
    terms = np.abs(w) * x_max                          # each at most 2**62
    if int(terms.max()) > INT32_MAX:
        return DotLanes(64, (), int(terms.max()), "one product alone can exceed 2^31")
    blocks, start, run, bound = [], 0, np.zeros(m, np.int64), 0
    for j in range(n + 1):   # a new block where the shift changes or a row sum would pass 2^31
        if j == n or shifts[j] != shifts[start] or int((run + terms[:, j]).max()) > INT32_MAX:
            blocks.append((start, j, int(shifts[start])))
            bound = max(bound, int(run.max()))
            if j == n:
                break
            start, run = j, np.zeros(m, np.int64)
        run += terms[:, j]
    if n < MIN_BLOCK * len(blocks):
        return DotLanes(64, (), bound, f"an int32 sum would hold {n / len(blocks):.1f} products "
                        "on average")
    return DotLanes(bits, tuple(blocks), bound)


@dataclass
class Program:
    n_slots: int
    n_comb: int                 # steps [0, n_comb) run every cycle; the rest are fold units
    one_slot: int               # always holds 1 (the valid bit of untimed data)
    valid: np.ndarray
    fold_state: np.ndarray
    fold_start: np.ndarray
    fold_t: np.ndarray
    fold_k: np.ndarray
    cell_ids: np.ndarray        # circuit cell id of each step
    op: np.ndarray
    out: np.ndarray
    size: np.ndarray
    q: np.ndarray
    shift: np.ndarray
    arg0: np.ndarray
    arg1: np.ndarray
    par: np.ndarray
    aux: np.ndarray
    arg_slot: np.ndarray
    arg_step: np.ndarray
    arg_shift: np.ndarray
    arg_sign: np.ndarray
    ints: np.ndarray
    reg_ids: np.ndarray
    reg_out: np.ndarray
    reg_in: np.ndarray
    reg_size: np.ndarray
    reg_q: np.ndarray
    reg_shift: np.ndarray
    reg_plain: np.ndarray       # 1: same format in and out, no controls: latching is a copy
    reg_en: np.ndarray
    reg_en_step: np.ndarray
    reg_rst: np.ndarray
    reg_rst_step: np.ndarray
    reg_init: np.ndarray
    in_slots: np.ndarray        # slot of every input element, in input-column order
    in_sizes: np.ndarray        # the size of the input each of them belongs to
    out_slots: np.ndarray       # slot of every output element, in output-column order
    slot_of: np.ndarray         # first slot of every circuit cell
    initial: np.ndarray
    lanes: dict                 # step -> DotLanes, for every exact dot run every cycle

    def kernel_args(self) -> tuple:
        """The Program's arguments of the interpreter (sim/kernel.run_program), in its order
        (KERNEL_ARGS; the run's own arrays follow); fold_t is None without fold units, so the
        kernel is compiled without their code."""
        return tuple(None if name == "fold_t" and not len(self.fold_t) else getattr(self, name)
                     for name in KERNEL_ARGS)

    def compiled_args(self) -> tuple:
        """The Program's arguments of the generated functions (sim/codegen), in their order
        (COMPILED_ARGS, after vals, inputs, record)."""
        return tuple(getattr(self, name) for name in COMPILED_ARGS)

    @property
    def work(self) -> int:
        """Rough cost of one cycle of one stream: a slot written, or a dot's product, each 1."""
        dots = (self.op == OP_DOT) | (self.op == OP_DOT_ACC)
        return self.n_slots + int((self.size * (self.arg1 - self.arg0))[dots].sum())

    def dump(self, circuit: Circuit) -> str:
        """One line per step, fold unit and register (``circuit``: the one lowered, for names):
        ``@N`` a slot, ``@A..@B`` consecutive slots, ``*`` an operand broadcast to every element,
        ``<<k`` its alignment, ``>>k`` the step's requantising shift."""
        lines = [f"program: {self.n_slots} slots, {self.n_comb} steps, {len(self.fold_t)} fold "
                 f"units, {len(self.reg_out)} registers, {len(self.ints)} constants, "
                 f"1 at @{self.one_slot}"]
        for i in range(len(self.op)):
            c = circuit.cells[self.cell_ids[i]]
            what = OP_NAMES[self.op[i]]
            extra = "" if self.valid[i] == self.one_slot else f" valid @{self.valid[i]}"
            if i >= self.n_comb:
                u = i - self.n_comb
                what = "fold " + what
                extra += (f" start @{self.fold_start[u]}: {self.fold_k[u]} products a cycle "
                          f"for {self.fold_t[u]} cycles, state @{self.fold_state[u]}")
            lines.append(f"  {what:<13} @{self.out[i]}[{self.size[i]}] >>{self.shift[i]} <- "
                         f"{self._operands(i)}{extra}   ; {c.name}")
        for r in range(len(self.reg_out)):
            c = circuit.cells[self.reg_ids[r]]
            ctrl = "".join(f" {name} @{slot}{'' if step else '*'}"
                           for name, slot, step in (("enable", self.reg_en[r], self.reg_en_step[r]),
                                                    ("reset", self.reg_rst[r], self.reg_rst_step[r]))
                           if slot != NO_SLOT)
            lines.append(f"  latch         @{self.reg_out[r]}[{self.reg_size[r]}] "
                         f">>{self.reg_shift[r]} <- @{self.reg_in[r]}{ctrl}   ; {c.name}")
        return "\n".join(lines)

    def _operands(self, i: int) -> str:
        """Step i's operands, runs of consecutive slots with one shift and sign written A..B."""
        runs: list[list[int]] = []   # [first slot, last slot, step, shift, sign]
        for k in range(self.arg0[i], self.arg1[i]):
            arg = [int(self.arg_slot[k]), int(self.arg_slot[k]), int(self.arg_step[k]),
                   int(self.arg_shift[k]), int(self.arg_sign[k])]
            if runs and runs[-1][1] + 1 == arg[0] and runs[-1][2:] == arg[2:]:
                runs[-1][1] = arg[0]
            else:
                runs.append(arg)
        return " ".join(f"{'-' if sign < 0 else ''}@{first}"
                        f"{'' if first == last else f'..@{last}'}{'' if step else '*'}"
                        f"{f'<<{shift}' if shift else ''}"
                        for first, last, step, shift, sign in runs)


class _Lowering:
    """The arrays lower() is building, and how each op writes its step (``LOWER_OP``)."""

    def __init__(self, cells, slot_of):
        self.cells = cells
        self.slot_of = slot_of
        self.ints: list[int] = []
        self.args: list[tuple[int, int, int, int]] = []

    def operand(self, cid: int, shift: int = 0, sign: int = 1) -> None:
        """A whole signal, read element by element (or broadcast if it has one)."""
        self.args.append((int(self.slot_of[cid]), 0 if self.cells[cid].size == 1 else 1,
                          shift, sign))

    def elements(self, cell, shifts) -> None:
        """Every element of the concatenated operands, one operand row each."""
        k = 0
        for a in cell.args:
            for e in range(self.cells[a].size):
                self.args.append((int(self.slot_of[a]) + e, 1, shifts[k], 1))
                k += 1

    # Each returns (opcode, requantising shift, aux) for the step computing cell c, having
    # appended its operand rows and constants; wf is the fractional bits of its intermediate.
    def dot(self, c, wf):
        cells, p, aux = self.cells, c.params, [0] * AUX_COLUMNS
        xf = element_fracs(c, cells)
        acc = p.accum
        self.ints.extend(int(v) for v in p.w_raw.ravel())
        if acc is None:
            self.elements(c, [wf - p.w_fmt.frac - f for f in xf])
            self.ints.extend(int(b) << (wf - p.b_fmt.frac) for b in p.b_raw)
            return OP_DOT, wf - c.fmt.frac, aux
        # products and partial sums are cast into accum: store each product's requantising
        # shift, and the bias already cast
        self.elements(c, [p.w_fmt.frac + f - acc.frac for f in xf])
        self.ints.extend(int(b) for b in requantise_array(p.b_raw, p.b_fmt.frac, acc))
        aux[AUX_ACCUM:AUX_ACCUM + 5] = acc.codes()
        return OP_DOT_ACC, wf - c.fmt.frac, aux

    def add(self, c, wf):
        for k, a in enumerate(c.args):
            sign = -1 if (c.op == "sub" and k == 1) else 1
            self.operand(a, wf - self.cells[a].fmt.frac, sign)
        return OP_ADD, wf - c.fmt.frac, [0] * AUX_COLUMNS

    def mul(self, c, wf):
        for a in c.args:
            self.operand(a)
        return OP_MUL, wf - c.fmt.frac, [0] * AUX_COLUMNS

    def activation(self, c, wf):
        cells, p, aux = self.cells, c.params, [0] * AUX_COLUMNS
        self.operand(c.args[0])
        impl = p.impl
        if impl == "table":
            t = p.table
            self.ints.extend(int(v) for v in t.entries)
            aux[:5] = [t.a, t.b, t.c, int(t.trunc), len(t.entries)]   # see AUX_COLUMNS
            return OP_TABLE, wf - c.fmt.frac, aux
        if impl == "pwl":
            pw = p.pwl
            self.ints.extend(int(v) for v in pw.knots)   # then slopes, intercepts: ops.pwl_exact
            self.ints.extend(int(v) for v in pw.slope)
            self.ints.extend(int(v) for v in pw.icpt)
            x_frac = cells[c.args[0]].fmt.frac
            aux[:3] = [len(pw.knots), wf - pw.coef_fmt.frac - x_frac, wf - pw.coef_fmt.frac]
            return OP_PWL, wf - c.fmt.frac, aux
        if impl != "exact":
            raise InternalError(f"no lowering for activation '{impl}' of '{c.name}'")
        aux[:2] = [cells[c.args[0]].fmt.frac, c.fmt.frac]
        return (OP_EXACT_SIGMOID if c.op == "sigmoid" else OP_EXACT_TANH), 0, aux

    def extreme(self, c, wf):
        """min, max: the operands aligned to the finest of them, compared exactly."""
        for a in c.args:
            self.operand(a, wf - self.cells[a].fmt.frac)
        return (OP_MIN if c.op == "min" else OP_MAX), wf - c.fmt.frac, [0] * AUX_COLUMNS

    def clip(self, c, wf):
        """The operand aligned to wf, clamped to lo (ints[par + e]) and hi (ints[par + m + e])
        aligned alike."""
        self.operand(c.args[0], wf - self.cells[c.args[0]].fmt.frac)
        for limit in (c.params.lo_raw, c.params.hi_raw):
            self.ints.extend(int(v) << (wf - c.fmt.frac) for v in limit)
        return OP_CLIP, wf - c.fmt.frac, [0] * AUX_COLUMNS

    def mux(self, c, wf):
        for a in c.args:
            self.operand(a, self.cells[a].fmt.frac - c.fmt.frac)
        sel = self.cells[c.ctrl["sel"]]
        aux = [0] * AUX_COLUMNS
        aux[:3] = [int(self.slot_of[sel.id]), 0 if sel.size == 1 else 1, sel.fmt.frac]
        return OP_MUX, 0, aux

    def copy(self, c, wf):
        """identity, concat, slice: an element gather, each requantised by its own shift."""
        flat = [(int(self.slot_of[a]) + e, self.cells[a].fmt.frac) for a in c.args
                for e in range(self.cells[a].size)]
        index = c.params.index if c.op == "slice" else range(len(flat))
        for i in index:
            self.args.append((flat[i][0], 1, flat[i][1] - c.fmt.frac, 1))
        return OP_COPY, 0, [0] * AUX_COLUMNS


# op -> how a cell of it becomes a step (an op missing here is a bug: InternalError)
LOWER_OP = {"dot": _Lowering.dot, "add": _Lowering.add, "sub": _Lowering.add,
            "mul": _Lowering.mul, "sigmoid": _Lowering.activation, "tanh": _Lowering.activation,
            "mux": _Lowering.mux, "identity": _Lowering.copy, "concat": _Lowering.copy,
            "slice": _Lowering.copy, "min": _Lowering.extreme, "max": _Lowering.extreme,
            "clip": _Lowering.clip}


def lower(circuit: Circuit) -> Program:
    cells = circuit.cells
    slot_of = np.zeros(len(cells), np.int64)
    n = 0
    for c in cells:
        slot_of[c.id] = n
        n += c.size
    low = _Lowering(cells, slot_of)
    ints, args = low.ints, low.args
    steps = []
    folds = [cid for cid in circuit.order if cells[cid].fold_cycles]
    fold_state = []
    for cid in folds:   # count, busy, accumulators, operand copies
        fold_state.append(n)
        n += 2 + cells[cid].size + sum(cells[a].size for a in cells[cid].args)
    one = n            # a slot that always holds 1: the valid bit of untimed data
    n += 1
    initial = np.zeros(n, np.int64)
    initial[one] = 1
    valid = []
    for cid in [c for c in circuit.order if c not in folds] + folds:
        c = cells[cid]
        valid.append(int(slot_of[c.clocking.valid]) if c.clocking else one)
        a0, par = len(args), len(ints)
        lowering = LOWER_OP.get(c.op)
        if lowering is None:
            raise InternalError(f"no lowering for op '{c.op}' of '{c.name}' (a bug in lstm_hw, "
                                "please report it)")
        op, shift, aux = lowering(low, c, work_frac(c, cells))
        steps.append((cid, op, int(slot_of[cid]), c.size, c.fmt.codes(), shift, a0, len(args),
                      par, aux))

    regs = [cells[r] for r in circuit.regs]
    reg_init = []
    for r in regs:
        reg_init.append(len(ints))
        ints.extend(int(v) for v in r.params.init_raw)
        initial[slot_of[r.id]:slot_of[r.id] + r.size] = r.params.init_raw
    for k in circuit.consts:
        initial[slot_of[k]:slot_of[k] + cells[k].size] = cells[k].params.raw

    def ctrl(r, key):
        if key not in r.ctrl:
            return NO_SLOT, 0
        t = cells[r.ctrl[key]]
        return int(slot_of[t.id]), 0 if t.size == 1 else 1

    in_slots = [int(slot_of[i]) + e for i in circuit.inputs for e in range(cells[i].size)]
    in_sizes = [cells[i].size for i in circuit.inputs for _ in range(cells[i].size)]
    out_slots = [int(slot_of[o]) + e for o in circuit.outputs for e in range(cells[o].size)]
    n_comb = len(steps) - len(folds)
    lanes = _lanes(circuit, slot_of, steps[:n_comb], ints, args)
    return Program(
        n_slots=n, n_comb=n_comb, valid=i64(valid), one_slot=one,
        fold_state=i64(fold_state), fold_start=i64([slot_of[cells[f].clocking.start] for f in folds]),
        fold_t=i64([cells[f].fold_cycles for f in folds]),
        fold_k=i64([cells[f].params.multipliers for f in folds]),
        cell_ids=i64([s[0] for s in steps]), op=i64([s[1] for s in steps]),
        out=i64([s[2] for s in steps]), size=i64([s[3] for s in steps]),
        q=i64([s[4] for s in steps], 5),
        shift=i64([s[5] for s in steps]), arg0=i64([s[6] for s in steps]),
        arg1=i64([s[7] for s in steps]), par=i64([s[8] for s in steps]),
        aux=i64([s[9] for s in steps], 9),
        arg_slot=i64([a[0] for a in args]), arg_step=i64([a[1] for a in args]),
        arg_shift=i64([a[2] for a in args]), arg_sign=i64([a[3] for a in args]),
        ints=i64(ints),
        reg_ids=i64([r.id for r in regs]), reg_out=i64([slot_of[r.id] for r in regs]),
        reg_in=i64([slot_of[r.args[0]] for r in regs]), reg_size=i64([r.size for r in regs]),
        reg_q=i64([r.fmt.codes() for r in regs], 5),
        reg_shift=i64([cells[r.args[0]].fmt.frac - r.fmt.frac for r in regs]),
        reg_plain=i64([cells[r.args[0]].fmt == r.fmt and not r.ctrl for r in regs]),
        reg_en=i64([ctrl(r, "enable")[0] for r in regs]),
        reg_en_step=i64([ctrl(r, "enable")[1] for r in regs]),
        reg_rst=i64([ctrl(r, "reset")[0] for r in regs]),
        reg_rst_step=i64([ctrl(r, "reset")[1] for r in regs]),
        reg_init=i64(reg_init), in_slots=i64(in_slots), in_sizes=i64(in_sizes),
        out_slots=i64(out_slots), slot_of=slot_of, initial=initial, lanes=lanes)


def _lanes(circuit: Circuit, slot_of: np.ndarray, steps, ints: list[int],
           args) -> dict[int, DotLanes]:
    """DotLanes of every exact dot step, from each input's format and value bound
    (checks.value_bounds: a gate's table output, say, holds far less than its format)."""
    cells = circuit.cells
    dots = [(i, s) for i, s in enumerate(steps) if s[1] == OP_DOT]
    if not dots:
        return {}
    bounds = value_bounds(cells, circuit.order)
    owner = {int(slot_of[c.id]) + e: c for c in cells for e in range(c.size)}
    out = {}
    for i, (_, _, _, m, _, _, a0, a1, par, _) in dots:
        inputs = [owner[slot] for slot, *_ in args[a0:a1]]
        out[i] = dot_lanes(np.array(ints[par:par + m * (a1 - a0)], dtype=np.int64)
                           .reshape(m, a1 - a0), [shift for _, _, shift, _ in args[a0:a1]],
                           [max(c.fmt.lo, -bounds[c.id]) for c in inputs],
                           [min(c.fmt.hi, bounds[c.id]) for c in inputs])
    return out


def i64(values, columns: int | None = None) -> np.ndarray:
    """An int64 array (rows of ``columns`` integers if given, so empty lists keep their shape)."""
    arr = np.array(values, dtype=np.int64)
    return arr.reshape(-1, columns) if columns else arr.reshape(-1)


def verify_program(p: Program, circuit: Circuit) -> None:
    """The Program's own invariants (slots, operand rows and constants in bounds, the arrays'
    shapes agreeing): a failure is a bug in lowering, raised as InternalError before any engine
    reads out of bounds."""
    problems = []

    def need(ok, what: str) -> None:
        if not ok:
            problems.append(what)

    n_steps, n_args, n_ints, n = len(p.op), len(p.arg_slot), len(p.ints), p.n_slots

    def slots(first: int, count: int, what: str) -> None:
        need(0 <= first and first + count <= n, f"{what}: slots {first}..{first + count - 1} "
             f"outside 0..{n - 1}")

    need(p.initial.shape == (n,) and p.initial[p.one_slot] == 1, "initial values / one slot")
    need(p.q.shape == (n_steps, 5) and p.aux.shape == (n_steps, 9), "q or aux shape")
    need(0 <= p.n_comb <= n_steps and len(p.fold_t) == n_steps - p.n_comb,
         "fold units are the steps after n_comb")
    for name in ("valid", "out", "size", "shift", "arg0", "arg1", "par", "cell_ids"):
        need(len(getattr(p, name)) == n_steps, f"{name} has one entry per step")
    for i in range(n_steps if not problems else 0):
        where = f"step {i} ({circuit.cells[p.cell_ids[i]].name})"
        o, m, a0, a1, par = (int(v) for v in (p.op[i], p.size[i], p.arg0[i], p.arg1[i], p.par[i]))
        need(o in OP_NAMES, f"{where}: unknown opcode {o}")
        slots(int(p.out[i]), m, where)
        slots(int(p.valid[i]), 1, f"{where} valid bit")
        rows_ok = 0 <= a0 <= a1 <= n_args
        need(rows_ok, f"{where}: operand rows {a0}..{a1} outside 0..{n_args}")
        gathers = o in (OP_DOT, OP_DOT_ACC, OP_COPY)   # one operand row per element read
        for k in range(a0, a1) if rows_ok else ():
            span = 1 if gathers else 1 + (m - 1) * int(p.arg_step[k])
            slots(int(p.arg_slot[k]), span, f"{where} operand {k}")
        n_in = a1 - a0
        used = {OP_DOT: m * n_in + m, OP_DOT_ACC: m * n_in + m, OP_TABLE: int(p.aux[i, 4]),
                OP_PWL: 3 * int(p.aux[i, 0]) + 2, OP_CLIP: 2 * m}.get(o, 0)
        need(0 <= par and par + used <= n_ints, f"{where}: constants {par}..{par + used} "
             f"outside 0..{n_ints}")
        if o == OP_MUX:
            slots(int(p.aux[i, 0]), 1 + (m - 1) * int(p.aux[i, 1]), f"{where} sel")
        if o in (OP_COPY,):
            need(n_in == m, f"{where}: {n_in} operands for {m} elements")
    for r in range(len(p.reg_out)):
        m = int(p.reg_size[r])
        where = f"register {r} ({circuit.cells[p.reg_ids[r]].name})"
        slots(int(p.reg_out[r]), m, where)
        slots(int(p.reg_in[r]), m, f"{where} input")
        need(0 <= p.reg_init[r] and p.reg_init[r] + m <= n_ints, f"{where}: init outside ints")
        for slot, step, what in ((p.reg_en[r], p.reg_en_step[r], "enable"),
                                 (p.reg_rst[r], p.reg_rst_step[r], "reset")):
            if slot != NO_SLOT:
                slots(int(slot), 1 + (m - 1) * int(step), f"{where} {what}")
    for u in range(len(p.fold_t) if not problems else 0):
        i = p.n_comb + u
        state = 2 + int(p.size[i]) + int(p.arg1[i] - p.arg0[i])   # count, busy, sums, operands
        slots(int(p.fold_state[u]), state, f"fold unit {u} state")
        slots(int(p.fold_start[u]), 1, f"fold unit {u} start")
        need(p.fold_t[u] > 0 and p.fold_k[u] > 0, f"fold unit {u}: cycles and multipliers")
    for k, slot in enumerate(p.in_slots):
        slots(int(slot), 1, f"input column {k}")
    if problems:
        raise InternalError("the lowered program breaks its invariants (a bug in lstm_hw, "
                            "please report it): " + "; ".join(problems[:5]))
