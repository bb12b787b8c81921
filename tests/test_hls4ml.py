"""`lstm-hw import --hls4ml`: hls4ml's LSTM bit for bit.

The differential test compiles hls4ml 1.3.0's own C++ (nnet_utils from the pinned wheel, the
config structs its Vivado backend writes: tests/hls4ml_cpp.py) for random configurations, in
one g++ run, and holds every h and c at every step of every sequence to the imported netlist's.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import lstm_hw
from cli_helpers import run_cli
from hls4ml_cpp import VARS, Case, hls4ml_results, model_files

QS = ("AP_TRN", "AP_RND", "AP_RND_CONV")
OS = ("AP_WRAP", "AP_SAT")
TABLE_SIZES = (64, 128, 256, 512, 1000, 1024, 2048, 4096)


def _type(rng, lo: int, hi: int, i_lo: int, i_hi: int) -> str:
    w = int(rng.integers(lo, hi + 1))
    i = int(rng.integers(i_lo, min(i_hi, w - 1) + 1))
    q, o = QS[rng.integers(len(QS))], OS[rng.integers(len(OS))]
    return f"ap_fixed<{w},{i},{q},{o}>"


def random_case(rng, k: int) -> Case:
    state = _type(rng, 6, 32, 2, 8)        # input, result and accum: one type (hls4ml needs it)
    types = {"input": state, "result": state, "accum": state}
    for v in ("weight", "recurrent_weight", "bias", "recurrent_bias"):
        types[v] = _type(rng, 6, 32, 1, 8)
    table_t = ["ap_fixed<18,8>", _type(rng, 8, 32, 1, 6)][k % 2]
    n_in, units, steps, seqs = (int(rng.integers(1, 5)), int(rng.integers(1, 6)), 10, 4)
    pytorch = bool(k % 3 == 0)
    scale = float(rng.choice([0.3, 1.0, 3.0]))
    w = int(state[9:].split(",")[0])
    i = int(state[9:].split(",")[1])
    raw = rng.integers(-(1 << (w - 1)), 1 << (w - 1), size=(seqs, steps, n_in))
    return Case(f"case{k}", types, table_t, int(rng.choice(TABLE_SIZES)), bool(rng.integers(2)),
                pytorch,
                (rng.normal(0, scale, (n_in, 4 * units))).astype(np.float32),
                (rng.normal(0, scale, (units, 4 * units))).astype(np.float32),
                (rng.normal(0, scale, 4 * units)).astype(np.float32),
                (rng.normal(0, scale, 4 * units) if pytorch else np.zeros(4 * units)
                 ).astype(np.float32),
                raw * 2.0 ** -(w - i))


def run_all_sequences(net, inputs, folder) -> dict[str, np.ndarray]:
    """`lstm-hw run` on one CSV of all the sequences (a seq column); h and c of every step as
    [sequences, steps, units], from the exact decimals it writes."""
    seqs, steps, n_in = inputs.shape
    data = folder / f"{net.stem}_in.csv"
    rows = ["seq,step," + (",".join(f"x[{j}]" for j in range(n_in)) if n_in > 1 else "x")]
    rows += [f"s{s},{t + 1}," + ",".join(repr(float(v)) for v in inputs[s, t])
             for s in range(seqs) for t in range(steps)]
    data.write_text("\n".join(rows) + "\n")
    out = folder / f"{net.stem}_out.csv"
    proc = run_cli("run", net, "-i", data, "-o", out, "--signals", "lstm.c_next")
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    table = np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines[1:]])
    assert [ln.split(",")[0] for ln in lines[1:]] == [r.split(",")[0] for r in rows[1:]]
    got = {}
    for signal in ("lstm.h_next", "lstm.c_next"):
        cols = [k - 1 for k, name in enumerate(header) if name.startswith(signal + "[")]
        got[signal] = table[:, cols].reshape(seqs, steps, len(cols))
    return got


def test_random_configurations_match_hls4ml_cpp_bit_for_bit(tmp_path):
    rng = np.random.default_rng(20261128)
    cases = [random_case(rng, k) for k in range(24)]
    expected, compile_s = hls4ml_results(cases, tmp_path)
    checked = 0
    for case in cases:
        h_stack, h_cpp, c_cpp = expected[case.name]
        assert np.array_equal(h_stack, h_cpp), f"{case.name}: lstm_stack and lstm disagree"
        model, config = model_files(case, tmp_path)
        net = tmp_path / f"{case.name}_net.yaml"
        proc = run_cli("import", model, "--hls4ml", config, "-o", net)
        assert proc.returncode == 0, proc.stderr
        got = run_all_sequences(net, case.inputs, tmp_path)
        for signal, want in (("lstm.h_next", h_cpp), ("lstm.c_next", c_cpp)):
            bad = np.argwhere(got[signal] != want)
            assert not bad.size, (f"{case.name} ({case.types}, table_t {case.table_t}, "
                                  f"{case.table_size} entries): {signal} differs at "
                                  f"[seq, step, unit] {bad[0].tolist()}: "
                                  f"{got[signal][tuple(bad[0])]} != hls4ml "
                                  f"{want[tuple(bad[0])]}")
            checked += want.size
    print(f"{len(cases)} configurations, {checked} h and c values bit-identical to hls4ml's "
          f"C++ (compiled in {compile_s:.1f} s)")
    assert checked >= 20 * 2 * 4 * 10


def _write(tmp_path, cfg: dict, torch_keys: bool = True):
    """A 2-input, 3-unit PyTorch LSTM and a configuration file."""
    rng = np.random.default_rng(5)
    model = tmp_path / "m.npz"
    np.savez(model, **{"lstm.weight_ih_l0": rng.normal(size=(12, 2)).astype(np.float32),
                       "lstm.weight_hh_l0": rng.normal(size=(12, 3)).astype(np.float32),
                       "lstm.bias_ih_l0": rng.normal(size=12).astype(np.float32),
                       "lstm.bias_hh_l0": rng.normal(size=12).astype(np.float32)})
    config = tmp_path / "c.yml"
    config.write_text(json.dumps(cfg))
    return model, config


@pytest.mark.parametrize("precision", ["ap_fixed<16,6>", "ap_fixed<32,16>"])
def test_hls4ml_default_precisions_import_and_run_without_rules(tmp_path, precision):
    model, config = _write(tmp_path, {"Model": {"Precision": precision, "ReuseFactor": 1}})
    out = tmp_path / "net.yaml"
    proc = run_cli("import", model, "--hls4ml", config, "-o", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "precision:" not in text.split("lstm_hw: 1", 1)[1]
    data = tmp_path / "in.csv"
    data.write_text("x[0],x[1]\n0.5,-1.25\n1,2\n-3,0.125\n")
    proc = run_cli("run", out, "-i", data, "-o", tmp_path / "o.csv")
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "o.csv").read_text().splitlines()
    assert rows[0].startswith("step,lstm.h_next[0]") and len(rows) == 4


@pytest.mark.parametrize("cfg, message", [
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"lstm": {"TableSize": 1024,
                                                                      "Tablesize": 12}}},
     "unknown key 'Tablesize' in an LSTM layer's settings"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"lstm_2": {"Static": True}}},
     "'lstm_2' is no layer of the model"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"x": {}, "dense": {}}},
     "entries for layers the model does not have: x, dense"),
    ({"Model": {"Precision": "ap_fixed<16,6>"},
      "LayerName": {"lstm": {"Precision": {"table": "ap_fixed<12,4>"}}}},
     "write table_t: \"ap_fixed<12,4>\" instead"),
    ({"Model": {"Precision": "ap_fixed<16,6>"},
      "LayerName": {"lstm": {"Precision": {"accum": "ap_fixed<24,8>"}}}},
     "must be one type"),
    ({"Model": {"Precision": "ap_fixed<16,6>", "Strategy": "Resource"}},
     "Strategy 'Resource'"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"lstm": {"TableSize": 1001}}},
     "TableSize 1001: expected an even number"),
    ({"Model": {"Precision": "float"}}, "'float' is not a fixed-point type"),
    ({"Model": {"ReuseFactor": 1}}, "(set Model: Precision)"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "Layers": {}}, "unknown key 'Layers' in HLSConfig"),
])
def test_configurations_hls4ml_would_refuse_are_named(tmp_path, cfg, message):
    model, config = _write(tmp_path, cfg)
    out = tmp_path / "net.yaml"
    proc = run_cli("import", model, "--hls4ml", config, "-o", out)
    assert proc.returncode == 2
    assert message in proc.stderr, proc.stderr
    assert not out.exists()


def test_hls4ml_options_that_would_be_ignored_are_refused(tmp_path):
    model, config = _write(tmp_path, {"Model": {"Precision": "ap_fixed<16,6>"}})
    proc = run_cli("import", model, "--hls4ml", config, "-o", tmp_path / "n.yaml",
                   "--table-size", "64")
    assert proc.returncode == 2 and "--table-size does not go with --hls4ml" in proc.stderr


def test_imported_netlist_sweeps_hls4ml_types(tmp_path):
    model, config = _write(tmp_path, {"Model": {"Precision": "ap_fixed<16,6>"}})
    out = tmp_path / "net.yaml"
    assert run_cli("import", model, "--hls4ml", config, "-o", out).returncode == 0
    info = run_cli("info", out)
    assert info.returncode == 0 and "table[1024] of ap_fixed<18,8>" in info.stdout
    for named in ("input_t ap_fixed<16,6>", "accum_t ap_fixed<16,6> (lstm.zx_*",
                  "result_t ap_fixed<16,6> (lstm.c_next", "table_t ap_fixed<18,8> (1024"):
        assert named in info.stdout
    proc = run_cli("sweep", out, "--vary", "lstm.*:table=ap_fixed<{W},2>", "--grid", "W=8,12",
                   "--steps", "20", "--sequences", "5")
    assert proc.returncode == 0, proc.stderr
    rows = [ln.split() for ln in proc.stdout.splitlines() if ln[:1].isdigit()]
    assert sorted(r[2] for r in rows) == ["W=12", "W=8"]
    assert float(rows[0][3]) < float(rows[1][3])    # wider tables, smaller error


def test_keras_v3_file_reads_as_the_h5_file(tmp_path):
    """A .keras archive (config.json + model.weights.h5, the cell's vars 0, 1, 2) and the same
    model as a Keras 2 .h5 import to the same netlist numbers."""
    import zipfile

    from external import need_module
    h5py = need_module("h5py")
    rng = np.random.default_rng(3)
    case = Case("k", {v: "ap_fixed<16,6>" for v in VARS}, "ap_fixed<18,8>", 1024, True, False,
                rng.normal(size=(2, 8)).astype(np.float32),
                rng.normal(size=(2, 8)).astype(np.float32),
                rng.normal(size=8).astype(np.float32), np.zeros(8, np.float32),
                np.round(rng.normal(size=(3, 6, 2)) * 64) / 64)
    h5_model, config = model_files(case, tmp_path)
    weights = tmp_path / "model.weights.h5"
    with h5py.File(weights, "w") as h5:
        for k, arr in enumerate((case.kernel, case.recurrent_kernel, case.bias)):
            h5[f"layers/lstm/cell/vars/{k}"] = arr
    arch = json.loads(h5py.File(h5_model, "r").attrs["model_config"])
    keras3 = tmp_path / "m.keras"
    with zipfile.ZipFile(keras3, "w") as zf:
        zf.writestr("config.json", json.dumps(arch))
        zf.write(weights, "model.weights.h5")
    values = []
    for model in (h5_model, keras3):
        out = tmp_path / f"{model.suffix[1:]}.yaml"
        proc = run_cli("import", model, "--hls4ml", config, "-o", out)
        assert proc.returncode == 0, proc.stderr
        values.append(lstm_hw.Simulator(lstm_hw.load(out)).run(case.inputs).values(
            "lstm.h_next"))
    assert np.array_equal(values[0], values[1]) and np.abs(values[0]).max() > 0


@pytest.mark.parametrize("text, expected", [
    ("ap_fixed<16,6>", "ap_fixed<16,6>"), ("fixed<12,4,RND,SAT>", "ap_fixed<12,4,AP_RND,AP_SAT>"),
    ("ap_int<8>", "ap_fixed<8,8>"), ("uint<6>", "ap_ufixed<6,6>"),
    (" ap_ufixed<10,2,AP_RND_CONV> ", "ap_ufixed<10,2,AP_RND_CONV>")])
def test_hls4ml_type_strings(text, expected):
    from lstm_hw.importers.hls4ml import hls_type
    assert str(hls_type(text, "here")) == expected
