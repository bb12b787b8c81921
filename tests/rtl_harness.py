"""The co-simulation tests' own harness (not the testbench ``lstm-hw verilog --testbench`` writes).

One Verilog top ``harness`` runs several exported modules side by side from one clock (so one
Verilator build covers many netlists): per module, a vector file holds every cycle's input bits
and in_valid and the expected outputs and valid bits; ``rst`` is high for the first clock edge,
cycle k's inputs are applied after edge k, and at the falling edge every output and valid bit is
compared with the expected ones. The first difference of each module is printed as
``MISMATCH <index> <cycle> <got hex> <want hex>``, the end as ``DONE``. ``first_difference``
turns such a line back into the port and both values.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from external import need_executable


@dataclass
class Dut:
    """One exported module and what it must do: [cycles, ...] raw bits of each port."""
    module: object            # lstm_hw.rtl.VerilogModule
    inputs: np.ndarray        # [cycles, input ports]
    in_valid: np.ndarray      # [cycles]
    outputs: np.ndarray       # [cycles, output ports]
    valids: np.ndarray        # [cycles, outputs]

    def fields(self) -> list[tuple[str, int]]:
        m = self.module
        return ([(n, f.width) for n, f in m.inputs] + [("in_valid", 1)]
                + [(n, f.width) for n, f in m.outputs] + [(n, 1) for n in m.valids])

    def checked(self) -> list[tuple[str, int]]:
        return self.fields()[len(self.module.inputs) + 1:]


def from_per_cycle_csv(module, circuit, path: Path) -> Dut:
    """The expected run from ``lstm-hw run --per-cycle`` output: its decimals as raw bits."""
    import csv
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    col = {name: k for k, name in enumerate(header)}

    def raw(name, fmt):
        k = col[name]
        return [int(Fraction(r[k]) * Fraction(2) ** fmt.frac) for r in rows]

    in_fmts = [circuit.cells[c].fmt for c in circuit.inputs for _ in range(circuit.cells[c].size)]
    out_fmts = [circuit.cells[c].fmt for c in circuit.outputs
                for _ in range(circuit.cells[c].size)]
    inputs = np.array([raw(n, f) for n, f in zip(circuit.input_columns(), in_fmts)]).T
    outputs = np.array([raw(n, f) for n, f in zip(circuit.output_columns(), out_fmts)]).T
    in_valid = (np.array([int(r[col["valid"]]) for r in rows]) if "valid" in col
                else np.ones(len(rows), np.int64))
    valids = np.array([[int(r[col[f"{circuit.cells[o].name}.valid"]]) for o in circuit.outputs]
                       for r in rows])
    return Dut(module, inputs.reshape(len(rows), -1), in_valid, outputs.reshape(len(rows), -1),
               valids)


def pack(dut: Dut) -> list[str]:
    widths = [w for _, w in dut.fields()]
    data = np.concatenate([dut.inputs, dut.in_valid[:, None], dut.outputs, dut.valids], axis=1)
    lines = []
    for row in data:
        word = 0
        for v, w in zip(row, widths):
            word = (word << w) | (int(v) & ((1 << w) - 1))
        lines.append(f"{word:x}")
    return lines


def write_harness(duts: list[Dut], folder: Path) -> list[Path]:
    """The harness and the modules' files in folder; returns the Verilog files to compile."""
    files = []
    lines = ["module harness;", "  reg clk = 1'b0;", "  reg rst = 1'b1;", "  integer cycle = 0;",
             "  always #5 clk = ~clk;", "  initial #6 rst = 1'b0;"]
    longest = max(len(d.in_valid) for d in duts)
    for k, d in enumerate(duts):
        m = d.module
        path = folder / f"{m.name}.v"
        path.write_text(m.text)
        files.append(path)
        vec = folder / f"{m.name}.vec"
        vec.write_text("\n".join(pack(d)) + "\n")
        fields = d.fields()
        total = sum(w for _, w in fields)
        n = len(d.in_valid)
        checked = sum(w for _, w in d.checked())
        lines += [f"  reg [{total - 1}:0] v{k} [0:{n - 1}];",
                  f"  initial $readmemh(\"{vec}\", v{k});",
                  f"  wire [{total - 1}:0] now{k} = v{k}[cycle < {n} ? cycle : {n - 1}];",
                  f"  reg bad{k} = 1'b0;"]
        hi, conn, got = total, [], []
        for j, (name, w) in enumerate(fields):
            sig = f"d{k}_{name}"
            if j <= len(m.inputs):
                lines.append(f"  wire [{w - 1}:0] {sig} = now{k}[{hi - 1}:{hi - w}];")
            else:
                lines.append(f"  wire [{w - 1}:0] {sig};")
                got.append(sig)
            conn.append(f".{name}({sig})")
            hi -= w
        lines += [f"  {m.name} dut{k} (.clk(clk), .rst(rst), {', '.join(conn)});",
                  "  always @(negedge clk)",
                  f"    if (!rst && cycle < {n} && !bad{k} && "
                  f"{{{', '.join(got)}}} !== now{k}[{checked - 1}:0]) begin",
                  f"      bad{k} = 1'b1;",
                  f"      $display(\"MISMATCH {k} %0d %h %h\", cycle, {{{', '.join(got)}}}, "
                  f"now{k}[{checked - 1}:0]);",
                  "    end"]
    lines += ["  always @(posedge clk)", "    if (!rst) begin",
              f"      if (cycle == {longest - 1}) begin", "        $display(\"DONE\");",
              "        $finish;", "      end", "      cycle <= cycle + 1;", "    end",
              "endmodule", ""]
    top = folder / "harness.v"
    top.write_text("\n".join(lines))
    return files + [top]


