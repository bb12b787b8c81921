"""End-to-end tests of the ``lstm-hw`` command: the real console script on the shipped netlists.

Numbers are parsed out of the output rather than whole outputs compared, so that the layout of
the tables may change; error messages, which users read and tools match, are compared exactly.
"""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "netlists" / "memory_cell.yaml"
NETLISTS = sorted((ROOT / "netlists").glob("*.yaml"))

# The lecture's sequence (seed/README.md): x1, x2, x3 and the ideal y per step
LECTURE = [(1, 0, 0), (3, 1, 0), (2, 0, 0), (4, 1, 0), (2, 0, 0), (1, 0, 1), (3, -1, 0),
           (6, 1, 0), (1, 0, 1)]
LECTURE_Y = ["0", "0", "0", "0", "0", "7", "0", "0", "6"]


def lstm_hw(*args, cwd=None):
    return run_cli(*args, cwd=cwd, timeout=300)


def lecture_csv(folder: Path) -> Path:
    path = folder / "lecture.csv"
    path.write_text("x1,x2,x3\n" + "".join(f"{a},{b},{c}\n" for a, b, c in LECTURE))
    return path


def read_columns(text: str) -> dict[str, list[str]]:
    """A CSV as {column: values}; the first column must be ``step``."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and rows[0][0] == "step", text
    assert all(len(r) == len(rows[0]) for r in rows), text
    return {name: [r[k] for r in rows[1:]] for k, name in enumerate(rows[0])}


def values(columns: dict[str, list[str]]) -> list[str]:
    """The value columns of run's output (without ``step`` and the ``NAME@cycle`` timing)."""
    return [name for name in columns if name != "step" and not name.endswith("@cycle")]


def lecture_table(output: str) -> dict[int, list[str]]:
    """step -> [x1, x2, x3, ideal, fixed, float, verdict] from check's lecture table."""
    table = {}
    for line in output.splitlines():
        m = re.match(r"\s*(\d+)((?:\s+\S+){6})\s+(ok|WRONG)\s*$", line)
        if m:
            table[int(m.group(1))] = [*m.group(2).split(), m.group(3)]
    return table


