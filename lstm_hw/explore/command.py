"""``lstm-hw sweep``, ``lstm-hw profile`` and ``lstm-hw tune``: argument parsing only."""
from __future__ import annotations

import argparse
import math
import sys

from ..diagnostics import UserError
from .grid import SweepError


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def seed(text: str) -> int:
    """A seed of numpy's generator: a whole number from 0 to 2**64 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**64-1, got "
                                         f"{text!r}")
    return value


def tolerance(text: str) -> float:
    """A tolerance: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser, signals: bool = True,
            with_tolerance: bool = True) -> None:
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("--precision", action="append", default=[], metavar="GLOB[:PART]=FORMAT",
                   help="base rules, applied before each setting's (repeatable)")
    p.add_argument("--weights-dir", metavar="DIR",
                   help="another folder weight files may be read from")
    p.add_argument("--sequences", type=_positive, default=1000,
                   help="random sequences per setting (default 1000, as check)")
    p.add_argument("--steps", type=_positive, default=50, help="steps per sequence (default 50)")
    p.add_argument("--seed", type=seed, default=0)
    if with_tolerance:
        p.add_argument("--tolerance", type=tolerance, default=None,
                       help="the memory task: a step is right when |y - ideal| < this "
                            "(default: the netlist's, else 0.5)")
    p.add_argument("--input-range", nargs=2, type=float, default=None,
                   metavar=("LO", "HI"),
                   help="without the memory task: random inputs uniform in [LO, HI] "
                        "(default -1 1)")
    if signals:
        p.add_argument("--signals", action="append", default=[], metavar="GLOB",
                       help="also report the error of these signals (repeatable)")


def _config(args):
    from .evaluate import EvalConfig
    lo, hi = args.input_range or (-1.0, 1.0)
    if not lo < hi:
        raise SweepError(f"--input-range {lo:g} {hi:g}: expected LO < HI")
    return EvalConfig(args.netlist, tuple(args.precision), args.weights_dir, args.sequences,
                      args.steps, args.seed, getattr(args, "tolerance", None),
                      tuple(getattr(args, "signals", []) or ()), (lo, hi),
                      getattr(args, "cost", "model"))


def _cost_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cost", choices=("model", "synth"), default="model",
                   help="rank by the cost model (default) or by Yosys's synth_xilinx of each "
                        "setting's Verilog export, in LUT-equivalents (slower: seconds to "
                        "minutes a setting; cached by content)")


def add_explore_parsers(sub) -> None:
    p = sub.add_parser(
        "sweep", help="compare quantisation settings: accuracy or error, overflow, cost",
        description="Evaluate a grid of precision settings (each a list of --precision "
                    "rules) on the memory task (netlists with 3 inputs and 1 output: the "
                    "verdict of check) or by the error against the float reference, with the "
                    "cost estimate of each; print them best first with the Pareto front "
                    "marked.",
        epilog="example: lstm-hw sweep netlists/memory_cell.yaml "
               "--vary '*=ap_fixed<{W},{I},AP_RND,AP_SAT>' --grid W=6..16 I=2..10 "
               "--plot sweep.png")
    _common(p)
    p.add_argument("--vary", action="append", default=[], metavar="GLOB[:PART]=TEMPLATE",
                   help="a rule with {NAME} placeholders, e.g. '*_gate=ap_fixed<{W},{I}>' or "
                        "'*_gate:table_size={T}' (repeatable, applied in order)")
    p.add_argument("--grid", action="extend", nargs="+", default=[], metavar="NAME=VALUES",
                   help="values of a placeholder: a..b (inclusive), a,b,c, or both: "
                        "--grid W=6..16 I=2..10 T=64,256,1024")
    p.add_argument("--file", metavar="SWEEP.yaml",
                   help="a sweep file (vary:, grid:, settings:) instead of --vary/--grid")
    p.add_argument("--workers", type=_positive, default=None,
                   help="local worker processes (default: one per core)")
    p.add_argument("--max-settings", type=_positive, default=None, metavar="N",
                   help="refuse a sweep of more than N settings (default: "
                        "$LSTM_HW_MAX_SETTINGS, else 10,000)")
    p.add_argument("--yes", action="store_true",
                   help="run the sweep however many settings it has")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a dask.distributed cluster, e.g. tcp://host:8786 "
                        "(pip install 'lstm_hw[dask]'); the workers read the netlist by path")
    _cost_option(p)
    p.add_argument("--top", type=_positive, default=None, help="show only the best N rows")
    p.add_argument("--csv", metavar="FILE", help="write every result as CSV (grid order)")
    p.add_argument("--json", metavar="FILE", help="write every result as JSON (grid order)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="error or accuracy vs cost, the Pareto front highlighted (matplotlib)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr: a bar on a terminal, else a line every "
                        "10 s (default: on unless lstm-hw --quiet)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "profile", help="value ranges per signal against each format: integer bits needed",
        description="Run the float reference on the memory task's sequences (or random "
                    "inputs) and report, per signal, min / max / percentiles against its "
                    "format's range: the integer bits it needs and has.")
    _common(p, signals=False, with_tolerance=False)
    p.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser(
        "tune", help="find the cheapest per-group formats that keep the target",
        description="Start from the profile (integer bits from the float reference's "
                    "ranges), then greedily narrow each group's formats (fractional bits, "
                    "integer bits, table sizes) while the target holds; print the --precision "
                    "lines and the cost before and after.")
    _common(p, signals=False)
    p.add_argument("--target", default=None, metavar="METRIC=VALUE",
                   help="accuracy=A (the memory task: the worse of output and silent accuracy "
                        ">= A; default: check's own pass mark), or rmse=E, max_abs=E, "
                        "sqnr=DB against the float reference")
    p.add_argument("--groups", action="append", default=[], metavar="GLOB",
                   help="one format per glob (later globs win a block, as --precision); "
                        "default: one group per block")
    p.add_argument("--no-tables", action="store_true", help="keep the table sizes")
    _cost_option(p)
    p.add_argument("-o", "--output", metavar="OUT.yaml",
                   help="write a copy of the netlist with the tuned precision merged in")
    p.set_defaults(func=cmd_tune)


