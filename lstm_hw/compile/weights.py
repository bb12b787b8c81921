"""Weights a netlist reads from files: ``weights: {file: NAME.npz, key: ARRAY}``.

A file is found relative to the netlist's folder and must lie inside it (symbolic links
resolved), or inside the folder the caller allows (``--weights-dir``): a netlist cannot make
lstm_hw read an arbitrary file. Each file is read once, with the memory limit of lstm_hw/limits.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import limits
from ..diagnostics import did_you_mean
from ..netlist.parse import real_path
from ..npz import read_npz


class WeightFiles:
    def __init__(self, netlist_path: str, weights_dir: str | None):
        self.base = Path(netlist_path).resolve().parent
        self.allowed = [self.base] + ([Path(weights_dir).resolve()] if weights_dir else [])
        self.read: dict[Path, dict[str, np.ndarray]] = {}   # every file read, by real path

    def array(self, ref, key: str) -> np.ndarray:
        """The float64 array ``ref`` ({file, key}; the key defaults to the parameter's name
        ``key``) names; ValueError with the reason, in words a netlist's author can act on."""
        if not isinstance(ref, dict) or set(ref) - {"file", "key"} or \
                not isinstance(ref.get("file"), str):
            raise ValueError(f"'{key}' from a file is {{file: NAME.npz, key: ARRAY}}")
        file = ref["file"]
        try:
            path = real_path(self.base / file)
        except OSError as exc:
            raise ValueError(f"cannot read weight file '{file}': {exc.strerror}") from None
        if not any(path.is_relative_to(a) for a in self.allowed):
            raise ValueError(f"weight file '{file}' is outside the netlist's folder (pass "
                             "--weights-dir to allow another folder)")
        try:
            if path not in self.read:
                self.read[path] = read_npz(path, limits.get("memory"))
        except FileNotFoundError:
            raise ValueError(f"weight file '{file}' does not exist (paths are relative to the "
                             "netlist's folder)") from None
        except OSError as exc:   # its message would show the absolute path: give the reason
            raise ValueError(f"cannot read weight file '{file}': {exc.strerror or exc}") \
                from None
        except ValueError as exc:
            raise ValueError(f"weight file '{file}': {exc}") from None
        arrays, name = self.read[path], ref.get("key", key)
        if name not in arrays:
            raise ValueError(f"'{file}' has no array '{name}'{did_you_mean(str(name), arrays)}")
        return arrays[name].astype(np.float64)     # numeric: read_npz refuses the others
