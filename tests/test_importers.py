"""Importers: PyTorch / Keras / numpy LSTM weights -> flat netlists.

The golden file (tools/make_torch_golden.py, made with torch in float64) holds a 2-layer LSTM's
state dict, random inputs and torch's outputs: the float reference of the imported netlist must
reproduce them to 1e-9 without torch being installed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_hw
from lstm_hw.cli import main
from lstm_hw.importers import (ModelError, from_keras, from_keras_dense, layers_from_keras,
                               layers_from_state_dict, load_model, lstm_to_netlist,
                               write_netlist)
from lstm_hw.netlist.parse import parse_design

GOLDEN = Path(__file__).parent / "golden" / "torch_lstm2.npz"
NETLISTS = Path(__file__).resolve().parent.parent / "netlists"


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as npz:
        g = {k: npz[k] for k in npz.files}
    state = {k: v for k, v in g.items() if k not in ("inputs", "hidden", "outputs")}
    return g, state


@pytest.fixture(scope="module")
def golden_circuit(golden, tmp_path_factory):
    _, state = golden
    layers, readout = layers_from_state_dict(state)
    path, _ = write_netlist(tmp_path_factory.mktemp("golden") / "torch_lstm2.yaml", layers,
                            readout)
    return lstm_hw.load(path)


def torch_layout(state):
    return [{k: state[f"lstm.{k}_l{n}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            for n in range(2)], {"weight": state["readout.weight"], "bias": state["readout.bias"]}


# -- float parity with torch -------------------------------------------------------------------
def test_float_reference_matches_torch(golden, golden_circuit):
    g, _ = golden
    ref = lstm_hw.run_reference(golden_circuit, g["inputs"], record=["y", "l2.h_next"])
    err_y = np.abs(ref.values("y") - g["outputs"]).max()
    err_h = np.abs(ref.values("l2.h_next") - g["hidden"]).max()
    assert err_y <= 1e-9 and err_h <= 1e-9, (err_y, err_h)
    assert np.abs(g["outputs"]).max() > 0.5      # the golden run is not trivially small


def test_state_dict_layers_equal_plain_layers(golden):
    _, state = golden
    layers, readout = layers_from_state_dict(state)
    plain, ro = torch_layout(state)
    text_a, arr_a = lstm_to_netlist(layers, readout, name="n")
    text_b, arr_b = lstm_to_netlist(plain, ro, name="n")
    assert text_a == text_b
    assert arr_a.keys() == arr_b.keys()
    for k in arr_a:
        assert np.array_equal(arr_a[k], arr_b[k])


def test_weights_laid_out_per_gate(golden):
    _, state = golden
    plain, ro = torch_layout(state)
    _, arrays = lstm_to_netlist(plain, ro)
    w_ih, w_hh = state["lstm.weight_ih_l1"], state["lstm.weight_hh_l1"]
    b = state["lstm.bias_ih_l1"] + state["lstm.bias_hh_l1"]
    for k, gate in enumerate("ifgo"):          # PyTorch's gate order
        rows = slice(8 * k, 8 * (k + 1))
        assert np.array_equal(arrays[f"l2_W_{gate}"], np.hstack([w_ih[rows], w_hh[rows]]))
        assert np.array_equal(arrays[f"l2_b_{gate}"], b[rows])
    assert np.array_equal(arrays["y_W"], state["readout.weight"])


# -- fixed point -------------------------------------------------------------------------------
def test_fixed_point_batch_of_one_equals_batch_of_four(golden, golden_circuit):
    g, _ = golden
    sim = lstm_hw.Simulator(golden_circuit)
    everything = sim.run(g["inputs"], record="all")
    for s in range(4):
        alone = lstm_hw.Simulator(golden_circuit).run(g["inputs"][s], record="all")
        assert np.array_equal(alone.data[0], everything.data[s])
    assert not everything.overflow
    # and the default formats are close to the float network
    assert np.abs(everything.values("y") - g["outputs"]).max() < 0.05


def test_precision_roles_set_formats(golden, tmp_path):
    _, state = golden
    layers, readout = layers_from_state_dict(state)
    path, _ = write_netlist(tmp_path / "p.yaml", layers, readout,
                            format="ap_fixed<12,5,AP_RND,AP_SAT>",
                            precision={"gate": "ap_ufixed<10,0,AP_RND,AP_SAT>",
                                       "accum": "ap_fixed<24,8>", "l2.c*": "ap_fixed<20,8>"})
    c = lstm_hw.load(path)
    assert str(c.cell("l1.i").fmt) == "ap_ufixed<10,0,AP_RND,AP_SAT>"
    assert str(c.cell("l1.g").fmt) == "ap_fixed<12,2,AP_RND,AP_SAT>"     # bounded: 2 int bits
    assert str(c.cell("l1.h").fmt) == "ap_fixed<12,2,AP_RND,AP_SAT>"
    assert str(c.cell("l1.z_i").fmt) == "ap_fixed<12,5,AP_RND,AP_SAT>"
    assert str(c.cell("l1.c").fmt) == "ap_fixed<12,5,AP_RND,AP_SAT>"
    assert str(c.cell("l2.c").fmt) == "ap_fixed<20,8>"                    # the caller's glob
    assert str(c.cell("l1.z_f").params.accum) == "ap_fixed<24,8>"
    assert c.cell("y").params.accum is None
    assert str(c.cell("y").params.w_fmt) == "ap_fixed<12,5,AP_RND,AP_SAT>"


def test_exact_activations_and_scalar_inputs(golden):
    _, state = golden
    layers, readout = layers_from_state_dict(state)
    text, _ = lstm_to_netlist(layers, readout, inputs=["a", "b", "c"], output="out",
                              sigmoid="exact", tanh={"table": {"size": 4096, "range": [-6, 6]}})
    design = parse_design(text, "<text>")
    assert [p.name for p in design.inputs] == ["a", "b", "c"]
    assert design.blocks["l1.i"].params["exact"].value is True
    assert design.blocks["l1.hc"].params["table"].value == {"size": 4096, "range": [-6, 6]}
    assert design.blocks["out"].op == "dot"


def test_without_readout_outputs_last_hidden(golden, tmp_path):
    g, state = golden
    layers, _ = layers_from_state_dict({k: v for k, v in state.items()
                                        if not k.startswith("readout")})
    path, _ = write_netlist(tmp_path / "h.yaml", layers)
    c = lstm_hw.load(path)
    assert [c.cells[i].name for i in c.outputs] == ["l2.h_next"]
    ref = lstm_hw.run_reference(c, g["inputs"])
    assert np.abs(ref.values("l2.h_next") - g["hidden"]).max() <= 1e-9


def test_header_documents_the_netlist(golden_circuit):
    text = Path(golden_circuit.path).read_text()
    assert text.startswith("# torch_lstm2: an LSTM network")
    assert "gate order i, f, g, o" in text
    assert "input 3 -> l1 8 units -> l2 8 units -> readout 2" in text


# -- Keras ---------------------------------------------------------------------------------------
def keras_arrays(state):
    """The golden network in Keras layout: kernel (in x 4H), recurrent_kernel (H x 4H), one
    bias; Keras's gate order i, f, c, o puts the candidate c where PyTorch puts g."""
    out = {}
    for n in range(2):
        out[f"lstm_{n}/kernel:0"] = state[f"lstm.weight_ih_l{n}"].T
        out[f"lstm_{n}/recurrent_kernel:0"] = state[f"lstm.weight_hh_l{n}"].T
        out[f"lstm_{n}/bias:0"] = state[f"lstm.bias_ih_l{n}"] + state[f"lstm.bias_hh_l{n}"]
    out["dense/kernel:0"] = state["readout.weight"].T
    out["dense/bias:0"] = state["readout.bias"]
    return out


