"""Hostile outputs: every subcommand's output options pointed at inputs, devices, FIFOs, links,
folders that are missing or files, read-only files; options that cannot be honoured together.
Each case must end as it promises (exit status, first line of the message) and change no file
it does not name (tests/hostile.py)."""
from __future__ import annotations

import io
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from hostile import NETLISTS, Case, run_case

CELL_TEXT = (NETLISTS / "memory_cell.yaml").read_text()
IN = "x1,x2,x3\n1,1,0\n0,0,1\n"
RUN = ["run", "cell.yaml", "-i", "in.csv"]
SWEEP = ["sweep", "cell.yaml", "--vary", "*=ap_fixed<{W},8,AP_RND,AP_SAT>", "--grid", "W=12,16",
         "--sequences", "10", "--steps", "5"]
FAST = ["--sequences", "10", "--steps", "5"]
BASE = {"cell.yaml": CELL_TEXT, "in.csv": IN}
WEIGHTED = ("lstm_hw: 1\nname: w\ninputs: {x: {size: 2}}\noutputs: [y]\nblocks:\n"
            "  y: {op: dot, in: x, weights: {file: w.npz, key: W}, bias: 0}\n")


def _npz(path: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, W=np.array([[0.5, -0.25]]))
    path.write_bytes(buf.getvalue())


def _device(minor: int):
    def make(path: Path) -> None:     # a private 1:minor device (3 null, 7 full)
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        except PermissionError:
            pytest.skip("cannot create device nodes here (tests run as root in CI)")
    return make


def _fifo_with_reader(path: Path) -> None:
    os.mkfifo(path)
    threading.Thread(target=lambda: path.read_bytes(), daemon=True).start()


def _link(target: str):
    return lambda path: path.symlink_to(target)


def _hard_link(target: str):
    return lambda path: os.link(path.parent / target, path)


def _read_only(text: str):
    def make(path: Path) -> None:
        path.write_text(text)
        path.chmod(0o444)
    return make


