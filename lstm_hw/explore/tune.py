"""``lstm-hw tune``: the cheapest per-group formats that keep a target, found greedily.

Groups: one per block by default (inputs and registers included), or one per ``--groups`` glob
(a block belongs to the last glob that matches it, as with --precision). Each group has knobs:
its result format; for ``dot`` blocks also the weight and bias formats (and the accumulator's,
if one is set); for table activations the table size. A format knob keeps the rounding and
overflow modes the netlist gives and varies the integer bits I and fractional bits F (W = I + F).

The search, every trial judged like a sweep's setting (``evaluate``: check's verdict, or the error
against the float reference):
1. the netlist's own precision must meet the target (else there is nothing to keep: exit 1);
2. integer bits from the profile (the float reference's range, rounded at each format's step,
   sign included; weights and biases from their values); all knobs at once, else one at a time
   from the profile's need up;
3. fractional bits, knob by knob, the knobs that save the most cost first: binary search for the
   fewest that keep the target;
4. integer bits below the profile's need, one at a time (saturating rare large values may be
   harmless), then table sizes, halving (binary search over powers of two);
5. steps 3-4 again while they still find something (at most ``ROUNDS`` rounds).
Greedy, so not guaranteed optimal, and a trial passing on the sample is not a proof; the result
is checked once more as a whole, and printed as --precision lines with the cost before and after.
"""
from __future__ import annotations

import fnmatch
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from ..compile.cells import Kind
from ..compile.circuit import Circuit
from ..compile.elaborate import Options, elaborate
from ..diagnostics import NetlistError, UserError
from ..files import STDOUT, write_output
from ..fixed import FixedFormat, FormatError
from ..netlist import safe_yaml
from ..netlist.parse import parse_design
from ..progress import Progress
from ..report.table import render_table
from ..rtl.synth import SynthTimeout
from .evaluate import EvalConfig, SettingResult, Skipped, elaborate_setting, evaluate, has_task, \
    setting_cost
from .grid import Setting, SweepError
from .profile import Profile, integer_bits, profile

ROUNDS = 3
MIN_TABLE = 2
METRICS = ("accuracy", "rmse", "max_abs", "sqnr")


@dataclass(frozen=True)
class Target:
    """What a tuned setting must keep. metric 'check': check's own verdict."""

    metric: str = "check"
    value: float | None = None

    def met(self, r: SettingResult) -> bool:
        if self.metric == "check":
            return r.task.passed
        if self.metric == "accuracy":
            return r.task.accuracy >= self.value and r.task.lecture_accuracy >= self.value
        outs = r.worst()
        if self.metric == "rmse":
            return outs.rmse <= self.value
        if self.metric == "max_abs":
            return outs.max_abs <= self.value
        return outs.sqnr_db >= self.value

    def describe(self, task_min: float | None = None) -> str:
        if self.metric == "check":
            need = "" if task_min in (None, 1.0) else f" (at least {100 * task_min:g}% right)"
            return f"check passes{need}"
        if self.metric == "accuracy":
            return (f"memory-task accuracy >= {100 * self.value:g}% (output and silent steps, "
                    "random and the lecture's sequences)")
        what = {"rmse": "RMSE <=", "max_abs": "max |fixed - float| <=", "sqnr": "SQNR (dB) >="}
        return f"{what[self.metric]} {self.value:g} on every output, against the float reference"


def parse_target(text: str | None) -> Target:
    if text is None:
        return Target()
    metric, sep, value = text.partition("=")
    metric = metric.strip().lower()
    if not sep or metric not in METRICS:
        raise SweepError(f"--target '{text}': expected accuracy=A, rmse=E, max_abs=E or sqnr=DB")
    try:
        number = float(value)
    except ValueError:
        raise SweepError(f"--target '{text}': '{value}' is not a number") from None
    if metric == "accuracy" and not 0 <= number <= 1:
        raise SweepError(f"--target '{text}': accuracy is a fraction from 0 to 1")
    if metric in ("rmse", "max_abs") and not number >= 0:
        raise SweepError(f"--target '{text}': expected a non-negative error")
    return Target(metric, number)


