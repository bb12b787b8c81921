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
    from ..compile.pipeline import compile_circuit, hardware_cost, hardware_costs, signal_of
    from ..report.table import render_table
    from .names import hardware_names
    from .synth import RESOURCES, by_signal, lut_equivalents, synthesise
    from .verilog import export_verilog
    circuit = load(args)
    result = synthesise(export_verilog(circuit), args.target, args.timeout)
    signals = set(circuit.by_name)
    compiled = compile_circuit(circuit)
    hw = compiled.hardware
    verilog = {ident: hw.cells[cid].name for (cid, _), ident in
               hardware_names(hw, compiled.timing.timed).signals.items()}
    yosys: dict[str, dict] = {}      # module instance -> Yosys's counts
    for name, counts in by_signal(result, verilog).items():
        inst = instance_of(signal_of(name, signals)) if name else "(shared)"
        part = yosys.setdefault(inst, dict.fromkeys(RESOURCES, 0))
        for k, v in counts.items():
            part[k] += v
    model: dict[str, dict] = {}
    for name, costs in hardware_costs(circuit).items():
        part = model.setdefault(instance_of(name), {})
        for k, v in costs.items():
            part[k] = part.get(k, 0) + v
    rows = []
    for inst in sorted(set(model) | set(yosys), key=_instance_order):
        y = yosys.get(inst, dict.fromkeys(RESOURCES, 0))
        rows.append([inst, y["luts"] + y["lutram"], y["ffs"], y["dsps"], f"{y['brams']:g}",
                     f"{lut_equivalents(y):,.0f}", *_model_columns(model.get(inst))])
    rows.append(["total", result.luts + result.lutram, result.ffs, result.dsps,
                 f"{result.brams:g}", f"{result.lut_equivalents:,.0f}",
                 *_model_columns(hardware_cost(circuit))])
    how = "synth_xilinx -family xcup" if args.target == "xilinx" else "synth -lut 6"
    print(f"{circuit.name}: Yosys ({how}, {result.seconds:g} s) next to the cost model "
          f"(compile/cells.py: cost), per netlist module instance and in total")
    print(render_table(["", "LUTs", "FFs", "DSPs", "BRAMs", "LUT-eq", "model LUTs",
                        "model reg bits", "model DSPs", "model LUT-eq"],
                       rows, "lrrrrrrrrr"))
    print("LUT-eq = LUTs (LUTRAM included) + 100 per DSP + FFs / 2 + 576 per BRAM; the model's "
          "the same with register bits. A Yosys cell counts for the instance of the signal it "
          "is named after; '(shared)': cells synthesis merged across signals, named after none.")
    return 0


def instance_of(signal: str | None) -> str:
    """The module instance a netlist signal belongs to ('l1.c': 'l1'); '(top level)' for the
    netlist's own signals and the valid bits (None)."""
    return signal.split(".")[0] if signal and "." in signal else "(top level)"


def _instance_order(name: str) -> tuple:
    return (name.startswith("("), name == "(shared)", name)


def _model_columns(c: dict | None) -> list:
    if not c:
        return ["", "", "", ""]
    luts = c["mult_luts"] + c["adder_bits"] + c["logic_bits"] + c["table_luts"]
    return [f"{luts:,}", f"{c['reg_bits']:,}", c["dsp"], f"{c['total']:,.0f}"]
