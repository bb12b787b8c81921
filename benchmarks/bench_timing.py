"""Timing on: cycles per second of the pipelined cell against the untimed engine, VCD rate."""
from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import lstm_hw
from lstm_hw.report.vcd import write_vcd
from lstm_hw.tasks import memory

from .common import NETLISTS, best_of, report


def untimed_twin(path: Path, folder: str) -> Path:
    """The same netlist with its timing (latency, multipliers) taken out."""
    text = re.sub(r",\s*(latency|multipliers): \d+", "", path.read_text())
    twin = Path(folder) / path.name
    twin.write_text(text)
    return twin


def run() -> None:
    print("timing on vs off (netlists/memory_cell_pipelined.yaml and its untimed twin)")
    timed = lstm_hw.Simulator(lstm_hw.load(NETLISTS / "memory_cell_pipelined.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        untimed = lstm_hw.Simulator(lstm_hw.load(
            untimed_twin(NETLISTS / "memory_cell_pipelined.yaml", tmp)))
    assert not untimed.timing.timed
    ii = timed.timing.ii
    for streams, steps in ((1, 100_000), (1000, 1_000)):
        raw = untimed.quantise_inputs(memory.generate(streams, steps, seed=2))
        untimed.run(raw[:, :5], raw_inputs=True)
        timed.run(raw[:, :5], raw_inputs=True)
        t_u = best_of(lambda: untimed.run(raw, raw_inputs=True), repeat=3)
        t_t = best_of(lambda: timed.run(raw, raw_inputs=True), repeat=3)
        cyc_u, cyc_t = steps / t_u, ((steps - 1) * ii + 8) / t_t
        report(f"{streams} stream(s): untimed cycles/s", cyc_u, "cycles/s")
        report(f"{streams} stream(s): timed cycles/s (II {ii})", cyc_t, "cycles/s")
        report(f"{streams} stream(s): timed / untimed cycles/s", cyc_t / cyc_u, "x")
    raw = untimed.quantise_inputs(memory.generate(1, 5_000, seed=3))
    cycles = timed.run_cycles(raw, raw_inputs=True)
    n_cycles = cycles.data.shape[1]
    valid = {"y": timed.valid_cycles(timed.circuit.by_name["y"], raw.shape[1], n_cycles)}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_vcd(str(Path(tmp) / "w.vcd"), cycles, timed, valid)
        dt = time.perf_counter() - t0
    report(f"VCD writing ({sum(cycles.sizes)} signals)", n_cycles / dt, "cycles/s")
    report("VCD writing, signal values", n_cycles * sum(cycles.sizes) / dt, "values/s")
