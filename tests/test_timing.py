"""Cycle-accurate timing: pipelined and folded variants against their untimed twins."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_hw
from lstm_hw.rtl.names import hardware_names
from lstm_hw.tasks import memory

ROOT = Path(__file__).resolve().parent.parent
CELL = ROOT / "netlists" / "memory_cell.yaml"
PIPELINED = ROOT / "netlists" / "memory_cell_pipelined.yaml"


def timed_variant(tmp_path: Path, name: str, latencies: dict[str, int], fold: int | None = None,
                  ii: int | None = None) -> Path:
    """The lecture's cell with latencies on some blocks, optionally its z_in folded, a clock."""
    text = CELL.read_text()
    for block, lat in latencies.items():
        text = re.sub(rf"(\n  {block}:\s+\{{.*)\}}", rf"\1, latency: {lat}}}", text, count=1)
    if fold:
        text = re.sub(r"(\n  z_in:\s+\{.*)\}", rf"\1, multipliers: {fold}}}", text, count=1)
    if ii:
        text += f"clock: {{ii: {ii}}}\n"
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


VARIANTS = {
    "shipped": None,
    "mul_pipes": ({"write": 1, "keep": 2, "y": 3}, None, None),
    "gates": ({"in_gate": 2, "forget_gate": 1, "out_gate": 4, "z": 1}, None, None),
    "folded": ({"c_next": 1}, 1, None),
    "slow_clock": ({"keep": 1}, None, 5),
}


@pytest.fixture(scope="module")
def random_sequences():
    return memory.generate(1000, 50, seed=7)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_timed_variants_are_bit_identical_to_the_untimed_cell(variant, tmp_path,
                                                              random_sequences):
    spec = VARIANTS[variant]
    path = PIPELINED if spec is None else timed_variant(tmp_path, variant, *spec)
    timed = lstm_hw.Simulator(lstm_hw.load(path))
    assert timed.timing.timed
    untimed = lstm_hw.Simulator(lstm_hw.load(CELL))
    for x in (memory.LECTURE_INPUTS, random_sequences):
        a = timed.run(x, record=["y", "c", "c_next"])
        b = untimed.run(x, record=["y", "c", "c_next"])
        np.testing.assert_array_equal(a.data, b.data)
    assert a.overflow == b.overflow


def test_first_valid_output_at_the_reported_latency_and_one_step_every_ii(tmp_path):
    sim = lstm_hw.Simulator(lstm_hw.load(PIPELINED))
    t = sim.timing
    circuit = sim.circuit
    y = circuit.by_name["y"]
    assert (t.ii, t.finish[y]) == (4, 7)   # as the netlist's header comment and info say
    steps = memory.LECTURE_INPUTS
    cycles = sim.run_cycles(steps, record=["y", "valid"])
    per_step = sim.run(steps).raw("y")[0, :, 0]
    valid_in = cycles.raw("valid")[0, :, 0]
    # a step's inputs are applied every II cycles
    np.testing.assert_array_equal(np.flatnonzero(valid_in), np.arange(len(steps)) * t.ii)
    # the hardware's y register shows step k's value exactly at cycle k*II + latency
    y_cycles = cycles.raw("y")[0, :, 0]
    valid_out = sim.valid_cycles(y, len(steps), len(y_cycles))
    at = np.flatnonzero(valid_out)
    np.testing.assert_array_equal(at, np.arange(len(steps)) * t.ii + 7)
    np.testing.assert_array_equal(y_cycles[at], per_step)
    # and the value of step 6 (y = 7) is not there a cycle earlier: the latency is real
    assert y_cycles[5 * t.ii + 7] == 7 * 256 and y_cycles[5 * t.ii + 6] != 7 * 256


def test_info_reports_latency_ii_and_the_loop_as_a_path():
    out = subprocess.run([sys.executable, "-m", "lstm_hw", "info", str(PIPELINED)],
                         capture_output=True, text=True, check=True).stdout
    assert "output latency (cycles from a step's inputs to the output being valid): y 7" in out
    assert "initiation interval: 4 cycles between time steps (the design allows 4)" in out
    assert "(c -> keep -> c_next -> c)" in out
    assert "folded 'sums': 12 products on 3 multipliers, 4 cycles per result" in out


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return path


HEAD = "lstm_hw: 1\nformat: ap_fixed<16,8>\ninputs: [x, en]\noutputs: [y]\nblocks:\n"


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstm_hw", "validate", str(path)],
                          capture_output=True, text=True)


def simulate(path: Path):
    return lstm_hw.Simulator(lstm_hw.load(path))


