"""The Verilog export against the simulator, cycle by cycle, in Verilator and Icarus.

(a) every shipped netlist (the 2x128 network aside: its build costs minutes, see the README):
    20,000 cycles of the memory task's random inputs (the lecture's cells) or random inputs (the
    2x16 network), exported by the real CLI and compared with `lstm-hw run --per-cycle` on every
    output and valid bit at every cycle, in this module's own harness (tests/rtl_harness.py)
    under Verilator and Icarus, and with the testbench `lstm-hw verilog --testbench` writes;
(b) N_RANDOM random netlists of the engine tests' generator (every op and mode, timed ones with
    latency, folded dots and II > 1), >= 1,000 cycles each against the simulator, all in one
    Verilator build (a sample of them in Icarus), every export `verilator --lint-only -Wall`
    clean and read by Icarus and Yosys without a warning;
(c) each quantiser the exporter writes, against the exact Fraction quantiser of the oracle;
(d) what cannot be exported: a located error.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import lstm_hw
from cli_helpers import console_script, run_cli
from external import need_executable
from lstm_hw.compile.pipeline import hardware_cost
from lstm_hw.rtl import export_verilog
from lstm_hw.rtl.quantise import quantiser
from lstm_hw.rtl.synth import synthesise
from lstm_hw.tasks import memory
from oracle_sim import own_quantise
from lstm_hw.rtl.testbench import simulate
from rtl_harness import (Dut, assert_all_match, from_per_cycle_csv, run_icarus, run_verilator,
                         write_harness)
from test_engine_vs_oracle import (HEADROOM, O_MODES, Q_MODES, examples, input_range, load_text,
                                   netlists)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["memory_cell", "memory_cell_peephole", "memory_cell_peephole_lecture",
           "memory_cell_layer", "memory_cell_pipelined", "memory_lstm2x16"]
SMALL = SHIPPED[:-1]
CYCLES = 20_000


def lint(files: list[Path]) -> None:
    """Verilator -Wall, Icarus -Wall and Yosys read every file without a warning."""
    proc = subprocess.run([need_executable("verilator"), "--lint-only", "-Wall",
                           "-Wno-MULTITOP", *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-4000:]
    for f in files:
        proc = subprocess.run([need_executable("iverilog"), "-g2005", "-Wall", "-o", "/dev/null",
                               str(f)], capture_output=True, text=True)
        assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stderr
    script = "; ".join(f"read_verilog {f}" for f in files)
    proc = subprocess.run([need_executable("yosys"), "-q", "-p", script], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "warning" not in (proc.stdout + proc.stderr).lower(), \
        proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# (a) the shipped netlists, through the CLI

def shipped_inputs(name: str, circuit, cycles: int) -> np.ndarray:
    """Enough time steps for `cycles` clock cycles: the memory task's random sequences for
    the lecture's cells, uniform random values in [-1, 1] for the trained network."""
    ii = lstm_hw.Simulator(circuit, "interpreter").timing.ii
    steps = cycles // ii
    if name.startswith("memory_cell"):
        return memory.generate(1, steps, seed=13)[0]
    rng = np.random.default_rng(13)
    return np.round(rng.uniform(-1, 1, (steps, len(circuit.input_columns()))), 3)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """Per shipped netlist: its export and testbench (CLI), and its `run --per-cycle` run."""
    folder = tmp_path_factory.mktemp("shipped")
    out = {}
    for name in SHIPPED:
        netlist = ROOT / "netlists" / f"{name}.yaml"
        circuit = lstm_hw.load(netlist)
        x = shipped_inputs(name, circuit, CYCLES)
        csv_in = folder / f"{name}.csv"
        csv_in.write_text(",".join(circuit.input_columns()) + "\n" +
                          "\n".join(",".join(repr(float(v)) for v in row) for row in x) + "\n")
        proc = run_cli("verilog", netlist, "-o", folder / f"{name}.v", "--testbench",
                       folder / f"{name}_tb.v", "-i", csv_in)
        assert proc.returncode == 0, proc.stderr
        outputs = [circuit.cells[o].name for o in circuit.outputs]
        per_cycle = folder / f"{name}.cycles.csv"
        proc = run_cli("run", netlist, "-i", csv_in, "--per-cycle", "-o", per_cycle,
                       *[a for o in outputs for a in ("--signals", o)])
        assert proc.returncode == 0, proc.stderr
        module = export_verilog(circuit)
        assert module.text == (folder / f"{name}.v").read_text()
        out[name] = (circuit, module, from_per_cycle_csv(module, circuit, per_cycle))
    return folder, out


