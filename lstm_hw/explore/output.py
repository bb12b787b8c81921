"""A sweep's results for people and programs: terminal table, CSV, JSON, plot.

The table is best first (``SweepResult.ranked``) with the Pareto front marked ``*``; CSV and JSON
keep grid order and every number (JSON writes an infinite SQNR, an exact match, as "inf"). The
plot (matplotlib, the optional extra ``plot``, Agg backend; PNG, PDF, SVG... by the file name's
extension) shows error or accuracy against cost with the front highlighted and labelled. Files
are written whole or not at all (lstm_hw/files.py).
"""
from __future__ import annotations

import json
import math
import os

from ..diagnostics import UserError
from ..report.csvio import write_rows
from ..files import open_output, write_output
from ..report.table import fmt_num, render_table
from .evaluate import SettingResult
from .sweep import SweepResult


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _overflow(over: dict[str, int], most: int = 2) -> str:
    if not over:
        return "-"
    items = [f"{k} {v}x" for k, v in over.items()]
    return ", ".join(items[:most]) + (f" +{len(items) - most}" if len(items) > most else "")


def _db(x: float) -> str:
    return "inf" if math.isinf(x) and x > 0 else f"{x:.1f}"


def _cost(r: SettingResult) -> str:
    return f"{r.cost['total']:,.0f}"


def render_sweep(s: SweepResult, top: int | None = None) -> str:
    c = s.config
    ranked = s.ranked()
    shown = ranked if top is None else ranked[:top]
    what = (f"the memory task ({c.sequences} random sequences of {c.steps} steps, seed "
            f"{c.seed}, as check)" if s.task else
            f"error against the float reference ({c.sequences} random sequences of {c.steps} "
            f"steps, inputs uniform in [{c.input_range[0]:g}, {c.input_range[1]:g}], seed "
            f"{c.seed})")
    lines = [f"sweep {c.netlist}: {len(s.results)} settings ({s.grid.describe()})",
             f"  scored by {what}; {s.workers}, {s.seconds:.1f} s", ""]
    rows = []
    for rank, r in enumerate(shown, 1):
        front = "*" if r.pareto else ""
        if s.task:
            t = r.task
            rows.append([rank, front, r.setting.label, "PASS" if t.passed else "FAIL",
                         _pct(t.output_accuracy), _pct(t.silent_accuracy),
                         fmt_num(r.errors[0].max_abs, 4), _overflow(r.overflow), _cost(r),
                         r.cost["dsp"]])
        else:
            w = r.worst()
            rows.append([rank, front, r.setting.label, f"{w.max_abs:.3g}", f"{w.rmse:.3g}",
                         _db(w.sqnr_db), _overflow(r.overflow), _cost(r), r.cost["dsp"]])
    if s.task:
        header = ["#", "front", "setting", "check", "output acc", "silent acc",
                  "max|fixed-float|", "overflow", "cost", "DSP"]
        align = "rlllrrrlrr"
    else:
        header = ["#", "front", "setting", "max|err|", "RMSE", "SQNR dB", "overflow", "cost",
                  "DSP"]
        align = "rllrrrlrr"
    lines.append(render_table(header, rows, align))
    if len(shown) < len(ranked):
        lines.append(f"... {len(ranked) - len(shown)} more (all of them in --csv / --json)")
    lines.append("")
    front = s.front
    metric = "accuracy" if s.task else "RMSE"
    lines.append(f"* Pareto front: {len(front)} setting{'s' if len(front) != 1 else ''} that no "
                 f"other setting beats on both {metric} and cost: "
                 + ", ".join(r.setting.label for r in sorted(front, key=lambda r:
                                                              r.cost["total"])))
    b = s.baseline
    base_cost = b.cost["total"]
    if s.task:
        lines.append(f"netlist's own precision: {'PASS' if b.task.passed else 'FAIL'}, cost "
                     f"{_cost(b)} LUT-equivalents ({b.cost['dsp']} DSP)")
        passing = [r for r in s.results if r.task.passed]
        if passing:
            best = min(passing, key=lambda r: (r.cost["total"], r.index))
            ratio = f" ({best.cost['total'] / base_cost:.2f}x the netlist's own)" \
                if base_cost else ""
            lines.append(f"cheapest setting that passes check: {best.setting.label}, cost "
                         f"{_cost(best)}{ratio}")
        else:
            lines.append("no setting passes check")
    else:
        w = b.worst()
        lines.append(f"netlist's own precision: RMSE {w.rmse:.3g}, SQNR {_db(w.sqnr_db)} dB, "
                     f"cost {_cost(b)} LUT-equivalents ({b.cost['dsp']} DSP)")
    for reason, n in s.skipped.items():
        lines.append(f"skipped {n} setting{'s' if n != 1 else ''}: {reason}")
    lines.append(cost_note(c))
    return "\n".join(lines)