@dataclass(frozen=True)
class Knob:
    """One format (or table size) that the search varies: a group's part."""

    pattern: str                 # the group's glob
    part: str                    # result, weight, bias, accum, table_size
    cells: tuple[str, ...]       # the blocks it sets
    template: FixedFormat | None = None   # modes (and signedness) kept from the netlist

    def rule(self, state) -> str:
        key = self.pattern if self.part == "result" else f"{self.pattern}:{self.part}"
        if self.part == "table_size":
            return f"{key}={state}"
        return f"{key}={self.format(state)}"

    def format(self, state) -> FixedFormat:
        i, f = state
        return replace(self.template, width=i + f, integer=i,
                       saturation_bits=min(self.template.saturation_bits, i + f))

    def describe(self, state) -> str:
        return str(state) if self.part == "table_size" else str(self.format(state))


@dataclass
class TuneResult:
    config: EvalConfig
    target: Target
    groups: list[tuple[str, list[str]]]
    knobs: list[Knob]
    baseline: SettingResult
    best: SettingResult | None
    rules: list[str]
    start: dict                    # knob -> state from the netlist
    final: dict                    # knob -> tuned state
    profile_start_met: bool | None
    trials: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.best is not None


def make_groups(circuit: Circuit, globs: list[str]) -> list[tuple[str, list[str]]]:
    """[(pattern, block names)]: one per block, or per glob (a block goes to the last glob
    matching it; a glob left with no block is dropped)."""
    names = [c.name for c in circuit.cells]
    if not globs:
        return [(n, [n]) for n in names]
    owner = {}
    for k, g in enumerate(globs):
        hits = [n for n in names if fnmatch.fnmatchcase(n, g)]
        if not hits:
            from ..diagnostics import did_you_mean
            raise SweepError(f"--groups '{g}' matches no block{did_you_mean(g, names)}")
        for n in hits:
            owner[n] = k
    return [(g, [n for n in names if owner.get(n) == k]) for k, g in enumerate(globs)
            if any(owner.get(n) == k for n in names)]


def make_knobs(circuit: Circuit, groups, tables: bool) -> tuple[list[Knob], dict]:
    """The knobs of each group and their states in the netlist as elaborated (the widest
    format of the group's blocks, its modes)."""
    knobs, start = [], {}
    for pattern, names in groups:
        cells = [circuit.cell(n) for n in names]
        parts = [("result", [c.fmt for c in cells])]
        dots = [c for c in cells if c.kind is Kind.DOT]
        if dots:
            parts.append(("weight", [c.params.w_fmt for c in dots]))
            parts.append(("bias", [c.params.b_fmt for c in dots]))
            accums = [c.params.accum for c in dots if c.params.accum]
            if accums:
                parts.append(("accum", accums))
        for part, fmts in parts:
            widest = max(fmts, key=lambda f: (f.width, f.integer))
            knob = Knob(pattern, part, tuple(names), widest)
            knobs.append(knob)
            start[knob] = (max(f.integer for f in fmts), max(f.frac for f in fmts))
        sizes = [len(c.params.table.entries) for c in cells
                 if c.impl == "table"]
        if tables and sizes:
            knob = Knob(pattern, "table_size", tuple(names))
            knobs.append(knob)
            start[knob] = max(sizes)
    return knobs, start


def profile_need(knob: Knob, state, prof: Profile, circuit: Circuit) -> int:
    """Integer bits the knob's values need at its current fractional step."""
    i, f = state
    if knob.part == "accum":      # partial sums are not profiled: keep the netlist's
        return i
    fmt = knob.format(state)
    needs = []
    ranges = prof.by_name()
    for name in knob.cells:
        cell = circuit.cell(name)
        if knob.part == "result":
            r = ranges[name]
            needs.append(integer_bits(r.lo, r.hi, fmt))
        elif knob.part in ("weight", "bias"):
            if cell.kind is not Kind.DOT:
                continue
            values = np.asarray(cell.params.weights if knob.part == "weight" else
                                cell.params.bias, dtype=np.float64)
            if values.size:
                needs.append(integer_bits(float(values.min()), float(values.max()), fmt))
    needs = [n for n in needs if n is not None]
    return max(needs) if needs else 1 - f      # all zero: the narrowest (width 1)