# -- check ---------------------------------------------------------------------------------------
def test_check_the_lecture_cell_passes():
    proc = lstm_hw("check", CELL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = lecture_table(proc.stdout)
    assert sorted(table) == list(range(1, 10))
    assert [table[t][0:3] for t in range(1, 10)] == [[str(v) for v in x] for x in LECTURE]
    assert [table[t][3] for t in range(1, 10)] == LECTURE_Y          # ideal
    assert [table[t][4] for t in range(1, 10)] == LECTURE_Y          # fixed: exact
    assert table[6][5] == "6.9995" and table[9][5] == "5.9998"        # float: the lecture's
    assert all(table[t][6] == "ok" for t in table)
    assert "PASS" in proc.stdout and "FAIL" not in proc.stdout


def test_check_fails_with_saturating_8_bit_formats():
    proc = lstm_hw("check", CELL, "--precision", "*=ap_fixed<8,4,AP_RND,AP_SAT>")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    table = lecture_table(proc.stdout)
    assert table[6][4] != "7" and table[6][6] == "WRONG"
    m = re.search(r"first wrong step: the lecture's sequence, step (\d+)", proc.stdout)
    assert m and int(m.group(1)) == 6
    assert "FAIL" in proc.stdout and "PASS" not in proc.stdout


def test_check_shows_a_wrapped_weight():
    proc = lstm_hw("check", CELL, "--precision", "*=ap_fixed<8,4,AP_RND,AP_WRAP>")
    assert proc.returncode == 1
    # the gate weights of 100 wrap around 16 (8 bits, 4 integer) to 100 - 6 * 16 = 4
    wrapped = re.findall(r"(\w+)\.weights:.*worst: 100 became (\S+?)\)", proc.stdout)
    assert {name for name, _ in wrapped} == {"z_in", "z_forget", "z_out"}
    assert {value for _, value in wrapped} == {"4"}


def test_check_options_are_used():
    proc = lstm_hw("check", CELL, "--sequences", "7", "--steps", "11", "--seed", "3")
    assert proc.returncode == 0
    assert re.search(r"\b7 random sequences of 11 steps \(seed 3\)", proc.stdout)


# -- run -----------------------------------------------------------------------------------------
def test_run_writes_exact_decimals(tmp_path):
    proc = lstm_hw("run", CELL, "-i", lecture_csv(tmp_path))
    assert proc.returncode == 0, proc.stderr
    col = read_columns(proc.stdout)
    assert values(col) == ["y"]
    assert col["step"] == [str(t) for t in range(1, 10)]
    assert col["y"] == LECTURE_Y


def test_run_to_a_file_leaves_only_that_file(tmp_path):
    out = tmp_path / "out.csv"
    proc = lstm_hw("run", CELL, "-i", lecture_csv(tmp_path), "-o", out)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    col = read_columns(out.read_text())
    assert values(col) == ["y"] and col["y"] == LECTURE_Y
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.csv", "out.csv"]


def test_run_float_reference(tmp_path):
    proc = lstm_hw("run", CELL, "-i", lecture_csv(tmp_path), "--float")
    assert proc.returncode == 0, proc.stderr
    col = read_columns(proc.stdout)
    assert values(col) == ["y"]
    y = [float(v) for v in col["y"]]
    assert round(y[5], 4) == 6.9995 and round(y[8], 4) == 5.9998
    assert all(abs(v) < 1e-3 for k, v in enumerate(y) if k not in (5, 8))
    assert y[5] != 7 and y[8] != 6        # the float gates are never exactly 0 or 1


def test_run_signals_adds_columns(tmp_path):
    proc = lstm_hw("run", CELL, "-i", lecture_csv(tmp_path), "--signals", "c*")
    assert proc.returncode == 0, proc.stderr
    col = read_columns(proc.stdout)
    assert values(col)[0] == "y" and sorted(values(col)[1:]) == ["c", "c_next"]
    assert col["y"] == LECTURE_Y
    memory = ["0", "3", "3", "7", "7", "7", "0", "6", "6"]   # after each step's update
    assert col["c_next"] == memory
    assert col["c"] == ["0"] + memory[:-1]                     # the register: one step behind


def test_run_unknown_signal_glob(tmp_path):
    proc = lstm_hw("run", CELL, "-i", lecture_csv(tmp_path), "--signals", "nothing*")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("--signals: ")


# -- bad CSV input -------------------------------------------------------------------------------
BAD_CSV = {
    "unknown_column": ("x1,x2,x_3\n1,0,0\n",
                       "X.csv:1:3: error: unknown column 'x_3' (did you mean 'x3'?) (the inputs "
                       "are x1, x2, x3)"),
    "missing_column": ("x1,x2\n1,0\n",
                       "X.csv:1:1: error: missing column 'x3' (the inputs are x1, x2, x3)"),
    "duplicate_column": ("x1,x2,x1,x3\n1,0,1,0\n",
                         "X.csv:1:3: error: column 'x1' appears twice"),
    "nan": ("x1,x2,x3\n1,nan,0\n",
            "X.csv:2:2: error: column 'x2': 'nan' is not a finite number"),
    "text": ("x1,x2,x3\n1,0,0\n1,abc,0\n",
             "X.csv:3:2: error: column 'x2': 'abc' is not a number"),
    "inf": ("x1,x2,x3\n1,0,inf\n",
            "X.csv:2:3: error: column 'x3': 'inf' is not a finite number"),
    "too_few_fields": ("x1,x2,x3\n1,0,0\n1,0\n",
                       "X.csv:3:3: error: 2 fields, but the header has 3"),
    "too_many_fields": ("x1,x2,x3\n1,0,0,5\n",
                        "X.csv:2:4: error: 4 fields, but the header has 3"),
    "empty": ("", "X.csv:1:1: error: empty file (expected a header: x1, x2, x3)"),
    "header_only": ("x1,x2,x3\n", "X.csv:2:1: error: no data rows after the header"),
    "step_column": ("step,x1,x2,x3\n1,1,0,0\n2,1,one,0\n",
                    "X.csv:3:3: error: column 'x2': 'one' is not a number"),
    "out_of_range": pytest.param(
        "x1,x2,x3\n1,0,0\n200,0,0\n",
        "X.csv:3:1: error: column 'x1': 200 does not fit the input's format "
        "ap_fixed<16,8,AP_RND_CONV,AP_SAT> [-128, 127.996]"),
}


@pytest.mark.parametrize("text, message", list(BAD_CSV.values()), ids=list(BAD_CSV))
def test_bad_csv(tmp_path, text, message):
    (tmp_path / "X.csv").write_text(text)
    proc = lstm_hw("run", CELL, "-i", "X.csv", "-o", "out.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == message + "\n"
    # nothing written: no output file, no temporary file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.csv"]


def test_bad_csv_keeps_the_old_output(tmp_path):
    (tmp_path / "X.csv").write_text("x1,x2,x3\n1,0,0\n1,0\n")
    (tmp_path / "out.csv").write_text("the previous run\n")
    proc = lstm_hw("run", CELL, "-i", "X.csv", "-o", "out.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("X.csv:3:3: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.csv", "out.csv"]
    assert (tmp_path / "out.csv").read_text() == "the previous run\n"


def test_out_of_range_input_is_refused_without_output(tmp_path):
    """The part of the out-of-range case that holds today: exit 2, row named, nothing written."""
    (tmp_path / "X.csv").write_text("x1,x2,x3\n1,0,0\n200,0,0\n")
    proc = lstm_hw("run", CELL, "-i", "X.csv", "-o", "out.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("X.csv:3:") and "column 'x1': 200 does not fit" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.csv"]


def test_missing_csv_file(tmp_path):
    proc = lstm_hw("run", CELL, "-i", "nothing.csv", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("nothing.csv: error: cannot read")


# -- validate, info, help ------------------------------------------------------------------------
def test_validate_good_netlists():
    proc = lstm_hw("validate", *NETLISTS)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(NETLISTS)
    for path, line in zip(NETLISTS, lines):
        assert re.fullmatch(rf"{re.escape(str(path))}: ok \(\d+ cells, \d+ registers?\)", line)
    assert "memory_cell.yaml: ok (15 cells, 1 register" in proc.stdout


def test_validate_reports_every_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lstm_hw: 1\ninputs: [a]\noutputs: [y]\nblocks:\n  y: {op: tanh, in: b}\n")
    proc = lstm_hw("validate", bad.name, CELL, cwd=tmp_path)
    assert proc.returncode == 2
    assert re.fullmatch(r".*memory_cell\.yaml: ok \(15 cells, 1 registers?\)\n", proc.stdout)
    assert proc.stderr.startswith("bad.yaml:5:21: error: block 'y' reads 'b', which is not "
                                  "defined")


def test_missing_netlist(tmp_path):
    proc = lstm_hw("info", "nowhere.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("nowhere.yaml: error: cannot read netlist")


def test_info():
    proc = lstm_hw("info", CELL)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    cells = re.search(r"^cells: (.*) \((\d+) in all\)$", out, re.M)
    counts = dict((op, int(n)) for n, op in re.findall(r"(\d+) (\w+)", cells.group(1)))
    assert counts == {"add": 1, "dot": 4, "input": 3, "mul": 3, "reg": 1, "sigmoid": 3}
    assert int(cells.group(2)) == 15
    assert re.search(r"^registers: c\[1\] <- c_next$", out, re.M)
    # every signal is listed with its format
    for name in ("x1", "z_in", "in_gate", "write", "keep", "c_next", "c", "y"):
        assert re.search(rf"^\s+{name}\s+\w+\s+1\s+ap_fixed<16,8,AP_RND_CONV,AP_SAT>\s", out,
                         re.M), name
    # the quantised constants, with their error
    for name in ("z", "z_in", "z_forget", "z_out"):
        assert re.search(rf"^\s+{name}\.weights: 3 values in .*max error 0$", out, re.M), name
    assert re.search(r"^\s+c\.init: 1 value", out, re.M)


def test_info_prints_the_integers_of_each_weighted_sum():
    """The compiled engine's lanes per dot, as schedule.dot_lanes proves them: the 2x128
    network's first layer in two int32 blocks (x and h are aligned by different shifts), its
    second in one; the lecture's 3-product dots written out in int64."""
    proc = lstm_hw("info", ROOT / "netlists" / "lstm2x128.yaml")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "compiled engine, weighted sums" in out
    for gate in "ifgo":
        assert re.search(rf"^  l1\.z_{gate}: int16 operands, int32 sums in 2 blocks \(each at "
                         r"most 2\^2\d\.\d < 2\^31\)$", out, re.M), out
        assert re.search(rf"^  l2\.z_{gate}: int16 operands, int32 sums in 1 block ", out, re.M)
    cell = lstm_hw("info", CELL).stdout
    assert re.search(r"^  z_in: int64, written out \(3 products", cell, re.M), cell


def test_info_dump():
    proc = lstm_hw("info", CELL, "--dump")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^circuit memory_cell: 15 cells", proc.stdout, re.M)


def test_python_m_help():
    proc = subprocess.run([sys.executable, "-m", "lstm_hw", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    for command in ("validate", "info", "run", "check"):
        assert command in proc.stdout
    assert proc.stdout.startswith("usage: lstm-hw")


# -- bad options ---------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "info", "check"])
def test_bad_precision_syntax(command):
    proc = lstm_hw(command, CELL, "--precision", "ap_fixed<8,4>")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("--precision #1 'ap_fixed<8,4>': error: 'ap_fixed<8,4>' is not "
                           "GLOB[:PART]=FORMAT (e.g. 'z_*=ap_fixed<12,6>')\n")


@pytest.mark.parametrize("rule, message", [
    ("*=ap_fixed<8>", "precision '*': format 'ap_fixed<8>': expected 2 to 5 template arguments, "
                      "got 1"),
    ("*:weights=ap_fixed<8,4>", "unknown part ':weights' in '*:weights' (expected one of "
                                "result, weight, bias, accum"),
    ("gate*=ap_fixed<8,4>", "precision 'gate*' matches no signal (did you mean 'in_gate'?)"),
])
def test_bad_precision(rule, message):
    proc = lstm_hw("check", CELL, "--precision", "z*=ap_fixed<16,8>", "--precision", rule)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"--precision #2 '{rule}': error: {message}")
    assert proc.stderr.count("\n") == 1


def test_bad_option_value():
    proc = lstm_hw("check", CELL, "--sequences", "0")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "expected a positive integer, got 0" in proc.stderr
