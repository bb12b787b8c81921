"""Sweeps, the cost model, range profiles and precision search (lstm_hw/explore, issue 5).

The sweep's verdict on a setting must be check's verdict with the same rules; a sweep must give
the same results in one process, on two worker processes and on a Dask cluster; tune must find
settings that pass check and cost less than the netlist's own; the commands must refuse bad
grids with a message and exit status 2, never a traceback.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

import lstm_hw
from lstm_hw.compile.cells import constant_bits, cost, multiplier_cost, table_luts, table_reads, \
    total_cost
from lstm_hw.compile.pipeline import hardware_cost, hardware_costs
from lstm_hw.explore import EvalConfig, run_sweep
from lstm_hw.explore.evaluate import SettingResult, evaluate
from lstm_hw.explore.grid import Setting, SweepError, expand, from_args, from_file
from lstm_hw.explore.output import sweep_dict
from lstm_hw.explore.profile import integer_bits, profile
from lstm_hw.explore.sweep import mark_pareto
from lstm_hw.explore.tune import Target, merge_precision, parse_target, tune
from lstm_hw.fixed import parse_format
from lstm_hw.tasks.check import run_check

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "netlists" / "memory_cell.yaml"
TRAINED = ROOT / "netlists" / "memory_lstm2x16.yaml"
ALL_SIGNALS = "*=ap_fixed<{W},{I},AP_RND,AP_SAT>"

# A small network without the memory task (2 inputs, 2 outputs): scored by its error.
SMALL = """\
lstm_hw: 1
name: small
format: "ap_fixed<16,4,AP_RND_CONV,AP_SAT>"
inputs: [a, b]
outputs: [y1, y2]
blocks:
  s:  {op: dot, in: [a, b], weights: [[0.75, -1.25], [0.5, 0.3]], bias: [0.1, -0.2]}
  t:  {op: tanh, in: s, table: {size: 256, range: [-4, 4]}}
  m:  {op: reg, in: t, init: 0}
  y1: {op: slice, in: t, index: 0}
  y2: {op: mul, in: [m, t]}