class _Search:
    def __init__(self, config: EvalConfig, target: Target, knobs: list[Knob]):
        self.config, self.target, self.knobs = config, target, knobs
        self.memo: dict[tuple, SettingResult | None] = {}
        self.progress = Progress(None, "settings tried", "tune")
        self.phase = "the starting formats"     # what the search is narrowing, for progress

    def rules(self, state: dict) -> tuple[str, ...]:
        return tuple(k.rule(state[k]) for k in self.knobs)

    def valid(self, knob: Knob, value) -> bool:
        if knob.part == "table_size":
            return value >= MIN_TABLE
        try:   # the format's own rules (widths, integer bits, ap_ufixed's 63 bits)
            knob.format(value)
        except FormatError:
            return False
        return True

    def trial(self, state: dict) -> SettingResult | None:
        """The result if the state meets the target, else None (memoised)."""
        key = self.rules(state)
        if key not in self.memo:
            # a trial is judged on its accuracy only: no synthesis for it with --cost synth
            r = evaluate(replace(self.config, cost="model"), Setting("trial", key))
            self.memo[key] = r if not isinstance(r, Skipped) and self.target.met(r) else None
            self.progress.update(1, self.phase)
        return self.memo[key]

    def cost(self, state: dict) -> float:
        try:
            return setting_cost(self.config,
                                elaborate_setting(self.config, self.rules(state)))["total"]
        except (NetlistError, SynthTimeout):
            return float("inf")

    def lowest(self, state: dict, knob: Knob, values: list) -> bool:
        """Binary search over ``values`` (ascending cost, the last one known to pass) for the
        first that passes; sets it in state. True if it changed."""
        lo, hi = 0, len(values) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.trial({**state, knob: values[mid]}) is not None:
                hi = mid
            else:
                lo = mid + 1
        changed = values[hi] != state[knob]
        state[knob] = values[hi]
        return changed


def tune(config: EvalConfig, target: Target, globs: list[str] = (),
         tables: bool = True) -> TuneResult:
    t0 = time.perf_counter()
    circuit = elaborate_setting(config)
    if target.metric in ("check", "accuracy") and not has_task(circuit):
        raise SweepError(f"'{circuit.name}' does not have the memory task (3 inputs, 1 output): "
                         "give --target rmse=E, max_abs=E or sqnr=DB")
    groups = make_groups(circuit, list(globs))
    knobs, start = make_knobs(circuit, groups, tables)
    search = _Search(config, target, knobs)
    baseline = evaluate(config, Setting("netlist's own precision", ()), -1)
    if isinstance(baseline, Skipped) or not target.met(baseline):
        return TuneResult(config, target, groups, knobs, baseline, None, [], start, start, None,
                          1, time.perf_counter() - t0,
                          ["the netlist's own precision does not meet the target: nothing to "
                           "keep (loosen the target, or widen the formats first)"])
    state = dict(start)
    notes = []
    if search.trial(state) is None:
        notes.append("the group formats (each group at its widest block's format) do not "
                     "meet the target; tuning from the netlist's formats where they differ")
    # 2. integer bits from the profile
    search.phase = "integer bits from the profile"
    prof = profile(config, circuit, show_progress=False)
    need = {k: profile_need(k, state[k], prof, circuit) for k in knobs if k.part != "table_size"}
    jump = dict(state)
    for k, n in need.items():
        i, f = state[k]
        if n < i and search.valid(k, (n, f)):
            jump[k] = (n, f)
    profile_met = search.trial(jump) is not None
    if profile_met:
        state = jump
    else:
        for k in need:
            i, f = state[k]
            values = [(n, f) for n in range(need[k], i + 1) if search.valid(k, (n, f))]
            if len(values) > 1:
                search.lowest(state, k, values)
    # 3-5. fractional bits, integer bits below the profile, table sizes; then again, one step
    # at a time, while that still finds something
    for round_ in range(ROUNDS):
        changed = False
        search.phase = f"round {round_ + 1}: fractional bits"
        for k in _by_saving(search, state):
            i, f = state[k]
            low = 1 - i if round_ == 0 else f - 1
            values = [(i, g) for g in range(low, f + 1) if search.valid(k, (i, g))]
            changed |= search.lowest(state, k, values)
        search.phase = f"round {round_ + 1}: integer bits"
        for k in knobs:
            while k.part != "table_size":
                i, f = state[k]
                if not search.valid(k, (i - 1, f)) or \
                        search.trial({**state, k: (i - 1, f)}) is None:
                    break
                state[k] = (i - 1, f)
                changed = True
        search.phase = f"round {round_ + 1}: table sizes"
        for k in knobs:
            if k.part == "table_size":
                size = state[k]
                values = sorted({1 << p for p in range(1, 21) if (1 << p) < size} | {size})
                changed |= search.lowest(state, k, values if round_ == 0 else values[-2:])
        if not changed:
            break
    best = search.trial(state)
    # keep only the rules that change something against the netlist
    rules = [k.rule(state[k]) for k in knobs if state[k] != start[k]]
    final = evaluate(config, Setting("tuned", tuple(rules)))
    search.progress.close()
    if isinstance(final, Skipped) or not target.met(final):
        rules = list(search.rules(state))
        final = best
    return TuneResult(config, target, groups, knobs, baseline, final, rules, start, state,
                      profile_met, len(search.memo), time.perf_counter() - t0, notes)


