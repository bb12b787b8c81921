"""Waveforms: `run --vcd` writes a VCD and a GTKWave save file beside it; the Verilog export's
own waveforms (the generated testbench's +vcd=FILE, in Verilator and Icarus) carry the same
signal names and, cycle for cycle, the same bits.

The save file is read here by a reader of our own that knows GTKWave's format (no gtkwave is
installed): directives, `@` trace flags (bit numbers from GTKWave's analyzer.h TraceEntFlagBits),
`-` group lines, `+{alias} name` traces, and `[fpshift_count] N`, which GTKWave applies to the
traces that follow. Each traced signal's value as GTKWave shows it (signed or unsigned, shifted by
its count) is held to `run --per-cycle`'s exact decimal at every cycle.
"""
from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import pytest

import lstm_hw
from cli_helpers import run_cli
from external import need_module
from lstm_hw.tasks import memory
from rtl_harness import run_icarus, run_verilator

ROOT = Path(__file__).resolve().parent.parent
NETLISTS = ROOT / "netlists"
PERIOD = 10
# GTKWave's trace flags (TraceEntFlagBits): DEC 2, BIN 3, BLANK 9, SIGNED 10, GRP_BEGIN 23,
# GRP_END 24, FPDECSHIFT 30
TR_DEC, TR_BIN, TR_BLANK, TR_SIGNED = 1 << 2, 1 << 3, 1 << 9, 1 << 10
TR_GRP_BEGIN, TR_GRP_END, TR_FPDECSHIFT = 1 << 23, 1 << 24, 1 << 30


def read_save_file(path: Path) -> tuple[str, list[tuple]]:
    """([dumpfile], items): ('begin', name), ('end', name) or ('trace', name, alias, flags,
    shift) in the file's order."""
    dumpfile, items, flags, shift = None, [], 0, 0
    for line in path.read_text().splitlines():
        if line.startswith("[dumpfile] "):
            dumpfile = line.split(" ", 1)[1].strip('"')
        elif line.startswith("[fpshift_count] "):
            shift = int(line.split()[1])
        elif line.startswith("["):
            continue             # comments and window settings
        elif line.startswith("@"):
            flags = int(line[1:], 16)
        elif line.startswith("-"):
            assert flags & TR_BLANK and flags & (TR_GRP_BEGIN | TR_GRP_END), line
            items.append(("begin" if flags & TR_GRP_BEGIN else "end", line[1:]))
        else:
            alias = None
            if line.startswith("+{"):
                alias, line = line[2:].split("} ", 1)
            items.append(("trace", line, alias, flags, shift))
    return dumpfile, items


def shown(bits: int, width: int, flags: int, shift: int) -> Fraction:
    """The value GTKWave shows for a trace's bits."""
    value = bits - (1 << width) if flags & TR_SIGNED and bits >> (width - 1) else bits
    return Fraction(value, 1 << shift) if flags & TR_FPDECSHIFT else Fraction(value)


def memory_inputs(path: Path, steps: int) -> None:
    x = memory.generate(1, steps, seed=5)[0]
    path.write_text("x1,x2,x3\n" + "\n".join(",".join(repr(float(v)) for v in row)
                                             for row in x) + "\n")