"""


def lstm_hw_cmd(*args, cwd=None):
    return run_cli(*args, cwd=cwd)


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


# -- grids ---------------------------------------------------------------------------------------
def test_grid_ranges_lists_and_order():
    g = from_args([ALL_SIGNALS, "*_gate:table_size={T}"], ["W=6..8", "I=2,4", "T=64,1024"])
    e = expand(g)
    assert len(e.settings) == 3 * 2 * 2 and e.n_skipped == 0
    first, second = e.settings[:2]
    assert first.label == "W=6 I=2 T=64" and second.label == "W=6 I=2 T=1024"
    assert first.rules == ("*=ap_fixed<6,2,AP_RND,AP_SAT>", "*_gate:table_size=64")
    assert e.settings[-1].values == (("W", "8"), ("I", "4"), ("T", "1024"))
    mixed = expand(from_args(["*=ap_fixed<{W},4>"], ["W=4..6,12"]))
    assert [s.label for s in mixed.settings] == ["W=4", "W=5", "W=6", "W=12"]
    words = expand(from_args(["*=ap_fixed<12,6,{Q},AP_SAT>"], ["Q=AP_RND,AP_TRN"]))
    assert [s.rules[0] for s in words.settings] == ["*=ap_fixed<12,6,AP_RND,AP_SAT>",
                                                   "*=ap_fixed<12,6,AP_TRN,AP_SAT>"]


def test_invalid_formats_are_skipped_and_counted():
    e = expand(from_args([ALL_SIGNALS], ["W=62..66", "I=2,80"]))
    # I > W is a valid ap_fixed; W > 64 is not
    assert [s.label for s in e.settings] == ["W=62 I=2", "W=62 I=80", "W=63 I=2", "W=63 I=80",
                                             "W=64 I=2", "W=64 I=80"]
    assert e.n_skipped == 4
    assert list(e.skipped) == ["width must be an integer from 1 to 64"]
    tables = expand(from_args(["*_gate:table_size={T}"], ["T=1,2,64"]))
    assert len(tables.settings) == 2 and tables.n_skipped == 1


@pytest.mark.parametrize("vary, grid, message", [
    (["*=ap_fixed<{W},4>"], [], "{W} is not a grid variable"),
    (["*=ap_fixed<{W},4>"], ["W=8..6"], "the range 8..6 is empty"),
    (["*=ap_fixed<{W},4>"], ["W=6..8", "X=1,2"], "no --vary template uses {X}"),
    (["ap_fixed<{W},4>"], ["W=6..8"], "expected GLOB[:PART]=TEMPLATE"),
    (["*=ap_fixed<{W},4>"], ["W"], "expected NAME=VALUES"),
    (["*=ap_fixed<{W},4>"], ["W=6..8", "W=9"], "'W' is given twice"),
    (["*=ap_fixed<{W},4>"], ["W=6,,8"], "is not a value or a range"),
    (["*=ap_fixed<{W},{I}>"], ["W=6..8", "I=2..4..6"], "is not a value or a range"),
    ([], [], "nothing to sweep"),
])
def test_bad_grids_are_refused(vary, grid, message):
    with pytest.raises(SweepError, match=None) as info:
        from_args(vary, grid)
    assert message in str(info.value)


def test_sweep_file(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text('vary:\n  "*": "ap_fixed<{W},8,AP_RND,AP_SAT>"\ngrid:\n  W: 9..10\n'
                    'settings:\n  - name: narrow gates\n'
                    '    precision: ["*_gate=ap_fixed<4,2,AP_RND,AP_SAT>"]\n')
    e = expand(from_file(str(path)))
    assert [s.label for s in e.settings] == ["W=9", "W=10", "narrow gates"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("vary: {'*': 'ap_fixed<{W},8>'}\ngird: {W: 1..2}\n")
    with pytest.raises(SweepError, match="unknown key 'gird' \\(did you mean 'grid'\\?\\)"):
        from_file(str(bad))
    bad.write_text("- just\n- a list\n")
    with pytest.raises(SweepError, match="a sweep file is a mapping"):
        from_file(str(bad))


# -- the cost model ------------------------------------------------------------------------------
def test_multiplier_and_constant_costs():
    # synth_xilinx puts a product of 9 bits or more (operands of 2 bits or more) in DSP48E2
    # slices of 27 x 18, tiling wider ones and adding the partial products in LUTs
    assert multiplier_cost(3, 4) == (0, 12)            # a 7-bit product: LUTs
    assert multiplier_cost(1, 16) == (0, 16)           # by one bit: an AND per bit
    assert multiplier_cost(8, 10) == (1, 0)            # 18 bits: one DSP
    assert multiplier_cost(4, 5) == (1, 0)             # 9 bits: one DSP
    assert multiplier_cost(16, 16) == (1, 0)
    assert multiplier_cost(27, 18) == (1, 0)
    assert multiplier_cost(18, 27) == (1, 0)
    assert multiplier_cost(28, 18) == (2, 28 + 18 - 18)        # two tiles, one sum of 28 bits
    assert multiplier_cost(32, 32) == (4, 3 * (64 - 18))       # 2 x 2 tiles either way round
    assert constant_bits(0) == 0
    assert constant_bits(256) == 1                     # a power of two: a shift
    assert constant_bits(-100 * 256) == 6              # 25 after the shift, 5 bits and a sign


def test_table_cost_follows_the_entries():
    """A ROM in logic: the index (n LUTs for n index bits), then per output bit its intervals
    (two comparisons with the n-bit index each, n / 5 LUTs) or its stored bits (1 LUT per 24),
    whichever is fewer."""
    assert table_luts(np.zeros(1024, np.int64), 8) == 10                # constant: the index
    step = np.repeat([0, 1], 512)
    assert table_luts(step, 1) == 10 + 1 * 2           # one interval, two 5-bit comparisons
    alternating = np.tile([0, 1], 512)                 # 1023 changes: stored, 1024 / 24 LUTs
    assert table_luts(alternating, 1) == 10 + 43
    assert table_luts(alternating * 3, 2) == 10 + 2 * 43
    # a 4-bit input reaches at most 16 of the 1,024 entries, and the table costs what they do
    narrow = lstm_hw.load(CELL, precision=["z_in=ap_fixed<4,4,AP_RND,AP_SAT>"])
    table = narrow.cell("in_gate").params.table
    reads = table_reads(table, narrow.cell("z_in").fmt)
    assert len(table.entries) == 1024 and 1 < len(reads) <= 16
    assert cost(narrow.cell("in_gate"), narrow.cells)["table_luts"] == table_luts(reads, 16)


def test_cost_of_the_lecture_cell():
    circuit = lstm_hw.load(CELL)
    total = total_cost(circuit.cells)
    # 3 gate sums multiply by 100 (z multiplies by 1: a wire), but z_in and z_forget both take
    # x2 * 100, one product that synthesis builds once; 3 products: 5 DSPs of 16 bits
    assert total["multipliers"] == 5 and total["dsp"] == 5 and total["mult_luts"] == 0
    assert total["table_bits"] == 3 * 1024 * 16 and total["reg_bits"] == 16
    assert total["total"] == (total["mult_luts"] + total["adder_bits"] + total["logic_bits"]
                              + total["table_luts"] + 100 * total["dsp"]
                              + total["reg_bits"] / 2)
    assert hardware_cost(circuit) == total            # untimed: the circuit is the hardware
    narrow = lstm_hw.load(CELL, precision=["*=ap_fixed<4,4,AP_RND,AP_SAT>"])
    small_total = total_cost(narrow.cells)
    # 4 x 4-bit products (the weight 100 saturates to 7 in ap_fixed<4,4>): 8 bits, in LUTs
    assert small_total["dsp"] == 0 and small_total["mult_luts"] == 5 * 4 * 4
    assert small_total["total"] < total["total"]
    z = circuit.cell("z")
    assert cost(z, circuit.cells)["multipliers"] == 0


def test_folded_dot_cost_counts_the_choices_synthesis_keeps(tmp_path):
    """Multiplier s of a folded dot takes products s, s + K, ...; synthesis folds a step of
    weight 0 away (its row gets itself back) and a choice between equal values, so only the
    inputs and rows of nonzero weights are chosen. The pipelined cell's sums (K = 3; rows
    [1, 0, 0], [0, 100, 0], [0, 100, 0], [0, 0, 100] of x1..x3, ap_fixed<16,8>): multiplier 0
    takes x1 into row 0 only, multiplier 1 x2 into row 1 or 2, multiplier 2 x3 into row 3."""
    circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell_pipelined.yaml")
    c = cost(circuit.cell("sums"), circuit.cells)
    acc = 8 + 7 + 1 + 8    # widest row: x (8 integer bits) * 100 (7), the bias, 8 fractional
    xw = 16                # the inputs, aligned
    rows_chosen = 1 + (2 + 1) + 1        # per multiplier: its rows, and a choice of 2 of them
    start = 3 * xw + 4 * acc             # the inputs and the biases loaded at the start
    saturate = 4 * 16                    # 16 integer bits of the exact sum into 8
    assert c["logic_bits"] == rows_chosen * acc + start + saturate
    assert c["multipliers"] == 3 and c["adder_bits"] == 3 * acc
    # b's weights are all 0: multiplier 1 (products 1 and 3) is never used and costs nothing
    (tmp_path / "z.yaml").write_text(
        "lstm_hw: 1\nname: z\nformat: ap_fixed<16,8,AP_RND,AP_SAT>\ninputs: [a, b]\n"
        "outputs: [d]\nblocks:\n  d: {op: dot, in: [a, b], multipliers: 2, "
        "weights: [[1, 0], [3, 0]], bias: [0, 0]}\n")
    zero = lstm_hw.load(tmp_path / "z.yaml")
    assert cost(zero.cell("d"), zero.cells)["multipliers"] == 1


def test_hardware_cost_counts_the_timing_registers():
    """The pipelined cell's hardware has registers its netlist does not name: z and out_gate
    wait a cycle for their readers (balancing, 16 bits each) and the valid bit runs down six
    stages; the latency stages are in both."""
    circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell_pipelined.yaml")
    assert hardware_cost(circuit)["reg_bits"] == total_cost(circuit.cells)["reg_bits"] + 2 * 16 + 6
    per_signal = hardware_costs(circuit)
    assert per_signal["z"]["reg_bits"] == 16 and per_signal[None]["reg_bits"] == 6
    assert per_signal["in_gate"]["reg_bits"] == 16          # its latency stage


def test_info_shows_the_cost():
    proc = lstm_hw_cmd("info", CELL)
    assert proc.returncode == 0
    total = hardware_cost(lstm_hw.load(CELL))["total"]
    assert f"cost estimate: {total:,.0f} LUT-equivalents" in proc.stdout
    assert "5 DSP slices (27x18)" in proc.stdout


# -- sweeps --------------------------------------------------------------------------------------
def _check_verdicts(rules_list, sequences=1000, steps=50):
    return [run_check(lstm_hw.load(CELL, precision=list(rules)), sequences, steps, 0).passed
            for rules in rules_list]


def test_sweep_verdicts_are_checks_over_all_signals():
    """Acceptance 1: W = 6..16, I = 2..10 for all signals, each verdict as check alone."""
    grid = from_args([ALL_SIGNALS], ["W=6..16", "I=2..10"])
    result = run_sweep(grid, EvalConfig(str(CELL)), workers=1)
    assert len(result.results) == 99 and result.task
    verdicts = [r.task.passed for r in result.results]
    assert verdicts == _check_verdicts([r.setting.rules for r in result.results])
    assert any(verdicts) and not all(verdicts)
    front = result.front
    assert front and all(r.pareto for r in front)
    cheapest_pass = min((r for r in result.results if r.task.passed),
                        key=lambda r: r.cost["total"])
    assert cheapest_pass.pareto
    assert cheapest_pass.cost["total"] < result.baseline.cost["total"]


def test_sweep_verdicts_are_checks_over_gates_and_tables():
    """Acceptance 1: only the gates' formats and table sizes vary."""
    grid = from_args(["*_gate=ap_fixed<{W},{I},AP_RND,AP_SAT>", "*_gate:table_size={T}"],
                     ["W=2..5", "I=1..2", "T=4,64,1024"])
    result = run_sweep(grid, EvalConfig(str(CELL), sequences=300, steps=40), workers=1)
    assert len(result.results) == 24
    verdicts = [r.task.passed for r in result.results]
    assert verdicts == _check_verdicts([r.setting.rules for r in result.results], 300, 40)
    assert any(verdicts) and not all(verdicts)
    tables = {r.setting.values[2][1]: r.cost["table_bits"] for r in result.results
              if r.setting.values[:2] == (("W", "4"), ("I", "2"))}
    assert tables == {"4": 3 * 4 * 4, "64": 3 * 64 * 4, "1024": 3 * 1024 * 4}


