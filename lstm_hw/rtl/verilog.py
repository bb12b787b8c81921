"""The hardware circuit as one synthesizable Verilog-2005 module, cycle-exact with the simulator.

Input: the clocked circuit that the simulator runs (``compile/timing.py``: pipeline, balancing
and valid registers made explicit, folded dots as state machines). Output: one flat module named
after the netlist, with the interface of DESIGN.md 8: ``clk``, ``rst`` (synchronous, active high:
every register takes its init), ``in_valid``, one port per input and output element holding the
raw bits of its format (``x_0``.. for vectors, ``_`` for hierarchy dots; an output that is also
an input is ``NAME_out``), and ``NAME_valid`` per output. Inside, every signal element is a
variable named after the netlist's signal (``l1.c`` element 3 is ``l1_c_3``; ``names.py``,
which ``run --vcd`` shares). Each op is written by its entry in ``CELL_WRITERS``; the
combinational logic is one ``always @*`` block in operand order (``Emitter.logic``).

Arithmetic is integer arithmetic on plain vectors read as two's complement: each operand is
widened by explicit sign extension to a width computed here from the exact range of the values it
can hold, products are ``$signed(a) * $signed(b)`` into exactly ``width(a) + width(b)`` bits,
and every result goes through one quantiser function per (source width, dropped bits, format)
(``quantise.py``). Tables, folded weights and exact activations are ROMs (arrays initialised in
an ``initial`` block, which Yosys, Verilator and Icarus all read; Yosys maps them to LUT ROMs or
block RAM). Values never differ from the simulator's: the co-simulation tests hold them to it.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..compile.cells import LIBM_ACTIVATIONS
from ..compile.checks import work_frac
from ..compile.circuit import Cell, Circuit, SliceParams
from ..diagnostics import Diagnostics, InternalError, SourceLoc
from ..fixed import FixedFormat, requantise_array
from .names import IDENT, KEYWORDS, HardwareNames, elem_name, hardware_names
from .quantise import lit, quantiser, sext

EXACT_ROM_MAX_BITS = 16     # an `exact` activation becomes a ROM over every input value


def swidth(lo: int, hi: int) -> int:
    """Bits of the narrowest two's complement vector holding every integer in [lo, hi]."""
    w = 1
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def ubits(n: int) -> int:
    """Bits of an unsigned index from 0 to n (at least 1)."""
    return max(int(n).bit_length(), 1)


@dataclass
class Val:
    """An integer quantity in the Verilog: ``name`` (an identifier, or a literal) of ``width``
    bits, two's complement if ``signed`` (else unsigned), holding values in [lo, hi]."""
    name: str
    width: int
    signed: bool
    lo: int
    hi: int

    @property
    def swidth(self) -> int:
        """Its width as a signed value (an unsigned one takes a zero sign bit)."""
        return self.width + (0 if self.signed else 1)

    def ext(self, to: int) -> str:
        """Its bits widened to ``to`` bits of two's complement."""
        if self.lo == self.hi and not IDENT.match(self.name):   # a literal: write it anew
            return lit(self.lo, to)
        return sext(self.name, self.width, to, self.signed)

    def as_signed(self) -> str:
        """``$signed(...)`` of its two's complement bits, for a product."""
        return f"$signed({self.ext(self.swidth)})"


def const_val(v: int) -> Val:
    w = swidth(v, v)
    return Val(lit(v, w), w, True, v, v)


def fmt_val(name: str, fmt: FixedFormat) -> Val:
    return Val(name, fmt.width, fmt.signed, fmt.lo, fmt.hi)


@dataclass
class Comb:
    """A combinational value: ``name`` of ``width`` bits = ``expr``, or (``rom`` given) the
    word of that ROM at index ``expr``."""
    name: str
    width: int
    expr: str
    rom: str = ""


@dataclass
class VerilogModule:
    name: str
    text: str
    inputs: list[tuple[str, FixedFormat]]            # ports in input-column order
    outputs: list[tuple[str, FixedFormat]]           # ports in output-column order
    valids: list[str]                                # one per output signal


def function(name: str, out_width: int, inputs: list[tuple[str, int]],
             regs: list[tuple[str, int]], body: list[str], comment: str) -> str:
    """A Verilog function: its input and locals with their widths, then its statements."""
    lines = [f"function [{out_width - 1}:0] {name};   // {comment}"]
    lines += [f"  input [{w - 1}:0] {n};" for n, w in inputs]
    lines += [f"  reg [{w - 1}:0] {n};" for n, w in regs]
    return "\n".join(lines + ["  begin"] + ["    " + b for b in body] + ["  end", "endfunction"])


def clamp(k: str, kw: int, top: int, out: str, ob: int) -> list[str]:
    """Statements: out (ob bits) = the signed kw-bit k clamped to [0, top]."""
    if kw - 1 >= ob:
        low = f"{k}[{ob - 1}:0]"
    elif kw > 1:
        low = f"{{{ob - (kw - 1)}'b0, {k}[{kw - 2}:0]}}"
    else:
        low = f"{ob}'b0"
    lines = [f"if ({k}[{kw - 1}]) {out} = {ob}'d0;"]
    if top < (1 << (kw - 1)) - 1:
        lines.append(f"else if ({k} > {lit(top, kw)}) {out} = {lit(top, ob)};")
    return lines + [f"else {out} = {low};"]


