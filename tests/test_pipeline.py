"""The compiler's pipeline (compile/pipeline.py): every command goes through all of it, and
``info --dump`` prints what actually runs.

Golden files: ``tests/golden/info_dump/NAME.txt`` is the dump part of ``lstm-hw info --dump
netlists/NAME.yaml`` (from its first ``circuit`` line). To rewrite them after changing the
lowering or the dump: ``LSTM_HW_REGOLD=1 pytest tests/test_pipeline.py``, then read every changed
file (``git diff tests/golden``) before keeping it.
"""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

import lstm_hw
from lstm_hw.compile.pipeline import compile_netlist
from lstm_hw.compile.schedule import verify_program

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "info_dump"
NETLISTS = sorted(p.stem for p in (ROOT / "netlists").glob("*.yaml"))
REGOLD = os.environ.get("LSTM_HW_REGOLD") == "1"


@pytest.fixture(scope="module")
def dumps() -> dict[str, str]:
    def dump(name: str) -> str:
        proc = run_cli("info", "--dump", f"netlists/{name}.yaml", cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines(keepends=True)
        first = next(k for k, ln in enumerate(lines) if ln.startswith("circuit "))
        return "".join(lines[first:])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(NETLISTS, pool.map(dump, NETLISTS)))


@pytest.mark.parametrize("name", NETLISTS)
def test_info_dump_golden(name: str, dumps) -> None:
    golden = GOLDEN / f"{name}.txt"
    if REGOLD:
        golden.write_text(dumps[name], encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name} (run with LSTM_HW_REGOLD=1)"
    assert dumps[name] == golden.read_text(encoding="utf-8")


def test_every_golden_dump_has_its_netlist() -> None:
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.stem not in NETLISTS)
    assert not stale, f"golden dumps without a netlist: {stale}"


def test_pipelined_dump_shows_the_hardware_that_runs(dumps) -> None:
    """The timed netlist's dump is its clocked hardware: pipeline registers, the folded dot,
    and the program the simulator runs (not the untimed one)."""
    text = dumps["memory_cell_pipelined"]
    sim = lstm_hw.Simulator(lstm_hw.load(ROOT / "netlists" / "memory_cell_pipelined.yaml"))
    p = sim.program
    assert f"program: {p.n_slots} slots, {p.n_comb} steps, {len(p.fold_t)} fold units, " \
           f"{len(p.reg_out)} registers" in text
    assert len(p.fold_t) == 1 and len(p.reg_out) > 1
    assert "  fold dot " in text and "in_gate[1]" in text and "= reg(in_gate.comb)" in text
    assert "np.int64" not in "".join(dumps.values())


def test_validate_rejects_an_unmeetable_ii_as_run_does(tmp_path) -> None:
    bad = ROOT / "tests" / "bad" / "ii_too_short.yaml"
    data = tmp_path / "in.csv"
    data.write_text("x\n1\n2\n")
    validated = run_cli("validate", bad.name, cwd=bad.parent)
    ran = run_cli("run", bad.name, "-i", data, cwd=bad.parent)
    info = run_cli("info", bad.name, cwd=bad.parent)
    assert validated.returncode == ran.returncode == info.returncode == 2
    assert "clock: ii 2 is too short for register 'c'" in validated.stderr
    assert validated.stderr == ran.stderr == info.stderr
    assert ran.stdout == validated.stdout == ""


def test_load_and_simulator_share_the_pipeline() -> None:
    """A Simulator made from a loaded circuit runs the program the pipeline made for it."""
    path = ROOT / "netlists" / "memory_cell_pipelined.yaml"
    compiled = compile_netlist(path)
    circuit = lstm_hw.load(path)
    sim = lstm_hw.Simulator(circuit)
    assert compiled.timing.timed and sim.hardware is not sim.circuit
    assert sim.program.dump(sim.hardware) == compiled.program.dump(compiled.hardware)
    assert lstm_hw.Simulator(compiled).program is compiled.program


@pytest.mark.parametrize("field, value", [("out", 10 ** 6), ("arg1", 10 ** 6), ("par", -1),
                                          ("reg_in", -5), ("op", 99)])
def test_verifier_refuses_a_broken_program(field: str, value: int) -> None:
    compiled = compile_netlist(ROOT / "netlists" / "memory_cell_pipelined.yaml")
    verify_program(compiled.program, compiled.hardware)   # the real one passes
    broken = getattr(compiled.program, field).copy()
    broken[0] = value
    program = dataclasses.replace(compiled.program, **{field: broken})
    with pytest.raises(lstm_hw.InternalError, match="a bug in lstm_hw"):
        verify_program(program, compiled.hardware)
    assert not np.array_equal(broken, getattr(compiled.program, field))
