"""Datasets for ``run``: many sequences, each simulated from the reset state.

A dataset comes from a CSV whose first column is ``seq`` (consecutive rows with the same label
are one sequence), from an ``.npy`` array [sequences, steps, input elements], or from an ``.npz``
holding one array per input, [sequences, steps] or [sequences, steps, elements]. Arrays are
read without pickles, their dtype (integers or floats), shape and size checked from the header
before any data is read, and every value must be finite. Results go to an ``.npz`` with one
array per recorded signal [sequences, steps, elements] (``NAME``: the values as floats,
``NAME.raw``: the fixed-point raw integers).
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import limits
from ..diagnostics import DataError
from ..files import open_output
from .csvio import CsvInputs, source_name

ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass
class Dataset:
    labels: list[str]                    # each sequence's name (its seq, or its index)
    sequences: list[np.ndarray]          # float64 [steps, input columns] each
    locate: Callable[[int, int, int], str]   # (sequence, step, column) -> where, for messages

    def lengths(self) -> list[int]:
        return [len(s) for s in self.sequences]

    def batches(self) -> list[list[int]]:
        """The sequences grouped by length (each group one batch of streams), in order of first
        appearance: a dataset of equal lengths is one batch."""
        groups: dict[int, list[int]] = {}
        for k, seq in enumerate(self.sequences):
            groups.setdefault(len(seq), []).append(k)
        return list(groups.values())


def is_array_input(path: str) -> bool:
    return Path(path).suffix.lower() in ARRAY_SUFFIXES


def from_table(path: str, chunks: list[CsvInputs], columns: list[str]) -> Dataset:
    """A CSV with a seq column: consecutive rows with one label are one sequence (without
    one, the whole file is sequence 0)."""
    name = source_name(path)
    data = np.concatenate([c.data for c in chunks])
    lines = [line for c in chunks for line in c.lines]
    labels = ([s for c in chunks for s in c.seqs] if chunks[0].seqs is not None
              else ["0"] * len(lines))
    positions = chunks[0].positions
    starts = [0] + [k for k in range(1, len(labels)) if labels[k] != labels[k - 1]]
    seen: dict[str, int] = {}
    for start in starts:
        if labels[start] in seen:
            raise DataError(f"{name}:{lines[start]}:1: error: sequence '{labels[start]}' "
                            f"continues here after other sequences (it started at line "
                            f"{seen[labels[start]]}); a sequence's rows must be consecutive")
        seen[labels[start]] = lines[start]
    ends = starts[1:] + [len(labels)]

    def locate(s: int, t: int, k: int) -> str:
        return f"{name}:{lines[starts[s] + t]}:{positions[k]}: error: column '{columns[k]}'"

    return Dataset([labels[a] for a in starts], [data[a:b] for a, b in zip(starts, ends)],
                   locate)


def read_arrays(path: str, inputs: list[tuple[str, int]]) -> Dataset:
    """An .npy [sequences, steps, columns] or an .npz of one array per input; inputs: each
    input's (name, size) in column order."""
    columns = [n if size == 1 else f"{n}[{k}]" for n, size in inputs for k in range(size)]
    try:
        if Path(path).suffix.lower() == ".npy":
            with open(path, "rb") as fh:
                x = _read_npy(path, fh, "", 3, (None, None, len(columns)))
        else:
            x = _read_npz(path, inputs)
    except OSError as exc:
        raise DataError(f"{path}: error: cannot read: {exc.strerror or exc}") from None
    except (ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise DataError(f"{path}: error: not a valid {Path(path).suffix.lower()} file "
                        f"({exc})") from None
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{path}: error: no data: shape {_shape(x.shape)} (expected at least "
                        "one sequence of one step)")
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        s, t, k = bad[0]
        raise DataError(f"{path}: error: sequence {s}, step {t}, input '{columns[k]}': "
                        f"{x[s, t, k]} is not a finite number")

    def locate(s: int, t: int, k: int) -> str:
        return f"{path}: error: sequence {s}, step {t}, input '{columns[k]}'"

    return Dataset([str(s) for s in range(x.shape[0])], list(x), locate)


def _shape(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _read_npy(path: str, fh, what: str, ndims, want: tuple) -> np.ndarray:
    """One array from an open .npy stream as float64, its header checked before its data:
    ndims (an int or a tuple of allowed ones), want: the sizes required (None: any)."""
    version = np.lib.format.read_magic(fh)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:   # 3.0 only serves structured dtypes with Unicode field names
        raise DataError(f"{path}: error: {what}.npy format version {version} (expected 1.0 or "
                        "2.0 as numpy.save writes for numbers)")
    shape, fortran, dtype = read_header(fh)
    ndims = (ndims,) if isinstance(ndims, int) else ndims
    expected = "[" + ", ".join("N" if w is None else str(w) for w in want) + "]"
    if dtype.kind not in "iuf" or dtype.hasobject:
        raise DataError(f"{path}: error: {what}dtype {dtype} (expected floats or integers)")
    if len(shape) not in ndims or any(w is not None and n != w for n, w in zip(shape, want)):
        raise DataError(f"{path}: error: {what}shape {_shape(shape)} (expected "
                        f"[sequences, steps{', elements' if 3 in ndims else ''}] = "
                        f"{expected}{' or [sequences, steps]' if 2 in ndims and 3 in ndims else ''})")
    limit = limits.get("input_array")
    if int(np.prod(shape, dtype=object)) * 8 > limit:
        raise DataError(f"{path}: error: {what}shape {_shape(shape)} is over {limit:,} bytes "
                        f"as float64 ({limits.how_to_raise('input_array')})")
    count = int(np.prod(shape))
    data = fh.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise DataError(f"{path}: error: {what}truncated: {len(data)} bytes of data, the "
                        f"header says {count * dtype.itemsize}")
    x = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")
    return x.astype(np.float64)


def _read_npz(path: str, inputs: list[tuple[str, int]]) -> np.ndarray:
    names = [n for n, _ in inputs]
    with zipfile.ZipFile(path) as z:
        members = {m.filename.removesuffix(".npy"): m for m in z.infolist()}
        for key in members:
            if key not in names:
                raise DataError(f"{path}: error: array '{key}' is not an input (the inputs "
                                f"are {', '.join(names)})")
        missing = [n for n in names if n not in members]
        if missing:
            raise DataError(f"{path}: error: no array for input{'s' * (len(missing) > 1)} "
                            f"{', '.join(repr(m) for m in missing)}")
        parts = []
        for name, size in inputs:
            with z.open(members[name]) as fh:
                want = (parts[0].shape[0], parts[0].shape[1]) if parts else (None, None)
                x = _read_npy(path, fh, f"array '{name}': ", (2, 3) if size == 1 else 3,
                              want + (size,))
            parts.append(x.reshape(x.shape[0], x.shape[1], size))
    return np.concatenate(parts, axis=2)


def write_arrays(path: str, arrays: dict[str, np.ndarray]) -> None:
    """An .npz of the given arrays, written whole or not at all."""
    with open_output(path, binary=True) as fh:
        np.savez(fh, **arrays)