def test_shipped_netlists_lint_clean(shipped):
    folder, _ = shipped
    lint([folder / f"{name}.v" for name in SHIPPED])


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_shipped_netlists_in_own_harness(shipped, simulator, tmp_path):
    """Every shipped netlist, in one harness, against `lstm-hw run --per-cycle` (Icarus: about
    70 s, nearly all of it the 2x16 network's 20,000 cycles; before its logic was one block
    evaluated once a cycle, 2,000 cycles took Icarus over 10 minutes)."""
    _, runs = shipped
    duts = [runs[name][2] for name in SHIPPED]
    assert all(len(d.in_valid) >= CYCLES - 4 for d in duts)
    files = write_harness(duts, tmp_path)
    run = run_verilator if simulator == "verilator" else run_icarus
    assert_all_match(duts, run(files, "harness", tmp_path))


@pytest.mark.parametrize("name", SMALL)
def test_shipped_netlist_generated_testbench_icarus(shipped, name):
    folder, _ = shipped
    out = run_icarus([folder / f"{name}.v", folder / f"{name}_tb.v"], f"{name}_tb", folder)
    assert "PASS: " in out and "MISMATCH" not in out, out[-2000:]


@pytest.mark.parametrize("name", ["memory_cell", "memory_cell_pipelined"])
def test_shipped_netlist_generated_testbench_verilator(shipped, name):
    folder, _ = shipped
    out = run_verilator([folder / f"{name}.v", folder / f"{name}_tb.v"], f"{name}_tb", folder)
    assert "PASS: " in out and "MISMATCH" not in out, out[-2000:]


def test_generated_testbench_reports_the_first_difference(shipped, tmp_path):
    """A testbench whose expected values are off by one bit stops there, saying where."""
    folder, _ = shipped
    lines = (folder / "memory_cell_tb.hex").read_text().splitlines()
    lines[7] = f"{int(lines[7], 16) ^ (1 << 1):0{len(lines[7])}x}"     # y_valid's bit is 0: y
    (tmp_path / "bad.hex").write_text("\n".join(lines) + "\n")
    tb = (folder / "memory_cell_tb.v").read_text().replace(
        str((folder / "memory_cell_tb.hex").resolve()), str(tmp_path / "bad.hex"))
    (tmp_path / "tb.v").write_text(tb)
    out = run_icarus([folder / "memory_cell.v", tmp_path / "tb.v"], "memory_cell_tb", tmp_path)
    assert "MISMATCH at cycle 7: y (ap_fixed<16,8,AP_RND_CONV,AP_SAT>): verilog" in out, out
    assert "PASS" not in out


# ---------------------------------------------------------------------------------------------
# (b) random netlists

N_RANDOM = 56
MAX_VERILOG = 200_000   # characters: a larger export (an exact activation of a 13- to 16-bit
# input, a ROM of up to 65,536 entries) takes Yosys minutes to read; small ROMs are the same code
RANDOM_CYCLES = 1000
ICARUS_EVERY = 11     # the Icarus sample: every 11th netlist


def random_raw(rng, fmt, n: int) -> np.ndarray:
    """n raw values of fmt: a quarter 0 or the ends of the range, a quarter small, the rest
    anywhere in it."""
    lo, hi = input_range(fmt)
    frac = fmt.width - fmt.integer
    small = (max(lo, -(4 << frac)), min(hi, 4 << frac)) if frac >= 0 else (0, 0)
    pick = rng.integers(0, 4, n)
    ends = rng.choice([lo, hi, 0, min(hi, 1), max(lo, -1)], n)
    return np.where(pick == 0, ends, np.where(pick == 1, rng.integers(small[0], small[1] + 1, n),
                                              rng.integers(lo, hi + 1, n)))


