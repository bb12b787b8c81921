"""Outputs of every subcommand (issue 10): written whole through lstm_hw/files.py, never over an
input or a device, checked before the work, and every option honoured or refused.

Each test is named after the defect it pins down; the writer's own rules (modes, links,
devices) are also tested on the library function.
"""
from __future__ import annotations

import csv
import io
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

import lstm_hw

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "netlists" / "memory_cell.yaml"
INPUT = "x1,x2,x3\n1,1,0\n2,1,0\n0,0,1\n"
FAST = ("--sequences", "20", "--steps", "10")
# A small netlist whose weights come from a file next to it (tune, sweep, run read it)
WEIGHTED = """lstm_hw: 1
name: weighted
format: ap_fixed<16,6,AP_RND_CONV,AP_SAT>
inputs: {x: {size: 2}}
outputs: [y]
blocks:
  z: {op: dot, in: [x, h], weights: {file: w.npz, key: W}, bias: [0.1, -0.2]}
  h_next: {op: tanh, in: z}
  h: {op: reg, in: h_next, init: 0}
  y: {op: dot, in: h, weights: [[0.5, -0.25]], bias: 0}
"""


def lstm_hw_cli(*args, cwd=None):
    return run_cli(*args, cwd=cwd, timeout=300)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def weighted(tmp_path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    np.savez(src / "w.npz", W=np.array([[0.5, -0.3, 0.2, 0.1], [0.25, 0.4, -0.1, 0.3]]))
    (src / "weighted.yaml").write_text(WEIGHTED)
    return src / "weighted.yaml"


@pytest.fixture
def inputs(tmp_path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(INPUT)
    return path


def _device(path: Path, minor: int) -> Path:
    """A private character device (1, minor: 3 null, 7 full), not the machine's own."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("cannot create device nodes here (tests run as root in CI)")
    return path


# -- the writer ----------------------------------------------------------------------------------
def test_output_to_a_device_is_written_through_not_replaced(tmp_path, inputs):
    null = _device(tmp_path / "null", 3)
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", null)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "null"]   # no temp left


def test_output_to_a_fifo_is_written_through(tmp_path, inputs):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", fifo)
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith("step,y,y@cycle\n1,")


def test_output_symlink_keeps_the_link_and_replaces_its_target(tmp_path, inputs):
    target = tmp_path / "results" / "out.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("step,y,y@cycle\n")


def test_outputs_are_created_with_the_umask_not_0600(tmp_path, inputs):
    old = os.umask(0o002)       # the CLI's child inherits it
    try:
        proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", tmp_path / "run.csv")
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert _mode(tmp_path / "run.csv") == 0o664
    from lstm_hw.files import write_output
    old = os.umask(0o002)
    try:
        write_output(str(tmp_path / "new.csv"), "a\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.csv") == 0o664


def test_overwriting_an_output_keeps_its_mode(tmp_path, inputs):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert _mode(out) == 0o640 and out.read_text().startswith("step,")


def test_dash_output_is_stdout_not_a_file_named_dash(tmp_path, inputs):
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("step,y,y@cycle\n") and not (tmp_path / "-").exists()


def test_version_option():
    proc = lstm_hw_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"lstm-hw {lstm_hw.__version__}"


# -- an output that is an input ------------------------------------------------------------------
def test_run_output_same_as_input_is_refused(tmp_path, inputs):
    os.link(inputs, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(inputs)
    for out in (inputs, tmp_path / "hard.csv", tmp_path / "soft.csv"):
        proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", out)
        assert proc.returncode == 2, proc.stdout
        assert f"{out}: error: the output (-o) is the same file as the input (-i)" in proc.stderr
    assert inputs.read_text() == INPUT


def test_run_vcd_same_as_netlist_is_refused(tmp_path, inputs):
    netlist = tmp_path / "cell.yaml"
    netlist.write_text(CELL.read_text())
    proc = lstm_hw_cli("run", netlist, "-i", inputs, "--vcd", netlist)
    assert proc.returncode == 2
    assert "the output (--vcd) is the same file as the netlist" in proc.stderr
    assert netlist.read_text() == CELL.read_text()


def test_run_output_same_as_weights_file_is_refused(weighted, tmp_path):
    (tmp_path / "x.csv").write_text("x[0],x[1]\n0.5,0.25\n")
    before = (weighted.parent / "w.npz").read_bytes()
    proc = lstm_hw_cli("run", weighted, "-i", tmp_path / "x.csv", "-o", weighted.parent / "w.npz")
    assert proc.returncode == 2
    assert "the same file as the netlist's file 'w.npz'" in proc.stderr
    assert (weighted.parent / "w.npz").read_bytes() == before


def test_import_keras_output_over_its_weights_is_refused(tmp_path):
    from test_importers import GOLDEN, keras_arrays   # the golden model, in Keras layout
    with np.load(GOLDEN) as npz:
        state = {k: npz[k] for k in npz.files if k not in ("inputs", "hidden", "outputs")}
    np.savez(tmp_path / "W.npz", **keras_arrays(state))
    before = (tmp_path / "W.npz").read_bytes()
    proc = lstm_hw_cli("import", "--keras", tmp_path / "W.npz", "-o", tmp_path / "W.yaml")
    assert proc.returncode == 2
    assert "is the same file as --keras" in proc.stderr
    assert (tmp_path / "W.npz").read_bytes() == before and not (tmp_path / "W.yaml").exists()


def test_tune_output_same_as_netlist_is_refused(tmp_path):
    netlist = tmp_path / "cell.yaml"
    netlist.write_text(CELL.read_text())
    proc = lstm_hw_cli("tune", netlist, "-o", netlist, *FAST)
    assert proc.returncode == 2 and "is the same file as the netlist" in proc.stderr
    assert netlist.read_text() == CELL.read_text() and proc.stdout == ""


def test_sweep_output_same_as_sweep_file_is_refused(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("vary: ['*=ap_fixed<{W},8,AP_RND,AP_SAT>']\ngrid: {W: [12, 16]}\n")
    proc = lstm_hw_cli("sweep", CELL, "--file", spec, "--json", spec, *FAST)
    assert proc.returncode == 2 and "the same file as --file" in proc.stderr
    assert spec.read_text().startswith("vary:")


def test_two_outputs_that_are_one_file_are_refused(tmp_path, inputs):
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", tmp_path / "a.csv", "--vcd",
                       tmp_path / "a.csv")
    assert proc.returncode == 2 and "are the same file" in proc.stderr
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "--vcd", "-")
    assert proc.returncode == 2 and "both write to stdout" in proc.stderr


def test_tune_output_in_another_folder_resolves(weighted, tmp_path):
    out = tmp_path / "tuned" / "t.yaml"
    out.parent.mkdir()
    proc = lstm_hw_cli("tune", weighted, "--target", "rmse=0.05", "--groups", "*", "-o", out,
                       *FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out.parent / "w.npz").read_bytes() == (weighted.parent / "w.npz").read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert lstm_hw_cli("validate", out, cwd=elsewhere).returncode == 0
    (elsewhere / "x.csv").write_text("x[0],x[1]\n0.5,0.25\n-0.5,0.75\n")
    proc = lstm_hw_cli("run", out, "-i", "x.csv", cwd=elsewhere)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 3, proc.stderr
    # a different file where the copy would go is the user's: refused before the work
    (out.parent / "w.npz").write_bytes(b"mine")
    proc = lstm_hw_cli("tune", weighted, "--target", "rmse=0.05", "-o", out, *FAST)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "a different file is there" in proc.stderr
    assert (out.parent / "w.npz").read_bytes() == b"mine"


# -- output paths checked before the work --------------------------------------------------------
@pytest.mark.parametrize("where, reason", [
    ("nodir/out.csv", "the folder 'nodir' does not exist"),
    ("file.txt/out.csv", "'file.txt' is not a folder"),
    ("adir.csv", "it is a directory"),
    ("readonly.csv", "the file is read-only"),
])
def test_output_paths_are_checked_before_the_work(tmp_path, where, reason):
    (tmp_path / "file.txt").write_text("x\n")
    for ext in (".csv", ".yaml", ".png"):       # import writes OUT.yaml, --plot an image
        (tmp_path / f"adir{ext}").mkdir()
        (tmp_path / f"readonly{ext}").write_text("keep\n")
        (tmp_path / f"readonly{ext}").chmod(0o444)
    # the input is bad at row 3: a check made after the work would report the input instead
    (tmp_path / "in.csv").write_text("x1,x2,x3\n1,0,0\n1,x,0\n")
    proc = lstm_hw_cli("run", CELL, "-i", "in.csv", "-o", where, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"{where}: error: cannot write -o: {reason}")
    sweep = ["sweep", CELL, "--vary", "*=ap_fixed<{W},8>", "--grid", "W=12", *FAST]
    for args in (sweep + ["--csv", where], sweep + ["--plot", where.replace(".csv", ".png")],
                 ["profile", CELL, *FAST, "--csv", where], ["tune", CELL, *FAST, "-o", where],
                 ["import", "--keras", "k.npz", "-o", where.replace(".csv", ".yaml")]):
        proc = lstm_hw_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == "", (args, proc.stdout, proc.stderr)
        assert "error: cannot write" in proc.stderr, (args, proc.stderr)
    assert (tmp_path / "readonly.csv").read_text() == "keep\n"


def test_sweep_write_failure_after_the_work_still_prints_the_table(tmp_path):
    full = _device(tmp_path / "full", 7)    # writes fail: no space left on device
    proc = lstm_hw_cli("sweep", CELL, "--vary", "*=ap_fixed<{W},8,AP_RND,AP_SAT>", "--grid",
                       "W=12,16", "--csv", full, *FAST)
    assert proc.returncode == 2
    assert "Pareto front" in proc.stdout and "W=16" in proc.stdout
    assert f"{full}: error: cannot write" in proc.stderr


def test_write_failure_leaves_the_old_file(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    from lstm_hw.files import open_output
    with pytest.raises(RuntimeError):
        with open_output(str(out)) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# -- options honoured or refused -----------------------------------------------------------------
def test_run_output_with_vcd_writes_both(tmp_path, inputs):
    out, vcd = tmp_path / "out.csv", tmp_path / "w.vcd"
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "-o", out, "--vcd", vcd)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["step", "y", "y@cycle"] and len(rows) == 4
    assert "$enddefinitions" in vcd.read_text()
    assert f'[dumpfile] "{vcd}"' in (tmp_path / "w.gtkw").read_text()    # GTKWave's save file
    # without -o the rows reach stdout
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "--vcd", vcd)
    assert proc.stdout.splitlines()[0] == "step,y,y@cycle" and len(proc.stdout.splitlines()) == 4


@pytest.mark.parametrize("option", [["--vcd", "w.vcd"], ["--per-cycle"],
                                    ["--engine", "compiled"], ["--precision", "*=ap_fixed<8,4>"]])
def test_run_float_refuses_fixed_point_options(tmp_path, inputs, option):
    proc = lstm_hw_cli("run", CELL, "-i", inputs, "--float", *option, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {option[0]} is for the fixed-point run")
    assert proc.stdout == "" and not (tmp_path / "w.vcd").exists()


@pytest.mark.parametrize("command", [["validate"], ["info"], ["check", *FAST],
                                     ["run", "-i", "in.csv"],
                                     ["sweep", "--vary", "*=ap_fixed<{W},8>", "--grid", "W=12",
                                      *FAST],
                                     ["tune", *FAST], ["profile", *FAST]])
@pytest.mark.parametrize("rule, message", [
    ("y:table_size=16", "precision 'y:table_size' sets the entries of a sigmoid or tanh table, "
                        "but it matches only 'y' (mul), which has none"),
    ("*_gate:weight=ap_fixed<8,4>", "precision '*_gate:weight' sets a dot's weight format"),
    ("nothing*=ap_fixed<8,4>", "precision 'nothing*' matches no signal"),
])
def test_precision_part_the_blocks_lack_is_an_error(tmp_path, inputs, command, rule, message):
    proc = lstm_hw_cli(command[0], CELL, *command[1:], "--precision", rule, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr


def test_duplicate_output_names_are_refused_at_validate(tmp_path):
    text = CELL.read_text().replace("\noutputs: [y]", "\noutputs: [y, y]")
    assert "[y, y]" in text
    (tmp_path / "dup.yaml").write_text(text)
    proc = lstm_hw_cli("validate", "dup.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    line = text.splitlines().index("outputs: [y, y]") + 1
    assert proc.stderr.startswith(f"dup.yaml:{line}:14: error: output 'y' is listed twice")


@pytest.mark.parametrize("name, magic", [("s.pdf", b"%PDF"), ("s.svg", b"<?xml"),
                                         ("s.png", b"\x89PNG")])
def test_sweep_plot_format_follows_the_extension(tmp_path, name, magic):
    pytest.importorskip("matplotlib")
    proc = lstm_hw_cli("sweep", CELL, "--vary", "*=ap_fixed<{W},8,AP_RND,AP_SAT>", "--grid",
                       "W=12,16", "--plot", tmp_path / name, *FAST)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / name).read_bytes().startswith(magic)


def test_sweep_plot_unknown_extension_is_refused_before_the_work(tmp_path):
    pytest.importorskip("matplotlib")
    proc = lstm_hw_cli("sweep", CELL, "--vary", "*=ap_fixed<{W},8>", "--grid", "W=12",
                       "--plot", tmp_path / "s.xyz", *FAST)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown image format 'xyz'" in proc.stderr