def _by_saving(search: _Search, state: dict) -> list[Knob]:
    """Format knobs, the ones whose next fractional bit costs the most first (stable)."""
    now = search.cost(state)
    saving = {}
    for k in search.knobs:
        if k.part == "table_size":
            continue
        i, f = state[k]
        saving[k] = now - search.cost({**state, k: (i, f - 1)}) \
            if search.valid(k, (i, f - 1)) else 0.0
    return sorted(saving, key=lambda k: -saving[k])


def render_tune(r: TuneResult) -> str:
    c = r.config
    task_min = r.baseline.task.min_accuracy if r.baseline.task else None
    lines = [f"tune {c.netlist}: target: {r.target.describe(task_min)}",
             f"  judged on {c.sequences} random sequences of {c.steps} steps (seed {c.seed})"
             + (", as check" if r.baseline.task else "")]
    per_block = all(len(cells) == 1 and cells[0] == g for g, cells in r.groups)
    lines.append(f"  groups: {len(r.groups)} ("
                 + ("one per block" if per_block else
                    ", ".join(f"{g}: {len(cells)} blocks" for g, cells in r.groups)) + ")")
    lines += [f"  note: {n}" for n in r.notes]
    if not r.found:
        lines.append("FAIL: no setting found")
        return "\n".join(lines)
    lines.append(f"  {r.trials} trials in {r.seconds:.1f} s; the profile's integer bits "
                 + ("met the target at once" if r.profile_start_met else
                    "did not all meet the target (found knob by knob)"))
    lines += ["", "formats:"]
    rows = [[k.pattern, k.part, k.describe(r.start[k]), k.describe(r.final[k])]
            for k in r.knobs if r.start[k] != r.final[k]]
    lines += ["  " + ln for ln in render_table(["group", "part", "netlist", "tuned"], rows,
                                               "llll").splitlines()]
    lines += ["", "the tuned precision, as options (after the netlist's own formats):"]
    lines += [f"  --precision '{rule}'" for rule in list(c.base) + r.rules]
    b, t = r.baseline.cost, r.best.cost
    ratio = f" ({t['total'] / b['total']:.2f}x)" if b["total"] else ""
    lines += ["", f"cost: {b['total']:,.0f} -> {t['total']:,.0f} LUT-equivalents{ratio}; "
                  f"DSP {b['dsp']} -> {t['dsp']}, LUT multipliers {b['mult_luts']:,} -> "
                  f"{t['mult_luts']:,}, adder bits {b['adder_bits']:,} -> {t['adder_bits']:,}, "
                  f"table LUTs {b['table_luts']:,} -> {t['table_luts']:,}, register bits "
                  f"{b['reg_bits']:,} -> {t['reg_bits']:,}"]
    if c.cost == "synth":
        lines.append(f"  (LUT-equivalents and DSPs: Yosys's synth_xilinx; the model's estimate "
                     f"{b['model_total']:,.0f} -> {t['model_total']:,.0f})")
    lines.append("result with the tuned precision: " + _describe_result(r.best))
    lines.append("result with the netlist's own:   " + _describe_result(r.baseline))
    return "\n".join(lines)