REQUIRED = ("dot", "add", "sub", "mul", "mux", "min", "max", "clip", "slice", "concat",
            "identity", "reg.enable", "reg.reset", "latency", "ii>1", "dot.accum", "multipliers",
            "reuse", "sigmoid.table", "tanh.table", "sigmoid.pwl", "tanh.pwl",
            "sigmoid.exact|tanh.exact", "table.index.trunc")


def has(features: set[str], required: str) -> bool:
    """Whether a feature starts with one of the |-separated prefixes."""
    return any(g.startswith(r) for r in required.split("|") for g in features)


def random_netlists(n: int) -> tuple[list[tuple[str, object, set[str]]], list[str]]:
    """3 n random netlists (two in five untimed, the rest timed: latency, folded dots, II > 1
    where the loops need it) as (YAML, circuit, features), and the netlists that could not be
    exported (an exact activation of a wide input); 9 n where the first 3 n lack a REQUIRED
    feature (which examples hypothesis draws depends on the modules the session imported).

    One hypothesis example per netlist: drawn all in one example, 56 netlists overflow
    hypothesis's buffer of choices and it regenerates them hundreds of times, for many minutes,
    then gives up (why this test was once left out). Its first examples are small and alike,
    hence 3 n drawn for n kept (``pick``)."""
    for count in (3 * n, 9 * n):
        drawn, refused = _draw_netlists(count)
        features = set().union(*(feats for _, _, feats in drawn))
        if all(has(features, f) for f in REQUIRED):
            break
    return drawn, refused


def _draw_netlists(count: int) -> tuple[list[tuple[str, object, set[str]]], list[str]]:
    drawn, refused = [], []

    @examples(count)
    @given(timed=st.integers(0, 4), data=st.data())
    def collect(timed, data):
        spec = data.draw(netlists(timed=timed >= 2))
        try:
            circuit = load_text(spec.text)
        except lstm_hw.NetlistError as exc:
            assert all(HEADROOM in d.message for d in exc.diagnostics), exc.render()
            assume(False)
        try:
            size = len(export_verilog(circuit).text)
        except lstm_hw.NetlistError as exc:   # an exact activation of a wide input: said so
            assert all("exact" in d.message and "ROM" in d.message for d in exc.diagnostics), \
                exc.render()
            refused.append(spec.text)
            assume(False)
        assume(size <= MAX_VERILOG)
        ii = lstm_hw.Simulator(circuit, "interpreter").timing.ii
        drawn.append((spec.text, circuit, spec.features | ({"ii>1"} if ii > 1 else set())))

    collect()
    return drawn, refused


def pick(drawn: list, n: int) -> list:
    """n of the drawn netlists (no two alike): for each REQUIRED feature the first that has
    it, then those with the most features, in the order drawn."""
    unique = {text: k for k, (text, _, _) in reversed(list(enumerate(drawn)))}
    chosen: list[int] = []
    for f in REQUIRED:
        k = next((k for k in sorted(unique.values()) if has(drawn[k][2], f)), None)
        if k is not None and k not in chosen:
            chosen.append(k)
    rest = sorted((k for k in unique.values() if k not in chosen),
                  key=lambda k: (-len(drawn[k][2]), k))
    return [drawn[k] for k in sorted(chosen + rest[:max(0, n - len(chosen))])]


