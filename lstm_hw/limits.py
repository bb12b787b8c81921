"""Limits that keep a mistaken or hostile input from running away, and how a user raises them.

Each limit has a default sized for this tool's real work and an environment variable that
raises (or lowers) it: ``LSTM_HW_MAX_<NAME>`` in capitals, e.g. ``LSTM_HW_MAX_MEMORY=64G``.
Sizes take a K, M, G or T suffix (powers of 1024). Commands that refuse work over a limit say
which variable (or option) raises it.
"""
from __future__ import annotations

import os
import re

from .diagnostics import UserError

# name: (default, what it counts)
DEFAULTS = {
    "yaml_nodes": (1_000_000, "values in a YAML document after its aliases are expanded"),
    "memory": (4 << 30, "bytes of memory a design's signals may take per stream, or a run's "
                        "arrays"),
    "cells": (200_000, "cells of the clocked hardware (pipeline registers included)"),
    "work": (10 ** 9, "signal-element evaluations of one time step of one stream"),
    "settings": (10_000, "settings of a sweep before it asks for --yes"),
    "input_array": (1 << 30, "bytes of an input array (.npy/.npz) read as float64"),
}
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def variable(name: str) -> str:
    return f"LSTM_HW_MAX_{name.upper()}"


def get(name: str) -> int:
    """The limit's value: its environment variable if set, else the default."""
    default, _ = DEFAULTS[name]
    text = os.environ.get(variable(name), "").strip()
    if not text:
        return default
    m = re.fullmatch(r"(\d+)\s*([KMGT]?)i?B?", text, re.IGNORECASE)
    if not m:
        raise UserError(f"{variable(name)}={text!r}: expected a whole number, optionally "
                        "with K, M, G or T (e.g. 16G)")
    return int(m.group(1)) * _SUFFIX[m.group(2).upper()]


def how_to_raise(name: str) -> str:
    return f"set {variable(name)}=N to raise this limit"


def check_run_memory(circuit, sequences: int, steps: int) -> None:
    """Refuse, before anything is allocated, a run of ``sequences`` x ``steps`` whose arrays
    (the inputs and the outputs, fixed and float, raw and values: about 4 copies) would pass
    the memory limit."""
    columns = sum(circuit.cells[i].size for i in (*circuit.inputs, *circuit.outputs))
    nbytes = 32 * columns * sequences * steps
    if nbytes > get("memory"):
        raise UserError(f"{sequences:,} sequences of {steps:,} steps need about "
                        f"{format_bytes(nbytes)} of memory, more than the limit of "
                        f"{format_bytes(get('memory'))}: use fewer --sequences or --steps, or "
                        f"{how_to_raise('memory')}")


def format_bytes(n: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