def cost_note(c) -> str:
    """What the cost column is, for an EvalConfig."""
    if c.cost == "synth":
        return ("cost: LUT-equivalents of Yosys's synth_xilinx of each setting's Verilog export "
                "(LUTs + 100 per DSP + FFs / 2 + 576 per BRAM); DSP: Yosys's")
    return ("cost: LUT-equivalents of the estimate in `lstm-hw info` (LUTs + 100 per DSP "
            "+ register bits / 2)")


# -- CSV and JSON ------------------------------------------------------------------------------
COST_COLUMNS = ("total", "dsp", "mult_luts", "multipliers", "adder_bits", "logic_bits",
                "reg_bits", "table_bits", "table_luts")
SYNTH_COLUMNS = ("model_total", "luts", "ffs", "brams")     # with --cost synth


def cost_columns(c) -> tuple[str, ...]:
    return COST_COLUMNS + (SYNTH_COLUMNS if c.cost == "synth" else ())


def csv_rows(s: SweepResult) -> tuple[list[str], list[list]]:
    names = [n for n, _ in s.grid.variables]
    rank = {r.index: k for k, r in enumerate(s.ranked(), 1)}
    signals = [e.name for e in s.results[0].errors]
    header = ["index", "label", *names, "rules", "rank", "pareto"]
    if s.task:
        header += ["check", "lecture", "output_accuracy", "silent_accuracy", "max_err_ideal"]
    for n in signals:
        header += [f"{n}:max_abs", f"{n}:rmse", f"{n}:sqnr_db"]
    header += ["overflow", "bad_constants"] + [f"cost_{k}" for k in cost_columns(s.config)]
    rows = []
    for r in s.results:
        values = dict(r.setting.values)
        row = [r.index, r.setting.label, *[values.get(n, "") for n in names],
               " ".join(r.setting.rules), rank[r.index], int(r.pareto)]
        if s.task:
            t = r.task
            row += ["PASS" if t.passed else "FAIL", "PASS" if t.lecture_passed else "FAIL",
                    repr(t.output_accuracy), repr(t.silent_accuracy), repr(t.max_err_ideal)]
        for e in r.errors:
            row += [repr(e.max_abs), repr(e.rmse), repr(e.sqnr_db)]
        row += [";".join(f"{k}:{v}" for k, v in r.overflow.items()),
                ";".join(r.bad_constants)]
        row += [_plain(r.cost[k]) for k in cost_columns(s.config)]
        rows.append(row)
    return header, rows


def _plain(x):
    return int(x) if float(x).is_integer() else x


def write_csv(s: SweepResult, path: str) -> None:
    header, rows = csv_rows(s)
    with open_output(path) as fh:
        write_rows(fh, header, rows)


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return x


def result_dict(r: SettingResult) -> dict:
    d = {"index": r.index, "label": r.setting.label, "values": dict(r.setting.values),
         "rules": list(r.setting.rules), "pareto": r.pareto, "error": r.error,
         "cost": {k: _plain(v) for k, v in r.cost.items()}}
    if r.task is not None:
        t = r.task
        d["task"] = {"passed": t.passed, "lecture_passed": t.lecture_passed,
                     "lecture_accuracy": t.lecture_accuracy,
                     "output_accuracy": t.output_accuracy, "silent_accuracy": t.silent_accuracy,
                     "max_err_ideal": t.max_err_ideal, "min_accuracy": t.min_accuracy}
    d["errors"] = [{"name": e.name, "output": e.is_output, "max_abs": e.max_abs,
                    "rmse": e.rmse, "sqnr_db": _finite(e.sqnr_db)} for e in r.errors]
    d["overflow"] = dict(r.overflow)
    d["bad_constants"] = list(r.bad_constants)
    return d


