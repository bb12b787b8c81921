"""CSV in and out. Bad data is refused with file:row:column (outputs: lstm_hw/files.py).

In: a header of input column names (``x``, or ``x[0]``, ``x[1]``... for vectors), in any order,
an optional leading ``seq`` column (the sequence each row belongs to), then an optional ``step``
column, one row per time step. ``-`` reads standard input. Every value is a plain decimal or a C
floating literal (``-1.5``, ``2e-3``, ``0x1.8p1``); ``1_000``, Unicode digits, ``inf`` and
``nan`` are refused, as are fields over 128 KiB. Out: ``step`` then the columns.
"""
from __future__ import annotations

import csv
import io
import math
import re
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..diagnostics import DataError, did_you_mean

SEQ, STEP = "seq", "step"   # the optional leading columns
STDIN = "-"
# What float() would take beyond C's literals (underscores, Unicode digits, inf, nan) is refused.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+",
                  re.ASCII)
_DECIMALS = re.compile(rf"(?:[ \t]*{_DECIMAL.pattern}[ \t]*\n)*[ \t]*{_DECIMAL.pattern}[ \t]*",
                       re.ASCII)   # a chunk's fields, one a line
FIELD_LIMIT = 128 << 10   # csv's own default limit, named: a longer field is refused


@dataclass
class CsvInputs:
    data: np.ndarray          # float64 [steps, columns] in the order asked for
    lines: list[int]          # the file line of each step
    positions: list[int]      # the file column (1-based) of each column asked for
    seqs: list[str] | None = None   # each row's sequence label, if the file has a seq column


def source_name(path: str) -> str:
    """How messages name an input: its path, or <stdin> for ``-``."""
    return "<stdin>" if path == STDIN else path


def read_inputs(path: str, columns: list[str]) -> np.ndarray:
    """float64 [steps, len(columns)] in the order of ``columns``."""
    return read_table(path, columns).data


def read_table(path: str, columns: list[str]) -> CsvInputs:
    """The inputs with where each value stands in the file, for messages about them."""
    chunks = list(iter_table(path, columns))
    return CsvInputs(np.concatenate([c.data for c in chunks]),
                     [line for c in chunks for line in c.lines], chunks[0].positions,
                     None if chunks[0].seqs is None else [s for c in chunks for s in c.seqs])


def _open(path: str):
    if path == STDIN:   # newline="" as csv wants; -sig: Excel's byte order mark
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: error: cannot read: {exc.strerror or exc}") from None


def iter_table(path: str, columns: list[str], chunk_rows: int = 1 << 16) -> Iterator[CsvInputs]:
    """The inputs ``chunk_rows`` steps at a time: a long file is never held whole."""
    name = source_name(path)
    fh = _open(path)
    with fh:
        reader = csv.reader(fh)
        line = 1
        try:
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise DataError(f"{name}:1:1: error: empty file (expected a header: "
                                f"{', '.join(columns)})")
            where, seq_at = _columns_of(name, header, columns)
            positions = [k + 1 for k in where]
            fields, lines, seqs, any_rows = [], [], [], False
            for line, row in enumerate(reader, start=2):
                if len(row) <= 1 and not "".join(row).strip():   # blank: skipped, counted
                    continue
                if len(row) != len(header):   # point at the first missing or extra field
                    raise DataError(f"{name}:{line}:{min(len(row), len(header)) + 1}: error: "
                                    f"{len(row)} field{'s' if len(row) != 1 else ''}, but the "
                                    f"header has {len(header)}")
                fields.append([row[k] for k in where])
                lines.append(line)
                if seq_at is not None:
                    seqs.append(_seq_label(name, line, row[seq_at]))
                if len(fields) == chunk_rows:
                    yield CsvInputs(_numbers(name, fields, lines, where, columns), lines,
                                    positions, seqs if seq_at is not None else None)
                    fields, lines, seqs, any_rows = [], [], [], True
        except UnicodeDecodeError as exc:
            raise DataError(f"{name}: error: cannot read: {exc}") from None
        except csv.Error as exc:
            detail = (f"a field is over {FIELD_LIMIT >> 10} KiB" if "field limit" in str(exc)
                      else f"not a CSV file ({exc})")
            raise DataError(f"{name}:{reader.line_num}:1: error: {detail}") from None
    if fields or not any_rows:
        if not fields:
            raise DataError(f"{name}:2:1: error: no data rows after the header")
        yield CsvInputs(_numbers(name, fields, lines, where, columns), lines, positions,
                        seqs if seq_at is not None else None)


def _columns_of(path: str, header: list[str], columns: list[str]) -> tuple[list[int], int | None]:
    """Where each input column is in the header (0-based), and the seq column's (or None);
    refuses unknown and missing ones."""
    skip = 0
    for lead in (SEQ, STEP):
        if header[skip:skip + 1] == [lead]:
            skip += 1
    names = header[skip:]
    seen = set()
    for k, name in enumerate(names):
        if name in seen:
            raise DataError(f"{path}:1:{k + 1 + skip}: error: column '{name}' appears twice")
        seen.add(name)
        if name not in columns:
            lead = (f" ('{name}' may only be the first column{'s' * (name == STEP)}: "
                    f"seq, then step)" if name in (SEQ, STEP) else "")
            raise DataError(f"{path}:1:{k + 1 + skip}: error: unknown column '{name}'"
                            f"{did_you_mean(name, columns)} (the inputs are "
                            f"{', '.join(columns)}){lead}")
    missing = [c for c in columns if c not in seen]
    if missing:
        raise DataError(f"{path}:1:1: error: missing column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(repr(m) for m in missing)} (the inputs are "
                        f"{', '.join(columns)})")
    return [skip + names.index(c) for c in columns], (0 if header[0] == SEQ else None)


def parse_number(text: str) -> float:
    """A plain decimal or a C floating literal as a finite float; ValueError otherwise."""
    if _DECIMAL.fullmatch(text):
        value = float(text)
    elif _HEX.fullmatch(text):
        value = float.fromhex(text)
    elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError("is not a finite number")
    else:
        raise ValueError("is not a number")
    if not math.isfinite(value):
        raise ValueError("is not a finite number (beyond the range of a double)")
    return value


def _numbers(path, fields: list[list[str]], lines, where, columns) -> np.ndarray:
    """A chunk's fields as float64 [rows, columns]. Plain decimals take one regular expression
    match and one numpy conversion for the whole chunk; a chunk with anything else is read
    field by field, which also names the first bad field."""
    flat = [f for row in fields for f in row]
    if _DECIMALS.fullmatch("\n".join(flat)):
        try:   # a quoted field holding a line break matches too: numpy refuses it
            data = np.array(flat, dtype=np.float64).reshape(len(fields), len(where))
        except ValueError:
            data = None
        if data is not None and np.isfinite(data).all():
            return data
    data = np.empty((len(fields), len(where)))
    for r, (line, row) in enumerate(zip(lines, fields)):
        for k, text in enumerate(row):
            text = text.strip()
            try:
                data[r, k] = parse_number(text)
            except ValueError as exc:
                shown = text if len(text) <= 40 else text[:40] + "..."
                raise DataError(f"{path}:{line}:{where[k] + 1}: error: column "
                                f"'{columns[k]}': {shown!r} {exc}") from None
    return data


def _seq_label(path: str, line: int, text: str) -> str:
    label = text.strip()
    if not label:
        raise DataError(f"{path}:{line}:1: error: column 'seq': empty (every row names its "
                        "sequence)")
    return label


def write_rows(fh, header: list[str], rows) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
