"""`run` over datasets: many sequences from a CSV with a ``seq`` column, an .npy or an .npz, each
from the reset state, in one process and one engine call; outputs as CSV or .npz; stdin input;
the float reference streamed with the same ``@cycle`` columns.

Every dataset result is compared with single-sequence runs of the same command (the CLI's
``main`` in this process for the fifty single runs, the console script for the dataset runs).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

import lstm_hw
from lstm_hw import cli
from lstm_hw.sim.reference import run_reference
from lstm_hw.sim.simulator import Simulator
from lstm_hw.tasks import memory

ROOT = Path(__file__).resolve().parents[1]
NET_2X16 = ROOT / "netlists" / "memory_lstm2x16.yaml"
PIPELINED = ROOT / "netlists" / "memory_cell_pipelined.yaml"


def rows_of(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and all(len(r) == len(rows[0]) for r in rows), text
    return rows


def write_seq_csv(path: Path, x: np.ndarray, labels=None) -> None:
    labels = labels or [str(s) for s in range(len(x))]
    with open(path, "w") as fh:
        fh.write("seq,x1,x2,x3\n")
        for label, seq in zip(labels, x):
            fh.writelines(f"{label},{a:g},{b:g},{c:g}\n" for a, b, c in seq)


def write_csv(path: Path, seq: np.ndarray) -> None:
    path.write_text("x1,x2,x3\n" + "".join(f"{a:g},{b:g},{c:g}\n" for a, b, c in seq))


def single_run(tmp_path: Path, netlist: Path, seq: np.ndarray, *extra) -> list[list[str]]:
    """One sequence through the CLI's main, in this process: its output rows."""
    src, out = tmp_path / "single.csv", tmp_path / "single_out.csv"
    write_csv(src, seq)
    assert cli.main(["run", str(netlist), "-i", str(src), "-o", str(out), *extra]) == 0
    return rows_of(out.read_text())


@pytest.mark.parametrize("netlist", [NET_2X16, PIPELINED], ids=["2x16", "pipelined"])
def test_run_50_sequences_equals_50_single_runs(tmp_path, netlist):
    """Acceptance 4: 50 x 20 from one CSV with `seq` and from one .npy, one process each; the
    output is identical to 50 single-sequence runs."""
    x = memory.generate(50, 20, seed=7)
    write_seq_csv(tmp_path / "data.csv", x)
    np.save(tmp_path / "data.npy", x)
    from_csv = run_cli("run", netlist, "-i", tmp_path / "data.csv")
    from_npy = run_cli("run", netlist, "-i", tmp_path / "data.npy")
    assert from_csv.returncode == 0 and from_npy.returncode == 0, from_csv.stderr
    assert from_csv.stdout == from_npy.stdout
    rows = rows_of(from_csv.stdout)
    assert rows[0][:2] == ["seq", "step"] and len(rows) == 1 + 50 * 20
    for s in range(50):
        single = single_run(tmp_path, netlist, x[s])
        assert rows[0][1:] == single[0]
        assert [r[1:] for r in rows[1 + 20 * s:1 + 20 * (s + 1)]] == single[1:], f"sequence {s}"
        assert {r[0] for r in rows[1 + 20 * s:1 + 20 * (s + 1)]} == {str(s)}


def test_a_dataset_is_one_engine_call(tmp_path, monkeypatch):
    """50 sequences of 20 steps: the simulator's kernel is called once, not fifty times."""
    calls = []
    kernel = Simulator._kernel
    monkeypatch.setattr(Simulator, "_kernel",
                        lambda self, vals, *a: calls.append(vals.shape) or kernel(self, vals, *a))
    x = memory.generate(50, 20, seed=3)
    np.save(tmp_path / "data.npy", x)
    assert cli.main(["run", str(NET_2X16), "-i", str(tmp_path / "data.npy"),
                     "-o", str(tmp_path / "out.csv")]) == 0
    assert [shape[-1] for shape in calls] == [50]


