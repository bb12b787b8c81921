"""Hostile inputs for `run` and `import`: CSV files (also on stdin), .npy/.npz datasets and model
files. Each case must fail cleanly (exit 2, its first line, no traceback, no file changed), within
the harness's memory and time limits."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hostile import Case, run_case

CELL = "{netlists}/memory_cell.yaml"
RUN = ["run", CELL, "-i"]
OUT = ["-o", "out.csv"]


def npy_bytes(array, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return buf.getvalue()


def npy_header(shape, dtype="<f8") -> bytes:
    """An .npy header that declares ``shape`` (the data need not follow)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def npz(**members: bytes):
    """A maker of an .npz whose members hold the given bytes (deflated)."""
    def make(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(f"{name}.npy", data)
    return make


def zip_bomb(path: Path) -> None:
    """A small .npz whose x1 declares [4096, 65536] float64 (2 GiB) of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("x2", "x3"):
            z.writestr(f"{name}.npy", npy_bytes(np.zeros((4096, 65536 // 1024))))
        with z.open("x1.npy", "w", force_zip64=True) as fh:
            fh.write(npy_header((4096, 65536)))
            block = bytes(1 << 24)
            for _ in range(128):
                fh.write(block)


GOOD = np.zeros((2, 3, 3))
TORCH_2_5 = {"fake/torch/__init__.py": "__version__ = '2.5.1'\n",
             "model.pt": b"not read: the version is refused first"}

CASES = [
    # -- CSV numbers: plain decimals or C floating literals only
    Case("csv_underscore_digits", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,x2,x3\n1_000,0,0\n"},
         first=r"in\.csv:2:1: error: column 'x1': '1_000' is not a number$"),
    Case("csv_unicode_digits", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,x2,x3\n1,\u0661,0\n"},
         first=r"in\.csv:2:2: error: column 'x2': '\u0661' is not a number$"),
    Case("csv_fullwidth_digits", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,x2,x3\n1,0,0\n2,0,\uff11\n"},
         first=r"in\.csv:3:3: error: column 'x3': '\uff11' is not a number$"),
    Case("csv_inf", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n-Infinity,0,0\n"},
         first=r"in\.csv:2:1: error: column 'x1': '-Infinity' is not a finite number$"),
    Case("csv_nan", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n1,NaN,0\n"},
         first=r"in\.csv:2:2: error: column 'x2': 'NaN' is not a finite number$"),
    Case("csv_beyond_double", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n1e999,0,0\n"},
         first=r"in\.csv:2:1: error: column 'x1': '1e999' is not a finite number"),
    Case("csv_c_suffix", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n1.5f,0,0\n"},
         first=r"in\.csv:2:1: error: column 'x1': '1\.5f' is not a number$"),
    Case("csv_field_over_128k", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,x2,x3\n1," + "9" * (200 << 10) + ",0\n"},
         first=r"in\.csv:2:1: error: a field is over 128 KiB$"),
    Case("csv_row_too_long", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,x2,x3\n1,0,0\n1,0,0,0\n"},
         first=r"in\.csv:3:4: error: 4 fields, but the header has 3$"),
    Case("csv_out_of_range", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n1,0,0\n1e6,0,0\n"},
         first=r"in\.csv:3:1: error: column 'x1': 1e\+06 does not fit the input's format"),
    Case("csv_not_utf8", RUN + ["in.csv"] + OUT, files={"in.csv": b"x1,x2,x3\n\xff\xfe,0,0\n"},
         first=r"in\.csv: error: cannot read: "),
    Case("csv_nul_byte", RUN + ["in.csv"] + OUT, files={"in.csv": "x1,x2,x3\n1,\0,0\n"},
         first=r"in\.csv:2:\d+: error: "),
    Case("csv_stdin_text", RUN + ["-"] + OUT, stdin="x1,x2,x3\n1,one,0\n",
         first=r"<stdin>:2:2: error: column 'x2': 'one' is not a number$"),
    Case("csv_stdin_empty", RUN + ["-"] + OUT, stdin="",
         first=r"<stdin>:1:1: error: empty file"),
    # -- datasets in a CSV: the seq column
    Case("csv_seq_split", RUN + ["in.csv"] + OUT,
         files={"in.csv": "seq,x1,x2,x3\na,1,0,0\nb,1,0,0\na,1,0,0\n"},
         first=r"in\.csv:4:1: error: sequence 'a' continues here after other sequences"),
    Case("csv_seq_empty_label", RUN + ["in.csv"] + OUT,
         files={"in.csv": "seq,x1,x2,x3\na,1,0,0\n ,1,0,0\n"},
         first=r"in\.csv:3:1: error: column 'seq': empty"),
    Case("csv_seq_not_first", RUN + ["in.csv"] + OUT,
         files={"in.csv": "x1,seq,x2,x3\n1,a,0,0\n"},
         first=r"in\.csv:1:2: error: unknown column 'seq'"),
    Case("csv_seq_out_of_range", RUN + ["in.csv"] + OUT,
         files={"in.csv": "seq,x1,x2,x3\na,1,0,0\nb,1,0,0\nb,500,0,0\n"},
         first=r"in\.csv:4:2: error: column 'x1': 500 does not fit"),
    Case("csv_seq_per_cycle", RUN + ["in.csv", "--per-cycle"] + OUT,
         files={"in.csv": "seq,x1,x2,x3\na,1,0,0\nb,1,0,0\n"},
         first=r"in\.csv: error: --per-cycle and --vcd show one sequence, this input has 2$"),
    Case("csv_seq_npz_lengths", RUN + ["in.csv", "-o", "out.npz"],
         files={"in.csv": "seq,x1,x2,x3\na,1,0,0\nb,1,0,0\nb,2,0,0\n"},
         first=r"out\.npz: error: an \.npz output holds \[sequences, steps, elements\] arrays"),
    Case("npz_out_per_cycle", RUN + ["in.csv", "--per-cycle", "-o", "out.npz"],
         files={"in.csv": "x1,x2,x3\n1,0,0\n"},
         first=r"out\.npz: error: --per-cycle writes a CSV"),
    # -- .npy datasets: dtype, shape, size and values checked, no pickles
    Case("npy_nan", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_bytes(np.array([[[1, 0, 0], [2, np.nan, 0]]]))},
         first=r"in\.npy: error: sequence 0, step 1, input 'x2': nan is not a finite number$"),
    Case("npy_two_dims", RUN + ["in.npy"] + OUT, files={"in.npy": npy_bytes(np.zeros((5, 3)))},
         first=r"in\.npy: error: shape \[5, 3\] \(expected \[sequences, steps, elements\] = "
               r"\[N, N, 3\]\)$"),
    Case("npy_wrong_elements", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_bytes(np.zeros((2, 5, 4)))},
         first=r"in\.npy: error: shape \[2, 5, 4\] \(expected"),
    Case("npy_pickled_objects", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_bytes(np.array([[[1, 0, 0]]], dtype=object), allow_pickle=True)},
         first=r"in\.npy: error: dtype object \(expected floats or integers\)$"),
    Case("npy_complex", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_bytes(np.zeros((1, 2, 3), dtype=complex))},
         first=r"in\.npy: error: dtype complex128 \(expected floats or integers\)$"),
    Case("npy_bool", RUN + ["in.npy"] + OUT, files={"in.npy": npy_bytes(np.ones((1, 2, 3), bool))},
         first=r"in\.npy: error: dtype bool \(expected floats or integers\)$"),
    Case("npy_truncated", RUN + ["in.npy"] + OUT, files={"in.npy": npy_bytes(GOOD)[:-20]},
         first=r"in\.npy: error: truncated: 124 bytes of data, the header says 144$"),
    Case("npy_not_npy", RUN + ["in.npy"] + OUT, files={"in.npy": "x1,x2,x3\n1,0,0\n"},
         first=r"in\.npy: error: not a valid \.npy file"),
    Case("npy_huge_declared_shape", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_header((10 ** 6, 10 ** 6, 3))},
         first=r"in\.npy: error: shape \[1000000, 1000000, 3\] is over 1,073,741,824 bytes as "
               r"float64 \(set LSTM_HW_MAX_INPUT_ARRAY=N to raise this limit\)$"),
    Case("npy_over_a_lowered_limit", RUN + ["in.npy"] + OUT, files={"in.npy": npy_bytes(GOOD)},
         env={"LSTM_HW_MAX_INPUT_ARRAY": "100"},
         first=r"in\.npy: error: shape \[2, 3, 3\] is over 100 bytes as float64 \(set "
               r"LSTM_HW_MAX_INPUT_ARRAY=N"),
    Case("npy_no_sequences", RUN + ["in.npy"] + OUT, files={"in.npy": npy_bytes(np.zeros((0, 4, 3)))},
         first=r"in\.npy: error: no data: shape \[0, 4, 3\]"),
    Case("npy_out_of_range", RUN + ["in.npy"] + OUT,
         files={"in.npy": npy_bytes(np.array([[[1, 0, 0]], [[0, 0, -1e9]]]))},
         first=r"in\.npy: error: sequence 1, step 0, input 'x3': -1e\+09 does not fit"),
    Case("npy_missing", RUN + ["nothing.npy"] + OUT,
         first=r"nothing\.npy: error: cannot read: No such file"),
    # -- .npz datasets: one array per input
    Case("npz_unknown_array", RUN + ["in.npz"] + OUT,
         files={"in.npz": npz(x1=npy_bytes(np.zeros((1, 2))), x2=npy_bytes(np.zeros((1, 2))),
                              x3=npy_bytes(np.zeros((1, 2))), x4=npy_bytes(np.zeros((1, 2))))},
         first=r"in\.npz: error: array 'x4' is not an input \(the inputs are x1, x2, x3\)$"),
    Case("npz_missing_array", RUN + ["in.npz"] + OUT,
         files={"in.npz": npz(x1=npy_bytes(np.zeros((1, 2))))},
         first=r"in\.npz: error: no array for inputs 'x2', 'x3'$"),
    Case("npz_shapes_differ", RUN + ["in.npz"] + OUT,
         files={"in.npz": npz(x1=npy_bytes(np.zeros((2, 5))), x2=npy_bytes(np.zeros((2, 4))),
                              x3=npy_bytes(np.zeros((2, 5))))},
         first=r"in\.npz: error: array 'x2': shape \[2, 4\] \(expected"),
    Case("npz_not_zip", RUN + ["in.npz"] + OUT, files={"in.npz": b"PK\x03\x04 not really"},
         first=r"in\.npz: error: not a valid \.npz file"),
    Case("npz_zip_bomb", RUN + ["in.npz"] + OUT, files={"in.npz": zip_bomb},
         first=r"in\.npz: error: array 'x1': shape \[4096, 65536\] is over 1,073,741,824 bytes"),
    Case("npz_truncated", RUN + ["in.npz"] + OUT,
         files={"in.npz": lambda p: (npz(x1=npy_bytes(np.zeros((1, 2))))(p),
                                     p.write_bytes(p.read_bytes()[:60]))},
         first=r"in\.npz: error: not a valid \.npz file"),
    # -- model files
    Case("pt_not_a_model", ["import", "model.pt", "-o", "net.yaml"],
         files={"model.pt": b"\x80\x04garbage"},
         first=r"model\.pt: cannot read as a PyTorch state_dict"),
    Case("pt_torch_before_2_6", ["import", "model.pt", "-o", "net.yaml"], files=TORCH_2_5,
         env={"PYTHONPATH": os.pathsep.join(["fake", os.environ.get("PYTHONPATH", "")])}, first=r"model\.pt: PyTorch 2\.5\.1 is too old to read a "
                                           r"model file safely"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
