"""Hierarchy: modules, instances, imports, the standard LSTM layer and its peepholes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_hw
from lstm_hw.tasks import memory

ROOT = Path(__file__).resolve().parent.parent
NETLISTS = ROOT / "netlists"


def test_the_lecture_cell_from_the_layer_module_is_bit_identical():
    layer = lstm_hw.Simulator(lstm_hw.load(NETLISTS / "memory_cell_layer.yaml"))
    flat = lstm_hw.Simulator(lstm_hw.load(NETLISTS / "memory_cell.yaml"))
    for x in (memory.LECTURE_INPUTS, memory.generate(1000, 50, seed=21)):
        np.testing.assert_array_equal(layer.run(x).data, flat.run(x).data)
    # and the memory itself, signal for signal
    a = layer.run(memory.LECTURE_INPUTS, record=["cell.c", "cell.c_next"])
    b = flat.run(memory.LECTURE_INPUTS, record=["c", "c_next"])
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("name", ["memory_cell_peephole.yaml", "memory_cell_peephole_lecture.yaml"])
def test_both_peephole_forms_do_the_memory_task(name):
    res = subprocess.run([sys.executable, "-m", "lstm_hw", "check", str(NETLISTS / name),
                          "--sequences", "300"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASS" in res.stdout


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm(x, w, b, form):
    """The equations, directly: standard, the lecture's peephole, the diagonal peephole."""
    streams, steps, _ = x.shape
    n = b["i"].shape[0]
    h, c = np.zeros((streams, n)), np.zeros((streams, n))
    out = np.zeros((streams, steps, n))
    for t in range(steps):
        xh = np.concatenate([x[:, t], h], axis=1)
        if form == "lecture":
            xhc = np.concatenate([xh, c], axis=1)
            z = {k: xhc @ w[k].T + b[k] for k in "ifgo"}
        else:
            z = {k: xh @ w[k][:, :xh.shape[1]].T + b[k] for k in "ifgo"}
        if form == "diagonal":   # i and f see the previous memory, o the new one
            z["i"] += c * np.diag(w["i"][:, xh.shape[1]:])
            z["f"] += c * np.diag(w["f"][:, xh.shape[1]:])
        i, f, g = sigmoid(z["i"]), sigmoid(z["f"]), np.tanh(z["g"])
        c = f * c + i * g
        if form == "diagonal":
            z["o"] += c * np.diag(w["o"][:, xh.shape[1]:])
        h = sigmoid(z["o"]) * np.tanh(c)
        out[:, t] = h
    return out


@pytest.mark.parametrize("form", ["standard", "lecture", "diagonal"])
def test_layer_wiring_matches_the_equations(form, tmp_path):
    rng = np.random.default_rng(7)
    m, n = 3, 4
    cols = m + n + (0 if form == "standard" else n)
    w = {k: rng.uniform(-1, 1, (n, cols)) for k in "ifgo"}
    if form == "diagonal":
        for k in "ifo":
            w[k][:, m + n:] = np.diag(rng.uniform(-1, 1, n))
        w["g"] = w["g"][:, :m + n]
    b = {k: rng.uniform(-1, 1, n) for k in "ifgo"}
    np.savez(tmp_path / "w.npz", **{f"W_{k}": w[k] for k in w}, **{f"b_{k}": b[k] for k in b})
    ins = {"standard": dict(i="[x, h]", f="[x, h]", g="[x, h]", o="[x, h]"),
           "lecture": dict(i="[x, h, c]", f="[x, h, c]", g="[x, h, c]", o="[x, h, c]"),
           "diagonal": dict(i="[x, h, c]", f="[x, h, c]", g="[x, h]", o="[x, h, c_next]")}[form]
    params = "".join(f"      W_{k}: {{file: w.npz, key: W_{k}}}\n      b_{k}: {{file: w.npz, "
                     f"key: b_{k}}}\n      in_{k}: {ins[k]}\n" for k in "ifgo")
    (tmp_path / "net.yaml").write_text(
        "lstm_hw: 1\nformat: ap_fixed<24,8,AP_RND,AP_SAT>\nimport: [lstm_hw/lstm.yaml]\n"
        f"inputs: {{x: {{size: {m}}}}}\noutputs: [l.h_next]\nblocks:\n"
        f"  l:\n    module: lstm_layer\n    in: {{x: x}}\n    params:\n{params}")
    circuit = lstm_hw.load(tmp_path / "net.yaml")
    x = rng.uniform(-2, 2, (5, 30, m))
    ref = lstm_hw.run_reference(circuit, x).values("l.h_next")
    np.testing.assert_allclose(ref, numpy_lstm(x, w, b, form), rtol=0, atol=1e-12)


