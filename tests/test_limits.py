"""Limits on runaway work: sweep workers and grid sizes, limit variables, option checks."""
from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from lstm_hw import limits
from lstm_hw.diagnostics import UserError
from lstm_hw.explore.sweep import WORKERS_PER_CORE, default_workers, local_workers

NETLISTS = Path(__file__).resolve().parent.parent / "netlists"


def test_workers_capped_at_settings_and_cores(capsys):
    cores = default_workers()
    assert local_workers(100_000, 3) == 3
    assert "warning: --workers 100000 is more than" in capsys.readouterr().err
    assert local_workers(100_000, 10**6) == cores * WORKERS_PER_CORE
    assert f"using {cores * WORKERS_PER_CORE}" in capsys.readouterr().err
    assert local_workers(None, 1) == 1
    assert local_workers(None, 1000) == cores
    assert local_workers(1, 1000) == 1
    assert capsys.readouterr().err == ""


def test_limit_variables(monkeypatch):
    monkeypatch.setenv("LSTM_HW_MAX_MEMORY", "16G")
    assert limits.get("memory") == 16 << 30
    monkeypatch.setenv("LSTM_HW_MAX_MEMORY", "1.5G")
    with pytest.raises(UserError, match="LSTM_HW_MAX_MEMORY='1.5G': expected a whole number"):
        limits.get("memory")
    monkeypatch.delenv("LSTM_HW_MAX_MEMORY")
    assert limits.get("memory") == limits.DEFAULTS["memory"][0]


def test_large_sweep_grid_needs_yes(tmp_path):
    """99,998 settings: refused with the count and an estimate; --max-settings raises it."""
    args = ["sweep", NETLISTS / "memory_cell.yaml", "--vary", "*_gate:table_size={T}",
            "--grid", "T=2..99999", "--csv", "out.csv"]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("the sweep has 99,998 settings, about "), proc.stderr
    assert "more than 10,000 settings; pass --yes" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    proc = run_cli(*args[:-2], "--max-settings", "99997", cwd=tmp_path)
    assert proc.returncode == 2 and "more than 99,997 settings" in proc.stderr, proc.stderr
