"""External tools the tests check against (g++, the Xilinx headers in hls4ml's wheel, Verilator,
Icarus, Yosys, torch). In CI (CI=true) a missing one fails the test: .ci/run installs them all, so
a missing tool is a broken install, not a reason to pass. Elsewhere the test skips, saying why."""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest


def unavailable(why: str) -> None:
    """Fail in CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} (CI installs it: see .ci/run)")
    pytest.skip(why)


def need_executable(name: str) -> str:
    """The path of an executable on PATH (g++, verilator, iverilog, yosys)."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not on PATH")
    return found


def need_module(name: str):
    """An importable Python module (torch, h5py)."""
    if importlib.util.find_spec(name) is None:
        unavailable(f"{name} is not installed")
    return importlib.import_module(name)


def hls4ml_root() -> Path:
    """The folder of the installed hls4ml package (found without importing it: its own
    dependencies need not be installed); its templates hold the ap_types headers and nnet_utils."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        unavailable("hls4ml (the source of the ap_types headers and nnet_utils) is not installed")
    return Path(list(spec.submodule_search_locations)[0])
