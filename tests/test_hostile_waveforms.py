"""Hostile waveform outputs: `run --vcd W.vcd` also writes W.gtkw, GTKWave's save file; that
second output is checked before the work like every output (never over an input or another
output, never into a read-only file or a folder) and a VCD name it cannot hold is refused
(tests/hostile.py)."""
from __future__ import annotations

import pytest

from hostile import NETLISTS, Case, run_case

CELL_TEXT = (NETLISTS / "memory_cell.yaml").read_text()
IN = "x1,x2,x3\n1,1,0\n0,0,1\n"
BASE = {"cell.yaml": CELL_TEXT, "in.csv": IN}
RUN = ["run", "cell.yaml", "-i", "in.csv"]
SAVE = "--vcd's GTKWave save file"


def _read_only(path):
    path.write_text("keep\n")
    path.chmod(0o444)


CASES = [
    Case("save_file_is_the_input", ["run", "cell.yaml", "-i", "in.gtkw", "--vcd", "in.vcd"],
         files={"cell.yaml": CELL_TEXT, "in.gtkw": IN},
         first=rf"in\.gtkw: error: the output \({SAVE}\) is the same file as the input \(-i\)"),
    Case("save_file_is_the_rows_output", RUN + ["-o", "w.gtkw", "--vcd", "w.vcd"], files=BASE,
         first=rf"w\.gtkw: error: {SAVE} and -o \('w\.gtkw'\) are the same file"),
    Case("save_file_read_only", RUN + ["--vcd", "w.vcd"],
         files={**BASE, "w.gtkw": _read_only},
         first=rf"w\.gtkw: error: cannot write {SAVE}: the file is read-only"),
    Case("save_file_is_a_directory", RUN + ["--vcd", "w.vcd"], files={**BASE, "w.gtkw/x": "x"},
         first=rf"w\.gtkw: error: cannot write {SAVE}: it is a directory"),
    Case("vcd_name_with_a_quote", RUN + ["--vcd", 'a"b.vcd'], files=BASE,
         first=r"'a\"b\.vcd': error: --vcd: its GTKWave save file cannot name a file whose "
               r"name holds a quote"),
    Case("vcd_name_with_a_line_break", RUN + ["--vcd", "a\nb.vcd"], files=BASE,
         first=r"'a\\nb\.vcd': error: --vcd: its GTKWave save file cannot name"),
    Case("vcd_and_save_file_written", RUN + ["-o", "out.csv", "--vcd", "w.vcd"], files=BASE,
         creates=("out.csv", "w.vcd", "w.gtkw"), status=0, first=r""),
    Case("vcd_without_extension", RUN + ["-o", "out.csv", "--vcd", "wave"], files=BASE,
         creates=("out.csv", "wave", "wave.gtkw"), status=0, first=r""),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_waveforms(case, tmp_path):
    run_case(case, tmp_path)
