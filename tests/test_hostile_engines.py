"""Hostile inputs for the engine choice and the numpy engine's quantisation of inputs (values of
far apart magnitudes in one array, each quantised by its own exponent's shift): each case must
fail cleanly (exit 2, its first line, no traceback, no file changed)."""
from __future__ import annotations

import io

import numpy as np
import pytest

from hostile import Case, run_case

CELL = "{netlists}/memory_cell.yaml"


def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


CASES = [
    Case("engine_unknown", ["run", CELL, "-i", "in.csv", "--engine", "numba"],
         files={"in.csv": "x1,x2,x3\n1,1,0\n"}, first=r"usage: lstm-hw run"),
    Case("numpy_csv_value_huge", ["run", CELL, "-i", "in.csv", "--engine", "numpy"],
         files={"in.csv": "x1,x2,x3\n1,1,0\n1e308,0,0\n"},
         first=r"in\.csv:3:1: error: column 'x1': 1e\+308 does not fit the input's format"),
    Case("numpy_npy_subnormal_then_huge", ["run", CELL, "-i", "in.npy", "--engine", "numpy",
                                           "-o", "out.csv"],
         files={"in.npy": npy_bytes(np.array([[[5e-324, 1, 1], [1e-300, 0, 1],
                                                [-1e300, 1, 0]]]))},
         first=r".*in\.npy: error: sequence 0, step 2, input 'x1': -1e\+300 does not fit"),
    Case("auto_npy_huge_among_small", ["run", CELL, "-i", "in.npy", "-o", "out.csv"],
         files={"in.npy": npy_bytes(np.concatenate(
             [np.full((20, 5, 3), 2.0 ** -60), np.full((1, 5, 3), 2.0 ** 70)]))},
         first=r".*in\.npy: error: sequence 20, step 0, input 'x1': 1\.18059e\+21 does not fit"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
