"""The compiled backend and the numpy engine against the interpreter, chunked runs against whole
ones, and the engine 'auto' picks."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import lstm_hw
from lstm_hw.sim import simulator as simulator_module
from lstm_hw.sim.simulator import AUTO_CACHED_WORK, AUTO_COMPILE_WORK_FEW, PARALLEL_MIN_WORK
from lstm_hw.tasks import memory

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "netlists").glob("*.yaml"))


def inputs_for(circuit, streams, steps, seed):
    n = len(circuit.input_columns())
    if n == 3:
        return memory.generate(streams, steps, seed)
    return np.random.default_rng(seed).uniform(-1, 1, (streams, steps, n))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_compiled_backend_agrees_with_the_interpreter_on_shipped_netlists(path):
    """Both compiled functions: ``run`` (streams innermost) and ``run_one`` (one stream)."""
    circuit = lstm_hw.load(path)
    big = len(circuit.input_columns()) > 3
    x = inputs_for(circuit, 3 if big else 20, 15 if big else 60, seed=4)
    for streams in (x, x[1:2]):
        a = lstm_hw.Simulator(circuit, "interpreter").run(streams, record="all", strict=False)
        for engine in ("compiled", "numpy"):
            b = lstm_hw.Simulator(circuit, engine).run(streams, record="all", strict=False)
            np.testing.assert_array_equal(a.data, b.data)
            assert a.overflow == b.overflow


@pytest.mark.parametrize("name", ["memory_cell.yaml", "memory_cell_pipelined.yaml"])
@pytest.mark.parametrize("engine", ["interpreter", "compiled", "numpy"])
def test_chunked_runs_equal_whole_runs(name, engine):
    sim = lstm_hw.Simulator(lstm_hw.load(ROOT / "netlists" / name), engine)
    raw = sim.quantise_inputs(memory.generate(5, 103, seed=8))
    whole = sim.run(raw, record="all", raw_inputs=True)
    cuts = [0, 1, 2, 40, 41, 90, 103]
    parts = list(sim.stream([raw[:, a:b] for a, b in zip(cuts, cuts[1:])], record="all"))
    np.testing.assert_array_equal(np.concatenate([p.data for p in parts], axis=1), whole.data)
    # each step comes out once, in order, as soon as it is valid: never more than a few
    # steps behind the inputs
    assert sum(p.data.shape[1] for p in parts) == 103


def _wide_dot_netlist(rng) -> str:
    """A 7 x 9 dot (63 products: written as loops, rows in groups of 4 and a remainder of 3)
    feeding back through a register with an enable and a reset."""
    weights = rng.integers(-100, 100, (7, 9)) / 16
    bias = rng.integers(-40, 40, 7) / 16
    rows = ", ".join("[" + ", ".join(str(v) for v in row) + "]" for row in weights)
    return f"""\
lstm_hw: 1
name: wide_dot
format: "ap_fixed<12,5,AP_RND,AP_SAT>"
inputs: [a, b, en, rst]
outputs: [y]
blocks:
  d:  {{op: dot, in: [a, b, h], weights: [{rows}], bias: [{", ".join(str(b) for b in bias)}],
       format: "ap_fixed<14,6,AP_TRN,AP_WRAP>"}}
  t:  {{op: tanh, in: d, table: {{size: 64, range: [-4, 4]}}}}
  h:  {{op: reg, in: t, init: 0, enable: en, reset: rst}}
  y:  {{op: add, in: [d, h]}}
"""


def test_wide_dots_agree_in_both_compiled_functions(tmp_path):
    """The grouped rows of run (many streams), the vectorised row of run_one (one stream) and
    the numpy engine's matrix product against the interpreter, every signal and overflow count,
    including wrapped sums."""
    rng = np.random.default_rng(12)
    path = tmp_path / "wide_dot.yaml"
    path.write_text(_wide_dot_netlist(rng))
    circuit = lstm_hw.load(path)
    x = np.stack([rng.uniform(-3, 3, (9, 40)), rng.uniform(-3, 3, (9, 40)),
                  rng.integers(0, 2, (9, 40)), rng.uniform(0, 1, (9, 40)) < 0.1],
                 axis=2).astype(float)
    for streams in (x, x[4:5]):
        a = lstm_hw.Simulator(circuit, "interpreter").run(streams, record="all", strict=False)
        for engine in ("compiled", "numpy"):
            b = lstm_hw.Simulator(circuit, engine).run(streams, record="all", strict=False)
            np.testing.assert_array_equal(a.data, b.data)
            assert a.overflow == b.overflow
        assert a.overflow.get("d", 0) > 0 and a.overflow.get("h", 0) == 0   # sums wrap


def test_threads_share_a_module_compiled_on_first_use(tmp_path):
    """A run split over two threads on a netlist never compiled before (a thread once got the
    generated module half imported): the halves put back together equal one thread's run."""
    rng = np.random.default_rng(int.from_bytes(tmp_path.name.encode()[-4:], "little"))
    path = tmp_path / "fresh.yaml"
    path.write_text(_wide_dot_netlist(rng))   # weights of its own: a module of its own
    circuit = lstm_hw.load(path)
    x = np.stack([rng.uniform(-3, 3, (64, 3500)), rng.uniform(-3, 3, (64, 3500)),
                  rng.integers(0, 2, (64, 3500)), rng.uniform(0, 1, (64, 3500)) < 0.1],
                 axis=2).astype(float)
    two = lstm_hw.Simulator(circuit, "compiled", threads=2)
    assert two.program.work * x.shape[0] * x.shape[1] >= PARALLEL_MIN_WORK   # it does split
    a = two.run(x, record="all", strict=False)
    b = lstm_hw.Simulator(circuit, "compiled", threads=1).run(x, record="all", strict=False)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.overflow == b.overflow