def resize(name: str, width: int, to: int) -> str:
    """A signed ``width``-bit name as ``to`` bits: sign-extended, or its low bits (for a value
    known to fit)."""
    return sext(name, width, to) if to >= width else f"{name}[{to - 1}:0]"


def chain(select: str, sel_width: int, values: list[str]) -> str:
    """values[select] for select in 0..len-1 (the last for anything above), as choices."""
    expr = values[-1]
    for k in range(len(values) - 2, -1, -1):
        expr = f"({select} == {sel_width}'d{k}) ? {values[k]} : {expr}"
    return expr


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LITERAL = re.compile(r"\b\d+'s?[hdbo][0-9a-fA-F_]+")
MEMORY = re.compile(r"^reg \[[^\]]*\] \w+ \[")     # a ROM's declaration
WRITTEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?\s*<=")


class Emitter:
    """Writes one hardware circuit as a module (``emit``); collects the export errors."""

    def __init__(self, hw: Circuit, top: str, names: HardwareNames, output_delay: list[int]):
        self.hw = hw
        self.cells = hw.cells
        self.top = top
        self.names = names
        self.valid_input = names.valid_input   # the hardware's valid input cell (timed circuits)
        self.output_delay = output_delay     # per output: cycles from in_valid to its valid
        self.namer = self.names.namer        # internal wires are named after every signal
        self.decls: list[str] = []           # registers, declared before any wire reads them
        self.comb: list[Comb] = []           # the combinational values, in operand order
        self.sources: list[str] = []         # inputs and registers, which the logic reads
        self.comb_ports: dict[str, int] = {}   # an output port defined by comb -> its port_decls
        self.body: list[str] = []            # continuous assigns of ports
        self.seq: list[str] = []             # always blocks
        self.funcs: list[str] = []
        self.roms: list[str] = []
        self.rom_words: dict[str, int] = {}   # ROM -> its number of words
        self.qfuncs: dict[tuple, str] = {}
        self.elems: dict[int, list[Val]] = {}
        self.port_of: dict[tuple[int, int], str] = {}   # (cell, element) -> output port
        self.port_decls: list[str] = []
        self.diag = Diagnostics()

    # -- declarations ------------------------------------------------------------------------
    def wire(self, base: str, width: int, expr: str, lo: int | None = None,
             hi: int | None = None, signed: bool = True) -> Val:
        """A new value holding expr (two's complement unless not signed, within [lo, hi])."""
        name = self.namer.take(base)
        self.comb.append(Comb(name, width, expr))
        lo = -(1 << (width - 1)) if lo is None else lo
        hi = (1 << (width - 1)) - 1 if hi is None else hi
        return Val(name, width, signed, lo, hi)

    def define(self, cell: Cell, e: int, expr: str, rom: str = "") -> None:
        """Element e of a combinational (or constant) cell: its named value, or its port
        (``rom`` given: the word of that ROM at index expr)."""
        f = cell.fmt
        port = self.port_of.get((cell.id, e))
        if port:
            self.comb_ports[port] = len(self.port_decls)
            self.port_decls.append(port)      # wire or reg: decided by logic()
            name = port
        else:
            name = self.names.signals[(cell.id, e)]
        self.comb.append(Comb(name, f.width, expr, rom))
        self.elems.setdefault(cell.id, []).append(fmt_val(name, f))

    def register(self, cell: Cell, e: int) -> None:
        """Element e of a clocked cell (a register, or a folded dot's result)."""
        f = cell.fmt
        port = self.port_of.get((cell.id, e))
        if port:
            name = port
            self.port_decls.append(f"output reg [{f.width - 1}:0] {port}")
        else:
            name = self.names.signals[(cell.id, e)]
            self.decls.append(f"reg [{f.width - 1}:0] {name};")
        self.sources.append(name)
        self.elems.setdefault(cell.id, []).append(fmt_val(name, f))

    def state(self, base: str, width: int) -> str:
        name = self.namer.take(base)
        self.decls.append(f"reg [{width - 1}:0] {name};")
        self.sources.append(name)
        return name

    def operand(self, cid: int, e: int) -> Val:
        """Element e of operand cid (a one-element operand broadcasts)."""
        vals = self.elems[cid]
        return vals[0] if len(vals) == 1 else vals[e]

    # -- arithmetic ----------------------------------------------------------------------------
    def quantised(self, v: Val, drop: int, fmt: FixedFormat) -> str:
        """The expression of v * 2**-drop quantised into fmt: v itself where nothing changes."""
        same = (drop == 0 and v.signed == fmt.signed and v.width == fmt.width
                and fmt.lo <= v.lo and v.hi <= fmt.hi
                and not (fmt.saturation == "AP_SAT_SYM" and fmt.signed and v.lo == fmt.lo))
        if same and IDENT.match(v.name):
            return v.name
        key = (v.swidth, drop, fmt)
        if key not in self.qfuncs:
            self.qfuncs[key] = self.namer.take(f"quantise_{len(self.qfuncs)}")
            self.funcs.append(quantiser(self.qfuncs[key], v.swidth, drop, fmt))
        return f"{self.qfuncs[key]}({v.ext(v.swidth)})"

    def product(self, a: Val, b: Val, base: str) -> Val:
        """The exact product, in swidth(a) + swidth(b) bits."""
        corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return self.wire(base, a.swidth + b.swidth, f"{a.as_signed()} * {b.as_signed()}",
                         min(corners), max(corners))

    def total(self, terms: list[tuple[Val, int, int]], base: str, width: int = 0) -> Val:
        """The exact sum of sign * (value << shift) over the (value, shift, sign) terms, in
        ``width`` bits if given (the caller knows the sum fits), else as wide as it needs."""
        if not terms:
            return const_val(0)
        ranges = [sorted((g * (v.lo << s), g * (v.hi << s))) for v, s, g in terms]
        lo, hi = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
        need = max(v.swidth + s + (g < 0) for v, s, g in terms)
        w = max(width, need) if width else max(swidth(lo, hi), need)
        if len(terms) == 1 and terms[0][1:] == (0, 1) and terms[0][0].width == w and \
                terms[0][0].signed and IDENT.match(terms[0][0].name):
            return terms[0][0]
        text = "" if terms[0][2] > 0 else lit(0, w)
        for k, (v, s, g) in enumerate(terms):
            if v.lo == v.hi and not IDENT.match(v.name):
                part = lit(v.lo << s, w)
            else:
                part = v.ext(w - s) if not s else f"{{{v.ext(w - s)}, {s}'b0}}"
            text += (" - " if g < 0 else (" + " if text else "")) + part
        return self.wire(base, w, text, lo, hi)

    # -- the module ----------------------------------------------------------------------------
    def emit(self) -> VerilogModule:
        hw, cells = self.hw, self.cells
        names = self.names
        for c, port in names.clashes:
            self.diag.error(c.loc, f"signal '{c.name}': its Verilog port '{port}' is a keyword "
                            f"or another port's name: rename the signal")
        inputs, outputs = [], []
        for cid in hw.inputs:
            c = cells[cid]
            vals = [fmt_val(names.signals[(cid, e)], c.fmt) for e in range(c.size)]
            if cid == self.valid_input:
                vals = [Val("in_valid", 1, False, 0, 1)]
                self.sources.append("in_valid")
            else:
                inputs += [(v.name, c.fmt) for v in vals]
                self.port_decls += [f"input wire [{c.fmt.width - 1}:0] {v.name}" for v in vals]
                self.sources += [v.name for v in vals]
            self.elems[cid] = vals
        ports = iter(names.outputs)
        for cid in hw.outputs:
            c = cells[cid]
            for e in range(c.size):
                name = next(ports)
                outputs.append((name, c.fmt))
                if cid in hw.inputs:   # an input that is also an output
                    self.port_decls.append(f"output wire [{c.fmt.width - 1}:0] {name}")
                    self.body.append(f"assign {name} = {names.signals[(cid, e)]};")
                else:
                    self.port_of[(cid, e)] = name
        for cid in hw.consts:
            c = cells[cid]
            for e in range(c.size):
                self.define(c, e, lit(int(c.params.raw[e]), c.fmt.width))
        for c in cells:
            if c.is_reg or c.fold_cycles:
                for e in range(c.size):
                    self.register(c, e)
        for cid in hw.order:
            self.cell(cells[cid])
        for cid in hw.regs:
            self.latch(cells[cid])
        self.output_valids(names.valids)
        self.diag.abort_if_errors()
        return VerilogModule(self.top, self.render(), inputs, outputs, names.valids)

    def output_valids(self, valids: list[str]) -> None:
        """Per output, its valid bit: in_valid delayed by the output's latency (the valid
        chain's registers where the hardware has them)."""
        delays = ["in_valid"]
        prev = self.valid_input
        for name, delay in zip(valids, self.output_delay):
            self.port_decls.append(f"output wire {name}")
            while len(delays) <= delay:
                k = len(delays)
                nxt = next((c.id for c in self.cells if c.is_reg and prev is not None
                            and c.args == (prev,) and c.name == f"valid.d{k}"), None)
                if nxt is not None:
                    delays.append(self.elems[nxt][0].name)
                else:
                    reg = self.state(f"valid_d{k}", 1)
                    self.seq.append(f"always @(posedge clk) {reg} <= rst ? 1'b0 : {delays[-1]};")
                    delays.append(reg)
                prev = nxt
            self.body.append(f"assign {name} = {delays[delay]};")

    # -- cells -------------------------------------------------------------------------------
    def cell(self, c: Cell) -> None:
        if c.fold_cycles:
            self.fold(c)
            return
        write = CELL_WRITERS.get(c.op)
        if write is None:    # a new op that the exporter does not know: fail loudly
            raise InternalError(f"the Verilog export has no writer for op '{c.op}' (block "
                                f"'{c.name}'): add one to CELL_WRITERS")
        write(self, c)

    def dot(self, c: Cell) -> None:
        for e, expr in enumerate(self.dot_rows(c)):
            self.define(c, e, expr)

    def total_of(self, c: Cell, negate_second: bool = False) -> None:
        """add (every operand) and sub (the first less the second): the exact aligned sum."""
        wf = work_frac(c, self.cells)
        for e in range(c.size):
            terms = [(self.operand(a, e), wf - self.cells[a].fmt.frac,
                      -1 if negate_second and k == 1 else 1) for k, a in enumerate(c.args)]
            s = self.total(terms, f"{elem_name(c, e)}_sum")
            self.define(c, e, self.quantised(s, wf - c.fmt.frac, c.fmt))

    def mul(self, c: Cell) -> None:
        drop = sum(self.cells[a].fmt.frac for a in c.args) - c.fmt.frac
        for e in range(c.size):
            acc = self.operand(c.args[0], e)
            for a in c.args[1:]:
                acc = self.product(acc, self.operand(a, e), f"{elem_name(c, e)}_prod")
            self.define(c, e, self.quantised(acc, drop, c.fmt))

    def copy(self, c: Cell) -> None:
        """identity, concat, slice: elements gathered (slice: its index), each quantised."""
        flat = [(a, e) for a in c.args for e in range(self.cells[a].size)]
        index = c.params.index if isinstance(c.params, SliceParams) else range(len(flat))
        for e, i in enumerate(index):
            a, k = flat[int(i)]
            self.define(c, e, self.quantised(self.elems[a][k],
                                             self.cells[a].fmt.frac - c.fmt.frac, c.fmt))

    def aligned(self, v: Val, shift: int, base: str) -> Val:
        """v * 2**shift (shift >= 0), exact."""
        return self.total([(v, shift, 1)], base)

    def pick(self, first: Val, second: Val, second_if: str, base: str) -> Val:
        """second where ``$signed(second) <op> $signed(first)`` (op: ``<`` or ``>``), else
        first: a comparator and a mux, both operands widened to one width."""
        w = max(first.swidth, second.swidth)
        a, b = first.ext(w), second.ext(w)
        lo, hi = (min(first.lo, second.lo), min(first.hi, second.hi)) if second_if == "<" \
            else (max(first.lo, second.lo), max(first.hi, second.hi))
        return self.wire(base, w, f"($signed({b}) {second_if} $signed({a})) ? {b} : {a}",
                         lo, hi)

    def extreme(self, c: Cell, second_if: str) -> None:
        """min (second_if '<') and max ('>'): the operands aligned to the finest of them and
        compared exactly, the smallest (largest) quantised once."""
        wf = work_frac(c, self.cells)
        for e in range(c.size):
            en = elem_name(c, e)
            best = None
            for k, a in enumerate(c.args):
                v = self.aligned(self.operand(a, e), wf - self.cells[a].fmt.frac, f"{en}_in{k}")
                best = v if best is None else self.pick(best, v, second_if, f"{en}_pick{k}")
            self.define(c, e, self.quantised(best, wf - c.fmt.frac, c.fmt))

    def clip(self, c: Cell) -> None:
        """min(max(x, lo), hi), x aligned with lo and hi (in the cell's format) and compared
        exactly, then quantised once."""
        wf = work_frac(c, self.cells)
        x_cell = self.cells[c.args[0]]
        shift = wf - c.fmt.frac
        for e in range(c.size):
            en = elem_name(c, e)
            x = self.aligned(self.operand(x_cell.id, e), wf - x_cell.fmt.frac, f"{en}_in")
            lo, hi = (const_val(int(limit[e]) << shift)
                      for limit in (c.params.lo_raw, c.params.hi_raw))
            raised = self.pick(x, lo, ">", f"{en}_raised")
            self.define(c, e, self.quantised(self.pick(raised, hi, "<", f"{en}_clipped"),
                                             shift, c.fmt))

    def refused(self, c: Cell) -> None:
        """A cell reported as not exportable: zeros, so that the other errors are found too."""
        for e in range(c.size):
            self.define(c, e, lit(0, c.fmt.width))

    def dot_rows(self, c: Cell) -> list[str]:
        """Each row's result: the exact sum of products and bias quantised once, or (accum)
        hls4ml's accum_t: the bias cast, then each product and each partial sum cast."""
        cells, p = self.cells, c.params
        xs = [self.elems[a][e] for a in c.args for e in range(cells[a].size)]
        fr = [cells[a].fmt.frac for a in c.args for _ in range(cells[a].size)]
        acc_fmt, rows = p.accum, []
        wf = work_frac(c, cells)
        for row in range(c.size):
            name = elem_name(c, row)
            prods = [(j, self.product(xs[j], const_val(int(w)), f"{name}_p{j}"))
                     for j, w in enumerate(p.w_raw[row]) if w]
            if acc_fmt is None:
                terms = [(v, wf - p.w_fmt.frac - fr[j], 1) for j, v in prods]
                b = int(p.b_raw[row])
                if b:
                    terms.append((const_val(b), wf - p.b_fmt.frac, 1))
                s = self.total(terms, f"{name}_sum")
                rows.append(self.quantised(s, wf - c.fmt.frac, c.fmt))
                continue
            a = acc_fmt
            acc = const_val(int(requantise_array(p.b_raw[row], p.b_fmt.frac, a)))
            for j, prod in prods:   # a product of 0 adds nothing: its cast is the identity
                cast = self.wire(f"{name}_c{j}", a.width,
                                 self.quantised(prod, p.w_fmt.frac + fr[j] - a.frac, a),
                                 a.lo, a.hi, a.signed)
                s = self.total([(acc, 0, 1), (cast, 0, 1)], f"{name}_s{j}")
                acc = self.wire(f"{name}_a{j}", a.width, self.quantised(s, 0, a), a.lo, a.hi,
                                a.signed)
            rows.append(self.quantised(acc, a.frac - c.fmt.frac, c.fmt))
        return rows

    def activation(self, c: Cell) -> None:
        x_cell = self.cells[c.args[0]]
        xf, impl, p = x_cell.fmt, c.params.impl, c.params
        base = c.name.replace(".", "_")
        if impl == "table":
            t = p.table
            rom = self.rom(f"{base}_rom", c.fmt.width, [int(v) for v in t.entries])
            index = self.table_index(f"{base}_index", xf, t)
            for e in range(c.size):
                self.define(c, e, f"{index}({self.elems[x_cell.id][e].name})", rom)
        elif impl == "pwl":
            self.pwl(c, xf, p.pwl)
        elif xf.width > EXACT_ROM_MAX_BITS:
            self.diag.error(c.loc, f"block '{c.name}': an exact {c.op} of a {xf.width}-bit "
                            f"input would be a ROM of 2**{xf.width} entries (inputs of at most "
                            f"{EXACT_ROM_MAX_BITS} bits are exported): give it a table or pwl, "
                            f"or narrow its input")
            self.refused(c)
        else:   # the exact function of every input value, as the engine computes it
            f = LIBM_ACTIVATIONS[c.op]
            bits = np.arange(1 << xf.width, dtype=np.int64)
            raw = np.where(bits > xf.hi, bits - (1 << xf.width), bits) if xf.signed else bits
            ys = np.array([f(math.ldexp(float(r), -xf.frac)) for r in raw])
            rom = self.rom(f"{base}_rom", c.fmt.width, [int(v) for v in c.fmt.quantise(ys)])
            for e in range(c.size):
                self.define(c, e, self.elems[x_cell.id][e].name, rom)

    def rom(self, base: str, width: int, entries: list[int]) -> str:
        name = self.namer.take(base)
        self.decls.append(f"reg [{width - 1}:0] {name} [0:{len(entries) - 1}];")
        self.rom_words[name] = len(entries)
        self.roms.append(f"initial begin   // {name}: {len(entries)} entries\n" + "\n".join(
            f"  {name}[{k}] = {lit(v, width)};" for k, v in enumerate(entries)) + "\nend")
        return name

    def table_index(self, base: str, xf: FixedFormat, t) -> str:
        """A function from the input's raw bits to the table entry, as luts.py forms it:
        floor((x*a - b) / c), or trunc(x*a / c) - b, clamped to the table. Division by the
        constant c is a shift (c a power of two) or exact multiply-and-shift (m = ceil(2**s /
        c), Granlund and Montgomery) of a non-negative magnitude."""
        name = self.namer.take(base)
        size = len(t.entries)
        x = Val("x", xf.width, xf.signed, xf.lo, xf.hi)
        a, b, cd = int(t.a), int(t.b), int(t.c)
        aw = swidth(a, a)
        pw = x.swidth + aw
        nlo, nhi = sorted((xf.lo * a, xf.hi * a))
        if not t.trunc:
            nlo, nhi = nlo - b, nhi - b
        nw = max(swidth(nlo, nhi), pw + 1, swidth(-b, -b) + 1)
        regs = [("prod", pw), ("num", nw)]
        body = [f"prod = {x.as_signed()} * $signed({lit(a, aw)});",
                f"num = {sext('prod', pw, nw)}" + (f" - {lit(b, nw)};" if not t.trunc else ";")]
        if t.trunc:          # |num|, its sign restored after the division
            k_off, mhi = 0, max(abs(nlo), abs(nhi))
        else:                # num + k_off * c >= 0, k_off taken off after the division
            k_off = -(nlo // cd) if nlo < 0 else 0
            mhi = nhi + k_off * cd
        mb = ubits(mhi) + 1
        regs.append(("mag", mb))
        if t.trunc:
            body.append(f"mag = num[{nw - 1}] ? {lit(0, mb)} - {resize('num', nw, mb)} : "
                        f"{resize('num', nw, mb)};")
        else:
            body.append(f"mag = {resize('num', nw, mb)} + {lit(k_off * cd, mb)};")
        if mhi < cd:
            qw, qexpr = 2, "2'd0"
        elif cd & (cd - 1) == 0:
            s = cd.bit_length() - 1
            qw, qexpr = mb - s, f"mag[{mb - 1}:{s}]"
        else:
            s = (mb - 1) + (cd - 1).bit_length()     # mb - 1 + ceil(log2 c)
            m = -(-(1 << s) // cd)
            bw = mb + m.bit_length()
            regs.append(("big", bw))
            body.append(f"big = {resize('mag', mb, bw)} * {lit(m, bw)};")
            qw, qexpr = bw - s, f"big[{bw - 1}:{s}]"
        if qw < 2:
            qexpr, qw = f"{{1'b0, {qexpr}}}", 2
        regs.append(("q", qw))
        body.append(f"q = {qexpr};")
        qmax = mhi // cd
        ilo, ihi = (-qmax - b, qmax - b) if t.trunc else (-k_off, qmax - k_off)
        iw = max(swidth(min(ilo, 0), max(ihi, size)), qw + 1)
        regs.append(("idx", iw))
        if t.trunc:
            body.append(f"idx = (num[{nw - 1}] ? {lit(0, iw)} - {resize('q', qw, iw)} : "
                        f"{resize('q', qw, iw)}) - {lit(b, iw)};")
        else:
            body.append(f"idx = {resize('q', qw, iw)} - {lit(k_off, iw)};")
        ob = ubits(size - 1)
        body += clamp("idx", iw, size - 1, name, ob)
        self.funcs.append(function(name, ob, [("x", xf.width)], regs, body,
                                   f"the entry of {t.describe()}"))
        return name

    def pwl(self, c: Cell, xf: FixedFormat, pw) -> None:
        """slope * x + intercept of the segment x is in (the knots at or below x counted)."""
        wf = work_frac(c, self.cells)
        cf = pw.coef_fmt
        knots = [int(k) for k in pw.knots]
        sb = ubits(len(knots))
        for e in range(c.size):
            x = self.operand(c.args[0], e)
            en = elem_name(c, e)
            seg = f"{sb}'d0"
            for k, kn in enumerate(knots):
                if kn <= x.lo:
                    seg = f"{sb}'d{k + 1}"
                elif kn <= x.hi:
                    seg = (f"(($signed({x.ext(x.swidth)}) >= $signed({lit(kn, x.swidth)})) ? "
                           f"{sb}'d{k + 1} : {seg})")
            segv = self.wire(f"{en}_seg", sb, seg, 0, len(knots), False)
            slope, icpt = (self.wire(f"{en}_{which}", cf.width, chain(
                segv.name, sb, [lit(int(v), cf.width) for v in arr]), cf.lo, cf.hi, cf.signed)
                for which, arr in (("slope", pw.slope), ("icpt", pw.icpt)))
            prod = self.product(slope, x, f"{en}_sx")
            s = self.total([(prod, wf - cf.frac - xf.frac, 1), (icpt, wf - cf.frac, 1)],
                           f"{en}_sum")
            self.define(c, e, self.quantised(s, wf - c.fmt.frac, c.fmt))

    def mux(self, c: Cell) -> None:
        """in[floor(sel)] clamped to the ends, quantised into the mux's format."""
        sel_cell = self.cells[c.ctrl["sel"]]
        n, sf = len(c.args), sel_cell.fmt
        fname = self.namer.take(f"{c.name.replace('.', '_')}_select")
        sv = Val("s", sf.width, sf.signed, sf.lo, sf.hi)
        if sf.frac >= 0:     # floor(s / 2**frac): the bits above the binary point
            ew = max(sv.swidth, sf.frac + 2)
            kw = ew - sf.frac
            regs = [("se", ew), ("k", kw)]
            body = [f"se = {sv.ext(ew)};", f"k = se[{ew - 1}:{sf.frac}];"]
        else:
            kw = sv.swidth - sf.frac
            regs = [("k", kw)]
            body = [f"k = {{{sv.ext(sv.swidth)}, {-sf.frac}'b0}};"]
        ob = ubits(n - 1)
        body += clamp("k", kw, n - 1, fname, ob)
        self.funcs.append(function(fname, ob, [("s", sf.width)], regs, body,
                                   f"mux select: floor(sel) clamped to [0, {n - 1}]"))
        for e in range(c.size):
            k = self.wire(f"{elem_name(c, e)}_k", ob,
                          f"{fname}({self.operand(sel_cell.id, e).name})", 0, n - 1, False)
            choices = [self.quantised(self.operand(a, e), self.cells[a].fmt.frac - c.fmt.frac,
                                      c.fmt) for a in c.args]
            self.define(c, e, chain(k.name, ob, choices))

    def latch(self, r: Cell) -> None:
        """A register: rst and the reset control load init, a zero enable holds it."""
        src = self.cells[r.args[0]]
        for e in range(r.size):
            q = self.elems[r.id][e].name
            init = lit(int(r.params.init_raw[e]), r.fmt.width)
            nxt = self.quantised(self.elems[src.id][e], src.fmt.frac - r.fmt.frac, r.fmt)
            lines = ["always @(posedge clk)", f"  if (rst) {q} <= {init};"]
            if "reset" in r.ctrl:
                lines.append(f"  else if (|{self.operand(r.ctrl['reset'], e).name}) "
                             f"{q} <= {init};")
            if "enable" in r.ctrl:
                lines.append(f"  else if (|{self.operand(r.ctrl['enable'], e).name}) "
                             f"{q} <= {nxt};")
            else:
                lines.append(f"  else {q} <= {nxt};")
            self.seq.append("\n".join(lines))

    def fold(self, c: Cell) -> None:
        """A folded dot (timing.py; fold_edge in sim/kernel.py): started by its valid bit, it
        takes its operands and the bias, then each cycle multiplies K (weight, operand) pairs
        in row-major order, each product added into its row's accumulator (and cast into
        accum, with the partial sum, where one is given); after the last of its T cycles the
        rows are quantised into its result registers. With T = 1, a dot registered."""
        cells, p = self.cells, c.params
        base = c.name.replace(".", "_")
        start = self.elems[c.clocking.start][0].name
        outs = [v.name for v in self.elems[c.id]]
        zero = lit(0, c.fmt.width)
        t_cyc = c.fold_cycles
        if t_cyc == 1:
            rows = [self.wire(f"{base}_next_{e}" if c.size > 1 else f"{base}_next",
                              c.fmt.width, expr) for e, expr in enumerate(self.dot_rows(c))]
            self.seq.append("\n".join(
                ["always @(posedge clk)", "  if (rst) begin"] +
                [f"    {o} <= {zero};" for o in outs] + [f"  end else if ({start}) begin"] +
                [f"    {o} <= {r.name};" for o, r in zip(outs, rows)] + ["  end"]))
            return
        m, k_mul = c.size, int(p.multipliers)
        w_raw = [int(v) for v in np.asarray(p.w_raw).ravel()]
        n = len(w_raw) // m
        fr = [cells[a].fmt.frac for a in c.args for _ in range(cells[a].size)]
        xs = [self.elems[a][e] for a in c.args for e in range(cells[a].size)]
        acc_fmt = p.accum
        wf = acc_fmt.frac if acc_fmt else work_frac(c, cells)
        # operands aligned to the finest binary point, so every product aligns alike
        top_f = max(fr)
        xlo = min(x.lo << (top_f - f) for x, f in zip(xs, fr))
        xhi = max(x.hi << (top_f - f) for x, f in zip(xs, fr))
        xw = swidth(xlo, xhi)
        aligned = [x.ext(xw) if f == top_f else f"{{{x.ext(xw - (top_f - f))}, {top_f - f}'b0}}"
                   for x, f in zip(xs, fr)]
        if acc_fmt:
            bias = [int(b) for b in requantise_array(p.b_raw, p.b_fmt.frac, acc_fmt)]
            alo, ahi, aw, a_signed = acc_fmt.lo, acc_fmt.hi, acc_fmt.width, acc_fmt.signed
        else:
            bias = [int(b) << (wf - p.b_fmt.frac) for b in p.b_raw]
        wlo, whi = min(w_raw + [0]), max(w_raw + [0])
        ww = swidth(wlo, whi)
        corners = [u * v for u in (wlo, whi) for v in (xlo, xhi)]
        shift = wf - p.w_fmt.frac - top_f          # exact sums: product -> accumulator
        if not acc_fmt:      # every partial sum of a row lies between these
            alo = min(bias) + n * (min(0, min(corners)) << shift)
            ahi = max(bias) + n * (max(0, max(corners)) << shift)
            aw = max(swidth(alo, ahi), ww + xw + shift)
            a_signed = True
        cw = ubits(t_cyc - 1)
        eb = ubits(m)
        cnt = self.state(f"{base}_cnt", cw)
        busy = self.state(f"{base}_busy", 1)
        bufs = [self.state(f"{base}_buf_{j}", xw) for j in range(n)]
        accs = [self.state(f"{base}_acc_{e}", aw) for e in range(m)]
        go = self.wire(f"{base}_go", 1, f"{start} | {busy}", 0, 1, False).name
        step = self.wire(f"{base}_step", cw, f"{start} ? {cw}'d0 : {cnt}", 0, t_cyc - 1,
                         False).name
        xe = [self.wire(f"{base}_x_{j}", xw, f"{start} ? {aligned[j]} : {bufs[j]}", xlo, xhi)
              for j in range(n)]
        cur = [self.wire(f"{base}_a0_{e}", aw, f"{start} ? {lit(bias[e], aw)} : {accs[e]}",
                         alo, ahi, a_signed) for e in range(m)]
        for s in range(k_mul):
            ks = [t * k_mul + s for t in range(t_cyc)]
            if ks[0] >= m * n:
                continue
            w_s = self.wire(f"{base}_w{s}", ww, chain(step, cw, [
                lit(w_raw[k] if k < m * n else 0, ww) for k in ks]), wlo, whi)
            x_s = self.wire(f"{base}_xs{s}", xw, chain(step, cw, [
                xe[k % n].name if k < m * n else lit(0, xw) for k in ks]), xlo, xhi)
            prod = self.product(w_s, x_s, f"{base}_p{s}")
            rows = [k // n if k < m * n else m for k in ks]
            row = self.wire(f"{base}_row{s}", eb, chain(step, cw, [f"{eb}'d{r}" for r in rows]),
                            0, m, False).name
            targets = sorted({r for r in rows if r < m})
            picked = cur[targets[0]]
            if len(targets) > 1:
                picked = self.wire(f"{base}_r{s}", aw, chain(row, eb, [
                    cur[r].name if r in targets else cur[targets[0]].name
                    for r in range(targets[-1] + 1)]), alo, ahi, a_signed)
            if acc_fmt:
                cast = self.wire(f"{base}_c{s}", aw, self.quantised(
                    prod, p.w_fmt.frac + top_f - acc_fmt.frac, acc_fmt), alo, ahi, a_signed)
                tot = self.total([(picked, 0, 1), (cast, 0, 1)], f"{base}_t{s}")
                upd = self.wire(f"{base}_u{s}", aw, self.quantised(tot, 0, acc_fmt),
                                alo, ahi, a_signed)
            else:
                upd = self.total([(picked, 0, 1), (prod, shift, 1)], f"{base}_u{s}", aw)
            cur = [self.wire(f"{base}_n{s}_{e}", aw, f"({row} == {eb}'d{e}) ? {upd.name} : "
                             f"{cur[e].name}", alo, ahi, a_signed) if e in targets else cur[e]
                   for e in range(m)]
        results = [self.quantised(v, wf - c.fmt.frac, c.fmt) for v in cur]
        last = f"({step} == {cw}'d{t_cyc - 1})"
        lines = ["always @(posedge clk)", "  if (rst) begin",
                 f"    {busy} <= 1'b0;", f"    {cnt} <= {cw}'d0;"]
        lines += [f"    {b} <= {xw}'d0;" for b in bufs]
        lines += [f"    {a} <= {aw}'d0;" for a in accs]
        lines += [f"    {o} <= {zero};" for o in outs]
        lines += [f"  end else if ({go}) begin"]
        lines += [f"    {b} <= {x.name};" for b, x in zip(bufs, xe)]
        lines += [f"    {a} <= {v.name if v.width == aw else v.ext(aw)};"
                  for a, v in zip(accs, cur)]
        lines += [f"    {cnt} <= {last} ? {cw}'d0 : {step} + {cw}'d1;",
                  f"    {busy} <= ~{last};", f"    if ({last}) begin"]
        lines += [f"      {o} <= {r};" for o, r in zip(outs, results)]
        self.seq.append("\n".join(lines + ["    end", "  end"]))

    # -- the text ----------------------------------------------------------------------------
    def logic(self) -> tuple[list[str], list[str], list[str]]:
        """The combinational values as register declarations, continuous assignments and one
        block.

        Every value that reads an input or a register is a blocking assignment in one
        ``always @*`` block, in operand order: an event-driven simulator (Icarus) runs it once
        when its sources change, where continuous assignments were re-evaluated (and their
        quantiser functions called) each time one of their operands settled, hundreds of times
        a cycle in a network. The block reads a ROM through a function (``ROM_read``): read
        directly, the block would be sensitive to all its words. Constants, and values of
        constants only, stay continuous assignments (a block that reads nothing that changes
        would never run)."""
        dynamic = set(self.sources)
        regs, wires, block, readers = [], [], [], {}
        for v in self.comb:
            port = self.comb_ports.get(v.name)
            if not dynamic.intersection(NAME.findall(LITERAL.sub(" ", v.expr))):
                expr = f"{v.rom}[{v.expr}]" if v.rom else v.expr
                if port is None:
                    wires.append(f"wire [{v.width - 1}:0] {v.name} = {expr};")
                else:
                    self.port_decls[port] = f"output wire [{v.width - 1}:0] {v.name}"
                    wires.append(f"assign {v.name} = {expr};")
                continue
            dynamic.add(v.name)
            if v.rom and v.rom not in readers:
                readers[v.rom] = self.namer.take(f"{v.rom}_read")
                words = self.rom_words[v.rom]
                self.funcs.append(function(readers[v.rom], v.width, [("k", ubits(words - 1))],
                                           [], [f"{readers[v.rom]} = {v.rom}[k];"],
                                           f"a word of {v.rom}"))
            if port is None:
                regs.append(f"reg [{v.width - 1}:0] {v.name};")
            else:
                self.port_decls[port] = f"output reg [{v.width - 1}:0] {v.name}"
            block.append(f"  {v.name} = {readers[v.rom]}({v.expr});" if v.rom
                         else f"  {v.name} = {v.expr};")
        return regs, wires, ["always @* begin", *block, "end"] if block else []

    def render(self) -> str:
        regs, wires, blocks = self.logic()
        body = self.decls + regs + wires + self.body
        text = "\n".join(body + [v.expr for v in self.comb] + self.seq + self.roms)
        # a name is read where it stands other than in its declaration or left of an assignment
        counts = Counter(NAME.findall(WRITTEN.sub(" ", LITERAL.sub(" ", text))))
        declared = [_declared(d) for d in body if d.startswith(("wire ", "reg "))
                    and not MEMORY.match(d)]
        unused = [n for n in declared if counts[n] == 1]
        unused += [d.split()[-1] for d in self.port_decls if d.startswith("input")
                   and counts[d.split()[-1]] == 0]
        unused += [n for n in ("clk", "rst", "in_valid") if counts[n] == 0]
        lines = [f"// {self.top}: written by lstm_hw from {self.hw.path}, cycle-exact with "
                 f"`lstm-hw run --per-cycle`.",
                 "// Every port and signal holds the raw bits of its ap_fixed format "
                 "(two's complement where signed).",
                 "/* verilator lint_off DECLFILENAME */   // the file is named by the user",
                 f"module {self.top} (",
                 ",\n".join("  " + d for d in ["input wire clk", "input wire rst",
                                               "input wire in_valid", *self.port_decls]),
                 ");"]
        if self.funcs:
            lines += ["", "// A quantiser, a table index or a select keeps only some bits of "
                      "its argument.", "/* verilator lint_off UNUSEDSIGNAL */", *self.funcs,
                      "/* verilator lint_on UNUSEDSIGNAL */"]
        lines += ["", *body, "", *blocks, "", *self.seq, "", *self.roms]
        if unused:
            lines += ["", "// read by no other signal (kept for the waveforms)",
                      f"wire unused_signals = ^{{1'b0, {', '.join(unused)}}};"]
        return "\n".join(lines + ["", "endmodule", ""])


# op -> the Emitter method writing a cell of it (an op missing here is a bug: InternalError)
CELL_WRITERS = {
    "dot": Emitter.dot, "add": Emitter.total_of,
    "sub": partial(Emitter.total_of, negate_second=True), "mul": Emitter.mul,
    "sigmoid": Emitter.activation, "tanh": Emitter.activation, "mux": Emitter.mux,
    "identity": Emitter.copy, "concat": Emitter.copy, "slice": Emitter.copy,
    "min": partial(Emitter.extreme, second_if="<"), "max": partial(Emitter.extreme, second_if=">"),
    "clip": Emitter.clip,
}


def _declared(decl: str) -> str:
    """The name a 'wire [..] NAME = ...;' or 'reg [..] NAME;' declares."""
    return decl.replace(";", " ").split()[2]


def export_verilog(circuit: Circuit, top: str | None = None) -> VerilogModule:
    """The circuit's hardware (as the simulator runs it) as a Verilog module named ``top``
    (default: the netlist's name). Raises NetlistError where a block cannot be exported."""
    from ..compile.pipeline import compile_circuit
    compiled = compile_circuit(circuit)
    hw, timing = compiled.hardware, compiled.timing
    timed = timing.timed
    delays = [timing.finish[o] if timed else 0 for o in circuit.outputs]
    name = top or circuit.name
    if not IDENT.match(name) or name in KEYWORDS:
        diag = Diagnostics()
        diag.error(SourceLoc(circuit.path), f"the netlist's name '{name}' cannot name a Verilog "
                   f"module (an identifier that is not a keyword)")
        diag.abort_if_errors()
    return Emitter(hw, name, hardware_names(hw, timed), delays).emit()