@pytest.mark.parametrize("name", ["memory_cell_pipelined", "memory_cell_layer"])
def test_save_file_shows_every_signal_as_its_fixed_point_value(tmp_path, name):
    vcdvcd = need_module("vcdvcd")
    memory_inputs(tmp_path / "in.csv", 60)
    netlist = NETLISTS / f"{name}.yaml"
    proc = run_cli("run", netlist, "-i", tmp_path / "in.csv", "--per-cycle", "-o",
                   tmp_path / "cycles.csv", "--vcd", tmp_path / "w.vcd")
    assert proc.returncode == 0, proc.stderr
    dumpfile, items = read_save_file(tmp_path / "w.gtkw")
    assert dumpfile == str(tmp_path / "w.vcd")
    vcd = vcdvcd.VCDVCD(str(tmp_path / "w.vcd"))
    with open(tmp_path / "cycles.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    traces = [it for it in items if it[0] == "trace"]
    top = traces[0][1].split(".")[0]
    assert traces[0][1] == f"{top}.clk"
    # every signal of the VCD is traced once, and every trace is a signal of the VCD
    assert sorted(t[1] for t in traces) == sorted(vcd.references_to_ids)
    # groups nest; the inputs come first
    path = []
    for it in items:
        if it[0] == "begin":
            path.append(it[1])
        elif it[0] == "end":
            assert path.pop() == it[1]
    assert not path
    assert items[1] == ("begin", "inputs")
    assert [t[2].split()[0] for t in traces[1:4]] == ["x1", "x2", "x3"]
    # each value as GTKWave shows it is the exact decimal of `run --per-cycle`
    checked = 0
    for _, ref, alias, flags, shift in traces[1:]:
        column = alias.split()[0] if not alias.endswith(" valid") else \
            alias[:-len(" valid")] + ".valid"
        signal = vcd[ref]
        width = int(ref.split("[")[1].split(":")[0]) + 1 if "[" in ref else 1
        assert flags & (TR_SIGNED | TR_DEC | TR_BIN), (ref, flags)
        if not alias.endswith(" valid"):    # a fixed-point value: shifted by its fraction
            frac = lstm_hw.parse_format(alias.split(" ", 1)[1]).frac
            assert (shift == frac) if flags & TR_FPDECSHIFT else not 0 < frac <= 63, alias
            assert bool(flags & TR_SIGNED) == alias.split(" ", 1)[1].startswith("ap_fixed")
        for cycle, row in enumerate(rows):
            assert shown(int(signal[cycle * PERIOD], 2), width, flags, shift) == \
                Fraction(row[column]), (ref, alias, cycle)
            checked += 1
    assert checked >= 20 * len(rows)
    # an output's valid bit right after the output's block
    for k, (_, ref, alias, _, _) in enumerate(traces):
        if alias and alias.endswith(" valid"):
            out = alias[:-len(" valid")]
            before = traces[k - 1][2].split()[0]
            assert before == out or before.startswith((out + "[", out + ".")), (alias, before)
    if name == "memory_cell_layer":    # a module instance: its own group
        instances = [it[1] for it in items if it[0] == "begin" and it[1] != "inputs"]
        assert instances and all("." not in g or g.startswith(instances[0]) for g in instances)


def test_no_save_file_beside_stdout_or_a_device(tmp_path):
    memory_inputs(tmp_path / "in.csv", 5)
    proc = run_cli("run", NETLISTS / "memory_cell.yaml", "-i", "in.csv", "-o", "out.csv",
                   "--vcd", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("$")
    proc = run_cli("run", NETLISTS / "memory_cell.yaml", "-i", "in.csv", "--vcd", "/dev/null",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_rtl_trace_carries_the_vcd_names_and_bits(tmp_path, simulator):
    """The generated testbench's +vcd=FILE: every signal of `run --vcd` is in the RTL's trace
    (the instance 'dut') under the same name and width, holding the same bits in every cycle
    (a 1-bit vector's range, [0:0], is written by Verilator and left out by Icarus and by
    lstm_hw: names are compared without it)."""
    vcdvcd = need_module("vcdvcd")
    memory_inputs(tmp_path / "in.csv", 150)
    netlist = NETLISTS / "memory_cell_pipelined.yaml"
    proc = run_cli("run", netlist, "-i", "in.csv", "-o", "steps.csv", "--vcd", "sim.vcd",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("verilog", netlist, "-o", "cell.v", "--testbench", "tb.v", "-i", "in.csv",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    top = "memory_cell_pipelined"
    files = [tmp_path / "cell.v", tmp_path / "tb.v"]
    plusargs = [f"+vcd={tmp_path / 'rtl.vcd'}"]
    out = (run_verilator(files, f"{top}_tb", tmp_path, trace=True, plusargs=plusargs)
           if simulator == "verilator" else run_icarus(files, f"{top}_tb", tmp_path,
                                                        plusargs=plusargs))
    assert "PASS: " in out, out[-2000:]
    ours = vcdvcd.VCDVCD(str(tmp_path / "sim.vcd"))
    rtl = vcdvcd.VCDVCD(str(tmp_path / "rtl.vcd"))
    mine = {ref[len(top) + 1:].replace("[0:0]", ""): ref for ref in ours.references_to_ids}
    theirs = {}
    for ref in rtl.references_to_ids:
        scope, _, leaf = ref.rpartition(".")
        if scope.endswith(f"{top}_tb.dut"):
            theirs[leaf.replace("[0:0]", "")] = ref
    missing = sorted(set(mine) - set(theirs))
    assert not missing, missing
    assert len(mine) > 30 and any("[15:0]" in leaf for leaf in mine)
    n_cycles = ours.endtime // PERIOD
    assert n_cycles >= 300
    for leaf, ref in mine.items():
        if leaf == "clk":
            continue
        a, b = ours[ref], rtl[theirs[leaf]]
        for cycle in range(n_cycles - 1):   # the RTL's cycle k: between edges 5 + 10k and 15 + 10k
            assert int(a[cycle * PERIOD], 2) == int(b[cycle * PERIOD + 14], 2), (leaf, cycle)