def simulated(text: str, circuit, top: str, seed: int, folder: Path) -> Dut:
    """The netlist exported as top (its YAML beside its Verilog in folder) and run by the
    simulator for RANDOM_CYCLES cycles or more of random inputs."""
    (folder / f"{top}.yaml").write_text(text)
    ii = lstm_hw.Simulator(circuit, "interpreter").timing.ii
    rng = np.random.default_rng(seed)
    steps = -(-RANDOM_CYCLES // ii) + 1     # cycles: (steps - 1) * ii + 1 and the latency
    raw = np.stack([random_raw(rng, circuit.cells[c].fmt, steps) for c in circuit.inputs
                    for _ in range(circuit.cells[c].size)], axis=1)
    vec = simulate(circuit, raw, "interpreter")
    return Dut(export_verilog(circuit, top=top), vec.inputs, vec.in_valid, vec.outputs,
               vec.valids)


def test_random_netlists_cosimulate(tmp_path):
    """N_RANDOM random netlists in one Verilator build, every output and valid bit compared at
    every cycle with the simulator's run; every export lint clean; a sample in Icarus."""
    drawn, refused = random_netlists(N_RANDOM)
    assert len(refused) <= len(drawn) // 10, refused
    chosen = pick(drawn, N_RANDOM)
    assert len(chosen) == N_RANDOM
    features = set().union(*(feats for _, _, feats in chosen))
    assert [f for f in REQUIRED if not has(features, f)] == []
    texts = " ".join(text for text, _, _ in chosen)
    assert [m for m in Q_MODES + O_MODES if m not in texts] == []
    duts = [simulated(text, circuit, f"random{k}", k, tmp_path)
            for k, (text, circuit, _) in enumerate(chosen)]
    assert all(len(d.in_valid) >= RANDOM_CYCLES for d in duts)
    files = write_harness(duts, tmp_path)
    lint(files[:-1])
    assert_all_match(duts, run_verilator(files, "harness", tmp_path, quick_cxx=True))
    sample = duts[::ICARUS_EVERY]
    (tmp_path / "icarus").mkdir()
    files = write_harness(sample, tmp_path / "icarus")
    assert_all_match(sample, run_icarus(files, "harness", tmp_path / "icarus"))


def test_min_max_clip_export_exactly(tmp_path):
    """min, max and clip on operands of other binary points, rounding into a coarser format
    and clipping to limits on the result's grid: every value of a 5-bit operand pair, against
    the exact oracle's meaning written out here with Fractions, in Icarus."""
    netlist = tmp_path / "mmc.yaml"
    netlist.write_text(
        "lstm_hw: 1\nname: mmc\ninputs: {a: {format: 'ap_fixed<5,2>'}, "
        "b: {format: 'ap_ufixed<5,4>'}}\noutputs: [lo, hi, c, cs]\nblocks:\n"
        "  lo: {op: min, in: [a, b], format: 'ap_fixed<6,4,AP_RND_CONV,AP_SAT>'}\n"
        "  hi: {op: max, in: [b, a, a], format: 'ap_fixed<4,2,AP_RND,AP_SAT>'}\n"
        "  c: {op: clip, in: a, lo: -0.5, hi: 1.25, format: 'ap_fixed<6,3,AP_RND_INF>'}\n"
        "  cs: {op: clip, in: b, lo: 2, hi: 12, format: 'ap_ufixed<4,5,AP_RND>'}\n")
    circuit = lstm_hw.load(netlist)
    pairs = [(a, b) for a in range(-16, 16) for b in range(32)]
    raw = np.array(pairs, dtype=np.int64)
    vec = simulate(circuit, raw, "interpreter")
    fmts = {n: circuit.cell(n).fmt for n in ("a", "b", "lo", "hi", "c", "cs")}

    def value(raw_value, name):
        return Fraction(int(raw_value)) / Fraction(2) ** fmts[name].frac

    def q(x, name):
        f = fmts[name]
        return own_quantise(x, f.width, f.integer, f.signed, f.rounding, f.saturation,
                            f.saturation_bits)[0]

    for k, (ra, rb) in enumerate(pairs):
        a, b = value(ra, "a"), value(rb, "b")
        want = [q(min(a, b), "lo"), q(max(a, b), "hi"),
                q(min(max(a, Fraction(-1, 2)), Fraction(5, 4)), "c"),
                q(min(max(b, Fraction(2)), Fraction(12)), "cs")]
        assert [int(v) for v in vec.outputs[k]] == want, (a, b)
    module = export_verilog(circuit)
    dut = Dut(module, vec.inputs, vec.in_valid, vec.outputs, vec.valids)
    files = write_harness([dut], tmp_path)
    lint(files[:-1])
    assert_all_match([dut], run_icarus(files, "harness", tmp_path))


def test_an_op_without_a_verilog_writer_is_an_internal_error(monkeypatch):
    """Every combinational op of the cell table has a writer; a new op that the exporter does
    not know fails loudly, naming the op."""
    from lstm_hw.compile.cells import OPS
    from lstm_hw.diagnostics import InternalError
    from lstm_hw.rtl import verilog
    combinational = {op for op, spec in OPS.items() if spec.kind.combinational}
    assert sorted(combinational - set(verilog.CELL_WRITERS)) == []
    circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell.yaml")
    monkeypatch.delitem(verilog.CELL_WRITERS, "sigmoid")
    with pytest.raises(InternalError, match="no writer for op 'sigmoid'"):
        export_verilog(circuit)


# ---------------------------------------------------------------------------------------------
# (c) the quantisers, against the exact oracle

def test_quantisers_match_the_exact_oracle(tmp_path):
    """Every rounding and overflow mode (and saturation bits), signed and unsigned, right and
    left shifts: every value of a 7-bit source through the Verilog function, in Icarus."""
    cases = []
    for q in Q_MODES:
        for o in O_MODES:
            for signed in (True, False):
                for width, nbits, drop in ((4, 0, 2), (3, 0, 4), (5, 0, -1), (4, 2, 1),
                                           (4, 1, 3), (6, 0, 0), (1, 0, 2), (4, 4, 1)):
                    if (o == "AP_WRAP_SM" and not signed) or \
                            (nbits and o not in ("AP_WRAP", "AP_WRAP_SM")):
                        continue
                    cases.append((lstm_hw.FixedFormat(width, 2, signed, q, o, nbits), drop))
    funcs = [quantiser(f"q{k}", 7, drop, fmt) for k, (fmt, drop) in enumerate(cases)]
    lines = ["module qtest;", *funcs, "  integer v;", "  reg [6:0] x;", "  initial begin",
             "    for (v = 0; v < 128; v = v + 1) begin", "      x = v;"]
    lines += [f"      $display(\"{k} %0d %0d\", v, q{k}(x));" for k in range(len(cases))]
    lines += ["    end", "    $finish;", "  end", "endmodule", ""]
    (tmp_path / "q.v").write_text("\n".join(lines))
    out = run_icarus([tmp_path / "q.v"], "qtest", tmp_path)
    seen = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        k, bits, got = map(int, parts)
        fmt, drop = cases[k]
        x = Fraction(bits - 128 if bits >= 64 else bits) * Fraction(2) ** -(fmt.frac + drop)
        raw = own_quantise(x, fmt.width, fmt.integer, fmt.signed, fmt.rounding,
                           fmt.saturation, fmt.saturation_bits)[0]
        assert got == raw & ((1 << fmt.width) - 1), (str(fmt), drop, x, got, raw)
        seen += 1
    assert seen == 128 * len(cases)


# ---------------------------------------------------------------------------------------------
# (d) what cannot be exported

def test_exact_activation_of_a_wide_input_is_a_located_error(tmp_path):
    netlist = tmp_path / "wide.yaml"
    netlist.write_text("lstm_hw: 1\nname: wide\nformat: ap_fixed<20,8>\ninputs: [x]\n"
                       "outputs: [y]\nblocks:\n  y: {op: tanh, in: x, exact: true}\n")
    proc = run_cli("verilog", netlist, "-o", tmp_path / "wide.v")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{netlist}:7:3: error: block 'y': an exact tanh of a 20-bit "
                                  f"input"), proc.stderr
    assert not (tmp_path / "wide.v").exists()