def test_sequences_of_different_lengths_run_each_from_reset(tmp_path):
    """Each sequence is its own stream with its own length (label order kept; labels are
    any text)."""
    x = memory.generate(3, 12, seed=5)
    parts = [x[0, :5], x[1, :12], x[2, :5], x[0, 5:6]]
    labels = ["b", "a", "run 3", "b2"]
    with open(tmp_path / "data.csv", "w") as fh:
        fh.write("seq,step,x3,x1,x2\n")     # a step column and another column order
        for label, seq in zip(labels, parts):
            fh.writelines(f"{label},{t + 1},{c:g},{a:g},{b:g}\n" for t, (a, b, c)
                          in enumerate(seq))
    proc = run_cli("run", PIPELINED, "-i", tmp_path / "data.csv", "--signals", "c")
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(proc.stdout)
    at = 1
    for label, seq in zip(labels, parts):
        single = single_run(tmp_path, PIPELINED, seq, "--signals", "c")
        got = rows[at:at + len(seq)]
        assert [r[0] for r in got] == [label] * len(seq)
        assert [r[1:] for r in got] == single[1:]
        at += len(seq)
    assert at == len(rows)


def test_npz_in_and_out(tmp_path):
    """.npz inputs (one array per input, [sequences, steps] or [.., elements]) and outputs (one
    array per signal, values and raw integers) agree with the CSV output."""
    x = memory.generate(6, 9, seed=11)
    np.savez(tmp_path / "in.npz", x1=x[:, :, 0], x2=x[:, :, 1:2], x3=x[:, :, 2].astype(int))
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / "out.npz"
    proc = run_cli("run", NET_2X16, "-i", tmp_path / "in.npz", "-o", out, "--signals", "l1.c")
    assert proc.returncode == 0, proc.stderr
    text = run_cli("run", NET_2X16, "-i", tmp_path / "in.npy", "--signals", "l1.c").stdout
    rows = rows_of(text)
    with np.load(out) as z:
        assert sorted(z.files) == ["l1.c", "l1.c.raw", "y", "y.raw"]
        assert z["y"].shape == (6, 9, 1) and z["l1.c"].shape == (6, 9, 16)
        assert z["y.raw"].dtype == np.int64
        circuit = lstm_hw.load(NET_2X16)
        for name in ("y", "l1.c"):
            fmt = circuit.cell(name).fmt
            assert np.array_equal(z[name], z[f"{name}.raw"] * 2.0 ** -fmt.frac)
        y_col = rows[0].index("y")
        c_cols = [rows[0].index(f"l1.c[{k}]") for k in range(16)]
        flat = rows[1:]
        assert [float(r[y_col]) for r in flat] == list(z["y"].reshape(-1))
        assert [[float(r[k]) for k in c_cols] for r in flat] == z["l1.c"].reshape(-1, 16).tolist()


def test_float_npz_has_no_raw_arrays(tmp_path):
    x = memory.generate(4, 7, seed=2)
    np.save(tmp_path / "in.npy", x)
    out = tmp_path / "out.npz"
    proc = run_cli("run", NET_2X16, "-i", tmp_path / "in.npy", "-o", out, "--float")
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as z:
        assert z.files == ["y"]
        expected = run_reference(lstm_hw.load(NET_2X16), x).values("y")
        assert np.array_equal(z["y"], expected)


def test_stdin_input_is_the_same_as_the_file(tmp_path):
    x = memory.generate(1, 15, seed=4)[0]
    write_csv(tmp_path / "in.csv", x)
    from_file = run_cli("run", PIPELINED, "-i", tmp_path / "in.csv")
    proc = run_cli("run", PIPELINED, "-i", "-", input=(tmp_path / "in.csv").read_text())
    assert proc.returncode == 0 and from_file.returncode == 0, proc.stderr
    assert proc.stdout == from_file.stdout


def test_stdin_errors_name_stdin():
    proc = run_cli("run", PIPELINED, "-i", "-", input="x1,x2,x3\n1,0,zero\n")
    assert proc.returncode == 2
    assert proc.stderr == "<stdin>:2:3: error: column 'x3': 'zero' is not a number\n"