def test_auto_uses_a_module_numba_compiled_before(tmp_path, monkeypatch):
    """'auto' weighs a compile against the interpreter's run; once numba has the generated
    module's machine code cached (by another process here), a run the interpreter would take
    a while over uses it, and a tiny run stays on the interpreter (a load costs more)."""
    monkeypatch.setenv("LSTM_HW_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(int.from_bytes(tmp_path.name.encode()[-4:], "little"))
    path = tmp_path / "own.yaml"
    path.write_text(_wide_dot_netlist(rng))   # weights of its own: a module of its own
    sim = lstm_hw.Simulator(lstm_hw.load(path))
    middling = AUTO_CACHED_WORK // sim.program.work + 1   # stream-cycles, one stream
    assert middling * sim.program.work < AUTO_COMPILE_WORK_FEW
    assert sim._pick_engine(middling, 1) == "interpreter"
    subprocess.run([sys.executable, "-c", "import sys, numpy, lstm_hw; lstm_hw.Simulator("
                    "lstm_hw.load(sys.argv[1]), 'compiled').run(numpy.zeros((1, 2, 4)))",
                    str(path)], check=True, env=dict(os.environ), capture_output=True)
    fresh = lstm_hw.Simulator(lstm_hw.load(path))
    assert fresh._pick_engine(middling, 1) == "compiled"
    assert fresh._pick_engine(1, 1) == "numpy"


def test_auto_compiles_in_the_background_while_the_interpreter_runs(tmp_path, monkeypatch):
    """'auto' taking the compiled engine for a module numba has not compiled yet: the
    interpreter runs the first cycles while a thread compiles, then the rest run compiled, the
    state carried over: every signal and overflow count equal to the interpreter's alone. The
    compile is held until the interpreter has run three pieces and done before the fourth, so
    the switch falls mid-run."""
    monkeypatch.setenv("LSTM_HW_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(int.from_bytes(tmp_path.name.encode()[-4:], "little"))
    path = tmp_path / "own.yaml"
    path.write_text(_wide_dot_netlist(rng))   # weights of its own: a module of its own
    circuit = lstm_hw.load(path)
    x = np.stack([rng.uniform(-3, 3, (1, 3000)), rng.uniform(-3, 3, (1, 3000)),
                  rng.integers(0, 2, (1, 3000)), rng.uniform(0, 1, (1, 3000)) < 0.1],
                 axis=2).astype(float)
    want = lstm_hw.Simulator(circuit, "interpreter").run(x, record="all", strict=False)
    sim = lstm_hw.Simulator(circuit)
    for name in ("AUTO_NUMPY_SECONDS", "AUTO_CACHED_WORK", "AUTO_COMPILE_WORK_FEW"):
        monkeypatch.setattr(simulator_module, name, 0)   # a long run, as 'auto' sees it
    assert sim._pick_engine(3000, 1) == "compiled" and not sim._ready(1)
    release, used = threading.Event(), []
    prepare, part = sim._prepare, sim._kernel_part

    def held_prepare(engine, *args):
        if engine == "compiled":
            assert release.wait(60)
        prepare(engine, *args)

    def logged_part(vals, cycle_inputs, record, engine):
        if not len(cycle_inputs):   # a compile's run of no cycles
            return part(vals, cycle_inputs, record, engine)
        used.append(engine)
        if used.count("interpreter") == 3:   # compile now, and finish before the next piece
            release.set()
            sim._compiling.join(120)
        return part(vals, cycle_inputs, record, engine)

    monkeypatch.setattr(sim, "_prepare", held_prepare)
    monkeypatch.setattr(sim, "_kernel_part", logged_part)
    got = sim.run(x, record="all", strict=False)
    np.testing.assert_array_equal(got.data, want.data)
    assert got.overflow == want.overflow
    assert used[:3] == ["interpreter"] * 3 and used[-1] == "compiled", used
    assert sim._ready(1)


def test_check_of_a_small_cell_runs_without_numba():
    """'auto' gives check's runs on the lecture's cell to the numpy engine, and nothing on the
    way (elaboration's constants, the inputs' quantisation, the float reference) imports numba:
    the first check on a new machine compiles nothing. The same output as the interpreter's."""
    sim = lstm_hw.Simulator(lstm_hw.load(ROOT / "netlists" / "memory_cell.yaml"))
    assert sim._pick_engine(1000 * 50, 1000) == "numpy"
    assert sim._pick_engine(1000 * 50_000, 1000) != "numpy"
    code = ("import sys; from lstm_hw.cli import main; status = main(['check', sys.argv[1]] + "
            "sys.argv[2:]); print('numba' in sys.modules); sys.exit(status)")
    path = str(ROOT / "netlists" / "memory_cell.yaml")
    auto = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          check=True)
    assert auto.stdout.endswith("PASS: the fixed-point circuit does the task\nFalse\n")
    interpreted = subprocess.run([sys.executable, "-c", code, path, "--engine", "interpreter"],
                                 capture_output=True, text=True, check=True)
    assert interpreted.stdout == auto.stdout.replace("\nFalse\n", "\nTrue\n")