def test_port_named_like_a_keyword_is_a_located_error(tmp_path):
    netlist = tmp_path / "kw.yaml"
    netlist.write_text("lstm_hw: 1\nname: kw\ninputs: [clk]\noutputs: [y]\n"
                       "blocks:\n  y: {op: add, in: [clk, clk]}\n")
    proc = run_cli("verilog", netlist, "-o", tmp_path / "kw.v")
    assert proc.returncode == 2
    assert "error: signal 'clk': its Verilog port 'clk'" in proc.stderr, proc.stderr


def test_testbench_ports_named_like_its_own_signals(tmp_path):
    """Ports named like the testbench's own signals (cycle, now, path, vcd, vectors, check)
    do not clash with them: its wires are dut_PORT and exp_PORT."""
    netlist = tmp_path / "tb_names.yaml"
    netlist.write_text("lstm_hw: 1\nname: tb_names\nformat: ap_fixed<8,4>\n"
                       "inputs: [cycle, now, vectors]\noutputs: [path, vcd, check]\nblocks:\n"
                       "  path: {op: add, in: [cycle, now]}\n  vcd: {op: mul, in: [now, vectors]}\n"
                       "  check: {op: reg, in: path, init: 0.5}\n")
    (tmp_path / "in.csv").write_text("cycle,now,vectors\n1,2,3\n-1.5,0.25,2\n7,-8,0.5\n")
    proc = run_cli("verilog", netlist, "-o", tmp_path / "t.v", "--testbench", tmp_path / "tb.v",
                   "-i", tmp_path / "in.csv")
    assert proc.returncode == 0, proc.stderr
    out = run_icarus([tmp_path / "t.v", tmp_path / "tb.v"], "tb_names_tb", tmp_path)
    assert "PASS: 3 cycles" in out, out