def sweep_dict(s: SweepResult) -> dict:
    c = s.config
    return {"netlist": c.netlist, "precision": list(c.base),
            "vary": [f"{k}={t}" for k, t in s.grid.vary],
            "grid": {n: v for n, v in s.grid.variables},
            "scored_by": "memory task" if s.task else "error against the float reference",
            "sequences": c.sequences, "steps": c.steps, "seed": c.seed,
            "skipped": dict(s.skipped), "baseline": result_dict(s.baseline),
            "results": [result_dict(r) for r in s.results]}


def write_json(s: SweepResult, path: str) -> None:
    with open_output(path) as fh:
        json.dump(sweep_dict(s), fh, indent=1)
        fh.write("\n")


# -- the plot ------------------------------------------------------------------------------------
def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("error: --plot needs matplotlib: pip install 'lstm_hw[plot]'") from None
    return plt


def check_plot_format(path: str) -> str:
    """The image format the plot's file name asks for (its extension: png, pdf, svg...),
    refused before the work if matplotlib cannot write it. ``-``: PNG on stdout."""
    plt = _pyplot()
    kinds = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if path == "-":
        return "png"
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in kinds:
        raise UserError(f"{path}: error: --plot: unknown image format "
                        f"'{ext or '(no extension)'}' (the file name's extension: "
                        f"{', '.join(sorted(kinds))})")
    return ext


def write_plot(s: SweepResult, path: str, max_labels: int = 14) -> None:
    """Error (or accuracy) against cost, every setting a point, the Pareto front highlighted,
    joined as a staircase and labelled; in the format of the file name's extension."""
    fmt = check_plot_format(path)
    plt = _pyplot()
    results = s.results
    cost = [r.cost["total"] for r in results]
    if s.task:
        y = [100 * r.task.accuracy for r in results]
        ylabel = "accuracy on the memory task, % (worse of output and silent steps)"
    else:
        y = [r.error for r in results]
        ylabel = "RMSE against the float reference (worst output)"
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    front = sorted([r for r in results if r.pareto], key=lambda r: r.cost["total"])
    others = [k for k, r in enumerate(results) if not r.pareto]
    if s.task:
        ok = [k for k in others if results[k].task.passed]
        bad = [k for k in others if not results[k].task.passed]
        ax.scatter([cost[k] for k in ok], [y[k] for k in ok], s=22, c="#4c72b0", alpha=0.6,
                   label="passes check")
        ax.scatter([cost[k] for k in bad], [y[k] for k in bad], s=22, c="#999999", marker="x",
                   alpha=0.7, label="fails check")
    else:
        ax.scatter([cost[k] for k in others], [y[k] for k in others], s=22, c="#4c72b0",
                   alpha=0.6, label="setting")
    fx = [r.cost["total"] for r in front]
    fy = [100 * r.task.accuracy if s.task else r.error for r in front]
    ax.step(fx, fy, where="post", color="#d62728", lw=1.5, alpha=0.8)
    ax.scatter(fx, fy, s=70, c="#d62728", edgecolors="black", zorder=3,
               label=f"Pareto front ({len(front)})")
    step = max(1, -(-len(front) // max_labels))
    for k, r in enumerate(front):
        if k % step == 0 or k == len(front) - 1:
            ax.annotate(r.setting.label, (fx[k], fy[k]), textcoords="offset points",
                        xytext=(6, -12 if s.task else 6), fontsize=8, color="#8b0000")
    b = s.baseline
    by = 100 * b.task.accuracy if s.task else b.error
    ax.scatter([b.cost["total"]], [by], s=90, marker="D", facecolors="none",
               edgecolors="green", lw=1.5, zorder=3, label="netlist's own precision")
    if max(cost + [b.cost["total"]]) > 8 * max(min(cost + [b.cost["total"]]), 1):
        ax.set_xscale("log")
    if not s.task and min(y + [by]) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("Yosys synth_xilinx, LUT-equivalents" if s.config.cost == "synth"
                  else "cost estimate, LUT-equivalents (lstm-hw info)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{s.config.netlist}: {len(results)} settings\n{s.grid.describe()}",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right" if s.task else "upper right", fontsize=8)
    fig.tight_layout()
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    plt.close(fig)
    write_output(path, buf.getvalue())