def test_recurrence_longer_than_the_asked_ii_is_an_error(tmp_path):
    path = write(tmp_path, HEAD + "  s: {op: add, in: [x, c], latency: 2}\n"
                 "  c: {op: reg, in: s}\n  y: {op: identity, in: c}\nclock: {ii: 2}\n")
    with pytest.raises(lstm_hw.NetlistError) as err:
        simulate(path)
    text = str(err.value)
    assert "clock: ii 2 is too short for register 'c'" in text
    assert "the recurrence c -> s -> c takes 3 cycles" in text
    assert "t.yaml:" in text.splitlines()[0]


def test_enable_arriving_after_the_ii_is_an_error(tmp_path):
    path = write(tmp_path, HEAD + "  late: {op: identity, in: en, latency: 3}\n"
                 "  s: {op: add, in: [x, c]}\n"
                 "  c: {op: reg, in: s, enable: late}\n  y: {op: identity, in: c}\n"
                 "clock: {ii: 1}\n")
    with pytest.raises(lstm_hw.NetlistError) as err:
        simulate(path)
    assert "its enable 'late' is valid only at cycle 3" in str(err.value)


def test_latency_on_a_reg_is_an_error(tmp_path):
    path = write(tmp_path, HEAD + "  c: {op: reg, in: x, latency: 1}\n  y: {op: identity, in: c}\n")
    res = validate(path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "block 'c': a 'reg' takes no latency" in res.stderr


@pytest.mark.parametrize("param, message", [
    ("latency: -1", "'latency' must be an integer >= 0, got -1"),
    ("multipliers: 0", "'multipliers' must be an integer >= 1, got 0"),
    ("multipliers: 2, reuse: 2", "give 'multipliers' or 'reuse', not both"),
])
def test_bad_timing_parameters(tmp_path, param, message):
    path = write(tmp_path, HEAD + f"  y: {{op: dot, in: [x, en], weights: [1, 2], {param}}}\n")
    res = validate(path)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_enable_and_reset_in_a_pipelined_design_match_the_untimed_one(tmp_path):
    body = ("  s: {op: add, in: [x, c]LAT}\n"
            "  c: {op: reg, in: s, enable: en, reset: r, init: 1}\n"
            "  r: {op: mul, in: [en, x]}\n"
            "  y: {op: mul, in: [s, en]LAT}\n")
    plain = write(tmp_path, HEAD + body.replace("LAT", ""))
    a = simulate(plain)
    piped = tmp_path / "p.yaml"
    piped.write_text(HEAD + body.replace("LAT", ", latency: 2"))
    b = simulate(piped)
    rng = np.random.default_rng(3)
    x = np.stack([rng.integers(-3, 4, (50, 40)), rng.integers(0, 2, (50, 40))], axis=2) * 1.0
    np.testing.assert_array_equal(a.run(x, record="all").data, b.run(x, record="all").data)


def test_vcd_read_back_by_an_independent_reader_equals_the_trace(tmp_path):
    vcdvcd = pytest.importorskip("vcdvcd")
    csv = tmp_path / "in.csv"
    csv.write_text("x1,x2,x3\n" + "\n".join(",".join(str(int(v)) for v in row)
                                           for row in memory.LECTURE_INPUTS) + "\n")
    vcd = tmp_path / "out.vcd"
    subprocess.run([sys.executable, "-m", "lstm_hw", "run", str(PIPELINED), "-i", str(csv),
                    "--vcd", str(vcd), "-o", str(tmp_path / "out.csv")], check=True)
    sim = simulate(PIPELINED)
    trace = sim.run_cycles(memory.LECTURE_INPUTS)
    parsed = vcdvcd.VCDVCD(str(vcd))
    top = sim.circuit.name
    names = hardware_names(sim.hardware, sim.timing.timed).signals   # as the export names them
    compared = 0
    for name, size, fmt in zip(trace.names, trace.sizes, trace.formats):
        for e in range(size):
            span = f"[{fmt.width - 1}:0]" if fmt.width > 1 else ""
            signal = parsed[f"{top}.{names[sim.hardware.by_name[name], e]}{span}"]
            for cycle in range(trace.data.shape[1]):
                bits = int(signal[cycle * 10], 2)
                want = int(trace.data[0, cycle, trace.columns(name).start + e])
                assert bits == want & ((1 << fmt.width) - 1), (name, cycle)
                compared += 1
    clk = parsed[f"{top}.clk"]
    assert clk[0] == "1" and clk[5] == "0"
    assert compared > 20 * trace.data.shape[1]