def test_testbench_needs_its_inputs(tmp_path):
    proc = run_cli("verilog", ROOT / "netlists" / "memory_cell.yaml", "-o", tmp_path / "m.v",
                   "--testbench", tmp_path / "tb.v")
    assert proc.returncode == 2 and "--testbench and -i go together" in proc.stderr
    assert not (tmp_path / "m.v").exists()


def test_internal_names_keep_the_netlist_names(shipped):
    """Signals keep their names (dots as _), so the waveforms line up with lstm_hw's."""
    _, runs = shipped
    text = runs["memory_lstm2x16"][1].text
    for name in ("l1_c_0", "l1_h_15", "l2_c_next_3", "y"):
        assert re.search(rf"\b{name}\b( =|;|,)", text), name


# ---------------------------------------------------------------------------------------------
# synthesis

def test_synth_prints_yosys_counts_per_instance_next_to_the_model(tmp_path):
    """Two instances of a multiply-accumulate module and a top-level sum: each instance's row has
    its own 16-bit accumulator (16 FFs) and 16 x 16 product (one DSP), the top level none."""
    need_executable("yosys")
    netlist = tmp_path / "mac.yaml"
    netlist.write_text("lstm_hw: 1\nname: mac\nformat: ap_fixed<16,6,AP_RND,AP_SAT>\n"
                       "modules:\n  mac:\n    inputs: [a, b]\n    outputs: [acc]\n"
                       "    blocks:\n      p: {op: mul, in: [a, b]}\n"
                       "      s: {op: add, in: [p, acc]}\n"
                       "      acc: {op: reg, in: s, init: 0}\n"
                       "inputs: [a, b, c]\noutputs: [y]\nblocks:\n"
                       "  m1: {module: mac, in: {a: a, b: b}}\n"
                       "  m2: {module: mac, in: {a: b, b: c}}\n"
                       "  y: {op: add, in: [m1.acc, m2.acc]}\n")
    env = dict(os.environ, LSTM_HW_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([console_script(), "synth", str(netlist)], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()
            if line.split() and line.split()[0] in ("m1", "m2", "(top", "total")}
    for inst in ("m1", "m2"):
        luts, ffs, dsps = (int(v.replace(",", "")) for v in rows[inst][:3])
        assert ffs == 16 and dsps == 1 and luts > 16, proc.stdout    # acc; its product
        assert int(rows[inst][7]) == 1, proc.stdout                   # the model's DSP
    top = [int(v.replace(",", "")) for v in rows["(top"][1:4]]        # '(top level)'
    assert top[1:] == [0, 0] and top[0] >= 17, proc.stdout            # y: a 17-bit adder
    total = [int(v.replace(",", "")) for v in rows["total"][:3]]
    assert total[1:] == [32, 2], proc.stdout
    assert "Yosys (synth_xilinx -family xcup" in proc.stdout
    assert list((tmp_path / "cache" / "synth").glob("*.json"))   # cached by content


def test_sweep_ranks_by_yosys_with_cost_synth(tmp_path, monkeypatch):
    """sweep --cost synth: each setting's cost is Yosys's LUT-equivalents of its export (and its
    DSPs, LUTs, FFs), the model's kept beside it; cached by content where synth looks."""
    need_executable("yosys")
    netlist = tmp_path / "fma.yaml"
    netlist.write_text("lstm_hw: 1\nname: fma\nformat: ap_fixed<16,6,AP_RND,AP_SAT>\n"
                       "inputs: [a, b, c]\noutputs: [y]\nblocks:\n"
                       "  p: {op: mul, in: [a, b]}\n  y: {op: add, in: [p, c]}\n")
    monkeypatch.setenv("LSTM_HW_CACHE_DIR", str(tmp_path / "cache"))
    proc = run_cli("sweep", netlist, "--vary", "*=ap_fixed<{W},4,AP_RND,AP_SAT>", "--grid",
                   "W=6,12", "--sequences", "20", "--steps", "5", "--workers", "1", "--cost",
                   "synth", "--csv", tmp_path / "s.csv")
    assert proc.returncode == 0, proc.stderr
    assert "LUT-equivalents of Yosys's synth_xilinx" in proc.stdout
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["rules"] for r in rows] == [f"*=ap_fixed<{w},4,AP_RND,AP_SAT>" for w in (6, 12)]
    for row in rows:
        circuit = lstm_hw.load(netlist, [row["rules"]])
        result = synthesise(export_verilog(circuit))       # from the sweep's cache
        assert float(row["cost_total"]) == pytest.approx(result.lut_equivalents)
        assert int(row["cost_dsp"]) == result.dsps == 1        # a 6 x 6 or 12 x 12 product
        assert int(row["cost_ffs"]) == result.ffs and int(row["cost_luts"]) == result.luts
        assert float(row["cost_model_total"]) == hardware_cost(circuit)["total"]
    assert len(list((tmp_path / "cache" / "synth").glob("*.json"))) == 3  # and the netlist's own
    assert float(rows[0]["cost_total"]) < float(rows[1]["cost_total"])   # 6 bits cost less


