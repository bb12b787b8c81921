"""Progress on stderr: a bar on a terminal, a line now and then elsewhere, nothing with --quiet;
a slow first compile says what it is doing."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pytest

from lstm_hw import cli, progress
from lstm_hw.progress import Progress, slow_step
from lstm_hw.tasks import memory

ROOT = Path(__file__).resolve().parents[1]
CELL = str(ROOT / "netlists" / "memory_cell.yaml")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def not_quiet():
    progress.set_quiet(False)
    yield
    progress.set_quiet(False)


def test_lines_elsewhere_than_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY", 0.0)
    out = io.StringIO()
    with Progress(4, "settings", "sweep", stream=out) as bar:
        for _ in range(4):
            bar.update(1, "W=8")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 5
    assert re.fullmatch(r"sweep: 1/4 settings, [\d.]+ s, ~\d+ s left \(W=8\)", lines[0])
    assert re.fullmatch(r"sweep: 4/4 settings, [\d.]+ s \(W=8\), done", lines[-1])


def test_no_lines_before_line_every():
    out = io.StringIO()
    with Progress(None, "steps", "run", stream=out) as bar:
        bar.update(10)
    assert out.getvalue() == ""


def test_a_bar_on_a_terminal():
    term = Terminal()
    with Progress(10, "sequences", "run", stream=term) as bar:
        bar.update(10)
    text = term.getvalue()
    assert text.startswith("\r") and text.endswith("\n")
    assert "run: [" + "#" * 30 + "] 10/10 sequences" in text


def test_quiet_silences_progress(monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY", 0.0)
    progress.set_quiet(True)
    out = Terminal()
    with Progress(3, "settings", stream=out) as bar:
        bar.update(3)
    with slow_step("compiling", after=0.0, stream=out):
        time.sleep(0.05)
    assert out.getvalue() == ""


def test_slow_step_speaks_only_when_slow():
    out = io.StringIO()
    with slow_step("compiling x", after=0.05, stream=out):
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert lines[0] == "compiling x..." and re.fullmatch(r"compiling x: done in [\d.]+ s",
                                                         lines[1])
    quick = io.StringIO()
    with slow_step("compiling y", after=5.0, stream=quick):
        pass
    assert quick.getvalue() == ""


@pytest.mark.parametrize("quiet", [[], ["--quiet"], ["-q"]], ids=["default", "quiet", "q"])
def test_tune_says_what_it_does(tmp_path, capsys, monkeypatch, quiet):
    """`tune` printed nothing for over a minute: now a line every LINE_EVERY seconds (here
    every update) with what it narrows; --quiet (before or after the command) silences it."""
    monkeypatch.setattr(progress, "LINE_EVERY", 0.0)
    argv = ["tune", CELL, "--sequences", "20", "--steps", "10", "--no-tables"]
    status = cli.main(quiet + argv if quiet == ["-q"] else argv + quiet)
    captured = capsys.readouterr()
    assert status == 0 and "--precision" in captured.out
    tune_lines = [ln for ln in captured.err.splitlines() if ln.startswith("tune: ")]
    if quiet:
        assert tune_lines == []
    else:
        assert len(tune_lines) > 3
        assert any("fractional bits" in ln for ln in tune_lines)
        assert re.fullmatch(r"tune: \d+ settings tried, [\d.]+ s \(.*\), done", tune_lines[-1])


def test_long_run_and_dataset_progress(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "LINE_EVERY", 0.0)
    x = memory.generate(3, 5, seed=1)
    np.save(tmp_path / "in.npy", x)
    assert cli.main(["run", CELL, "-i", str(tmp_path / "in.npy"), "-o",
                     str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("run: 3/3 sequences") and err[-1].endswith(", done")
    (tmp_path / "one.csv").write_text("x1,x2,x3\n" + "1,0,0\n" * 7)
    assert cli.main(["run", CELL, "-i", str(tmp_path / "one.csv"), "-o",
                     str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("run: 7 steps") and err[-1].endswith(", done")


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_the_engine_is_compiled_before_the_run_and_says_so(monkeypatch, engine):
    """The first compile is a step of its own (a run of no cycles), announced when slow (here:
    always), once per simulator; the run's results are unchanged by it."""
    import functools

    import lstm_hw
    from lstm_hw.sim import simulator
    out = io.StringIO()
    monkeypatch.setattr(simulator, "slow_step",
                        functools.partial(slow_step, after=0.0, stream=out))
    circuit = lstm_hw.load(CELL)
    sim = simulator.Simulator(circuit, engine)
    x = memory.generate(4, 9, seed=2)
    first = sim.run(x)
    second = sim.run(x)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("compiling ") and "done in" in lines[1]
    assert ("memory_cell" in lines[0]) == (engine == "compiled")
    fresh = simulator.Simulator(circuit, "interpreter" if engine == "compiled" else "compiled")
    assert np.array_equal(first.data, second.data)
    assert np.array_equal(first.data, fresh.run(x).data)
