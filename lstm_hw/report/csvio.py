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
from typing import Iterator
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
    chunks = list(iter_table(path, columns))
    return CsvInputs(np.concatenate([c.data for c in chunks]),
                     [line for c in chunks for line in c.lines], chunks[0].positions)


def iter_table(path: str, columns: list[str], chunk_rows: int = 1 << 16) -> Iterator[CsvInputs]:
    """The inputs ``chunk_rows`` steps at a time: a long file is never held whole."""
    try:
        fh = open(path, newline="", encoding="utf-8-sig")   # -sig: Excel's byte order mark
    except OSError as exc:
        raise DataError(f"{path}: error: cannot read: {exc}") from None
    with fh:
        try:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise DataError(f"{path}:1:1: error: empty file (expected a header: "
                                f"{', '.join(columns)})")
            where = _columns_of(path, header, columns)
            positions = [k + 1 for k in where]
            data, lines, any_rows = [], [], False
            for line, row in enumerate(reader, start=2):
                if not any(f.strip() for f in row):   # blank lines: skipped, lines counted
                    continue
                data.append(_row(path, line, row, header, where, columns))
                lines.append(line)
                if len(data) == chunk_rows:
                    yield CsvInputs(np.array(data), lines, positions)
                    data, lines, any_rows = [], [], True
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: error: cannot read: {exc}") from None
    if data or not any_rows:
        if not data:
            raise DataError(f"{path}:2:1: error: no data rows after the header")
        yield CsvInputs(np.array(data), lines, positions)


def _columns_of(path: str, header: list[str], columns: list[str]) -> list[int]:
    """Where each input column is in the header (0-based); refuses unknown and missing ones."""
    names = header[1:] if header[0] == "step" else header
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
    return [skip + names.index(c) for c in columns]


def _row(path, line, row, header, where, columns) -> list[float]:
    if len(row) != len(header):   # point at the first missing or extra field
        raise DataError(f"{path}:{line}:{min(len(row), len(header)) + 1}: error: "
                        f"{len(row)} field{'s' if len(row) != 1 else ''}, but the header "
                        f"has {len(header)}")
    values = []
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
        values.append(value)
    return values


@contextmanager
def atomic_write(path: str, binary: bool = False):
    """Write to a temporary file next to ``path`` and rename it into place only on success."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", newline="", encoding="utf-8")) as fh:
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