def test_tune_costs_by_yosys_with_cost_synth(tmp_path, monkeypatch):
    """tune --cost synth: the cost before and after is Yosys's LUT-equivalents of the netlist's
    and of the tuned setting's export (what the search ranks its knobs by), the model's
    estimate printed beside it; a second run synthesises nothing (cached by content): a yosys
    that fails is first on the PATH then and is never started."""
    need_executable("yosys")
    netlist = tmp_path / "fma.yaml"
    netlist.write_text("lstm_hw: 1\nname: fma\nformat: ap_fixed<16,6,AP_RND,AP_SAT>\n"
                       "inputs: [a, b]\noutputs: [y]\nblocks:\n"
                       "  p: {op: mul, in: [a, b]}\n  y: {op: add, in: [p, a]}\n")
    monkeypatch.setenv("LSTM_HW_CACHE_DIR", str(tmp_path / "cache"))
    args = ("tune", netlist, "--target", "rmse=0.01", "--groups", "*", "--sequences", "20",
            "--steps", "5", "--cost", "synth")
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    cost = re.search(r"^cost: ([\d,]+) -> ([\d,]+) LUT-equivalents", proc.stdout, re.M)
    model = re.search(r"Yosys's synth_xilinx; the model's estimate ([\d,]+) -> ([\d,]+)\)",
                      proc.stdout)
    rules = re.findall(r"--precision '([^']+)'", proc.stdout)
    assert cost and model and rules, proc.stdout
    for k, circuit in ((1, lstm_hw.load(netlist)), (2, lstm_hw.load(netlist, rules))):
        yosys = synthesise(export_verilog(circuit)).lut_equivalents    # from tune's cache
        assert cost.group(k) == f"{yosys:,.0f}", proc.stdout
        assert model.group(k) == f"{hardware_cost(circuit)['total']:,.0f}", proc.stdout
    assert cost.group(1) != model.group(1)         # Yosys's figure, not the model's
    assert int(cost.group(2).replace(",", "")) < int(cost.group(1).replace(",", ""))
    cached = sorted((tmp_path / "cache" / "synth").glob("*.json"))
    assert len(cached) >= 3                        # the netlist, the tuned setting, a trial

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "yosys").write_text(f"#!/bin/sh\ntouch {tmp_path / 'started'}\nexit 1\n")
    (fake / "yosys").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / "started").exists()
    assert again.stdout.split("trials in")[1].split("\n", 1)[1] == \
        proc.stdout.split("trials in")[1].split("\n", 1)[1]      # all but the time it took
    assert sorted((tmp_path / "cache" / "synth").glob("*.json")) == cached
