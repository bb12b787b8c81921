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

    p = sub.add_parser("synth", help="Yosys on the Verilog export: LUTs, FFs, DSPs, BRAMs next "
                       "to the cost model's estimate",
                       description="Synthesise the netlist's Verilog export with Yosys "
                                   "(synth_xilinx for UltraScale+, or Yosys's generic LUT6 "
                                   "mapping) and print its resource counts next to the cost "
                                   "model's (`info`), per netlist module instance and in total. "
                                   "Results are cached by content.")
    p.add_argument("netlist", metavar="NETLIST")
    p.add_argument("--target", choices=("xilinx", "generic"), default="xilinx")
    p.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                   help="stop Yosys after this long (default 600) and say so")
    netlist_options(p)
    p.set_defaults(func=lambda args: cmd_synth(args, load))


def cmd_verilog(args, load) -> int:
    from ..files import check_outputs, netlist_files, write_output
    from ..report.csvio import read_table
    from ..report.runs import _quantised_tables     # CSV values checked as `run` checks them
    from ..sim.simulator import Simulator
    from .testbench import simulate, testbench, vector_lines
    from .verilog import export_verilog
    if bool(args.testbench) != bool(args.input):
        raise DataError("error: --testbench and -i go together (the testbench replays the "
                        "simulator's run of the inputs)")
    vectors = str(Path(args.testbench).with_suffix(".hex")) if args.testbench else None
    circuit = load(args)
    check_outputs({"-o": args.output, "--testbench": args.testbench,
                   "the testbench's vectors": vectors},
                  {**netlist_files(circuit), "the input (-i)": args.input})
    module = export_verilog(circuit)
    if args.testbench:
        sim = Simulator(circuit, "interpreter")
        table = read_table(args.input, circuit.input_columns())
        raw = next(_quantised_tables(sim, args.input, [table]))[0]
        vec = simulate(circuit, raw)
        lines = vector_lines(module, vec)
        write_output(vectors, "\n".join(lines) + "\n")
        write_output(args.testbench, testbench(module, len(lines), str(Path(vectors).resolve())))
    write_output(args.output, module.text)
    return 0


def cmd_synth(args, load) -> int:
    from ..report.table import render_table
    from .synth import synthesise
    from .verilog import export_verilog
    circuit = load(args)
    result = synthesise(export_verilog(circuit), args.target, args.timeout)
    groups: dict[str, list] = {}
    for c in circuit.cells:      # a netlist module instance: the signals named 'inst.*'
        groups.setdefault(c.name.split(".")[0] if "." in c.name else "(top level)", []).append(c)
    rows = []
    for name, cells in groups.items():
        model = _model_cost(cells, circuit.cells)
        rows.append([name, "", "", "", "", "", *model])
    model = _model_cost(circuit.cells, circuit.cells)
    rows.append(["total", result.luts + result.lutram, result.ffs, result.dsps,
                 f"{result.brams:g}", f"{result.lut_equivalents:,.0f}", *model])
    how = "synth_xilinx -family xcup" if args.target == "xilinx" else "synth -lut 6"
    print(f"{circuit.name}: Yosys ({how}, {result.seconds:g} s) next to the cost model "
          f"(compile/cells.py: cost)")
    print(render_table(["", "LUTs", "FFs", "DSPs", "BRAMs", "LUT-eq", "model LUTs",
                        "model reg bits", "model DSPs", "model table bits", "model LUT-eq"],
                       rows, "lrrrrrrrrrr"))
    print("LUT-eq = LUTs (LUTRAM included) + 100 per DSP + FFs / 2 + 576 per BRAM; the model's "
          "the same with register bits and table bits / 64. Yosys synthesises the flat export as "
          "a whole: per instance, the model's estimate only.")
    return 0


def _model_cost(cells, all_cells) -> list:
    from ..compile.cells import cost
    keys = ("mult_luts", "adder_bits", "logic_bits", "reg_bits", "dsp", "table_bits", "total")
    sums = dict.fromkeys(keys, 0)
    for c in cells:
        for k, v in cost(c, all_cells).items():
            if k in sums:
                sums[k] += v
    luts = sums["mult_luts"] + sums["adder_bits"] + sums["logic_bits"]
    return [f"{luts:,}", f"{sums['reg_bits']:,}", sums["dsp"], f"{sums['table_bits']:,}",
            f"{sums['total']:,.0f}"]