def first_difference(duts: list[Dut], line: str) -> str:
    """A MISMATCH line as: module, cycle, the first port that differs and both raw values."""
    _, k, cycle, got, want = line.split()
    d = duts[int(k)]
    g, w = int(got, 16), int(want, 16)
    pos = sum(width for _, width in d.checked())
    for name, width in d.checked():
        pos -= width
        a, b = (g >> pos) & ((1 << width) - 1), (w >> pos) & ((1 << width) - 1)
        if a != b:
            return (f"{d.module.name}: cycle {cycle}: {name}: verilog {a:#x}, lstm_hw {b:#x}\n"
                    f"(module in {d.module.name}.v)")
    return line


def run_verilator(files: list[Path], top: str, folder: Path, timeout: int = 900,
                  trace: bool = False, plusargs: tuple[str, ...] = (),
                  quick_cxx: bool = False) -> str:
    """Build with Verilator (quick options: -O1, --x-assign fast; trace: with --trace, for
    $dumpvars; quick_cxx: the C++ compiled with -O0, which builds many small modules 40% sooner
    and runs 1,000 cycles in a fraction of a second) and run with plusargs; the run's
    output."""
    verilator = need_executable("verilator")
    obj = folder / f"obj_{top}"
    jobs = str(max(1, min(2, os.cpu_count() or 1)))
    build = subprocess.run(
        [verilator, "--binary", "--timing", "-O1", "--x-assign", "fast", "--x-initial", "fast",
         "-Wno-fatal", "-Wno-lint", "-Wno-style", "-j", jobs, "--top-module", top,
         *(["--trace"] if trace else []),
         *(["-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"] if quick_cxx else []),
         "-Mdir", str(obj), "-o", "sim", *map(str, files)],
        capture_output=True, text=True, timeout=timeout)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(obj / "sim"), *plusargs], capture_output=True, text=True,
                         timeout=timeout)
    return run.stdout + run.stderr


def run_icarus(files: list[Path], top: str, folder: Path, timeout: int = 900,
               plusargs: tuple[str, ...] = ()) -> str:
    iverilog = need_executable("iverilog")
    out = folder / f"{top}.vvp"
    build = subprocess.run([iverilog, "-g2005", "-s", top, "-o", str(out), *map(str, files)],
                           capture_output=True, text=True, timeout=timeout)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([need_executable("vvp"), "-n", str(out), *plusargs],
                         capture_output=True, text=True, timeout=timeout)
    return run.stdout + run.stderr


def assert_all_match(duts: list[Dut], output: str) -> None:
    bad = [first_difference(duts, line) for line in output.splitlines()
           if line.startswith("MISMATCH")]
    assert not bad, "\n".join(bad)
    assert "DONE" in output, output[-3000:]