SAME = r"{name}: error: the output \({what}\) is the same file as "
CASES = [
    # an output that is an input, for every input kind
    Case("run_output_is_the_csv_input", RUN + ["-o", "in.csv"], files=BASE,
         first=SAME.format(name=r"in\.csv", what="-o") + r"the input \(-i\)"),
    Case("run_output_hard_link_to_input", RUN + ["-o", "hard.csv"],
         files={**BASE, "hard.csv": _hard_link("in.csv")},
         first=SAME.format(name=r"hard\.csv", what="-o") + r"the input \(-i\) 'in\.csv'"),
    Case("run_output_symlink_to_input", RUN + ["-o", "soft.csv"],
         files={**BASE, "soft.csv": _link("in.csv")},
         first=SAME.format(name=r"soft\.csv", what="-o") + r"the input \(-i\)"),
    Case("run_output_is_the_netlist", RUN + ["-o", "cell.yaml"], files=BASE,
         first=SAME.format(name=r"cell\.yaml", what="-o") + "the netlist"),
    Case("run_vcd_is_the_netlist", RUN + ["--vcd", "cell.yaml"], files=BASE,
         first=SAME.format(name=r"cell\.yaml", what="--vcd") + "the netlist"),
    Case("run_output_is_the_weights_file", ["run", "w.yaml", "-i", "x.csv", "-o", "w.npz"],
         files={"w.yaml": WEIGHTED, "w.npz": _npz, "x.csv": "x[0],x[1]\n1,2\n"},
         first=SAME.format(name=r"w\.npz", what="-o") + r"the netlist's file 'w\.npz'"),
    Case("run_output_is_an_imported_file", ["run", "top.yaml", "-i", "in.csv", "-o", "lib.yaml"],
         files={"in.csv": IN, "lib.yaml": "lstm_hw: 1\nmodules:\n  m:\n    inputs: [a]\n"
                "    outputs: [b]\n    blocks:\n      b: {op: identity, in: a}\n",
                "top.yaml": "lstm_hw: 1\nname: top\nimport: [lib.yaml]\ninputs: [x1, x2, x3]\n"
                "outputs: [y]\nblocks:\n  u: {module: m, in: {a: x1}}\n  y: {op: identity, "
                "in: u.b}\n"},
         first=SAME.format(name=r"lib\.yaml", what="-o") + r"the netlist's file 'lib\.yaml'"),
    Case("import_keras_output_over_its_weights", ["import", "--keras", "W.npz", "-o", "W.yaml"],
         files={"W.npz": _npz},
         first=SAME.format(name=r"W\.npz", what="its weights file") + "--keras"),
    Case("import_model_output_over_the_model", ["import", "m.npz", "-o", "m.yaml"],
         files={"m.npz": _npz}, first=SAME.format(name=r"m\.npz", what="its weights file")
         + "the model"),
    Case("tune_output_is_the_netlist", ["tune", "cell.yaml", "-o", "cell.yaml"] + FAST,
         files=BASE, first=SAME.format(name=r"cell\.yaml", what="-o") + "the netlist"),
    Case("sweep_json_is_the_sweep_file", ["sweep", "cell.yaml", "--file", "s.yaml",
                                          "--json", "s.yaml"] + FAST,
         files={**BASE, "s.yaml": "vary: ['*=ap_fixed<{W},8>']\ngrid: {W: [12]}\n"},
         first=SAME.format(name=r"s\.yaml", what="--json") + "--file"),
    Case("profile_csv_is_the_netlist", ["profile", "cell.yaml", "--csv", "cell.yaml"] + FAST,
         files=BASE, first=SAME.format(name=r"cell\.yaml", what="--csv") + "the netlist"),
    Case("sweep_csv_and_json_one_file", SWEEP + ["--csv", "r.txt", "--json", "r.txt"],
         files=BASE, first=r"r\.txt: error: --json and --csv \('r\.txt'\) are the same file"),
    Case("run_output_and_vcd_both_stdout", RUN + ["--vcd", "-"], files=BASE,
         first=r"error: the rows \(stdout without -o\) and --vcd both write to stdout"),
    # output paths that cannot be written: refused before the work
    Case("run_output_missing_folder", RUN + ["-o", "nodir/out.csv"], files=BASE,
         first=r"nodir/out\.csv: error: cannot write -o: the folder 'nodir' does not exist"),
    Case("run_output_under_a_file", RUN + ["-o", "in.csv/out.csv"], files=BASE,
         first=r"in\.csv/out\.csv: error: cannot write -o: 'in\.csv' is not a folder"),
    Case("run_output_is_a_directory", RUN + ["-o", "adir"], files={**BASE, "adir/x": "x"},
         first=r"adir: error: cannot write -o: it is a directory"),
    Case("run_output_read_only", RUN + ["-o", "ro.csv"], files={**BASE, "ro.csv": _read_only("k")},
         first=r"ro\.csv: error: cannot write -o: the file is read-only"),
    Case("run_vcd_missing_folder", RUN + ["--vcd", "nodir/w.vcd"], files=BASE,
         first=r"nodir/w\.vcd: error: cannot write --vcd: the folder 'nodir' does not exist"),
    Case("run_output_symlink_loop", RUN + ["-o", "loop.csv"],
         files={**BASE, "loop.csv": _link("loop.csv")},
         first=r"loop\.csv: error: cannot write -o: .*symbolic links"),
    Case("import_output_missing_folder", ["import", "m.npz", "-o", "nodir/m.yaml"],
         files={"m.npz": _npz}, first=r"nodir/m\.yaml: error: cannot write -o: the folder"),
    Case("import_output_to_stdout", ["import", "m.npz", "-o", "-"], files={"m.npz": _npz},
         first=r"-: error: the netlist file name must end in \.yaml"),
    Case("tune_output_is_a_directory", ["tune", "cell.yaml", "-o", "adir"] + FAST,
         files={**BASE, "adir/x": "x"}, first=r"adir: error: cannot write -o: it is a directory"),
    Case("sweep_csv_missing_folder", SWEEP + ["--csv", "nodir/s.csv"], files=BASE,
         first=r"nodir/s\.csv: error: cannot write --csv: the folder 'nodir' does not exist"),
    Case("sweep_plot_under_a_file", SWEEP + ["--plot", "in.csv/p.png"], files=BASE,
         first=r"in\.csv/p\.png: error: cannot write --plot: 'in\.csv' is not a folder"),
    Case("sweep_plot_unknown_format", SWEEP + ["--plot", "p.bmpx"], files=BASE,
         first=r"p\.bmpx: error: --plot: unknown image format 'bmpx'"),
    Case("profile_csv_read_only", ["profile", "cell.yaml", "--csv", "ro.csv"] + FAST,
         files={**BASE, "ro.csv": _read_only("k")},
         first=r"ro\.csv: error: cannot write --csv: the file is read-only"),
    # devices, FIFOs and links: written through, or the link's target replaced
    Case("run_output_to_a_null_device", RUN + ["-o", "null"],
         files={**BASE, "null": _device(3)}, status=0, first=r""),
    Case("run_output_to_a_fifo_with_a_reader", RUN + ["-o", "pipe"],
         files={**BASE, "pipe": _fifo_with_reader}, status=0, first=r""),
    Case("run_output_symlink_replaces_its_target", RUN + ["-o", "link.csv"],
         files={**BASE, "target.csv": "old\n", "link.csv": _link("target.csv")},
         creates=("target.csv",), status=0, first=r""),
    Case("run_output_dash_is_stdout", RUN + ["-o", "-"], files=BASE, status=0, first=r""),
    Case("sweep_csv_to_a_full_device", SWEEP + ["--csv", "full"],
         files={**BASE, "full": _device(7)}, status=2,
         first=r"full: error: cannot write: No space left on device"),
    # options that cannot be honoured together: refused
    Case("run_float_with_vcd", RUN + ["--float", "--vcd", "w.vcd"], files=BASE,
         first=r"error: --vcd is for the fixed-point run"),
    Case("run_float_per_cycle", RUN + ["--float", "--per-cycle"], files=BASE,
         first=r"error: --per-cycle is for the fixed-point run"),
    Case("run_precision_part_the_block_lacks", RUN + ["--precision", "y:table_size=16"],
         files=BASE, first=r"--precision #1 'y:table_size=16': error: precision 'y:table_size'"),
    Case("check_precision_accum_on_a_table", ["check", "cell.yaml", "--precision",
                                              "*_gate:accum=ap_fixed<8,4>"] + FAST,
         files=BASE, first=r"--precision #1 .*: error: precision '\*_gate:accum' sets a dot's"),
    Case("sweep_workers_with_a_scheduler", SWEEP + ["--workers", "2", "--scheduler",
                                                    "tcp://127.0.0.1:1"], files=BASE,
         first=r"error: --workers is for local processes"),
    Case("validate_duplicate_outputs", ["validate", "dup.yaml"],
         files={"dup.yaml": CELL_TEXT.replace("\noutputs: [y]", "\noutputs: [y, y]")},
         first=r"dup\.yaml:\d+:14: error: output 'y' is listed twice"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_outputs(case, tmp_path):
    proc = run_case(case, tmp_path)
    if case.name == "run_output_dash_is_stdout":
        assert proc.stdout.startswith("step,y,y@cycle\n")
    if case.name == "run_output_symlink_replaces_its_target":
        assert (tmp_path / "target.csv").read_text().startswith("step,y,y@cycle\n")
    if case.name == "sweep_csv_to_a_full_device":     # the results still reach the terminal
        assert "Pareto front" in proc.stdout
