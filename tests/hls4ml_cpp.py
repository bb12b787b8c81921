"""hls4ml's own C++ for an LSTM, as its Vivado backend writes it, compiled with g++ against the
pinned wheel's nnet_utils templates and ap_types headers (tests/test_hls4ml.py, and the
hls4ml benchmark).

A ``Case`` is one LSTM layer with its hls4ml types, weights and input sequences. ``model_files``
writes what a user has (a Keras .h5 or a PyTorch state dict, and hls4ml's configuration);
``cpp_sources`` writes translation units with a namespace per case: the typedefs, the config
structs of hls4ml 1.3.0's recurrent templates (backends/vivado/passes/recurrent_templates.py:
mult configs, activation configs, the LSTM config), the weights as hls4ml's writer prints them,
and a function running every sequence through ``nnet::lstm_stack`` (h at every step) and step
by step through ``nnet::lstm_static`` / ``nnet::lstm`` (h and c at every step).
"""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from external import hls4ml_root, need_executable, need_module

VARS = ("input", "result", "accum", "weight", "recurrent_weight", "bias", "recurrent_bias")


@dataclass
class Case:
    name: str
    types: dict[str, str]          # VARS -> hls4ml type string
    table_t: str
    table_size: int
    static: bool
    pytorch: bool
    kernel: np.ndarray             # float32, in x 4H (Keras layout, gates i, f, c, o)
    recurrent_kernel: np.ndarray   # float32, H x 4H
    bias: np.ndarray               # float32, 4H
    recurrent_bias: np.ndarray     # float32, 4H (zeros for Keras)
    inputs: np.ndarray             # float64, [sequences, steps, in], exact in the input type

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]


def _decimals(fmt: str) -> int:
    w, i = (int(v) for v in fmt[fmt.index("<") + 1:-1].split(",")[:2])
    return max(0, w - i)


def _values(arr: np.ndarray, fmt: str) -> str:
    """An array as hls4ml's writer prints it: '{:.Ff}' with F the type's fractional bits."""
    d = _decimals(fmt)
    return ", ".join(f"{v:.{d}f}" for v in np.asarray(arr).ravel())


def config_yaml(case: Case, input_name: str, layer: str = "lstm") -> dict:
    t = case.types
    return {"Model": {"Precision": {"default": "ap_fixed<16,6>"}, "ReuseFactor": 1,
                      "Strategy": "Latency", "BramFactor": 1000000000, "TraceOutput": False},
            "LayerName": {
                input_name: {"Precision": {"result": t["input"]}},
                layer: {"Precision": {v: t[v] for v in VARS if v != "input"},
                        "table_t": case.table_t, "TableSize": case.table_size,
                        "Static": case.static, "ReuseFactor": 1, "RecurrentReuseFactor": 1,
                        "Trace": False}}}


def model_files(case: Case, folder: Path) -> tuple[Path, Path]:
    """(model file, config file): a Keras .h5 as model.save writes it (Keras order) or a
    PyTorch state dict's keys in an .npz (weight_ih = kernel.T, two biases)."""
    config = folder / f"{case.name}.yml"
    if case.pytorch:
        model = folder / f"{case.name}.npz"
        np.savez(model, **{"lstm.weight_ih_l0": case.kernel.T, "lstm.weight_hh_l0":
                           case.recurrent_kernel.T, "lstm.bias_ih_l0": case.bias,
                           "lstm.bias_hh_l0": case.recurrent_bias})
        cfg = config_yaml(case, "x")
    else:
        h5py = need_module("h5py")
        model = folder / f"{case.name}.h5"
        arch = {"class_name": "Sequential", "config": {"name": "model", "layers": [
            {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape":
                                                    [None, case.inputs.shape[1],
                                                     case.inputs.shape[2]]}},
            {"class_name": "LSTM", "config": {"name": "lstm", "units": case.units,
                                              "activation": "tanh",
                                              "recurrent_activation": "sigmoid",
                                              "use_bias": True, "return_sequences": True}}]}}
        with h5py.File(model, "w") as h5:
            h5.attrs["model_config"] = json.dumps(arch)
            g = h5.create_group("model_weights/lstm/lstm/lstm_cell")
            g["kernel:0"] = case.kernel
            g["recurrent_kernel:0"] = case.recurrent_kernel
            g["bias:0"] = case.bias
        cfg = config_yaml(case, "input_1")
    config.write_text(json.dumps({"HLSConfig": cfg, "Backend": "Vivado",
                                  "IOType": "io_parallel"}, indent=1))
    return model, config


