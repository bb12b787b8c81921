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


LIB = """lstm_hw: 1
import: [lstm_hw/lstm.yaml]
modules:
  {name}:
    inputs: [a]
    outputs: [b]
    blocks:
      b: {{op: identity, in: a}}
"""


def test_diamond_imports_are_one_import(tmp_path):
    """Two libraries that both import lstm_hw/lstm.yaml (and the netlist itself too)."""
    import lstm_hw
    (tmp_path / "liba.yaml").write_text(LIB.format(name="mod_a"))
    (tmp_path / "libb.yaml").write_text(LIB.format(name="mod_b"))
    netlist = (NETLISTS / "memory_cell_layer.yaml").read_text().replace(
        "import: [lstm_hw/lstm.yaml]", "import: [liba.yaml, libb.yaml, lstm_hw/lstm.yaml]")
    netlist = netlist.replace("  y: {op: identity, in: cell.h_next}",
                              "  ya: {module: mod_a, in: {a: cell.h_next}}\n"
                              "  y: {module: mod_b, in: {a: ya.b}}").replace(
        "outputs: [y]", "outputs: [y.b]")
    (tmp_path / "top.yaml").write_text(netlist)
    circuit = lstm_hw.load(tmp_path / "top.yaml")
    assert "cell.c" in circuit.by_name and "y.b" in circuit.by_name


def test_import_cycle_still_an_error(tmp_path):
    import lstm_hw
    (tmp_path / "a.yaml").write_text("lstm_hw: 1\nimport: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("lstm_hw: 1\nimport: [a.yaml]\n")
    (tmp_path / "top.yaml").write_text("lstm_hw: 1\nname: t\nimport: [a.yaml]\ninputs: [x]\n"
                                       "outputs: [y]\nblocks:\n  y: {op: identity, in: x}\n")
    with pytest.raises(lstm_hw.NetlistError, match=r"b\.yaml:2:10: error: import: 'a.yaml' "
                                                    r"imports itself \(an import loop\)"):
        lstm_hw.load(tmp_path / "top.yaml")


def test_corrupted_caches_are_rebuilt(tmp_path, monkeypatch):
    """Every numba cache file and the generated module damaged: the run says so, rebuilds them
    and gives the same output; the next run is quiet."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setenv("LSTM_HW_CACHE_DIR", str(tmp_path / "lc"))
    (tmp_path / "in.csv").write_text("x1,x2,x3\n0.5,1,0\n0.25,1,1\n")
    args = ["run", NETLISTS / "memory_cell.yaml", "-i", "in.csv", "--engine", "compiled"]

    def run():
        return run_cli(*args, cwd=tmp_path)

    first = run()
    assert first.returncode == 0, first.stderr
    damaged = [p for p in tmp_path.rglob("*") if p.suffix in (".nbi", ".nbc", ".py")]
    assert any(p.suffix == ".nbc" for p in damaged) and any(p.suffix == ".py" for p in damaged)
    for k, path in enumerate(damaged):
        path.write_bytes(bytes([0xff, 0x80 + k % 64]) * 7)
    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "warning: the cached module" in second.stderr
    assert "warning: the compiled-code cache " in second.stderr
    third = run()
    assert (third.returncode, third.stdout, third.stderr) == (0, first.stdout, "")