def test_sweep_verdict_matches_the_check_command():
    grid = from_args(["*=ap_fixed<{W},{I},AP_RND,AP_SAT>"], ["W=8,10", "I=7,8"])
    result = run_sweep(grid, EvalConfig(str(CELL), sequences=200, steps=30), workers=1)
    for r in result.results:
        args = [a for rule in r.setting.rules for a in ("--precision", rule)]
        proc = lstm_hw_cmd("check", CELL, "--sequences", 200, "--steps", 30, *args)
        assert proc.returncode == (0 if r.task.passed else 1), (r.setting.label, proc.stdout)
    assert {r.task.passed for r in result.results} == {True, False}


def test_local_and_two_workers_and_dask_are_identical():
    grid = from_args([ALL_SIGNALS], ["W=6..9", "I=3..6"])
    config = EvalConfig(str(CELL), sequences=200, steps=30)
    one = run_sweep(grid, config, workers=1)
    two = run_sweep(grid, config, workers=2)
    assert one.results == two.results
    assert sweep_dict(one) == sweep_dict(two)
    assert [r.index for r in two.results] == list(range(16))
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        pytest.skip("dask.distributed is not installed")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        on_dask = run_sweep(grid, config, scheduler=cluster.scheduler_address)
    assert on_dask.results == one.results
    assert sweep_dict(on_dask) == sweep_dict(one)