# h and c step by step through nnet::lstm(_static), as lstm_stack calls it, printed with the h
# of lstm_stack: "name seq step h_stack... h... c..." (hex floats: exact)
STEPWISE = """layer2_t hs[{h}], cs[{h}];
        for (int j = 0; j < {h}; j++) {{ hs[j] = 0; cs[j] = 0; }}
        for (int t = 0; t < {steps}; t++) {{
            input_t step[{n_in}];
            for (int j = 0; j < {n_in}; j++) step[j] = data[t * {n_in} + j];
            {lstm}<input_t, layer2_t, config2>(t == 0, step, hs, cs, w2, wr2, b2, br2);
            printf("{name} %d %d", s, t);
            for (int j = 0; j < {h}; j++) printf(" %a", res[t * {h} + j].to_double());
            for (int j = 0; j < {h}; j++) printf(" %a", hs[j].to_double());
            for (int j = 0; j < {h}; j++) printf(" %a", cs[j].to_double());
            printf("\\n");
        }}"""


def cpp_namespace(case: Case, stepwise: bool = True) -> str:
    """stepwise: print h and c of every step (the test; the inputs written in); else read the
    inputs from the file argv[1] and write lstm_stack's h to argv[2] as doubles (the benchmark:
    hls4ml's predict over many sequences)."""
    t = case.types
    n_in, h, steps = case.inputs.shape[2], case.units, case.inputs.shape[1]
    n_seq = case.inputs.shape[0]

    def mult(index: str, n: int, weight: str, bias: str) -> str:
        return f"""struct config2_{index} : nnet::dense_config {{
    static const unsigned n_in = {n};
    static const unsigned n_out = {4 * h};
    static const unsigned strategy = nnet::latency;
    static const unsigned reuse_factor = 1;
    static const unsigned n_zeros = 0;
    static const unsigned n_nonzeros = {n * 4 * h};
    static const unsigned multiplier_limit = DIV_ROUNDUP(n_in * n_out, reuse_factor) - n_zeros / reuse_factor;
    static const bool store_weights_in_bram = false;
    typedef lstm_accum_t accum_t;
    typedef {bias} bias_t;
    typedef {weight} weight_t;
    template<class data_T, class res_T, class CONFIG_T>
    using kernel = nnet::DenseLatency<data_T, res_T, CONFIG_T>;
    template<class x_T, class y_T>
    using product = nnet::product::mult<x_T, y_T>;
}};
"""

    def act(name: str, n: int) -> str:
        return f"""struct {name} : nnet::activ_config {{
    static const unsigned n_in = {n};
    static const unsigned table_size = {case.table_size};
    static const unsigned io_type = nnet::io_parallel;
    static const unsigned reuse_factor = 1;
    typedef lstm_table_t table_t;
}};
"""
    seq_in = case.inputs.reshape(n_seq, -1)
    if stepwise:
        inputs = (f"const double x_in[{n_seq}][{seq_in.shape[1]}] = {{" + ", ".join(
            "{" + ", ".join(repr(float(v)) for v in row) + "}" for row in seq_in) + "};")
        read, write, x_of = "", "", "x_in[s][k]"
        step = STEPWISE.format(h=h, n_in=n_in, steps=steps, name=case.name,
                               lstm="nnet::lstm_static" if case.static else "nnet::lstm")
    else:
        inputs, x_of = "", "x[s][k]"
        read = ("FILE* f = fopen(in_path, \"rb\"); if (!f || fread(x, sizeof x, 1, f) != 1) "
                "exit(3); fclose(f);")
        write = ("f = fopen(out_path, \"wb\"); if (!f || fwrite(out, sizeof out, 1, f) != 1) "
                 "exit(4); fclose(f);")
        step = f"for (int k = 0; k < {steps * h}; k++) out[s][k] = res[k].to_double();"
    return f"""namespace {case.name} {{
typedef {t['input']} input_t;
typedef {t['result']} layer2_t;
typedef {t['accum']} lstm_accum_t;
typedef {t['weight']} weight2_t;
typedef {t['recurrent_weight']} recurrent_weight2_t;
typedef {t['bias']} bias2_t;
typedef {t['recurrent_bias']} recurrent_bias2_t;
typedef {case.table_t} lstm_table_t;
{mult('1', n_in, 'weight2_t', 'bias2_t')}
{mult('2', h, 'recurrent_weight2_t', 'recurrent_bias2_t')}
{act('sigmoid_config2_recr', 3 * h)}
{act('tanh_config2', h)}
struct config2 : nnet::lstm_config {{
    typedef lstm_accum_t accum_t;
    typedef weight2_t weight_t;
    typedef recurrent_weight2_t recurrent_weight_t;
    typedef bias2_t bias_t;
    typedef recurrent_bias2_t recurrent_bias_t;
    typedef config2_1 mult_config1;
    typedef config2_2 mult_config2;
    typedef sigmoid_config2_recr ACT_CONFIG_LSTM;
    template<class x_T, class y_T, class config_T>
    using activation_recr = nnet::activation::sigmoid<x_T, y_T, config_T>;
    typedef tanh_config2 ACT_CONFIG_T;
    template<class x_T, class y_T, class config_T>
    using activation = nnet::activation::tanh<x_T, y_T, config_T>;
    static const unsigned n_in  = {n_in};
    static const unsigned n_out = {h};
    static const unsigned n_state = {h};
    static const unsigned n_sequence = {steps};
    static const unsigned n_sequence_out = {steps};
    static const unsigned io_type = nnet::io_parallel;
    static const unsigned reuse_factor = 1;
    static const bool store_weights_in_bram = false;
    static const bool use_static = {'true' if case.static else 'false'};
    static const bool pytorch_order = {'true' if case.pytorch else 'false'};
}};
weight2_t w2[{n_in * 4 * h}] = {{{_values(case.kernel, t['weight'])}}};
recurrent_weight2_t wr2[{h * 4 * h}] = {{{_values(case.recurrent_kernel, t['recurrent_weight'])}}};
bias2_t b2[{4 * h}] = {{{_values(case.bias, t['bias'])}}};
recurrent_bias2_t br2[{4 * h}] = {{{_values(case.recurrent_bias, t['recurrent_bias'])}}};
{inputs}
void run(const char* in_path, const char* out_path) {{
    static double x[{n_seq}][{steps * n_in}];
    static double out[{n_seq}][{steps * h}];
    {read}
    for (int s = 0; s < {n_seq}; s++) {{
        input_t data[{steps * n_in}];
        for (int k = 0; k < {steps * n_in}; k++) data[k] = {x_of};
        layer2_t res[{steps * h}];
        nnet::lstm_stack<input_t, layer2_t, config2>(data, res, w2, wr2, b2, br2);
        {step}
    }}
    {write}
}}
}}  // namespace {case.name}
"""


