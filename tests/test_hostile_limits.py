"""Hostile inputs that would run away or crash: YAML bombs and deep nesting, designs too big to
run, hostile weight files, caches, sweep files and options. Each case must end cleanly (exit 2,
the first line of the message as given, no traceback, no file changed) within the harness's
memory and time limits (tests/hostile.py)."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hostile import Case, run_case

HEAD = "lstm_hw: 1\nname: t\ninputs: [x]\noutputs: [y]\n"


def laughs(levels: int = 9, key: str = "l") -> str:
    """A 'billion laughs' chain of anchors: level k repeats level k-1 nine times (9**levels
    values from a few hundred bytes); the last anchor is ``&{key}{levels - 1}``."""
    lines = [f"{key}0: &{key}0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for k in range(1, levels):
        lines.append(f"{key}{k}: &{key}{k} [" + ", ".join([f"*{key}{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


BOMB_CONST = (HEAD + "x_bomb:\n" + "".join("  " + line + "\n" for line in laughs().splitlines())
              + "blocks:\n  y: {op: const, value: *l8}\n")
BOMB_WEIGHTS = (HEAD + "x_bomb:\n" + "".join("  " + line + "\n" for line in laughs().splitlines())
                + "blocks:\n  y: {op: dot, in: x, weights: *l8, bias: 0}\n")
SWEEP_BOMB = ("x_bomb:\n" + "".join("  " + line + "\n" for line in laughs(key="w").splitlines())
              + "vary: {'*': 'ap_fixed<{W},4>'}\ngrid: {W: *w8}\n")

def symlink_loop(path: Path) -> None:
    os.symlink(path.name, path)


def weights_npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def zip_bomb_npz(path: Path) -> None:
    """A 3 MB .npz whose one array says (and inflates to) 4 GiB of zeros."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (1 << 29,)})
    zero = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("W.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for _ in range(4096):
                f.write(zero)


DOT = HEAD + "blocks:\n  y: {op: dot, in: x, weights: {file: w.npz, key: W}, bias: 0}\n"
CELL = "{netlists}/memory_cell.yaml"
SWEEP = ["sweep", CELL, "--vary", "*=ap_fixed<{W},6>", "--grid", "W=8"]

CASES = [
    # YAML: alias bombs, deep nesting and recursive aliases, wherever YAML is read
    Case("yaml_bomb_in_const", ["validate", "bomb.yaml"], files={"bomb.yaml": BOMB_CONST},
         first=r"bomb\.yaml:\d+:\d+: error: this YAML expands to more than 1,000,000 values"),
    Case("yaml_bomb_in_weights", ["info", "bomb.yaml"], files={"bomb.yaml": BOMB_WEIGHTS},
         first=r"bomb\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_bomb_in_sweep_file",
         ["sweep", "{netlists}/memory_cell.yaml", "--file", "sweep.yaml"],
         files={"sweep.yaml": SWEEP_BOMB},
         first=r"sweep\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_bomb_in_import", ["validate", "top.yaml"],
         files={"top.yaml": HEAD + "import: [lib.yaml]\nblocks:\n  y: {op: identity, in: x}\n",
                "lib.yaml": "x_bomb:\n" + "".join("  " + line + "\n"
                                                  for line in laughs().splitlines())},
         first=r".*lib\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_nested_300_levels", ["validate", "deep.yaml"],
         files={"deep.yaml": HEAD + "blocks:\n  y: {op: const, value: " + nested(300) + "}\n"},
         first=r"deep\.yaml:6:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_nested_300_block_levels", ["validate", "deep.yaml"],
         files={"deep.yaml": HEAD + "doc:\n" + "".join("  " * (k + 1) + f"k{k}:\n"
                                                       for k in range(300)) + "  " * 301 + "1\n"},
         first=r"deep\.yaml:\d+:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_nested_300_in_sweep_file",
         ["sweep", "{netlists}/memory_cell.yaml", "--file", "sweep.yaml"],
         files={"sweep.yaml": "vary: {'*': 'ap_fixed<{W},4>'}\ngrid: {W: " + nested(300) + "}\n"},
         first=r"sweep\.yaml:2:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_recursive_alias", ["validate", "rec.yaml"],
         files={"rec.yaml": HEAD + "blocks: &b\n  y: {op: const, value: 1}\n  z: *b\n"},
         first=r"rec\.yaml:\d+:\d+: error: a YAML alias refers to a node that contains it"),
    Case("yaml_python_tag", ["validate", "tag.yaml"],
         files={"tag.yaml": HEAD + "blocks:\n  y: {op: const, value: !!python/object/apply:"
                                   "os.system [touch pwned]}\n"},
         first=r"tag\.yaml:6:\d+: error: "),
    Case("yaml_bomb_limit_lowered", ["validate", "{netlists}/memory_cell.yaml"],
         env={"LSTM_HW_MAX_YAML_NODES": "10"},
         first=r".*memory_cell\.yaml:\d+:\d+: error: this YAML expands to more than 10 values"),
    # designs that validate but cannot run: refused at elaboration, with the figure
    Case("netlist_latency_1000000", ["validate", "lat.yaml"],
         files={"lat.yaml": HEAD + "blocks:\n  y: {op: identity, in: x, latency: 1000000}\n"},
         first=r"lat\.yaml:6:3: error: 'y': latency 1,000,000 makes the clocked hardware up to "
               r"[\d,]+ cells, more than the limit of 200,000; set LSTM_HW_MAX_CELLS"),
    Case("netlist_latency_run", ["run", "lat.yaml", "-i", "in.csv", "-o", "out.csv"],
         files={"lat.yaml": HEAD + "blocks:\n  y: {op: identity, in: x, latency: 1000000}\n",
                "in.csv": "x\n1\n2\n3\n"},
         first=r"lat\.yaml:6:3: error: 'y': latency 1,000,000"),
    Case("netlist_ii_1e9", ["info", "ii.yaml"],
         files={"ii.yaml": HEAD + "clock: {ii: 1000000000}\nblocks:\n  y: {op: identity, in: x}\n"},
         first=r"ii\.yaml:5:8: error: a time step takes 1,000,000,000 cycles"),
    Case("netlist_ii_float", ["validate", "ii.yaml"],
         files={"ii.yaml": HEAD + "clock: {ii: 1e9}\nblocks:\n  y: {op: identity, in: x}\n"},
         first=r"ii\.yaml:5:8: error: clock: ii must be an integer"),
    Case("netlist_input_size_1e9", ["check", "big.yaml"],
         files={"big.yaml": "lstm_hw: 1\nname: t\ninputs: {x: {size: 1000000000}}\n"
                            "outputs: [y]\nblocks:\n  y: {op: identity, in: x}\n"},
         first=r"big\.yaml:3:10: error: 'x' \(1,000,000,000 elements\): the design needs up to "
               r"[\d.]+ GiB per stream, more than the limit of 4\.0 GiB; set LSTM_HW_MAX_MEMORY"),
    Case("netlist_table_range_1e-300", ["validate", "tab.yaml"],
         files={"tab.yaml": HEAD + "blocks:\n  y: {op: sigmoid, in: x, table: {size: 64, "
                                   "range: [0, 1.0e-300]}}\n"},
         first=r"tab\.yaml:6:\d+: error: block 'y': table range \[0, 1e-300\] with 64 entries is "
               r"out of scale"),
    # files that are not what they claim
    Case("netlist_symlink_loop", ["validate", "loop.yaml"], files={"loop.yaml": symlink_loop},
         first=r"loop\.yaml: error: cannot read netlist: .*(symbolic links|loop)"),
    Case("import_symlink_loop", ["validate", "top.yaml"],
         files={"top.yaml": HEAD + "import: [loop.yaml]\nblocks:\n  y: {op: identity, in: x}\n",
                "loop.yaml": symlink_loop},
         first=r"top\.yaml:5:10: error: import: cannot read 'loop.yaml': a symbolic link loop"),
    Case("weights_symlink_loop", ["validate", "dot.yaml"],
         files={"dot.yaml": DOT, "w.npz": symlink_loop},
         first=r"dot\.yaml:6:\d+: error: block 'y': cannot read weight file 'w.npz': a symbolic "
               r"link loop"),
    Case("weights_truncated_npz", ["validate", "dot.yaml"],
         files={"dot.yaml": DOT, "w.npz": weights_npz(W=np.ones(64))[:300]},
         first=r"dot\.yaml:6:\d+: error: block 'y': weight file 'w.npz': not a NumPy"),
    Case("weights_zip_bomb_npz", ["validate", "dot.yaml"], memory_limit=3 << 30,
         files={"dot.yaml": DOT, "w.npz": zip_bomb_npz},
         first=r"dot\.yaml:6:\d+: error: block 'y': weight file 'w.npz': array 'W' .*"
               r"4\.0 GiB"),
    Case("weights_npz_not_a_zip", ["info", "dot.yaml"],
         files={"dot.yaml": DOT, "w.npz": b"PK\x03\x04" + bytes(100)},
         first=r"dot\.yaml:6:\d+: error: block 'y': weight file 'w.npz': not a NumPy"),
    # options that would crash or run away
    Case("check_seed_negative", ["check", CELL, "--seed", "-1"],
         first=r"usage: lstm-hw check"),
    Case("check_tolerance_negative", ["check", CELL, "--tolerance", "-1"],
         first=r"usage: lstm-hw check"),
    Case("check_sequences_huge", ["check", CELL, "--sequences", "1000000000"],
         first=r"1,000,000,000 sequences of 50 steps need about [\d.]+ TiB of memory, more than "
               r"the limit of 4\.0 GiB"),
    Case("sweep_sequences_huge", [*SWEEP, "--sequences", "100000000", "--csv", "out.csv"],
         first=r"100,000,000 sequences of 50 steps need about"),
    Case("profile_seed_too_big", ["profile", CELL, "--seed", str(1 << 64)],
         first=r"usage: lstm-hw profile"),
    Case("sweep_signals_match_nothing", [*SWEEP, "--signals", "nomatch*", "--csv", "out.csv"],
         first=r"--signals: no signal matches 'nomatch\*'"),
    Case("sweep_file_symlink_loop", ["sweep", CELL, "--file", "s.yaml"],
         files={"s.yaml": symlink_loop},
         first=r"s\.yaml: error: cannot read the sweep file: .*(symbolic links|loop)"),
    # caches
    Case("cache_folder_unusable", ["run", CELL, "-i", "in.csv", "-o", "out.csv", "--engine",
                                   "compiled"],
         files={"in.csv": "x1,x2,x3\n1,1,1\n"}, env={"LSTM_HW_CACHE_DIR": "in.csv/cache"},
         status=0, creates=("out.csv",),
         first=r"warning: the cache folder in\.csv/cache/generated cannot be used \(Not a "
               r"directory\): running on the interpreter"),
    Case("limit_variable_not_a_number", ["validate", "{netlists}/memory_cell.yaml"],
         env={"LSTM_HW_MAX_YAML_NODES": "lots"},
         first=r"LSTM_HW_MAX_YAML_NODES='lots': expected a whole number"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
