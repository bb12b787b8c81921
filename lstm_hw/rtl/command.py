"""``lstm-hw verilog`` (export, optionally with a self-checking testbench) and ``lstm-hw synth``."""
from __future__ import annotations

from pathlib import Path

from ..diagnostics import DataError


def add_rtl_parsers(sub, netlist_options, load) -> None:
    p = sub.add_parser("verilog", help="the netlist as synthesizable Verilog, cycle-exact with "
                       "run --per-cycle",
                       description="Write the netlist's hardware as one Verilog-2005 module "
                                   "(ports clk, rst, in_valid, the inputs' and outputs' raw bits "
                                   "and one NAME_valid per output); with --testbench and -i, "
                                   "also a testbench replaying the simulator's run of IN.csv "
                                   "and checking every output at every cycle.")
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("-o", "--output", required=True, metavar="OUT.v")
    p.add_argument("--testbench", metavar="TB.v",
                   help="also write a self-checking testbench (its vectors in TB.hex); needs -i")
    p.add_argument("-i", "--input", metavar="IN.csv", help="the inputs the testbench replays")
    netlist_options(p)
    p.set_defaults(func=lambda args: cmd_verilog(args, load))


def _check_outputs(paths: list[str], inputs: list[str]) -> None:
    """An output may not be an input of the command, nor another output."""
    seen = set()
    sources = {Path(p).resolve() for p in inputs}
    for path in paths:
        target = Path(path).resolve()
        if target in sources:
            raise DataError(f"{path}: error: refusing to write over an input of this command")
        if target in seen:
            raise DataError(f"{path}: error: written twice by this command")
        seen.add(target)
        if not target.parent.is_dir():
            raise DataError(f"{path}: error: its folder does not exist")


def cmd_verilog(args, load) -> int:
    from ..report.csvio import atomic_write, read_table
    from ..report.runs import _quantised     # CSV values checked as `run` checks them
    from ..sim.simulator import Simulator
    from .testbench import simulate, testbench, vector_lines
    from .verilog import export_verilog
    if bool(args.testbench) != bool(args.input):
        raise DataError("error: --testbench and -i go together (the testbench replays the "
                        "simulator's run of the inputs)")
    vectors = str(Path(args.testbench).with_suffix(".hex")) if args.testbench else None
    outputs = [args.output] + ([args.testbench, vectors] if args.testbench else [])
    _check_outputs(outputs, [args.netlist] + ([args.input] if args.input else []))
    circuit = load(args)
    module = export_verilog(circuit)
    if args.testbench:
        sim = Simulator(circuit, "interpreter")
        table = read_table(args.input, circuit.input_columns())
        raw = next(_quantised(circuit, sim, args.input, [table]))[0]
        vec = simulate(circuit, raw)
        lines = vector_lines(module, vec)
        with atomic_write(vectors) as fh:
            fh.write("\n".join(lines) + "\n")
        with atomic_write(args.testbench) as fh:
            fh.write(testbench(module, len(lines), str(Path(vectors).resolve())))
    with atomic_write(args.output) as fh:
        fh.write(module.text)
    return 0
