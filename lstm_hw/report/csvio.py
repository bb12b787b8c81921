"""CSV in and out. Bad data is refused with file:row:column; outputs are written whole or not at all.

In: a header of input column names (``x``, or ``x[0]``, ``x[1]``... for vectors), in any order,
an optional leading ``step`` column, one row per time step. Out: ``step`` then the columns.
"""
from __future__ import annotations

import csv
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..diagnostics import DataError, did_you_mean


@dataclass
class CsvInputs:
    data: np.ndarray          # float64 [steps, columns] in the order asked for
    lines: list[int]          # the file line of each step
    positions: list[int]      # the file column (1-based) of each column asked for


def read_inputs(path: str, columns: list[str]) -> np.ndarray:
    """float64 [steps, len(columns)] in the order of ``columns``."""
    return read_table(path, columns).data


def read_table(path: str, columns: list[str]) -> CsvInputs:
    """The inputs with where each value stands in the file, for messages about them."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:   # -sig: Excel's BOM
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: error: cannot read: {exc}") from None
    if not rows:
        raise DataError(f"{path}:1:1: error: empty file (expected a header: "
                        f"{', '.join(columns)})")
    header = [h.strip() for h in rows[0]]
    names = header[1:] if header and header[0] == "step" else header
    skip = len(header) - len(names)
    seen = set()
    for k, name in enumerate(names):
        if name in seen:
            raise DataError(f"{path}:1:{k + 1 + skip}: error: column '{name}' appears twice")
        seen.add(name)
        if name not in columns:
            raise DataError(f"{path}:1:{k + 1 + skip}: error: unknown column '{name}'"
                            f"{did_you_mean(name, columns)} (the inputs are "
                            f"{', '.join(columns)})")
    missing = [c for c in columns if c not in seen]
    if missing:
        raise DataError(f"{path}:1:1: error: missing column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(repr(m) for m in missing)} (the inputs are "
                        f"{', '.join(columns)})")
    where = [skip + names.index(c) for c in columns]
    body = [(r + 2, row) for r, row in enumerate(rows[1:]) if any(f.strip() for f in row)]
    data = np.empty((len(body), len(columns)))
    for r, (line, row) in enumerate(body):   # blank lines are skipped, lines keep their numbers
        if len(row) != len(header):   # point at the first missing or extra field
            raise DataError(f"{path}:{line}:{min(len(row), len(header)) + 1}: error: "
                            f"{len(row)} field{'s' if len(row) != 1 else ''}, but the header "
                            f"has {len(header)}")
        for k, col in enumerate(where):
            text = row[col].strip()
            try:
                value = float(text)
            except ValueError:
                raise DataError(f"{path}:{line}:{col + 1}: error: column '{columns[k]}': "
                                f"'{text}' is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{path}:{line}:{col + 1}: error: column '{columns[k]}': "
                                f"'{text}' is not a finite number")
            data[r, k] = value
    if not len(data):
        raise DataError(f"{path}:2:1: error: no data rows after the header")
    return CsvInputs(data, [line for line, _ in body], [k + 1 for k in where])


@contextmanager
def atomic_write(path: str):
    """Write to a temporary file next to ``path`` and rename it into place only on success."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_rows(fh, header: list[str], rows) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