def test_keras_layout_equals_pytorch(golden, golden_circuit, tmp_path):
    g, state = golden
    k = keras_arrays(state)
    layers = [from_keras(k[f"lstm_{n}/kernel:0"], k[f"lstm_{n}/recurrent_kernel:0"],
                         k[f"lstm_{n}/bias:0"]) for n in range(2)]
    readout = from_keras_dense(k["dense/kernel:0"], k["dense/bias:0"])
    _, arr_k = lstm_to_netlist(layers, readout)
    _, arr_t = lstm_to_netlist(*layers_from_state_dict(state))
    for key in arr_t:
        if "_W_" in key or key == "y_W":
            assert np.array_equal(arr_k[key], arr_t[key]), key
        else:   # one Keras bias vs bias_ih + bias_hh
            np.testing.assert_allclose(arr_k[key], arr_t[key], rtol=0, atol=1e-15)
    # the npz route (as `lstm-hw import --keras` reads it) gives the same network
    np.savez(tmp_path / "k.npz", **k)
    path, _ = write_netlist(tmp_path / "k.yaml", *load_model(tmp_path / "k.npz", keras=True))
    ref = lstm_hw.run_reference(lstm_hw.load(path), g["inputs"])
    assert np.abs(ref.values("y") - g["outputs"]).max() <= 1e-9