def test_sweep_without_the_task_reports_errors(small):
    grid = from_args(["*=ap_fixed<{W},4,AP_RND_CONV,AP_SAT>"], ["W=6,10,16"])
    result = run_sweep(grid, EvalConfig(str(small), sequences=50, steps=20, signals=("t",)),
                       workers=1)
    assert not result.task
    rmse = [r.worst().rmse for r in result.results]
    assert rmse[0] > rmse[1] > rmse[2] > 0
    names = [(e.name, e.is_output) for e in result.results[0].errors]
    assert names == [("y1", True), ("y2", True), ("t", False)]
    # the reported error is the fixed-point run against the float reference, recomputed here
    circuit = lstm_hw.load(small, precision=list(result.results[1].setting.rules))
    x = np.random.default_rng(0).uniform(-1, 1, (50, 20, 2))
    fixed = lstm_hw.Simulator(circuit).run(x, record=["y2"], strict=False).values("y2")
    ref = lstm_hw.run_reference(circuit, x, record=["y2"]).values("y2")
    want = float(np.sqrt(np.mean((fixed - ref) ** 2)))
    assert result.results[1].errors[1].rmse == pytest.approx(want, rel=1e-12)
    assert [r.pareto for r in result.ranked()][0]


def _fake(index, cost_total, error):
    r = SettingResult(index, Setting(f"s{index}", ()), {"total": cost_total}, None,
                      [], {})
    r.__dict__["_error"] = error
    return r