def write(tmp_path: Path, text: str, name: str = "top.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


MODULE = """lstm_hw: 1
modules:
  acc:
    params: {gain: 1}
    inputs: [x]
    outputs: [y]
    blocks:
      s: {op: dot, in: [x, y], weights: [$gain, 1]}
      y: {op: reg, in: s}
"""


def test_nested_instances_names_and_precision_globs(tmp_path):
    write(tmp_path, MODULE.replace("modules:", "modules:\n  pair:\n    inputs: [x]\n"
                                   "    outputs: [b.y]\n    blocks:\n"
                                   "      a: {module: acc, in: {x: x}, params: {gain: 2}}\n"
                                   "      b: {module: acc, in: {x: a.y}}"), "lib.yaml")
    top = write(tmp_path, "lstm_hw: 1\nformat: ap_fixed<16,8>\nimport: [lib.yaml]\n"
                "inputs: [u]\noutputs: [p.b.y]\nblocks:\n  p: {module: pair, in: {x: u}}\n")
    circuit = lstm_hw.load(top, precision=["p.a.*=ap_fixed<12,6>"])
    names = [c.name for c in circuit.cells]
    assert names == ["u", "p.a.s", "p.a.y", "p.b.s", "p.b.y"]
    assert str(circuit.cell("p.a.s").fmt) == "ap_fixed<12,6>"
    assert str(circuit.cell("p.b.s").fmt) == "ap_fixed<16,8>"
    y = lstm_hw.Simulator(circuit).run(np.ones((4, 1)), record="all").values("p.b.y")[0, :, 0]
    np.testing.assert_array_equal(y, [0, 0, 2, 6])   # a accumulates 2 per step, b sums a


def check_error(tmp_path, top_text, *expected):
    top = write(tmp_path, top_text)
    res = subprocess.run([sys.executable, "-m", "lstm_hw", "validate", str(top)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    for text in expected:
        assert text in res.stderr, res.stderr
    return res.stderr


def test_error_inside_a_module_names_the_instance_path_and_both_places(tmp_path):
    write(tmp_path, MODULE.replace("in: [x, y]", "in: [x, yy]"), "lib.yaml")
    err = check_error(tmp_path, "lstm_hw: 1\nimport: [lib.yaml]\ninputs: [u]\noutputs: [k.y]\n"
                      "blocks:\n  k: {module: acc, in: {x: u}}\n",
                      "lib.yaml:8:28: error: block 'k.s' reads 'k.yy', which is not defined "
                      "(did you mean 'k.y'?)",
                      "top.yaml:6:3: note: 'k' is an instance of module 'acc' here")
    assert err.index("lib.yaml:8:28") < err.index("top.yaml:6:3")


@pytest.mark.parametrize("blocks, message", [
    ("  k: {module: acx, in: {x: u}}\n", "instance 'k': no module 'acx' (did you mean 'acc'?)"),
    ("  k: {module: acc, in: {x: u}, params: {gian: 2}}\n",
     "module 'acc' has no parameter 'gian' (did you mean 'gain'?)"),
    ("  k: {module: acc, in: {}}\n", "instance 'k': input 'x' of module 'acc' is not connected"),
    ("  k: {module: acc, in: {x: u, z: u}}\n", "module 'acc' has no input 'z'"),
])
def test_instance_mistakes(tmp_path, blocks, message):
    write(tmp_path, MODULE, "lib.yaml")
    check_error(tmp_path, "lstm_hw: 1\nimport: [lib.yaml]\ninputs: [u]\noutputs: [u]\n"
                f"blocks:\n{blocks}", message)


def test_module_loops_and_bad_imports(tmp_path):
    check_error(tmp_path, "lstm_hw: 1\nmodules:\n  a:\n    inputs: [x]\n    blocks:\n"
                "      q: {module: a, in: {x: x}}\ninputs: [u]\noutputs: [u]\nblocks:\n"
                "  k: {module: a, in: {x: u}}\n",
                "modules instantiate each other in a loop: a -> a")
    check_error(tmp_path, "lstm_hw: 1\nimport: [../elsewhere.yaml]\ninputs: [u]\n"
                "outputs: [u]\nblocks: {}\n", "is outside the netlist's folder")
    check_error(tmp_path, "lstm_hw: 1\nimport: [lstm_hw/nope.yaml]\ninputs: [u]\n"
                "outputs: [u]\nblocks: {}\n", "no file 'lstm_hw/nope.yaml' in lstm_hw's library")
    check_error(tmp_path, "lstm_hw: 1\nimport: [top.yaml]\ninputs: [u]\noutputs: [u]\n"
                "blocks: {}\n", "imports itself")