def _describe_result(res: SettingResult) -> str:
    w = res.worst()
    err = f"RMSE {w.rmse:.3g}, max |fixed - float| {w.max_abs:.3g}, SQNR {w.sqnr_db:.1f} dB"
    if res.task is None:
        return err
    t = res.task
    return (f"check {'PASS' if t.passed else 'FAIL'} (output {100 * t.output_accuracy:.2f}%, "
            f"silent {100 * t.silent_accuracy:.2f}%); {err}")


# -- writing the tuned netlist -------------------------------------------------------------------
def files_to_copy(circuit: Circuit, out: str) -> list[tuple[Path, Path]]:
    """(file, where its copy goes) for the files the netlist reads next to it (weights, its
    own imports) that a tuned netlist written into another folder needs beside it: a netlist
    may only read files in its own folder, so rewritten paths would not resolve. A copy that is
    there already is left out; a different file in its place is refused (it is the user's)."""
    src_dir = Path(circuit.path).resolve().parent
    if out == STDOUT or Path(out).resolve().parent == src_dir:
        return []
    pairs = []
    for name in circuit.files[1:]:
        path = Path(name).resolve()
        if not path.is_relative_to(src_dir):      # lstm_hw's library, a --weights-dir
            continue
        dest = Path(out).resolve().parent / path.relative_to(src_dir)
        if dest.exists():
            if dest.is_file() and dest.read_bytes() == path.read_bytes():
                continue
            raise UserError(f"{dest}: error: the tuned netlist needs a copy of "
                            f"{path.relative_to(src_dir)} from {src_dir} beside it, and a "
                            "different file is there: move it, or write the netlist elsewhere")
        pairs.append((path, dest))
    return pairs


def write_tuned_netlist(r: TuneResult, out: str,
                        copies: list[tuple[Path, Path]] = ()) -> list[str]:
    """A copy of the netlist with the tuned precision merged into its ``precision:`` section
    (and into the blocks' own format or table size where those would win), checked by
    elaborating it; written whole or not at all, with ``copies`` (``files_to_copy``) of the
    files it reads. Returns notes for the user."""
    source = Path(r.config.netlist)
    text = source.read_text(encoding="utf-8")
    rules = list(r.config.base) + r.rules
    header = (f"lstm-hw tune ({r.target.describe()}): cost {r.baseline.cost['total']:,.0f} -> "
              f"{r.best.cost['total']:,.0f} LUT-equivalents")
    merged = merge_precision(text, rules, header)
    want = elaborate_setting(r.config, r.rules)
    merged = _patch_blocks(merged, want, r.config, str(source))
    diff = _differences(merged, want, r.config, str(source))
    if diff:
        raise UserError(f"cannot write {out}: in the merged netlist {', '.join(diff[:5])} "
                        "would differ from the tuned circuit (a format set inside a module wins); "
                        "use the --precision lines instead")
    for path, dest in copies:
        write_output(str(dest), path.read_bytes())
    write_output(out, merged)
    notes = [f"copied {path.name} beside it" for path, _ in copies]
    try:
        elaborate(parse_design(merged, out), Options((), r.config.weights_dir))
    except NetlistError:
        notes.append(f"{out} reads files next to {source} (weights, imports): keep it in "
                     f"{source.parent}/ or pass --weights-dir {source.parent}")
    return notes


