"""The elaborated circuit: a flat list of cells with int ids and resolved formats.

Cell ``i`` drives signal ``i`` (a vector of ``size`` elements in format ``fmt``). ``args`` are the
ids of its data operands in order; ``ctrl`` names its control operands (reg: enable, reset; mux:
sel). ``params`` holds the op's resolved parameters, one record per kind of op (below): float
values as written (for the float reference) and their quantised raw integers (for the engines).
``latency`` is its pipeline stages; the clocked circuit's cells also carry ``clocking`` (timing.py).
``order`` lists the combinational
cells so that every operand comes before its reader; registers, inputs and constants are sources.
``dump()`` prints one line per cell (what ``lstm-hw info --dump`` shows and tests compare).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..diagnostics import SourceLoc
from ..fixed import FixedFormat
from .cells import SPECS, Kind, OpSpec

if TYPE_CHECKING:
    from .luts import Pwl, Table


@dataclass(frozen=True)
class NoParams:
    """The parameters of an op that has none beyond its format (sum, product, cast, mux...)."""


@dataclass(frozen=True)
class ConstParams:
    value: np.ndarray            # float64 [size], as written
    raw: np.ndarray              # int64 [size], in the cell's format


@dataclass(frozen=True)
class DotParams:
    weights: np.ndarray          # float64 [size, n], as written
    bias: np.ndarray             # float64 [size]
    w_raw: np.ndarray            # int64, in w_fmt
    b_raw: np.ndarray            # int64, in b_fmt
    w_fmt: FixedFormat
    b_fmt: FixedFormat
    accum: FixedFormat | None    # hls4ml's accum_t: each product and partial sum cast into it
    multipliers: int = 0         # K (folded over ceil(products / K) cycles); 0: one per product


@dataclass(frozen=True)
class RegParams:
    init: np.ndarray             # float64 [size]
    init_raw: np.ndarray         # int64 [size], in the cell's format


@dataclass(frozen=True)
class ClipParams:
    lo: np.ndarray               # float64 [size], as written
    hi: np.ndarray
    lo_raw: np.ndarray           # int64 [size], in the cell's format
    hi_raw: np.ndarray


@dataclass(frozen=True)
class SliceParams:
    index: np.ndarray            # int64: the elements of the concatenated operands it selects


@dataclass(frozen=True)
class ActivationParams:
    impl: str                    # table, pwl or exact
    table: Table | None = None
    pwl: Pwl | None = None


OpParams = (NoParams | ConstParams | DotParams | RegParams | ClipParams | SliceParams
            | ActivationParams)


@dataclass(frozen=True)
class Clocking:
    """What timing.expand adds to a combinational cell of the clocked circuit."""
    valid: int                  # the bit that says its operands hold a time step's data:
    #                             overflow counts only then
    fold_cycles: int = 0        # a folded dot: cycles per result (0: not folded)
    start: int | None = None    # a folded dot: the bit that starts its state machine


@dataclass
class Cell:
    id: int
    name: str
    op: str
    size: int
    fmt: FixedFormat
    args: tuple[int, ...] = ()
    ctrl: dict[str, int] = field(default_factory=dict)
    params: OpParams = NoParams()
    loc: SourceLoc = SourceLoc("<circuit>")
    clocking: Clocking | None = None    # the clocked circuit's cells only (timing.expand)
    latency: int = 0                     # pipeline register stages on its output

    @property
    def spec(self) -> OpSpec:
        return SPECS[self.op]

    @property
    def kind(self) -> Kind:
        return SPECS[self.op].kind

    @property
    def impl(self) -> str:
        """An activation's implementation (table, pwl or exact); "" for other ops."""
        return self.params.impl if isinstance(self.params, ActivationParams) else ""

    @property
    def fold_cycles(self) -> int:
        """A folded dot's cycles per result in the clocked circuit; 0 elsewhere."""
        return self.clocking.fold_cycles if self.clocking else 0

    @property
    def is_reg(self) -> bool:
        return self.kind is Kind.STATE


@dataclass
class Circuit:
    name: str
    doc: str
    path: str
    cells: list[Cell]
    inputs: list[int]
    outputs: list[int]
    order: list[int]                 # combinational cells, operands first
    by_name: dict[str, int] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)   # the netlist's `task:` settings
    clock: dict[str, Any] = field(default_factory=dict)  # `clock: {ii: N}` (and its loc)
    files: tuple[str, ...] = ()      # every file it was read from: netlist, imports, weights

    @property
    def regs(self) -> list[int]:
        return [c.id for c in self.cells if c.is_reg]

    @property
    def consts(self) -> list[int]:
        return [c.id for c in self.cells if c.kind is Kind.CONST]

    def cell(self, name: str) -> Cell:
        return self.cells[self.by_name[name]]

    def input_columns(self) -> list[str]:
        """CSV column names of the inputs: ``x`` for one element, ``x[0]``, ``x[1]``... else."""
        return _columns([self.cells[i] for i in self.inputs])

    def output_columns(self) -> list[str]:
        return _columns([self.cells[i] for i in self.outputs])

    def dump(self) -> str:
        lines = [f"circuit {self.name}: {len(self.cells)} cells, inputs "
                 f"{', '.join(self.cells[i].name for i in self.inputs)}, outputs "
                 f"{', '.join(self.cells[i].name for i in self.outputs)}"]
        for c in self.cells:
            ops = ", ".join(self.cells[a].name for a in c.args)
            ctrl = "".join(f" {k}={self.cells[v].name}" for k, v in c.ctrl.items())
            lines.append(f"  %{c.id} {c.name}[{c.size}] : {c.fmt} = {c.op}({ops}){ctrl}"
                         f"{_param_summary(c, self.cells)}")
        lines.append("  order: " + " ".join(self.cells[i].name for i in self.order))
        return "\n".join(lines)


def _columns(cells: list[Cell]) -> list[str]:
    cols = []
    for c in cells:
        cols += [c.name] if c.size == 1 else [f"{c.name}[{k}]" for k in range(c.size)]
    return cols


def _param_summary(c: Cell, cells: list[Cell]) -> str:
    """The parameters that say what a cell computes and when, as plain text."""
    p = c.params
    text = ""
    kind = c.kind
    if kind is Kind.DOT:
        text = f" weights:{p.w_fmt} bias:{p.b_fmt}"
        text += f" accum={p.accum}" if p.accum else ""
        text += f" multipliers={p.multipliers}" if p.multipliers else ""
    elif kind is Kind.ACTIVATION:
        text = f" impl={p.impl}"
    elif kind is Kind.SLICE:
        text = f" index={[int(k) for k in p.index]}"
    elif kind is Kind.CLIP:
        text = f" lo={[float(v) for v in p.lo]} hi={[float(v) for v in p.hi]}"
    if c.latency:
        text += f" latency={c.latency}"
    clk = c.clocking
    if clk and clk.fold_cycles:
        text += f" fold_cycles={clk.fold_cycles} start={cells[clk.start].name}"
    if clk:
        text += f" valid={cells[clk.valid].name}"
    return text
