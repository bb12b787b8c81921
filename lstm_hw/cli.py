"""lstm-hw: the command line. Each subcommand parses its options and calls the library.

Exit status: 0 success, 1 a check failed, 2 bad input (netlist, data, options).
"""
from __future__ import annotations

import argparse
import sys

from . import __version__, compile_netlist, interrupt, load
from .diagnostics import UserError
from .netlist.parse import PARTS
from .progress import set_quiet
from .sim.simulator import ENGINES
from .sim.cache import recovering

QUIET_HELP = ("no progress on stderr (long work otherwise says what it is doing: a bar on a "
              "terminal, a line every 10 s elsewhere); results, warnings and errors still appear")

PART_MEANINGS = {"result": "the block's own format (the default)", "weight": "a dot's weights",
                 "bias": "a dot's bias", "accum": "a dot's accumulator",
                 "table": "a sigmoid/tanh table's entry format (hls4ml's table_t)",
                 "table_size": "a sigmoid/tanh table's number of entries (VALUE a number)"}


def _netlist_options(p: argparse.ArgumentParser) -> None:
    parts = "; ".join(f"{part}: {PART_MEANINGS[part]}" for part in PARTS)
    p.add_argument("--precision", action="append", default=[], metavar="GLOB[:PART]=VALUE",
                   help=f"set the formats of the blocks matching GLOB; later ones win; "
                        f"repeatable. PART: {parts}")
    p.add_argument("--weights-dir", metavar="DIR",
                   help="another folder weight files may be read from")


def _engine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="the interpreter (one kernel for every netlist), code compiled for this "
                        "netlist (cached), numpy (no compile: small runs), or auto: numpy for "
                        "small runs, compiled for long ones (default)")


def _load(args):
    return load(args.netlist, args.precision, args.weights_dir)


def cmd_validate(args) -> int:
    status = 0
    for path in args.netlists:
        try:
            circuit = load(path, args.precision, args.weights_dir)
        except UserError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        regs = len(circuit.regs)
        print(f"{path}: ok ({len(circuit.cells)} cells, {regs} register{'s' * (regs != 1)})")
    return status


def cmd_info(args) -> int:
    from .report.info import render_dump, render_info
    compiled = compile_netlist(args.netlist, args.precision, args.weights_dir)
    print(render_info(compiled.circuit))
    if args.dump:
        print()
        print(render_dump(compiled))
    return 0


def cmd_run(args) -> int:
    from .files import STDOUT, check_outputs, netlist_files
    from .report.runs import RunRequest, run_csv
    from .report.vcd import save_file_path
    if args.float:      # the float reference: no formats, no engine, no clock cycles
        for option, given in (("--precision", args.precision), ("--engine", args.engine),
                              ("--per-cycle", args.per_cycle), ("--vcd", args.vcd)):
            if given:
                raise UserError(f"error: {option} is for the fixed-point run: the float "
                                "reference (--float) has no formats, engines or clock cycles")
    circuit = _load(args)
    rows = "-o" if args.output else "the rows (stdout without -o)"
    check_outputs({rows: args.output or STDOUT, "--vcd": args.vcd,
                   "--vcd's GTKWave save file": save_file_path(args.vcd)},
                  {**netlist_files(circuit), "the input (-i)": args.input})
    run_csv(circuit, RunRequest(args.input, args.output, args.float, args.signals,
                                args.per_cycle, args.vcd, args.engine or "auto"))
    return 0


def cmd_check(args) -> int:
    from .sim.simulator import Simulator
    from .tasks.check import render_check, run_check
    circuit = _load(args)
    result = run_check(circuit, args.sequences, args.steps, args.seed, args.tolerance,
                       Simulator(circuit, args.engine or "auto"))
    print(render_check(result))
    return 0 if result.passed else 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .explore.command import seed, tolerance
    parser = argparse.ArgumentParser(prog="lstm-hw", description=(
        "Bit-exact, cycle-by-cycle simulation of fixed-point LSTM hardware netlists."))
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    parser.add_argument("--version", action="version", version=f"lstm-hw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check netlists; errors as file:line:col")
    p.add_argument("netlists", nargs="+", metavar="NETLIST")
    _netlist_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("info", help="cells, formats, registers, quantised constants, cost")
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("--dump", action="store_true", help="also print the flat circuit and program")
    _netlist_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="simulate inputs from a CSV file, one row per time step, "
                                   "or a dataset of sequences")
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("-i", "--input", required=True, metavar="IN",
                   help="a CSV (a leading seq column: many sequences), an .npy [sequences, "
                        "steps, inputs], an .npz of one array per input, or - for stdin (CSV)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="a CSV, or an .npz of one array per signal ('-' or none: CSV on stdout)")
    p.add_argument("--float", action="store_true",
                   help="run the float reference instead (one row per time step; no "
                        "--precision, --engine, --per-cycle or --vcd)")
    p.add_argument("--signals", action="append", metavar="GLOB",
                   help="also write these signals, and only these in --vcd (repeatable)")
    p.add_argument("--per-cycle", action="store_true",
                   help="one row per clock cycle (valid bits, pipeline registers) instead of "
                        "one per time step")
    p.add_argument("--vcd", metavar="FILE",
                   help="also write the waveforms of every cycle (VCD; '-': stdout) and, "
                        "beside a file, a GTKWave save file showing them (FILE's name with "
                        ".gtkw)")
    _netlist_options(p)
    _engine_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="the memory task: fixed vs float vs ideal")
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("--sequences", type=_positive, default=1000)
    p.add_argument("--steps", type=_positive, default=50)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--tolerance", type=tolerance, default=None,
                   help="a step is right when |y - ideal| < this (default: the netlist's "
                        "task: tolerance, else 0.5)")
    _netlist_options(p)
    _engine_option(p)
    p.set_defaults(func=cmd_check)

    from .importers.command import add_import_parser   # lstm-hw import (torch stays optional)
    add_import_parser(sub)
    from .explore.command import add_explore_parsers   # lstm-hw sweep, profile, tune
    add_explore_parsers(sub)
    from .rtl.command import add_rtl_parsers           # lstm-hw verilog, synth
    add_rtl_parsers(sub, _netlist_options, _load)
    for command in sub.choices.values():   # also after the command: lstm-hw run ... --quiet
        command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                             help=QUIET_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    interrupt.install()
    try:
        args = build_parser().parse_args(argv)
        set_quiet(args.quiet)
        # a damaged numba cache met before any output (elaboration): cleared, run again
        return recovering(lambda: args.func(args))
    except UserError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_status
    except BrokenPipeError:
        return 0
    except BaseException as exc:     # Ctrl-C or SIGTERM: the work is already unwound
        stopped = interrupt.interruption(exc)
        if stopped is None:
            raise
        interrupt.stop(stopped)