def test_pareto_front(monkeypatch):
    monkeypatch.setattr(SettingResult, "error", property(lambda self: self.__dict__["_error"]))
    rs = [_fake(0, 10, 0.5), _fake(1, 20, 0.1), _fake(2, 20, 0.3), _fake(3, 30, 0.1),
          _fake(4, 5, 0.9), _fake(5, 40, 0.0), _fake(6, 5, 0.9)]
    mark_pareto(rs)
    assert [r.index for r in rs if r.pareto] == [0, 1, 4, 5, 6]


# -- the command line ----------------------------------------------------------------------------
def test_sweep_command_end_to_end(tmp_path):
    out = tmp_path
    proc = lstm_hw_cmd("sweep", CELL, "--vary", ALL_SIGNALS, "--grid", "W=6..9", "I=6..8",
                       "--sequences", 200, "--steps", 30, "--csv", out / "s.csv", "--json",
                       out / "s.json", "--plot", out / "s.png", "--top", 5)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "12 settings" in text and "Pareto front" in text and "... 7 more" in text
    rows = [ln for ln in text.splitlines() if ln.lstrip()[:2].strip().isdigit()]
    assert len(rows) == 5 and " * " in rows[0]
    data = json.loads((out / "s.json").read_text())
    assert len(data["results"]) == 12 and data["grid"] == {"W": ["6", "7", "8", "9"],
                                                            "I": ["6", "7", "8"]}
    table = list(csv.DictReader((out / "s.csv").open()))
    assert [row["label"] for row in table] == [r["label"] for r in data["results"]]
    assert {row["check"] for row in table} == {"PASS", "FAIL"}
    assert (out / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_command_without_the_task(small, tmp_path):
    proc = lstm_hw_cmd("sweep", small, "--vary", "*=ap_fixed<{W},4,AP_RND_CONV,AP_SAT>",
                       "--grid", "W=6,12", "--sequences", 20, "--steps", 10, "--workers", 2,
                       "--json", tmp_path / "e.json")
    assert proc.returncode == 0, proc.stderr
    assert "RMSE" in proc.stdout and "SQNR dB" in proc.stdout
    assert json.loads((tmp_path / "e.json").read_text())["scored_by"].startswith("error")


@pytest.mark.parametrize("args, message", [
    (["--vary", "*=ap_fixed<{W},4>", "--grid", "W=9..6"], "the range 9..6 is empty"),
    (["--vary", "*=ap_fixed<{W},4>"], "{W} is not a grid variable"),
    (["--vary", "nothing", "--grid", "W=1"], "expected GLOB[:PART]=TEMPLATE"),
    (["--vary", "gaet*=ap_fixed<{W},4>", "--grid", "W=6..8"], "'gaet*' matches no signal"),
    (["--vary", "*=ap_fixed<{W},4>", "--grid", "W=65..66"], "no valid setting"),
    (["--vary", "*:weigth=ap_fixed<{W},4>", "--grid", "W=6"], "no valid setting"),
    (["--file", "missing.yaml"], "cannot read the sweep file"),
])
def test_bad_sweep_options_exit_2(args, message):
    proc = lstm_hw_cmd("sweep", CELL, *args)
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr
    assert proc.stdout == ""


# -- profile -------------------------------------------------------------------------------------
def test_integer_bits():
    fmt = parse_format("ap_fixed<16,8>")
    assert integer_bits(1, 9, fmt) == 5              # 9 < 16 = 2^4
    assert integer_bits(-128, 0, fmt) == 8
    assert integer_bits(0, 127.99, fmt) == 8
    assert integer_bits(0, 0.9997, fmt) == 2         # rounds to 1.0 at 2^-8: 2 integer bits
    assert integer_bits(0, 0.99, fmt) == 1
    assert integer_bits(0, 0, fmt) is None
    assert integer_bits(0, 0.2, fmt) == -1           # [-0.25, 0.25)
    assert integer_bits(0, 9, parse_format("ap_ufixed<8,4>")) == 4


def test_profile_of_the_lecture_cell():
    p = profile(EvalConfig(str(CELL), sequences=300))
    r = p.by_name()
    assert (r["x1"].lo, r["x1"].hi, r["x1"].needed, r["x1"].spare) == (1, 9, 5, 3)
    assert r["z_in"].lo == -110 and r["z_in"].hi == 90 and r["z_in"].needed == 8
    assert r["in_gate"].needed == 2 and r["in_gate"].verdict() == \
        "needs 2 integer bits, has 8: wastes 6"
    assert r["x2"].percentiles[0] == -1 and r["x2"].percentiles[-1] == 1
    proc = lstm_hw_cmd("profile", CELL, "--sequences", 100, "--precision", "c*=ap_fixed<12,6>")
    assert proc.returncode == 0
    assert "need more integer bits: c_next (needs 8, has 6), c (needs 8, has 6)" in proc.stdout
    assert "needs 5 integer bits, has 8: wastes 3" in proc.stdout


# -- tune ----------------------------------------------------------------------------------------
def test_targets():
    assert parse_target(None) == Target()
    assert parse_target("rmse=0.01") == Target("rmse", 0.01)
    for bad in ("rms=1", "accuracy=2", "rmse=x", "accuracy"):
        with pytest.raises(SweepError):
            parse_target(bad)


def test_tune_the_lecture_cell(tmp_path):
    """Acceptance 2: settings that pass check, cheaper than the default by the cost model."""
    out = tmp_path / "tuned.yaml"
    proc = lstm_hw_cmd("tune", CELL, "-o", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = [ln.strip()[len("--precision '"):-1] for ln in proc.stdout.splitlines()
             if ln.strip().startswith("--precision '")]
    assert rules
    default = total_cost(lstm_hw.load(CELL).cells)["total"]
    tuned = lstm_hw.load(CELL, precision=rules)
    assert total_cost(tuned.cells)["total"] < default
    assert run_check(tuned).passed
    args = [a for rule in rules for a in ("--precision", rule)]
    assert lstm_hw_cmd("check", CELL, *args).returncode == 0
    # the written netlist is the tuned circuit, and passes check on its own
    written = lstm_hw.load(out)
    assert [(c.name, str(c.fmt)) for c in written.cells] == \
        [(c.name, str(c.fmt)) for c in tuned.cells]
    assert total_cost(written.cells) == total_cost(tuned.cells)
    assert lstm_hw_cmd("check", out).returncode == 0
    assert lstm_hw_cmd("check", out, "--seed", 7).returncode == 0
    assert "# The lecture's hand-wired LSTM unit" in out.read_text()   # comments kept


def test_tune_with_groups_and_an_error_target(small):
    config = EvalConfig(str(small), sequences=50, steps=20)
    result = tune(config, parse_target("rmse=0.02"), ["*", "t"])
    assert result.found
    assert [g for g, _ in result.groups] == ["*", "t"]
    assert result.best.worst().rmse <= 0.02
    assert result.best.cost["total"] < result.baseline.cost["total"]
    check = evaluate(config, Setting("again", tuple(result.rules)))
    assert check.worst().rmse <= 0.02 and check.cost == result.best.cost


def test_tune_refuses_a_target_the_netlist_misses(small):
    proc = lstm_hw_cmd("tune", small, "--target", "rmse=0", "--sequences", 10, "--steps", 5)
    assert proc.returncode == 1 and "does not meet the target" in proc.stdout
    proc = lstm_hw_cmd("tune", small, "--sequences", 10)
    assert proc.returncode == 2 and "give --target rmse=E" in proc.stderr
    proc = lstm_hw_cmd("tune", CELL, "--groups", "nothing*")
    assert proc.returncode == 2 and "'nothing*' matches no block" in proc.stderr


def test_merge_precision_into_an_existing_section():
    text = ('lstm_hw: 1\nprecision:\n  # roles\n  "a*": "ap_fixed<8,4>"\n  b: "ap_fixed<6,2>"\n'
            'blocks: {}\n')
    merged = merge_precision(text, ["b=ap_fixed<5,2>", "c:weight=ap_fixed<4,1>"], "tuned")
    assert merged == ('lstm_hw: 1\nprecision:\n  # roles\n  "a*": "ap_fixed<8,4>"\n'
                      '  # b: "ap_fixed<6,2>"   (set below)\n  # tuned\n'
                      '  "b": "ap_fixed<5,2>"\n  "c:weight": "ap_fixed<4,1>"\nblocks: {}\n')
    flow = merge_precision('lstm_hw: 1\nprecision: {a: "ap_fixed<8,4>"}\n', ["b=ap_fixed<5,2>"])
    assert flow == 'lstm_hw: 1\nprecision: {"a": "ap_fixed<8,4>", "b": "ap_fixed<5,2>"}\n'


def test_tune_the_trained_network(tmp_path):
    """Acceptance 2 on the trained network: passes check, cheaper by the cost model."""
    out = tmp_path / "tuned.yaml"
    proc = lstm_hw_cmd("tune", TRAINED, "--groups", "*", "--groups", "*.[ifo]",
                       "--groups", "*.g", "--groups", "*.c*", "--groups", "*.h*",
                       "--groups", "y", "--sequences", 300, "-o", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = [ln.strip()[len("--precision '"):-1] for ln in proc.stdout.splitlines()
             if ln.strip().startswith("--precision '")]
    tuned = lstm_hw.load(TRAINED, precision=rules)
    assert run_check(tuned, 300).passed
    assert total_cost(tuned.cells)["total"] < total_cost(lstm_hw.load(TRAINED).cells)["total"]