def test_float_run_has_the_same_cycle_columns(tmp_path):
    """--float writes the @cycle columns of the fixed run, so the two outputs line up."""
    x = memory.generate(1, 12, seed=9)[0]
    write_csv(tmp_path / "in.csv", x)
    fixed = rows_of(run_cli("run", PIPELINED, "-i", tmp_path / "in.csv").stdout)
    ref = rows_of(run_cli("run", PIPELINED, "-i", tmp_path / "in.csv", "--float").stdout)
    assert fixed[0] == ref[0] and "y@cycle" in fixed[0]
    k = fixed[0].index("y@cycle")
    assert [r[k] for r in fixed] == [r[k] for r in ref]
    assert [int(r[k]) for r in fixed[1:]] != list(range(12))   # pipelined: cycles differ
    y = [float(r[fixed[0].index("y")]) for r in ref[1:]]
    assert y == list(run_reference(lstm_hw.load(PIPELINED), x).values("y")[0, :, 0])


def test_float_run_streams_in_chunks(tmp_path, monkeypatch):
    """The float reference reads, runs and writes a chunk at a time (bounded memory): with
    3-row chunks, 10 steps come out as chunks of at most 3, equal to one whole run."""
    from lstm_hw.report import csvio
    iter_table = csvio.iter_table
    monkeypatch.setattr("lstm_hw.report.runs.iter_table",
                        lambda path, cols: iter_table(path, cols, chunk_rows=3))
    seen = []
    from lstm_hw.sim import reference
    stream = reference.stream_reference

    def spy(circuit, chunks, record):
        for part in stream(circuit, chunks, record):
            seen.append(part.data.shape[1])
            yield part

    monkeypatch.setattr("lstm_hw.report.runs.stream_reference", spy)
    x = memory.generate(1, 10, seed=8)[0]
    write_csv(tmp_path / "in.csv", x)
    out = tmp_path / "out.csv"
    assert cli.main(["run", str(PIPELINED), "-i", str(tmp_path / "in.csv"), "-o", str(out),
                     "--float"]) == 0
    assert seen == [3, 3, 3, 1]
    y = [float(r[1]) for r in rows_of(out.read_text())[1:]]
    assert y == list(run_reference(lstm_hw.load(PIPELINED), x).values("y")[0, :, 0])


@pytest.mark.parametrize("kind", ["csv", "npy"])
def test_float_dataset_equals_the_reference_per_sequence(tmp_path, kind):
    x = memory.generate(5, 8, seed=6)
    write_seq_csv(tmp_path / "in.csv", x)
    np.save(tmp_path / "in.npy", x)
    proc = run_cli("run", NET_2X16, "-i", tmp_path / f"in.{kind}", "--float")
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(proc.stdout)
    y = np.array([float(r[rows[0].index("y")]) for r in rows[1:]]).reshape(5, 8)
    circuit = lstm_hw.load(NET_2X16)
    for s in range(5):
        assert list(y[s]) == list(run_reference(circuit, x[s]).values("y")[0, :, 0])


def test_readme_run_example_gives_the_lecture_answer():
    """The README's `run` example, as written there, on the shipped lecture sequence: the
    lecture's y (seed/README.md), and every output line the README shows."""
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines()
                   if line.startswith("lstm-hw run ") and "memory_cell_lecture.csv" in line)
    proc = run_cli(*command.split()[1:], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = rows_of(proc.stdout)
    assert [r[rows[0].index("y")] for r in rows[1:]] == ["0", "0", "0", "0", "0", "7", "0",
                                                          "0", "6"]
    shown = readme[readme.index(command):].split("```")[2].strip().splitlines()
    assert [line for line in shown if line != "..."] and \
        all(line in proc.stdout.splitlines() for line in shown if line != "...")
    lecture = np.loadtxt(ROOT / "netlists" / "memory_cell_lecture.csv", delimiter=",",
                         skiprows=1)
    assert np.array_equal(lecture[:, 1:], memory.LECTURE_INPUTS)


def test_run_help_lists_every_precision_part():
    from lstm_hw.netlist.parse import PARTS
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert all(f"{part}: " in text for part in PARTS), text