def test_keras_gate_blocks_in_place():
    """Keras's i, f, c, o blocks map to PyTorch's i, f, g, o: block 2 (c) becomes g."""
    h, n_in = 2, 3
    kernel = np.zeros((n_in, 4 * h))
    for k in range(4):
        kernel[:, k * h:(k + 1) * h] = k + 1           # block k filled with k + 1
    layer = from_keras(kernel, np.zeros((h, 4 * h)), np.arange(4 * h, dtype=float))
    _, arrays = lstm_to_netlist([layer])
    for k, gate in enumerate("ifgo"):
        assert np.all(arrays[f"l1_W_{gate}"][:, :n_in] == k + 1)
        assert list(arrays[f"l1_b_{gate}"]) == [2 * k, 2 * k + 1]


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layers, readout, message", [
    ([], None, "non-empty list"),
    ([{"weight_ih": np.zeros((8, 3))}], None, "missing 'weight_hh'"),
    ([{"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 3))}], None, "4H x H"),
    ([{"weight_ih": np.zeros((4, 3)), "weight_hh": np.zeros((8, 2))}], None, "weight_ih"),
    ([{"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 2)), "bias_ih": np.zeros(7)}],
     None, "bias_ih: expected 8 values"),
    ([{"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 2)), "bogus": 1}], None,
     "unexpected key 'bogus'"),
    ([{"weight_ih": np.full((8, 3), np.nan), "weight_hh": np.zeros((8, 2))}], None, "NaN"),
    ([{"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 2))},
      {"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 2))}], None,
     "has 3 inputs, but layer 1 has 2 units"),
    ([{"weight_ih": np.zeros((8, 3)), "weight_hh": np.zeros((8, 2))}],
     {"weight": np.zeros((1, 3))}, "readout weight: expected outputs x 2"),
])
def test_bad_layers_are_clean_errors(layers, readout, message):
    with pytest.raises(ModelError, match=message):
        lstm_to_netlist(layers, readout)


def test_bad_options_are_clean_errors(golden):
    layers, readout = layers_from_state_dict(golden[1])
    with pytest.raises(ModelError, match="is not a format"):
        lstm_to_netlist(layers, readout, format="float")
    with pytest.raises(ModelError, match="matches no signal"):
        lstm_to_netlist(layers, readout, precision={"nothing*": "ap_fixed<8,2>"})
    with pytest.raises(ModelError, match="2 names for 3 input"):
        lstm_to_netlist(layers, readout, inputs=["a", "b"])
    with pytest.raises(ModelError, match="not a usable signal name"):
        lstm_to_netlist(layers, readout, output="l1")


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update({"lstm.weight_ih_l0_reverse": s["lstm.weight_ih_l0"]}), "bidirectional"),
    (lambda s: s.update({"lstm.weight_hr_l0": np.zeros((4, 8))}), "proj_size"),
    (lambda s: s.update({"other.thing": np.zeros(3)}), "unexpected key 'other.thing'"),
    (lambda s: s.pop("lstm.weight_hh_l1"), "'lstm.weight_hh_l1' is missing"),
    (lambda s: s.pop("lstm.bias_hh_l0"), "without 'lstm.bias_hh_l0'"),
    (lambda s: [s.pop(k) for k in list(s) if k.endswith("l0")], "layer 0 is missing"),
    (lambda s: s.update({"lstm2.weight_ih_l0": s["lstm.weight_ih_l0"]}), "2 LSTMs"),
])
def test_bad_state_dicts_are_clean_errors(golden, edit, message):
    state = dict(golden[1])
    edit(state)
    with pytest.raises(ModelError, match=message):
        layers_from_state_dict(state)


def test_readout_prefix(golden):
    state = {k.replace("readout.", "fc."): v for k, v in golden[1].items()}
    _, ro = layers_from_state_dict(state)             # the one Linear present is the readout
    assert np.array_equal(ro["weight"], golden[1]["readout.weight"])
    state["head.weight"] = np.zeros((1, 8))
    with pytest.raises(ModelError, match="unexpected key"):
        layers_from_state_dict(state)
    with pytest.raises(ModelError, match="no 'nope.weight'.*fc, head"):
        layers_from_state_dict(state, readout_prefix="nope")
    state.pop("head.weight")
    _, ro = layers_from_state_dict(state, readout_prefix="fc")
    assert np.array_equal(ro["bias"], golden[1]["readout.bias"])


def test_bad_keras_arrays_are_clean_errors(golden):
    k = keras_arrays(golden[1])
    with pytest.raises(ModelError, match="in x 4H"):
        from_keras(k["lstm_0/kernel:0"].T, k["lstm_0/recurrent_kernel:0"])
    with pytest.raises(ModelError, match="H x 4H"):
        from_keras(k["lstm_0/kernel:0"], k["lstm_0/recurrent_kernel:0"].T)
    k["extra"] = np.zeros(2)
    with pytest.raises(ModelError, match="unexpected key 'extra'"):
        layers_from_keras(k)
    with pytest.raises(ModelError, match="no LSTM weights"):
        layers_from_keras({"kernel": np.zeros((3, 8))})


def test_write_netlist_is_atomic(golden, tmp_path):
    layers, readout = layers_from_state_dict(golden[1])
    with pytest.raises(ModelError):
        write_netlist(tmp_path / "bad.yaml", layers, readout, format="nonsense")
    assert list(tmp_path.iterdir()) == []
    write_netlist(tmp_path / "good.yaml", layers, readout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz", "good.yaml"]


# -- the command line ------------------------------------------------------------------------
def test_cli_import_npz_state_dict(golden, tmp_path, capsys):
    g, state = golden
    np.savez(tmp_path / "model.npz", **state)
    out = tmp_path / "net.yaml"
    assert main(["import", str(tmp_path / "model.npz"), "-o", str(out), "--name", "net",
                 "--precision", "gate=ap_fixed<12,2,AP_RND,AP_SAT>"]) == 0
    assert "wrote" in capsys.readouterr().out
    c = lstm_hw.load(out)
    assert c.name == "net" and str(c.cell("l2.o").fmt) == "ap_fixed<12,2,AP_RND,AP_SAT>"
    ref = lstm_hw.run_reference(c, g["inputs"])
    assert np.abs(ref.values("y") - g["outputs"]).max() <= 1e-9
    assert main(["validate", str(out)]) == 0


def test_cli_import_precision_glob_spelled_like_a_role_glob(golden, tmp_path, capsys):
    """'*.fc' is also the cell role's own glob: the caller's rule replaces it (later wins)
    instead of writing the key twice."""
    g, state = golden
    np.savez(tmp_path / "model.npz", **state)
    out = tmp_path / "net.yaml"
    assert main(["import", str(tmp_path / "model.npz"), "-o", str(out),
                 "--precision", "*.fc=ap_fixed<20,8>"]) == 0
    c = lstm_hw.load(out)
    assert str(c.cell("l1.fc").fmt) == "ap_fixed<20,8>"
    assert str(c.cell("l1.ig").fmt) == str(c.cell("l1.c_next").fmt) != "ap_fixed<20,8>"


def test_cli_import_keras(golden, tmp_path, capsys):
    np.savez(tmp_path / "keras.npz", **keras_arrays(golden[1]))
    assert main(["import", "--keras", str(tmp_path / "keras.npz"), "-o", str(tmp_path / "k.yaml"),
                 "--inputs", "x1,x2,x3"]) == 0
    assert lstm_hw.load(tmp_path / "k.yaml").input_columns() == ["x1", "x2", "x3"]


@pytest.mark.parametrize("args, message", [
    (["missing.pt"], "missing.pt: no such file"),
    (["junk.npz"], "cannot read"),
    (["extra.npz"], "unexpected key 'extra'"),
    (["model.npz", "--readout-prefix", "fc"], "no 'fc.weight'"),
    (["model.npz", "--format", "ap_fixed<99,2>"], "width"),
    (["model.npz", "--precision", "gate"], "expected ROLE=FORMAT"),
    (["model.npz", "--keras", "model.npz"], "not both"),
    ([], "not neither"),
])
def test_cli_import_errors_exit_2(golden, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    np.savez("model.npz", **golden[1])
    np.savez("extra.npz", extra=np.zeros(2), **golden[1])
    Path("junk.npz").write_text("not a zip")
    assert main(["import", *args, "-o", "out.yaml"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path("out.yaml").exists()


def test_cli_import_pt_without_torch(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)      # import torch -> ImportError
    (tmp_path / "m.pt").write_bytes(b"whatever")
    assert main(["import", str(tmp_path / "m.pt"), "-o", str(tmp_path / "o.yaml")]) == 2
    err = capsys.readouterr().err
    assert "needs PyTorch" in err and "Traceback" not in err


# -- with torch ----------------------------------------------------------------------------------
def test_from_torch(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    from lstm_hw.importers import from_torch
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(4, 5, num_layers=3, batch_first=False).double().eval()
    lin = torch.nn.Linear(5, 2).double()
    x = torch.randn(30, 2, 4, dtype=torch.float64)           # [steps, batch, in]
    with torch.no_grad():
        want = lin(lstm(x)[0]).numpy().transpose(1, 0, 2)     # [batch, steps, out]
    path, _ = write_netlist(tmp_path / "t.yaml", *from_torch(lstm, lin))
    ref = lstm_hw.run_reference(lstm_hw.load(path), x.numpy().transpose(1, 0, 2))
    assert np.abs(ref.values("y") - want).max() <= 1e-9
    # a saved state dict through the command line
    torch.save({"lstm." + k: v for k, v in lstm.state_dict().items()} |
               {"readout." + k: v for k, v in lin.state_dict().items()}, tmp_path / "m.pt")
    assert main(["import", str(tmp_path / "m.pt"), "-o", str(tmp_path / "m.yaml")]) == 0
    ref = lstm_hw.run_reference(lstm_hw.load(tmp_path / "m.yaml"), x.numpy().transpose(1, 0, 2))
    assert np.abs(ref.values("y") - want).max() <= 1e-9
    # no bias, batch_first, one layer, an LSTMCell
    cell = torch.nn.LSTMCell(3, 4, bias=False).double()
    layers, ro = from_torch(cell)
    assert ro is None and set(layers[0]) == {"weight_ih", "weight_hh"}
    with pytest.raises(ModelError, match="bidirectional"):
        from_torch(torch.nn.LSTM(3, 4, bidirectional=True))
    with pytest.raises(ModelError, match="proj_size"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ModelError, match="nn.Linear"):
        from_torch(lstm, torch.nn.ReLU())
    with pytest.raises(ModelError, match="nn.LSTM"):
        from_torch(torch.nn.GRU(3, 4))
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    assert main(["import", str(tmp_path / "bad.pt"), "-o", str(tmp_path / "b.yaml")]) == 2


# -- the shipped trained network ---------------------------------------------------------------
def test_trained_memory_lstm_does_the_task():
    from lstm_hw.tasks.check import run_check
    circuit = lstm_hw.load(NETLISTS / "memory_lstm2x16.yaml")
    assert circuit.task["min_accuracy"] < 1
    result = run_check(circuit)                  # as `lstm-hw check` runs it
    assert result.passed
    assert result.float_.output_accuracy >= circuit.task["min_accuracy"]
    narrow = lstm_hw.load(NETLISTS / "memory_lstm2x16.yaml",
                          precision=["*=ap_fixed<8,3,AP_RND,AP_SAT>"])
    assert not run_check(narrow, n_sequences=100).passed