def merge_precision(text: str, rules: list[str], comment: str = "") -> str:
    """The netlist text with rules 'KEY=VALUE' in its precision: section (replacing the values
    of keys it has, appending the others; comments and layout elsewhere kept)."""
    root = safe_yaml.compose(text, "the netlist")
    if not isinstance(root, yaml.MappingNode):
        raise UserError("the netlist is not a mapping")
    entries: dict[str, str] = {}
    for rule in rules:
        key, _, value = rule.partition("=")
        entries.pop(key, None)
        entries[key] = value
    section = next(((k, v) for k, v in root.value if k.value == "precision"), None)
    quote = json.dumps
    if section is None:
        if root.flow_style:
            raise UserError("cannot add a precision: section to a flow-style netlist")
        body = "".join(f"  {quote(k)}: {quote(v)}\n" for k, v in entries.items())
        note = f"# {comment}\n" if comment else ""
        return text.rstrip("\n") + "\n\n" + note + "precision:\n" + body
    knode, vnode = section
    edits = []     # (start, end, new text), applied from the end
    if isinstance(vnode, yaml.MappingNode) and vnode.value and not vnode.flow_style:
        # keys set again: commented out where they are (rules apply in order, so the new ones
        # all go last, as --precision rules come after the netlist's)
        indent = vnode.value[0][0].start_mark.column
        for k, v in vnode.value:
            if k.value in entries:
                start = text.rfind("\n", 0, k.start_mark.index) + 1
                old = text[start:v.end_mark.index].split("\n")
                edits.append((start, v.end_mark.index, "\n".join(
                    ln[:indent] + "# " + ln[indent:] for ln in old) + "   (set below)"))
        if entries:
            last = vnode.value[-1][1].end_mark.index
            eol = text.find("\n", last)
            eol = len(text) if eol < 0 else eol
            pad = " " * indent
            block = (f"\n{pad}# {comment}" if comment else "") + "".join(
                f"\n{pad}{quote(k)}: {quote(v)}" for k, v in entries.items())
            edits.append((eol, eol, block))
    else:
        old = {}
        if isinstance(vnode, yaml.MappingNode):
            old = {k.value: v.value for k, v in vnode.value}
        old = {k: v for k, v in old.items() if k not in entries}
        flow = ", ".join(f"{quote(k)}: {quote(v)}" for k, v in {**old, **entries}.items())
        edits.append((vnode.start_mark.index, vnode.end_mark.index, "{" + flow + "}"))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _elaborate_text(text: str, config: EvalConfig, path: str) -> Circuit:
    return elaborate(parse_design(text, path), Options((), config.weights_dir))


def _signature(c) -> dict:
    p = c.params
    sig = {"result": str(c.fmt)}
    if c.kind is Kind.DOT:
        sig.update(weight=str(p.w_fmt), bias=str(p.b_fmt), accum=str(p.accum))
    if c.impl == "table":
        sig["table_size"] = len(p.table.entries)
    return sig


def _differences(text: str, want: Circuit, config: EvalConfig, path: str) -> list[str]:
    got = _elaborate_text(text, config, path)
    out = []
    for c in want.cells:
        a, b = _signature(c), _signature(got.cell(c.name))
        out += [f"{c.name} {part}" for part in a if a[part] != b.get(part)]
    return out


OWN_KEYS = {"result": "format", "weight": "weight_format", "bias": "bias_format",
            "accum": "accum"}


def _patch_blocks(text: str, want: Circuit, config: EvalConfig, path: str) -> str:
    """Where a block's own format (or table size) would win over the precision: section, set
    it to the tuned one in place."""
    got = _elaborate_text(text, config, path)
    root = safe_yaml.compose(text, "the netlist")
    blocks = next((v for k, v in root.value if k.value == "blocks"), None)
    if not isinstance(blocks, yaml.MappingNode):
        return text
    nodes = {k.value: v for k, v in blocks.value}
    edits = []
    for c in want.cells:
        a, b = _signature(c), _signature(got.cell(c.name))
        node = nodes.get(c.name)
        if not isinstance(node, yaml.MappingNode):
            continue
        fields = {k.value: v for k, v in node.value}
        for part in a:
            if a[part] == b.get(part):
                continue
            if part == "table_size":
                table = fields.get("table")
                size = next((v for k, v in table.value if k.value == "size"), None) \
                    if isinstance(table, yaml.MappingNode) else None
                if size is not None:
                    edits.append((size.start_mark.index, size.end_mark.index, str(a[part])))
            elif OWN_KEYS[part] in fields:
                v = fields[OWN_KEYS[part]]
                edits.append((v.start_mark.index, v.end_mark.index, json.dumps(a[part])))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
