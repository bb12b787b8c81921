"""Design -> Circuit: resolve names, sizes, formats and parameters; every error with its location.

The phases, each reporting all of its errors before the next starts:
1. names: every block and input is defined once, every use names a defined signal;
2. sizes: vector widths inferred (through register loops) and checked;
3. formats: default < netlist ``precision`` globs < block ``format`` < caller's overrides;
   structural ops inherit their operand's format; then each op's parameters are built
   (weights quantised, tables filled);
4. checks (checks.py): combinational loops, int64 headroom.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..diagnostics import Diagnostics, SourceLoc, did_you_mean
from ..fixed import FixedFormat, FormatError, parse_format, quantise_floats
from ..netlist.schema import Block, Design, Param, PrecisionRule
from . import luts
from .cells import ACT_PARAMS, ALIASES, OPS, PRECISION_PARTS, SPECS, TIMING_PARAMS, Kind
from .checks import check_headroom, combinational_order
from .circuit import (ActivationParams, Cell, Circuit, ClipParams, ConstParams, DotParams,
                      RegParams, SliceParams)
from .weights import WeightFiles

DEFAULT_FORMAT = "ap_fixed<16,6>"


@dataclass
class Options:
    """What the caller may change without editing the netlist."""

    precision: tuple[PrecisionRule, ...] = ()
    weights_dir: str | None = None     # another folder allowed for weight files


def elaborate(design: Design, options: Options | None = None) -> Circuit:
    return _Elaborator(design, options or Options()).run()


class _OriginDiagnostics(Diagnostics):
    """Diagnostics that also point at the instances a block inside a module came from."""

    def __init__(self, origins: dict):
        super().__init__()
        self.origins = origins

    def abort_if_errors(self) -> None:
        for d in self.items:
            for name in re.findall(r"'([A-Za-z_][\w.]*)'", d.message):
                if name in self.origins:
                    d.notes += [n for n in self.origins[name] if n not in d.notes]
                    break
        super().abort_if_errors()


class _Elaborator:
    def __init__(self, design: Design, options: Options):
        self.d = design
        self.opt = options
        self.diag = _OriginDiagnostics(design.origins)
        self.names: dict[str, int] = {}
        self.cells: list[Cell] = []
        self.blocks: dict[int, Block] = {}
        self.weight_files = WeightFiles(design.path, options.weights_dir)

    def run(self) -> Circuit:
        self.define_names()
        self.diag.abort_if_errors()
        args, ctrls = self.resolve_uses()
        self.diag.abort_if_errors()
        self.infer_sizes(args, ctrls)
        self.diag.abort_if_errors()
        self.resolve_formats()
        self.diag.abort_if_errors()
        for cid, block in self.blocks.items():
            self.build_params(self.cells[cid], block)
        self.diag.abort_if_errors()
        outputs = [self.names[r.name] for r in self.d.outputs]
        order = combinational_order(self.cells, self.diag)
        self.diag.abort_if_errors()
        check_headroom(self.cells, order, self.diag)
        self.diag.abort_if_errors()
        inputs = [c.id for c in self.cells if c.kind is Kind.INPUT]
        files = (self.d.path, *self.d.imported, *map(str, self.weight_files.read))
        return Circuit(self.d.name, self.d.doc, self.d.path, self.cells, inputs, outputs, order,
                       dict(self.names), self.task_settings(), self.clock_settings(), files)

    def clock_settings(self) -> dict:
        """``clock: {ii: N}``: the initiation interval the design must meet."""
        if self.d.clock is None:
            return {}
        value = self.d.clock.value
        if not isinstance(value, dict) or set(value) - {"ii"}:
            self.diag.error(self.d.clock.loc, "clock: expected {ii: N} (the initiation "
                            "interval: cycles between time steps)")
        elif not isinstance(value.get("ii", 1), int) or isinstance(value.get("ii"), bool) \
                or value.get("ii", 1) < 1:
            self.diag.error(self.d.clock.loc, f"clock: ii must be an integer >= 1, got "
                            f"{value.get('ii')!r}")
        self.diag.abort_if_errors()
        return dict(value, loc=self.d.clock.loc)

    def task_settings(self) -> dict:
        return {} if self.d.task is None else dict(self.d.task.value)   # checked by the parser

    # -- 1. names ------------------------------------------------------------------------------
    def define_names(self) -> None:
        first: dict[str, SourceLoc] = {}
        for port in self.d.inputs:
            self.add_cell(port.name, "input", port.size, port.loc, first)
        for block in self.d.blocks.values():
            op = ALIASES.get(block.op, block.op)
            if op not in OPS:
                self.diag.error(block.op_loc, f"block '{block.name}': unknown op '{block.op}'"
                                f"{did_you_mean(block.op, list(OPS) + list(ALIASES))}")
                continue
            cid = self.add_cell(block.name, op, 0, block.loc, first)
            if cid is not None:
                self.blocks[cid] = block
        if not self.d.outputs:
            self.diag.error(self.d.loc, "the netlist has no outputs")

    def add_cell(self, name, op, size, loc, first) -> int | None:
        if name in first:
            if SPECS[op].kind is Kind.INPUT:
                message = f"input '{name}' is listed twice"
            else:   # blocks are keys of one mapping: the parser refused duplicates among them
                message = (f"block '{name}': the name is already taken by an input (a block's "
                           "name is its output signal)")
            self.diag.error(loc, message, [(first[name], f"'{name}' is first defined here")])
            return None
        first[name] = loc
        cid = len(self.cells)
        self.cells.append(Cell(cid, name, op, size, None, loc=loc))
        self.names[name] = cid
        return cid

    def lookup(self, name: str, loc: SourceLoc, reader: str | None) -> int | None:
        """The id of a signal; reader: the block that uses it (None: a netlist output)."""
        if name in self.names:
            return self.names[name]
        what = f"{reader} reads '{name}', which" if reader else f"output '{name}'"
        self.diag.error(loc, f"{what} is not defined{did_you_mean(name, self.names)}")
        return None

    def resolve_uses(self):
        args: dict[int, list[int]] = {}
        ctrls: dict[int, dict[str, int]] = {}
        for cid, block in self.blocks.items():
            cell = self.cells[cid]
            spec = cell.spec
            what = f"block '{block.name}'"
            for key, p in block.params.items():
                if key in TIMING_PARAMS and spec.kind is Kind.STATE:
                    self.diag.error(p.key_loc, f"{what}: a 'reg' takes no latency: it is the "
                                    "state carried from one time step to the next; put the "
                                    "latency on the block that feeds it")
                elif key in TIMING_PARAMS and spec.kind is not Kind.CONST:
                    self.check_count(p, what, key, 0)
                elif key != "format" and key not in spec.params:
                    hint = did_you_mean(key, spec.params + ("format", "in"))
                    self.diag.error(p.key_loc, f"{what}: op '{cell.op}' has no parameter "
                                    f"'{key}'{hint}")
            for key in spec.required:
                if key not in block.params and key not in spec.signals:
                    self.diag.error(block.loc, f"{what}: op '{cell.op}' needs '{key}'")
            n = len(block.inputs)
            if n < spec.min_in or (spec.max_in is not None and n > spec.max_in):
                want = (f"exactly {spec.min_in}" if spec.min_in == spec.max_in else
                        f"at least {spec.min_in}" if spec.max_in is None else
                        f"{spec.min_in} to {spec.max_in}")
                where = (block.inputs[spec.max_in].loc if spec.max_in is not None and
                         n > spec.max_in else block.inputs[0].loc if block.inputs else block.op_loc)
                one = spec.min_in == 1 and spec.max_in in (1, None)
                self.diag.error(where, f"{what}: op '{cell.op}' takes {want} input"
                                f"{'' if one else 's'} in 'in', got {n}")
            ids = [self.lookup(r.name, r.loc, what) for r in block.inputs]
            args[cid] = [i for i in ids if i is not None]
            ctrls[cid] = {}
            for key, meaning in spec.signals.items():
                if key in spec.required and key not in block.params:
                    self.diag.error(block.loc, f"{what}: op '{cell.op}' needs '{key}', "
                                    f"{meaning}")
                if key in block.params:
                    p = block.params[key]
                    if not isinstance(p.value, str):
                        self.diag.error(p.loc, f"{what}: '{key}' must name a signal")
                        continue
                    target = self.lookup(p.value, p.loc, what)
                    if target is not None:
                        ctrls[cid][key] = target
        for ref in self.d.outputs:
            self.lookup(ref.name, ref.loc, None)
        return args, ctrls

    def check_count(self, p: Param, what: str, key: str, least: int) -> None:
        if isinstance(p.value, bool) or not isinstance(p.value, int) or p.value < least:
            self.diag.error(p.loc, f"{what}: '{key}' must be an integer >= {least}, "
                            f"got {p.value!r}")

    # -- 2. sizes ------------------------------------------------------------------------------
    def infer_sizes(self, args, ctrls) -> None:
        for cid, block in self.blocks.items():
            self.cells[cid].args = tuple(args[cid])
            self.cells[cid].ctrl = ctrls[cid]
        pending = set(self.blocks)
        optimistic = False
        while pending:
            # size what all operands tell; only when stuck (a register loop) let an elementwise
            # op take its size from the operands known so far, then be strict again
            progress = False
            for cid in sorted(pending):
                size = self.size_of(self.cells[cid], self.blocks[cid], optimistic)
                if size:
                    self.cells[cid].size = size
                    pending.discard(cid)
                    progress = True
                    if optimistic:
                        break
            if progress:
                optimistic = False
            elif not optimistic:
                optimistic = True
            else:
                for cid in sorted(pending):
                    self.diag.error(self.cells[cid].loc, f"block '{self.cells[cid].name}': "
                                    "cannot infer its vector size (give its register an "
                                    "'init' vector)")
                return
        for cid, block in self.blocks.items():
            self.check_sizes(self.cells[cid], block)

    def size_of(self, cell: Cell, block: Block, optimistic: bool = False) -> int:
        """The cell's size if it can be told yet, else 0 (optimistic: from known operands)."""
        sizes = [self.cells[a].size for a in cell.args]
        kind = cell.kind
        if kind is Kind.CONST:
            v = block.param("value")
            return len(v) if isinstance(v, list) and v else 1
        if kind is Kind.DOT:
            w = block.param("weights")
            if isinstance(w, list) and w and all(isinstance(r, list) for r in w):
                return len(w)
            if isinstance(w, dict):
                arr = self.load_array(block, "weights", quiet=True)
                return arr.shape[0] if arr is not None and arr.ndim == 2 else 1
            return 1
        if kind is Kind.STATE:
            init = block.param("init", 0)
            if isinstance(init, list) and init:
                return len(init)
            return sizes[0] if sizes else 0
        if kind is Kind.SLICE:
            if 0 in sizes:
                return 0
            try:
                return len(self.slice_index(block, sum(sizes)))
            except ValueError:
                return 1   # reported by check_sizes
        if cell.spec.concat:
            return 0 if 0 in sizes else sum(sizes)
        sizes += [self.cells[t].size for t in cell.ctrl.values()]   # a mux's sel broadcasts too
        known = [s for s in sizes if s]
        if len(known) < len(sizes) and not optimistic:
            return 0
        return max(known) if known else 0

    def check_sizes(self, cell: Cell, block: Block) -> None:
        what = f"block '{cell.name}'"
        spec = cell.spec
        if spec.elementwise:
            for ref, a in zip(block.inputs, cell.args):
                s = self.cells[a].size
                if s not in (1, cell.size):
                    self.diag.error(ref.loc, f"{what}: '{ref.name}' has {s} elements, expected 1 "
                                    f"or {cell.size} (elementwise '{cell.op}')")
        if cell.kind is Kind.STATE and cell.args and self.cells[cell.args[0]].size != cell.size:
            self.diag.error(block.inputs[0].loc, f"{what}: the register holds {cell.size} "
                            f"elements but its input '{block.inputs[0].name}' has "
                            f"{self.cells[cell.args[0]].size}")
        for key, target in cell.ctrl.items():
            s = self.cells[target].size
            if s not in (1, cell.size):
                self.diag.error(block.loc_of(key), f"{what}: '{key}' signal "
                                f"'{self.cells[target].name}' has {s} elements, expected 1 or "
                                f"{cell.size}")
        if cell.kind is Kind.SLICE:
            try:
                self.slice_index(block, sum(self.cells[a].size for a in cell.args))
            except ValueError as exc:
                given = [k for k in ("index", "start", "stop", "step") if k in block.params]
                self.diag.error(block.loc_of(given[0]) if given else block.loc, f"{what}: {exc}")

    def slice_index(self, block: Block, n: int) -> list[int]:
        if "index" in block.params:
            idx = block.param("index")
            idx = [idx] if isinstance(idx, int) and not isinstance(idx, bool) else idx
            if not isinstance(idx, list) or not idx or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in idx):
                raise ValueError("'index' must be an integer or a list of integers")
            bad = [i for i in idx if not -n <= i < n]
            if bad:
                raise ValueError(f"index {bad[0]} is out of range for {n} elements (0 to "
                                 f"{n - 1}, or -{n} to -1 from the end)")
            return [i % n for i in idx]
        vals = [block.param(k) for k in ("start", "stop", "step")]
        if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in vals):
            raise ValueError("'start', 'stop' and 'step' must be integers")
        if vals[2] == 0:
            raise ValueError("'step' must not be 0")
        idx = list(range(n))[slice(*vals)]
        if not idx:
            raise ValueError(f"the slice selects no element of {n}")
        return idx

    # -- 3. formats ----------------------------------------------------------------------------
    def parse_fmt(self, text, loc: SourceLoc, what: str) -> FixedFormat | None:
        """``what`` names the setting, e.g. "block 'y': format"; errors quote the text."""
        try:
            return parse_format(text)
        except FormatError as exc:
            message = str(exc)
            if isinstance(text, str) and f"'{text}'" not in message:
                message = f"'{text}': {message}"
            sep = " " if message.startswith("'") else ": "
            self.diag.error(loc, f"{what}{sep}{message}")
            return None

    def rules(self, part: str) -> list[PrecisionRule]:
        return [r for r in self.d.precision if r.part == part], \
               [r for r in self.opt.precision if r.part == part]

    def has_part(self, name: str, part: str) -> bool:
        """Whether the block ``name`` has the --precision PART (a table: not pwl or exact)."""
        cid = self.names[name]
        if self.cells[cid].kind is not PRECISION_PARTS[part][1]:
            return False
        return part not in ("table", "table_size") or \
            not {"pwl", "exact"} & set(self.blocks[cid].params)

    def explicit_format(self, name: str, own: Param | None, part: str, own_what: str):
        """The format set for name's part, most specific last; None if nothing sets it.

        own: the format written in the block (or input) itself, which ``own_what`` names.
        """
        netlist_rules, caller_rules = self.rules(part)
        chosen = None
        for rule in netlist_rules:
            if fnmatch.fnmatchcase(name, rule.pattern):
                chosen = (rule.format, rule.loc, f"precision '{rule.pattern}': format")
        if own is not None:
            chosen = (own.value, own.loc, own_what)
        for rule in caller_rules:
            if fnmatch.fnmatchcase(name, rule.pattern):
                chosen = (rule.format, rule.loc, f"--precision '{rule.pattern}': format")
        if chosen is None:
            return None
        return self.parse_fmt(chosen[0], chosen[1], chosen[2])

    def resolve_formats(self) -> None:
        default_param = self.d.default_format
        self.default = parse_format(DEFAULT_FORMAT) if default_param is None else \
            self.parse_fmt(default_param.value, default_param.loc, "the default format")
        for rule in list(self.d.precision) + list(self.opt.precision):
            if rule.part == "table_size":
                if not rule.format.isdigit():
                    self.diag.error(rule.loc, f"precision '{rule.pattern}:table_size': expected "
                                    f"a number of table entries, got '{rule.format}'")
            else:
                self.parse_fmt(rule.format, rule.loc, f"precision '{rule.pattern}': format")
            matches = [n for n in self.names if fnmatch.fnmatchcase(n, rule.pattern)]
            if not matches:
                self.diag.error(rule.loc, f"precision '{rule.pattern}' matches no signal"
                                f"{did_you_mean(rule.pattern, self.names)}")
            elif rule.part != "result" and not any(self.has_part(n, rule.part) for n in matches):
                what, _ = PRECISION_PARTS[rule.part]
                shown = ", ".join(f"'{n}' ({self.cells[self.names[n]].op})" for n in matches[:3])
                self.diag.error(rule.loc, f"precision '{rule.pattern}:{rule.part}' sets {what}, "
                                f"but it matches only {shown}{' ...' * (len(matches) > 3)}, "
                                f"which {'has' if len(matches) == 1 else 'have'} none")
        if self.diag:
            return
        ports = {p.name: p for p in self.d.inputs}
        explicit: dict[int, FixedFormat | None] = {}
        for cell in self.cells:
            if cell.kind is Kind.INPUT:
                own, kind = ports[cell.name].format, "input"
            else:
                own, kind = self.blocks[cell.id].params.get("format"), "block"
            explicit[cell.id] = self.explicit_format(cell.name, own, "result",
                                                     f"{kind} '{cell.name}': format")
        for cell in self.cells:
            cell.fmt = self.inherited(cell.id, explicit, set())

    def inherited(self, cid: int, explicit, seen: set) -> FixedFormat:
        cell = self.cells[cid]
        if cell.fmt is not None:
            return cell.fmt
        fmt = explicit[cid]
        if fmt is None and cell.spec.structural and cid not in seen:
            seen.add(cid)
            fmts = {self.inherited(a, explicit, seen) for a in cell.args}
            fmt = fmts.pop() if len(fmts) == 1 else None
        return fmt or self.default

    # -- 3b. parameters ------------------------------------------------------------------------
    def build_params(self, cell: Cell, block: Block) -> None:
        latency = block.param("latency", 0)
        cell.latency = latency if isinstance(latency, int) else 0
        build = {Kind.CONST: self.params_const, Kind.DOT: self.params_dot,
                 Kind.STATE: self.params_reg, Kind.CLIP: self.params_clip,
                 Kind.SLICE: self.params_slice, Kind.ACTIVATION: self.params_activation}
        if cell.kind in build:   # the other kinds have no parameters beyond their format
            build[cell.kind](cell, block)

    def numbers(self, block: Block, key: str, shape: tuple[int, ...], default=None):
        """A number, list or matrix parameter as float64 of the given shape (None on error)."""
        what = f"block '{block.name}'"
        if key not in block.params:
            if default is None:
                return None
            return np.full(shape, float(default))
        value = block.param(key)
        if isinstance(value, dict):
            arr = self.load_array(block, key)
            if arr is None:
                return None
        else:
            bad = [v for v in _flat(value) if isinstance(v, bool) or
                   not isinstance(v, (int, float))]
            if bad:
                self.diag.error(block.loc_of(key), f"{what}: '{key}' must be numbers, got "
                                f"{bad[0]!r}{_yaml_number_hint(bad[0])}")
                return None
            try:
                arr = np.array(value, dtype=np.float64)
            except ValueError:
                self.diag.error(block.loc_of(key), f"{what}: '{key}' has rows of different "
                                "lengths")
                return None
        if np.isnan(arr).any():
            self.diag.error(block.loc_of(key), f"{what}: '{key}' has a NaN (not a number)")
            return None
        if np.isinf(arr).any():
            self.diag.error(block.loc_of(key), f"{what}: '{key}' has an infinite value")
            return None
        if arr.ndim == 0:
            arr = np.full(shape, float(arr))
        if len(shape) == 2 and arr.ndim == 1 and shape[0] == 1:
            arr = arr[None, :]
        if arr.shape != shape:
            self.diag.error(block.loc_of(key), f"{what}: '{key}' has shape "
                            f"{'x'.join(map(str, arr.shape))}, expected "
                            f"{'x'.join(map(str, shape))}{self.shape_hint(block, key, shape)}")
            return None
        return arr

    def shape_hint(self, block: Block, key: str, shape) -> str:
        if key == "weights" and len(shape) == 2:
            parts = " + ".join(f"{self.cells[self.names[r.name]].name}"
                               f"[{self.cells[self.names[r.name]].size}]" for r in block.inputs)
            return (f" ({shape[0]} output{'s' if shape[0] > 1 else ''} x {shape[1]} "
                    f"input{'s' if shape[1] > 1 else ''}: {parts})")
        return ""

    def load_array(self, block: Block, key: str, quiet: bool = False):
        """The array a parameter reads from a weight file (None on error; quiet: no message,
        when sizes are only being guessed)."""
        spec = block.params[key]
        try:
            return self.weight_files.array(spec.value, key)
        except ValueError as exc:
            if not quiet:
                self.diag.error(spec.loc, f"block '{block.name}': {exc}")
            return None

    def params_const(self, cell: Cell, block: Block) -> None:
        v = self.numbers(block, "value", (cell.size,))
        if v is not None:
            cell.params = ConstParams(v, quantise_floats(v, cell.fmt)[0])

    def params_dot(self, cell: Cell, block: Block) -> None:
        n = sum(self.cells[a].size for a in cell.args)
        w = self.numbers(block, "weights", (cell.size, n))
        b = self.numbers(block, "bias", (cell.size,), default=0)
        what = f"block '{cell.name}'"
        w_fmt = self.explicit_format(cell.name, block.params.get("weight_format"), "weight",
                                     f"{what}: weight_format") or cell.fmt
        b_fmt = self.explicit_format(cell.name, block.params.get("bias_format"), "bias",
                                     f"{what}: bias_format") or w_fmt
        accum = self.explicit_format(cell.name, block.params.get("accum"), "accum",
                                     f"{what}: accum")
        if w is None or b is None:
            return
        products = cell.size * w.shape[1]
        if "multipliers" in block.params and "reuse" in block.params:
            self.diag.error(block.loc_of("reuse"), f"block '{cell.name}': give 'multipliers' or "
                            "'reuse', not both")
        multipliers = 0
        for key in ("multipliers", "reuse"):
            if key in block.params:
                self.check_count(block.params[key], f"block '{cell.name}'", key, 1)
                k = block.param(key)
                if isinstance(k, int) and k >= 1:
                    multipliers = min(k, products) if key == "multipliers" \
                        else -(-products // k)
        cell.params = DotParams(w, b, quantise_floats(w, w_fmt)[0], quantise_floats(b, b_fmt)[0],
                                w_fmt, b_fmt, accum, multipliers)

    def params_reg(self, cell: Cell, block: Block) -> None:
        init = self.numbers(block, "init", (cell.size,), default=0)
        if init is not None:
            cell.params = RegParams(init, quantise_floats(init, cell.fmt)[0])

    def params_clip(self, cell: Cell, block: Block) -> None:
        """lo and hi as written (the float reference) and quantised into the cell's format."""
        lo = self.numbers(block, "lo", (cell.size,))
        hi = self.numbers(block, "hi", (cell.size,))
        if lo is None or hi is None:
            return
        (lo_raw, lo_over), (hi_raw, hi_over) = (quantise_floats(v, cell.fmt) for v in (lo, hi))
        fmt = cell.fmt
        for key, over in (("lo", lo_over), ("hi", hi_over)):
            if over.any():
                self.diag.error(block.loc_of(key), f"block '{cell.name}': '{key}' does not fit "
                                f"its format {fmt} [{fmt.to_float(fmt.lo):g}, "
                                f"{fmt.to_float(fmt.hi):g}]")
                return
        if (lo_raw > hi_raw).any():
            self.diag.error(block.loc_of("lo"), f"block '{cell.name}': 'lo' is above 'hi' (in "
                            f"its format {fmt})")
            return
        cell.params = ClipParams(lo, hi, lo_raw, hi_raw)

    def params_slice(self, cell: Cell, block: Block) -> None:
        n = sum(self.cells[a].size for a in cell.args)
        cell.params = SliceParams(np.array(self.slice_index(block, n), dtype=np.int64))

    def params_activation(self, cell: Cell, block: Block) -> None:
        what = f"block '{cell.name}'"
        given = [k for k in ACT_PARAMS if k in block.params]
        if len(given) > 1:
            self.diag.error(block.loc_of(given[1]), f"{what}: give one of table, pwl, exact")
            return
        kind = given[0] if given else "table"
        conf = block.param(kind, {}) if given else dict(luts.DEFAULT_TABLE)
        loc = block.loc_of(kind)
        in_fmt = self.cells[cell.args[0]].fmt
        try:
            if kind == "exact":
                if conf is not True:
                    raise ValueError("write 'exact: true'")
                cell.params = ActivationParams("exact")
                return
            if not isinstance(conf, dict):
                raise ValueError(f"'{kind}' must be a mapping")
            if kind == "table":
                conf = {**luts.DEFAULT_TABLE, **conf}
                netlist_rules, caller_rules = self.rules("table_size")
                own = isinstance(block.param("table"), dict) and "size" in block.param("table")
                sizes = [r for r in (caller_rules if own else netlist_rules + caller_rules)
                         if fnmatch.fnmatchcase(cell.name, r.pattern)]
                if sizes:   # GLOB:table_size=N, as formats: most specific last
                    conf["size"] = int(sizes[-1].format)
                unknown = set(conf) - set(luts.DEFAULT_TABLE)
                if unknown:
                    raise ValueError(f"table has no key '{sorted(unknown)[0]}'"
                                     f"{did_you_mean(sorted(unknown)[0], luts.DEFAULT_TABLE)}")
                if not isinstance(conf["float32"], bool):
                    raise ValueError("table 'float32' must be true or false")
                if conf["format"] is not None and "entries" in block.param("table", {}):
                    raise ValueError("table: give 'entries' (rounding into the block's format) "
                                     "or 'format' (the entries' own format, rounded as it "
                                     "says), not both")
                own_fmt = Param(conf["format"], loc, loc) if conf["format"] is not None \
                    else None
                entry_fmt = self.explicit_format(cell.name, own_fmt, "table",
                                                 f"{what}: table format")
                if entry_fmt is None and self.diag:
                    return
                lo, hi = _range(conf["range"])
                table = luts.build_table(cell.op, conf["size"], lo, hi, conf["index"],
                                         conf["entries"], in_fmt, cell.fmt, entry_fmt,
                                         conf["float32"])
                cell.params = ActivationParams("table", table=table)
            else:
                unknown = set(conf) - {"points", "segments", "range", "coef_format"}
                if unknown:
                    raise ValueError(f"pwl has no key '{sorted(unknown)[0]}'")
                coef = self.parse_fmt(conf["coef_format"], loc, f"{what}: pwl coef_format") \
                    if "coef_format" in conf else cell.fmt
                if coef is None:
                    return
                points = None
                if "points" in conf:
                    pts = conf["points"]
                    if not isinstance(pts, list) or not all(
                            isinstance(p, list) and len(p) == 2 for p in pts):
                        raise ValueError("pwl 'points' must be a list of [x, y] pairs")
                    points = [(luts.exact_number(x), float(luts.exact_number(y)))
                              for x, y in pts]
                lo, hi = _range(conf["range"]) if "range" in conf else (None, None)
                pwl = luts.build_pwl(cell.op, points, conf.get("segments"), lo, hi, in_fmt, coef)
                cell.params = ActivationParams("pwl", pwl=pwl)
        except ValueError as exc:
            self.diag.error(loc, f"{what}: {exc}")


def _range(value) -> tuple[Fraction, Fraction]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("'range' must be [lo, hi]")
    return luts.exact_number(value[0]), luts.exact_number(value[1])


def _yaml_number_hint(value) -> str:
    """PyYAML (YAML 1.1) reads 1e-3 as text: a float needs a '.' before its exponent."""
    if not isinstance(value, str) or "." in value or "e" not in value.lower():
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    mantissa, exponent = value.lower().split("e", 1)
    return f" (YAML reads {value} as text: write {mantissa}.0e{exponent})"


def _flat(value):
    if isinstance(value, list):
        for v in value:
            yield from _flat(v)
    else:
        yield value