def _netlist(args):
    """The netlist, loaded to check the options and outputs against it before the work."""
    from .. import load
    from .evaluate import has_task
    circuit = load(args.netlist, args.precision, args.weights_dir)
    task = has_task(circuit)
    if task and args.input_range is not None:
        raise SweepError(f"error: --input-range is for netlists without the memory task: "
                         f"'{circuit.name}' is scored on the task's own sequences")
    if not task and getattr(args, "tolerance", None) is not None:
        raise SweepError(f"error: --tolerance is for the memory task, which '{circuit.name}' "
                         "does not have (3 inputs, 1 output): it is scored against the float "
                         "reference")
    return circuit


def _check_outputs(circuit, outputs: dict[str, str | None], inputs: dict[str, str | None]):
    """Refuse bad outputs before the work; returns where the report goes (stderr when an
    output is stdout)."""
    from ..files import STDOUT, check_outputs, netlist_files
    check_outputs(outputs, {**netlist_files(circuit), **inputs})
    return sys.stderr if STDOUT in outputs.values() else sys.stdout


def cmd_sweep(args) -> int:
    from . import grid as grids
    from .output import check_plot_format, render_sweep, write_csv, write_json, write_plot
    from .sweep import run_sweep
    if args.file and (args.vary or args.grid):
        raise SweepError("give --file or --vary/--grid, not both")
    if args.scheduler and args.workers:
        raise SweepError("error: --workers is for local processes: with --scheduler the Dask "
                         "cluster's workers run the settings")
    report = _check_outputs(_netlist(args), {"--csv": args.csv, "--json": args.json,
                                             "--plot": args.plot}, {"--file": args.file})
    if args.plot:
        check_plot_format(args.plot)
    spec = grids.from_file(args.file) if args.file else grids.from_args(args.vary, args.grid)
    result = run_sweep(spec, _config(args), args.workers, args.scheduler, args.progress,
                       max_settings=grids.MAX_SETTINGS if args.yes else args.max_settings)
    failed = []          # the files first: a closed stdout (| head) must not lose them
    for path, write in ((args.csv, write_csv), (args.json, write_json), (args.plot, write_plot)):
        if path:
            try:
                write(result, path)
            except UserError as exc:    # the results still reach the terminal
                failed.append(exc)
    print(render_sweep(result, args.top), file=report)
    for exc in failed:
        print(exc, file=sys.stderr)
    return 2 if failed else 0


def cmd_profile(args) -> int:
    from .profile import profile, render_profile, write_profile_csv
    report = _check_outputs(_netlist(args), {"--csv": args.csv}, {})
    result = profile(_config(args))
    print(render_profile(result), file=report)
    if args.csv:
        write_profile_csv(result, args.csv)
    return 0


def cmd_tune(args) -> int:
    from .tune import files_to_copy, parse_target, render_tune, tune, write_tuned_netlist
    target = parse_target(args.target)
    circuit = _netlist(args)
    copies = files_to_copy(circuit, args.output) if args.output else []
    report = _check_outputs(circuit, {"-o": args.output, **{
        f"the copy of '{path.name}'": str(dest) for path, dest in copies}}, {})
    result = tune(_config(args), target, args.groups, tables=not args.no_tables)
    print(render_tune(result), file=report)
    if not result.found:
        return 1
    if args.output:
        notes = write_tuned_netlist(result, args.output, copies)
        print(f"wrote {args.output}", file=report)
        for note in notes:
            print(f"note: {note}", file=report)
    return 0
