"""A self-checking Verilog testbench: the simulator's run, replayed and compared cycle by cycle.

The simulator runs the inputs cycle by cycle (``Simulator.run_cycles``, as ``run --per-cycle``
does); every cycle becomes one line of a hex vector file: the input ports, ``in_valid``, then the
expected outputs and valid bits, each field the raw bits of its port. The testbench holds ``rst``
for one clock edge, then applies cycle k's inputs at edge k (a non-blocking assignment, after the
registers took theirs, so that the logic changes once a cycle), checks every output and valid bit
just before edge k + 1 and stops at the first difference, printing the cycle, the port and both
values; at the end it prints ``PASS: N cycles``. The vector file's path is written in the
testbench (``+vectors=PATH`` overrides it). ``+vcd=FILE`` dumps the module's waveforms (instance
``dut``; Verilator needs ``--trace``): its signals carry the names that ``run --vcd`` gives them
(``rtl/names.py``). The testbench's own wires are ``dut_PORT`` and ``exp_PORT``, so that no port
name can clash with them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compile.circuit import Circuit
from ..sim.simulator import Simulator
from .verilog import VerilogModule


@dataclass
class Vectors:
    """Per cycle: the raw input bits and in_valid, the outputs' raw bits and valid bits."""
    inputs: np.ndarray      # [cycles, input elements]
    in_valid: np.ndarray    # [cycles]
    outputs: np.ndarray     # [cycles, output elements]
    valids: np.ndarray      # [cycles, outputs]


def simulate(circuit: Circuit, raw: np.ndarray, engine: str = "auto") -> Vectors:
    """Run raw step inputs [steps, columns] through the simulator, cycle by cycle."""
    sim = Simulator(circuit, engine)
    hw_out = [sim.hardware.cells[sim.present[o]].name for o in circuit.outputs]
    cycles = sim.run_cycles(raw, hw_out, raw_inputs=True)
    n_cycles = cycles.data.shape[1]
    applied = sim.cycle_inputs(raw[None], n_cycles)[:, :, 0]     # [cycles, columns (+ valid)]
    n_in = raw.shape[1]
    timed = sim.timing.timed
    in_valid = applied[:, n_in] if timed else np.ones(n_cycles, np.int64)
    valids = np.stack([sim.valid_cycles(o, raw.shape[0], n_cycles) for o in circuit.outputs],
                      axis=1)
    return Vectors(applied[:, :n_in], in_valid, cycles.data[0], valids)


def vector_lines(module: VerilogModule, vec: Vectors) -> list[str]:
    """One hex line per cycle: inputs, in_valid, outputs, output valids (first field highest)."""
    widths = ([f.width for _, f in module.inputs] + [1] + [f.width for _, f in module.outputs]
              + [1] * len(module.valids))
    total = sum(widths)
    digits = -(-total // 4)
    data = np.concatenate([vec.inputs, vec.in_valid[:, None], vec.outputs, vec.valids], axis=1)
    lines = []
    for row in data:
        word = 0
        for v, w in zip(row, widths):
            word = (word << w) | (int(v) & ((1 << w) - 1))
        lines.append(f"{word:0{digits}x}")
    return lines


def testbench(module: VerilogModule, n_cycles: int, vectors_path: str) -> str:
    """The testbench module ``<top>_tb`` for the vectors written by ``vector_lines``."""
    fields = ([(n, f.width, f.signed, f"{f}") for n, f in module.inputs]
              + [("in_valid", 1, False, "")]
              + [(n, f.width, f.signed, f"{f}") for n, f in module.outputs]
              + [(n, 1, False, "") for n in module.valids])
    total = sum(f[1] for f in fields)
    n_in = len(module.inputs) + 1
    lines = [f"// Self-checking testbench of {module.name}, written by lstm_hw: the "
             f"simulator's run, {n_cycles} cycles.",
             f"module {module.name}_tb;",
             f"  localparam CYCLES = {n_cycles};",
             f"  reg [{total - 1}:0] vectors [0:{n_cycles - 1}];",
             "  reg [8*4096-1:0] path;",
             "  reg [8*4096-1:0] vcd;",
             "  integer cycle;",
             "  reg clk;",
             "  reg rst;",
             f"  wire [{total - 1}:0] now = vectors[cycle];"]
    hi = total
    ports = []
    for k, (name, w, _, _) in enumerate(fields):
        field = f"now[{hi - 1}:{hi - w}]"
        hi -= w
        if k < n_in:
            lines.append(f"  wire [{w - 1}:0] dut_{name} = {field};")
        else:
            lines.append(f"  wire [{w - 1}:0] dut_{name};")
            lines.append(f"  wire [{w - 1}:0] exp_{name} = {field};")
        ports.append(name)
    conn = ",\n".join([f"    .{p}({p})" for p in ("clk", "rst")] +
                       [f"    .{p}(dut_{p})" for p in ports])
    lines += [f"  {module.name} dut (", conn, "  );", "  always #5 clk = ~clk;",
              "  always @(posedge clk) if (!rst) cycle <= cycle + 1;",
              "  task check;", "    begin"]
    for name, w, signed, fmt in fields[n_in:]:
        show = (f"$signed(dut_{name}), $signed(exp_{name})" if signed
                else f"dut_{name}, exp_{name}")
        what = f"{name} ({fmt})" if fmt else name
        lines += [f"      if (dut_{name} !== exp_{name}) begin",
                  f"        $display(\"MISMATCH at cycle %0d: {what}: verilog %0d, lstm_hw "
                  f"%0d\", cycle, {show});",
                  "        $finish;", "      end"]
    lines += ["    end", "  endtask",
              "  initial begin",
              f"    if (!$value$plusargs(\"vectors=%s\", path)) path = \"{vectors_path}\";",
              "    $readmemh(path, vectors);",
              "    if ($value$plusargs(\"vcd=%s\", vcd)) begin",
              "      $dumpfile(vcd);",
              "      $dumpvars(0, dut);",
              "    end",
              "    clk = 1'b0;",
              "    rst = 1'b1;",
              "    cycle = 0;",
              "    @(posedge clk);",
              "    #1 rst = 1'b0;",
              "    while (cycle < CYCLES) begin",
              "      #8 check;",
              "      @(posedge clk);",
              "      #1;",
              "    end",
              "    $display(\"PASS: %0d cycles\", CYCLES);",
              "    $finish;",
              "  end",
              "endmodule", ""]
    return "\n".join(lines)