def cpp_sources(cases: list[Case], stepwise: bool = True, units: int = 1) -> list[str]:
    """Translation units: ``units`` of namespaces (compiled side by side), then main."""
    head = ('#include <cstdio>\n#include <cstdlib>\n#include "ap_fixed.h"\n'
            '#include "nnet_utils/nnet_recurrent.h"\n')
    groups = [cases[k::units] for k in range(units) if cases[k::units]]
    sources = [head + "\n".join(cpp_namespace(c, stepwise) for c in group) for group in groups]
    decls = "\n".join(f"namespace {c.name} {{ void run(const char*, const char*); }}"
                      for c in cases)
    calls = "\n".join(f"    {c.name}::run(argc > 1 ? argv[1] : 0, argc > 2 ? argv[2] : 0);"
                      for c in cases)
    return sources + [f"{decls}\nint main(int argc, char** argv) {{\n{calls}\n    return 0;\n}}\n"]


def compile_cpp(cases: list[Case], folder: Path, opt: str = "-O1", stepwise: bool = True,
                jobs: int = 2) -> tuple[Path, float]:
    """g++ on the cases against the wheel's templates, ``jobs`` translation units at once:
    (the executable, compile seconds)."""
    gxx = need_executable("g++")
    templates = hls4ml_root() / "templates" / "vivado"
    if not (templates / "nnet_utils" / "nnet_recurrent.h").is_file():
        raise AssertionError(f"hls4ml is installed but has no {templates}/nnet_utils")
    folder = Path(folder).resolve()
    flags = ["-std=c++14", opt, f"-I{templates / 'ap_types'}", f"-I{templates}"]
    objects, builds = [], []
    t0 = time.perf_counter()
    for k, text in enumerate(cpp_sources(cases, stepwise, jobs)):
        source = folder / f"hls4ml_lstm_{k}.cpp"
        source.write_text(text)
        objects.append(source.with_suffix(".o"))
        builds.append(subprocess.Popen([gxx, *flags, "-c", str(source), "-o", str(objects[-1])],
                                       stderr=subprocess.PIPE, text=True))
    for build in builds:
        errors = build.communicate()[1]
        assert build.returncode == 0, errors[-3000:]
    exe = folder / "hls4ml_lstm"
    subprocess.run([gxx, *map(str, objects), "-o", str(exe)], check=True)
    return exe, time.perf_counter() - t0


def hls4ml_results(cases: list[Case], folder: Path
                   ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], float]:
    """Compile and run hls4ml's C++ for the cases: ({name: (h of lstm_stack, h, c), each
    [sequences, steps, units]}, compile seconds)."""
    exe, compile_s = compile_cpp(cases, folder)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    results = {c.name: np.zeros((3,) + c.inputs.shape[:2] + (c.units,)) for c in cases}
    units = {c.name: c.units for c in cases}
    for line in out.splitlines():
        name, s, t, *vals = line.split()
        h = units[name]
        results[name][:, int(s), int(t)] = np.array([float.fromhex(v) for v in vals]).reshape(3, h)
    return {k: (v[0], v[1], v[2]) for k, v in results.items()}, compile_s
