"""``lstm-hw import MODEL --hls4ml CONFIG``: an LSTM as hls4ml 1.3.0 would build it, bit for bit.

CONFIG is hls4ml's configuration as its users write it (YAML or JSON): the ``HLSConfig``
mapping (or a whole hls4ml project configuration holding one), with ``Model`` (``Precision``:
the default type, or a mapping with ``default``), ``LayerType`` and ``LayerName`` entries.
A layer's type for variable V is looked up as hls4ml's ``HLSConfig.get_precision`` does:
``LayerName[layer].Precision[V]``, its ``Precision`` if that is one type, the same two under
``LayerType[class]``, then ``Model.Precision[V]``, then the model's default; ``auto`` stands for
the model's default (what hls4ml infers for an LSTM's types). For an LSTM layer V is one of
``weight``, ``recurrent_weight``, ``bias``, ``recurrent_bias``, ``accum``, ``result``; its
tables' type is the layer key ``table_t`` (default ``ap_fixed<18,8>``) and their size
``TableSize`` (default 1024): hls4ml 1.3.0 reads no ``Precision: {table: ...}`` for an LSTM,
so such an entry is accepted only where it agrees with ``table_t``. The input layer's
``Precision: {result: ...}`` is the input's type.

MODEL: a Keras model file (``.h5`` from ``model.save``, or ``.keras``) read with h5py, Keras
layout arrays in an ``.npz`` (``--keras``: ``NAME/kernel``, ``NAME/recurrent_kernel``,
``NAME/bias``), or a PyTorch state dict (``.pt``, or its keys in an ``.npz``) as hls4ml's
PyTorch converter reads it: ``weight_ih`` and ``weight_hh`` transposed into Keras layout, gate
order i, f, g, o (Keras's i, f, c, o), both biases kept, each quantised on its own.

A layer's name is its name in the Keras file, its key prefix (``lstm/kernel`` -> ``lstm``,
``lstm.weight_ih_l0`` -> ``lstm``), or, for an unnamed PyTorch LSTM, the one LSTM entry of
``LayerName``. Every layer becomes an instance of ``lstm_hls4ml`` (lstm_hw/library/lstm.yaml),
whose blocks are hls4ml's cast sites. Weights are quantised as hls4ml writes them: printed with
as many decimals as weight_t has fractional bits, read back as a double, cast into weight_t.
"""
from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fixed import FixedFormat, FormatError, parse_format
from ..netlist import safe_yaml
from .lstm import IDENT, ModelError, _array, _flow, _scalar, netlist_paths, write_files
from .models import _LSTM_KEY, read_npz, read_state_dict

TYPE_VARS = ("weight", "recurrent_weight", "bias", "recurrent_bias", "accum", "result")
DEFAULT_TABLE_T = "ap_fixed<18,8>"
DEFAULT_TABLE_SIZE = 1024
# keys of a whole hls4ml project configuration around HLSConfig (hls4ml's converters read them;
# none changes the numbers of an io_parallel or io_stream LSTM)
PROJECT_KEYS = {"HLSConfig", "Backend", "IOType", "OutputDir", "ProjectName", "Part",
                "ClockPeriod", "ClockUncertainty", "KerasModel", "KerasH5", "KerasJson",
                "OnnxModel", "PytorchModel", "InputShape", "InputData", "OutputPredictions",
                "WriterConfig", "Stamp", "Version"}
HLS_KEYS = {"Model", "LayerName", "LayerType", "Flows", "Optimizers", "SkipOptimizers"}
MODEL_KEYS = {"Precision", "ReuseFactor", "Strategy", "BramFactor", "TraceOutput",
              "TargetCycles", "ConvImplementation", "Compression", "PipelineStyle",
              "PipelineInterval"}
# an LSTM layer's keys (hls4ml's ConfigurableAttributes, in PascalCase or snake_case): those
# that only steer the HLS pragmas are accepted and change no number
LSTM_KEYS = {"Precision", "ReuseFactor", "RecurrentReuseFactor", "Strategy", "Static",
             "TableSize", "Trace", "table_t", "reuse_factor", "recurrent_reuse_factor", "static",
             "table_size", "trace", "strategy"}
INPUT_KEYS = {"Precision", "Trace", "trace"}
BACKENDS = ("Vivado", "Vitis")


class ConfigError(ModelError):
    """A configuration hls4ml would refuse, or one lstm_hw cannot reproduce: exit status 2."""


# -- the configuration ---------------------------------------------------------------------------
def read_config(path) -> dict:
    """hls4ml's configuration from a YAML or JSON file (the bounded safe loader: a located
    NetlistError for YAML it cannot read): the HLSConfig mapping (unwrapped)."""
    path = Path(path)
    data = safe_yaml.load(safe_yaml.read_text(path, "the hls4ml configuration"), str(path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected hls4ml's configuration (a mapping with Model, "
                          "LayerName...), got " + type(data).__name__)
    if "HLSConfig" in data:
        _known(data, PROJECT_KEYS, f"{path}", "a project configuration")
        backend = data.get("Backend", "Vivado")
        if backend not in BACKENDS:
            raise ConfigError(f"{path}: Backend '{backend}': lstm_hw reproduces hls4ml's "
                              f"{' and '.join(BACKENDS)} backends (nnet_utils of templates/vivado)")
        if data.get("IOType", "io_parallel") not in ("io_parallel", "io_stream"):
            raise ConfigError(f"{path}: IOType '{data.get('IOType')}': expected io_parallel or "
                              "io_stream")
        data = data["HLSConfig"]
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: HLSConfig: expected a mapping")
    _known(data, HLS_KEYS, f"{path}", "HLSConfig")
    return data


def _known(mapping: dict, keys: set, where: str, what: str) -> None:
    unknown = [k for k in mapping if k not in keys]
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' in {what} (hls4ml 1.3.0 knows "
                          f"{', '.join(sorted(keys))})")


def hls_type(text, where: str) -> FixedFormat:
    """An hls4ml precision string (ap_fixed<16,6>, fixed<16,6,RND,SAT>, ap_int<8>, ...)."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected a type such as 'ap_fixed<16,6>', got {text!r}")
    t = text.strip()
    m = re.fullmatch(r"(ap_)?(u?)(fixed|int)\s*<([^<>]*)>", t)
    if not m:
        raise ConfigError(f"{where}: '{text}' is not a fixed-point type (ap_fixed<W,I,...>, "
                          "ap_ufixed, fixed, ap_int, ap_uint); lstm_hw has no float types")
    unsigned, kind, args = m.group(2), m.group(3), [a.strip() for a in m.group(4).split(",")]
    if kind == "int":
        if len(args) != 1:
            raise ConfigError(f"{where}: '{text}': an integer type takes one width")
        args = [args[0], args[0]]
    args = args[:2] + [a if a.startswith("AP_") or a.isdigit() else "AP_" + a
                       for a in args[2:]]
    spelled = f"ap_{'u' if unsigned else ''}fixed<{','.join(args)}>"
    try:
        return parse_format(spelled)
    except FormatError as exc:
        raise ConfigError(f"{where}: '{text}': {exc}") from None


@dataclass
class LayerTypes:
    """One LSTM layer's hls4ml types and table settings."""
    types: dict[str, FixedFormat]       # TYPE_VARS -> format
    table_t: FixedFormat
    table_size: int
    static: bool
    sources: dict[str, str]             # TYPE_VARS + table_t -> where it was set


class Config:
    def __init__(self, hls: dict, where: str):
        self.hls, self.where = hls, where
        model = hls.get("Model")
        if model is not None and not isinstance(model, dict):
            raise ConfigError(f"{where}: Model: expected a mapping")
        self.model = model or {}
        _known(self.model, MODEL_KEYS, where, "Model")
        prec = self.model.get("Precision")
        self.model_prec = prec if isinstance(prec, dict) else \
            ({} if prec is None else {"default": prec})
        strategy = str(self.model.get("Strategy", "Latency"))
        if strategy.lower() != "latency":
            raise ConfigError(f"{where}: Model: Strategy '{strategy}': lstm_hw reproduces "
                              "hls4ml's Latency strategy (nnet::DenseLatency) only")
        for key in ("LayerName", "LayerType"):
            if not isinstance(hls.get(key, {}), dict):
                raise ConfigError(f"{where}: {key}: expected a mapping")
        self.names = hls.get("LayerName") or {}
        self.kinds = hls.get("LayerType") or {}
        for group, entries in (("LayerName", self.names), ("LayerType", self.kinds)):
            for name, entry in entries.items():
                if not isinstance(entry, dict):
                    raise ConfigError(f"{where}: {group}: '{name}': expected a mapping")

    def layer_config(self, name: str, kind: str) -> dict:
        """hls4ml's get_layer_config: the LayerType entry, then the LayerName entry over it."""
        out = dict(self.kinds.get(kind, {}))
        out.update(self.names.get(name, {}))
        return out

    def precision(self, name: str, kind: str, var: str) -> tuple[FixedFormat, str]:
        """hls4ml's get_precision, 'auto' as the model default; (format, where it was set)."""
        candidates = []
        for group, key in (("LayerName", name), ("LayerType", kind)):
            entry = (self.names if group == "LayerName" else self.kinds).get(key, {})
            prec = entry.get("Precision")
            where = f"{group}: {key}: Precision"
            if isinstance(prec, dict):
                candidates.append((prec.get(var), f"{where}: {var}"))
            elif prec is not None:
                candidates.append((prec, where))
        candidates += [(self.model_prec.get(var), f"Model: Precision: {var}"),
                       (self.model_prec.get("default"), "Model: Precision: default")]
        for value, where in candidates:
            if value is None:
                continue
            if isinstance(value, str) and value.strip().lower() == "auto":
                default = self.model_prec.get("default")
                if default is None:
                    raise ConfigError(f"{self.where}: {where} is 'auto' but Model has no "
                                      "default precision")
                return hls_type(default, f"{self.where}: Model: Precision: default"), \
                    f"{where} (auto: the model default)"
            return hls_type(value, f"{self.where}: {where}"), where
        raise ConfigError(f"{self.where}: no precision for {name} -> {var} and no default "
                          "(set Model: Precision)")

    def lstm(self, name: str) -> LayerTypes:
        cfg = self.layer_config(name, "LSTM")
        where = f"{self.where}: LayerName: {name}"
        _known(cfg, LSTM_KEYS, where, "an LSTM layer's settings")
        prec = cfg.get("Precision")
        if isinstance(prec, dict):
            _known(prec, set(TYPE_VARS) | {"table"}, f"{where}: Precision", "an LSTM's Precision")
        types, sources = {}, {}
        for var in TYPE_VARS:
            types[var], sources[var] = self.precision(name, "LSTM", var)
        table_t = hls_type(cfg.get("table_t", DEFAULT_TABLE_T), f"{where}: table_t")
        sources["table_t"] = f"LayerName: {name}: table_t" if "table_t" in cfg else \
            f"hls4ml's default {DEFAULT_TABLE_T}"
        if isinstance(prec, dict) and prec.get("table") not in (None, "auto"):
            said = hls_type(prec["table"], f"{where}: Precision: table")
            if said != table_t:
                raise ConfigError(
                    f"{where}: Precision: table is {prec['table']}, but hls4ml 1.3.0 takes an "
                    f"LSTM's table type from the layer key table_t ({table_t}) and ignores "
                    f"Precision: table; write table_t: \"{prec['table']}\" instead")
        size = cfg.get("TableSize", cfg.get("table_size", DEFAULT_TABLE_SIZE))
        if not isinstance(size, int) or isinstance(size, bool) or size < 2 or size % 2 or \
                size > 1 << 20:
            raise ConfigError(f"{where}: TableSize {size!r}: expected an even number of entries "
                              f"from 2 to {1 << 20} (hls4ml centres its tables at TableSize / 2)")
        static = cfg.get("Static", cfg.get("static", True))
        if not isinstance(static, bool):
            raise ConfigError(f"{where}: Static {static!r}: expected true or false")
        strategy = str(cfg.get("Strategy", cfg.get("strategy", "Latency")))
        if strategy.lower() != "latency":
            raise ConfigError(f"{where}: Strategy '{strategy}': lstm_hw reproduces hls4ml's "
                              "Latency strategy (nnet::DenseLatency) only")
        return LayerTypes(types, table_t, size, static, sources)

    def input_type(self, name: str | None) -> tuple[FixedFormat, str]:
        if name is not None:
            cfg = self.layer_config(name, "InputLayer")
            _known(cfg, INPUT_KEYS, f"{self.where}: LayerName: {name}",
                   "an input layer's settings")
            return self.precision(name, "InputLayer", "result")
        default = self.model_prec.get("default")
        if default is None:
            raise ConfigError(f"{self.where}: no precision for the input (set Model: Precision)")
        return hls_type(default, f"{self.where}: Model: Precision: default"), \
            "Model: Precision: default"


# -- the model -------------------------------------------------------------------------------------
@dataclass
class HlsLstm:
    """One LSTM layer in hls4ml's (Keras) layout; gate blocks i, f, c (= g), o."""
    name: str
    kernel: np.ndarray              # in x 4H
    recurrent_kernel: np.ndarray    # H x 4H
    bias: np.ndarray                # 4H
    recurrent_bias: np.ndarray      # 4H (zeros for Keras)
    pytorch: bool


def _checked(value, what: str, shape: tuple) -> np.ndarray:
    arr = _array(value, what, len(shape))
    if arr.shape != shape:
        raise ModelError(f"{what}: expected shape {shape}, got {arr.shape}")
    return arr


def _keras_layer(name: str, kernel, recurrent, bias, where: str) -> HlsLstm:
    rk = _array(recurrent, f"{where}: '{name}' recurrent_kernel", 2)
    if rk.shape[1] != 4 * rk.shape[0] or rk.shape[0] == 0:
        raise ModelError(f"{where}: '{name}' recurrent_kernel: expected H x 4H, got {rk.shape}")
    units = rk.shape[0]
    k = _array(kernel, f"{where}: '{name}' kernel", 2)
    if k.shape[1] != 4 * units or k.shape[0] == 0:
        raise ModelError(f"{where}: '{name}' kernel: expected inputs x {4 * units}, got "
                         f"{k.shape}")
    b = np.zeros(4 * units) if bias is None else \
        _checked(bias, f"{where}: '{name}' bias", (4 * units,))
    return HlsLstm(name, k, rk, b, np.zeros(4 * units), False)


def _torch_layers(arrays, where: str) -> list[HlsLstm]:
    found: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        m = _LSTM_KEY.match(key) if isinstance(key, str) else None
        if not m:
            raise ModelError(f"{where}: unexpected key '{key}' (an nn.LSTM's weight_ih_l0, "
                             "weight_hh_l0, bias_ih_l0, bias_hh_l0 under a prefix)")
        if m["reverse"]:
            raise ModelError(f"{where}: '{key}': hls4ml does not support bidirectional RNNs")
        if m["kind"] == "weight_hr":
            raise ModelError(f"{where}: '{key}': hls4ml does not support LSTMs with projections")
        if m["layer"] != "0":
            raise ModelError(f"{where}: '{key}': hls4ml does not support num_layers > 1 (stack "
                             "nn.LSTM modules instead)")
        found.setdefault(m["prefix"], {})[m["kind"]] = value
    layers = []
    for prefix, parts in found.items():
        name = prefix.rstrip("./")
        for need in ("weight_ih", "weight_hh"):
            if need not in parts:
                raise ModelError(f"{where}: '{prefix}{need}_l0' is missing")
        whh = _array(parts["weight_hh"], f"{where}: '{prefix}weight_hh_l0'", 2)
        if whh.shape[0] != 4 * whh.shape[1] or whh.shape[1] == 0:
            raise ModelError(f"{where}: '{prefix}weight_hh_l0': expected 4H x H, got "
                             f"{whh.shape}")
        units = whh.shape[1]
        wih = _array(parts["weight_ih"], f"{where}: '{prefix}weight_ih_l0'", 2)
        if wih.shape[0] != 4 * units or wih.shape[1] == 0:
            raise ModelError(f"{where}: '{prefix}weight_ih_l0': expected {4 * units} x inputs, "
                             f"got {wih.shape}")
        if ("bias_ih" in parts) != ("bias_hh" in parts):
            raise ModelError(f"{where}: '{prefix}bias_ih_l0' and '{prefix}bias_hh_l0' come "
                             "together")
        zeros = np.zeros(4 * units)
        b = _checked(parts.get("bias_ih", zeros), f"{where}: '{prefix}bias_ih_l0'", (4 * units,))
        br = _checked(parts.get("bias_hh", zeros), f"{where}: '{prefix}bias_hh_l0'",
                      (4 * units,))
        layers.append(HlsLstm(name, wih.T, whh.T, b, br, True))
    return layers


def _keras_arrays(arrays, where: str) -> list[HlsLstm]:
    keys = {(k[:-2] if k.endswith(":0") else k): k for k in arrays}
    prefixes = [k[:-len("recurrent_kernel")] for k in keys if k.endswith("recurrent_kernel")]
    if not prefixes:
        raise ModelError(f"{where}: no LSTM weights (expected NAME/kernel, "
                         "NAME/recurrent_kernel, NAME/bias)")
    used, layers = set(), []
    for p in prefixes:
        if p + "kernel" not in keys:
            raise ModelError(f"{where}: '{p}recurrent_kernel' without '{p}kernel'")
        bias = arrays[keys[p + "bias"]] if p + "bias" in keys else None
        layers.append(_keras_layer(p.rstrip("/._"), arrays[keys[p + "kernel"]],
                                   arrays[keys[p + "recurrent_kernel"]], bias, where))
        used |= {p + "kernel", p + "recurrent_kernel", p + "bias"}
    extra = [k for k in keys if k not in used]
    if extra:
        raise ModelError(f"{where}: unexpected key '{extra[0]}' (only LSTM layers are imported "
                         "with --hls4ml)")
    return layers


@dataclass
class KerasModel:
    layers: list[HlsLstm]
    input_name: str | None


def read_keras_file(path) -> KerasModel:
    """A Keras model saved whole: .h5 (model_config + model_weights) or .keras (a zip of
    config.json and model.weights.h5), read with h5py."""
    try:
        import h5py
    except ImportError:
        raise ModelError("reading Keras model files needs h5py (pip install 'lstm_hw[keras]')"
                         ) from None
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
                with zf.open("model.weights.h5") as fh, h5py.File(fh, "r") as h5:
                    return _keras_model(config, lambda name: _keras3_vars(h5, name), path)
        with h5py.File(path, "r") as h5:
            if "model_config" not in h5.attrs:
                raise ModelError(f"{path}: no model_config (save the whole model with "
                                 "model.save, or pass the weights as an .npz with --keras)")
            raw = h5.attrs["model_config"]
            config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            weights = h5["model_weights"] if "model_weights" in h5 else h5
            return _keras_model(config, lambda name: _keras2_vars(weights, name), path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path}: cannot read as a Keras model: {exc}") from None


def _keras2_vars(group, name: str) -> dict[str, np.ndarray]:
    if name not in group:
        raise ModelError(f"no weights for layer '{name}'")
    out = {}

    def visit(key, obj):
        if hasattr(obj, "shape"):
            base = key.rsplit("/", 1)[-1].split(":")[0]
            out.setdefault(base, obj[()])
    group[name].visititems(visit)
    return out


def _keras3_vars(h5, name: str) -> dict[str, np.ndarray]:
    base = f"layers/{name}"
    if base not in h5:
        raise ModelError(f"no weights for layer '{name}'")
    group = h5[f"{base}/cell/vars"] if f"{base}/cell/vars" in h5 else h5[f"{base}/vars"]
    values = [group[k][()] for k in sorted(group, key=int)]
    return dict(zip(("kernel", "recurrent_kernel", "bias"), values))


def _keras_model(config: dict, weights_of, where) -> KerasModel:
    layers_cfg = config.get("config", {}).get("layers", [])
    if not isinstance(layers_cfg, list):
        raise ModelError(f"{where}: model config has no layer list")
    input_name, layers = None, []
    for entry in layers_cfg:
        cls, conf = entry.get("class_name"), entry.get("config", {})
        name = conf.get("name")
        if cls == "InputLayer":
            input_name = name
        elif cls == "LSTM":
            for key, want in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
                if conf.get(key, want) != want:
                    raise ModelError(f"{where}: layer '{name}': {key} '{conf.get(key)}': "
                                     f"lstm_hw reproduces hls4ml's LSTM with {want} only")
            for key in ("go_backwards", "stateful", "return_state"):
                if conf.get(key):
                    raise ModelError(f"{where}: layer '{name}': {key} is not supported")
            v = weights_of(name)
            layers.append(_keras_layer(name, v.get("kernel"), v.get("recurrent_kernel"),
                                       v.get("bias") if conf.get("use_bias", True) else None,
                                       str(where)))
        else:
            raise ModelError(f"{where}: layer '{name}' ({cls}): only InputLayer and LSTM "
                             "layers are imported with --hls4ml")
    if not layers:
        raise ModelError(f"{where}: no LSTM layer")
    return KerasModel(layers, input_name)


def read_model(path, keras: bool = False) -> KerasModel:
    path = str(path)
    if path.endswith((".h5", ".hdf5", ".keras")):
        return read_keras_file(path)
    arrays = read_npz(path) if path.endswith(".npz") else read_state_dict(path)
    if keras:
        return KerasModel(_keras_arrays(arrays, path), None)
    if isinstance(arrays, dict) and "state_dict" in arrays:
        arrays = arrays["state_dict"]
    return KerasModel(_torch_layers(arrays, path), None)


# -- weights as hls4ml writes them -------------------------------------------------------------
def hls4ml_weights(values: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """hls4ml's weight files: each value printed with max(0, F) decimals ('{:.Ff}'), which its
    C simulation reads back as a double (then ap_fixed(double) casts it into the type, as the
    netlist's dot does with these values)."""
    decimals = max(0, fmt.frac)
    flat = [float(f"{v:.{decimals}f}") for v in np.asarray(values).ravel()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(values))


def exact_product(a: FixedFormat, b: FixedFormat) -> str:
    """The format that holds every product of a and b exactly."""
    mixed = int(a.signed != b.signed)
    signed = a.signed or b.signed
    name = "ap_fixed" if signed else "ap_ufixed"
    return f"{name}<{a.width + b.width + mixed},{a.integer + b.integer + mixed}>"


# -- the netlist -------------------------------------------------------------------------------
GATES = ("i", "f", "g", "o")


def hls4ml_netlist(model: KerasModel, config: Config, *, name: str, weights_file: str,
                   source: str = "", config_source: str = "", input_name: str = "x"
                   ) -> tuple[str, dict[str, np.ndarray]]:
    """(YAML text, weight arrays) of the netlist for ``model`` as ``config`` builds it."""
    layer_names = [lay.name for lay in model.layers]
    unnamed = [n for n in layer_names if not n]
    if unnamed:
        lstm_entries = [k for k, v in config.names.items() if _looks_like_lstm(v)]
        if len(model.layers) == 1 and len(lstm_entries) <= 1:
            model.layers[0].name = lstm_entries[0] if lstm_entries else "lstm"
        else:
            raise ModelError(f"{source}: an LSTM without a name (give its weights a prefix "
                             "such as lstm.)")
    for lay in model.layers:
        if not IDENT.match(lay.name):
            raise ModelError(f"{source}: layer name '{lay.name}' is not an identifier")
    known = {lay.name for lay in model.layers} | ({model.input_name} if model.input_name else set())
    others = [k for k in config.names if k not in known]
    in_entry = model.input_name
    if in_entry is None and others:
        if len(others) > 1:
            raise ConfigError(f"{config.where}: LayerName has entries for layers the model does "
                              f"not have: {', '.join(others)} (its layers: "
                              f"{', '.join(layer_names)})")
        in_entry = others[0]
        if _looks_like_lstm(config.names[in_entry]):
            raise ConfigError(f"{config.where}: LayerName: '{in_entry}' is no layer of the model "
                              f"(its LSTM layers: {', '.join(layer_names)})")
    elif model.input_name is not None and others:
        raise ConfigError(f"{config.where}: LayerName: '{others[0]}' is no layer of the model "
                          f"(its layers: {', '.join([model.input_name] + layer_names)})")
    in_fmt, in_where = config.input_type(in_entry)

    arrays: dict[str, np.ndarray] = {}

    def ref(key, arr):
        arrays[key] = np.ascontiguousarray(arr, dtype=np.float64)
        return {"file": weights_file, "key": key}

    lines_types, blocks = [], []
    layer_in, n_in, prev_fmt = input_name, model.layers[0].kernel.shape[0], in_fmt
    for lay in model.layers:
        if lay.kernel.shape[0] != n_in:
            raise ModelError(f"{source}: layer '{lay.name}' has {lay.kernel.shape[0]} inputs, "
                             f"but its input has {n_in}")
        lt = config.lstm(lay.name)
        if len({str(prev_fmt), str(lt.types["result"]), str(lt.types["accum"])}) > 1:
            # nnet::lstm_stack instantiates nnet::lstm, static or not, which hands its accum_t
            # sums to nnet::dense as result_t arrays and its h (result_t) as the input type
            source_of_input = in_where if lay is model.layers[0] else "the previous result"
            raise ConfigError(
                f"{config.where}: LayerName: {lay.name}: hls4ml 1.3.0 cannot compile this LSTM: "
                f"its input type ({prev_fmt}, {source_of_input}), result ({lt.types['result']}) "
                f"and accum "
                f"({lt.types['accum']}) must be one type (nnet::lstm passes accum_t arrays "
                "as result_t and h as the input type)")
        t = lt.types
        units = lay.recurrent_kernel.shape[0]
        params = {}
        for gi, gate in enumerate(GATES):
            cols = slice(gi * units, (gi + 1) * units)
            params[f"W_{gate}"] = ref(f"{lay.name}_W_{gate}",
                                      hls4ml_weights(lay.kernel[:, cols].T, t["weight"]))
            params[f"R_{gate}"] = ref(f"{lay.name}_R_{gate}",
                                      hls4ml_weights(lay.recurrent_kernel[:, cols].T,
                                                     t["recurrent_weight"]))
            params[f"b_{gate}"] = ref(f"{lay.name}_b_{gate}",
                                      hls4ml_weights(lay.bias[cols], t["bias"]))
            params[f"br_{gate}"] = ref(f"{lay.name}_br_{gate}",
                                       hls4ml_weights(lay.recurrent_bias[cols],
                                                      t["recurrent_bias"]))
        for var in TYPE_VARS:
            params[f"{var}_t"] = str(t[var])
        params["table_t"] = str(lt.table_t)
        params["table_size"] = lt.table_size
        params["fc_t"] = exact_product(t["accum"], t["result"])
        params["ig_t"] = exact_product(t["accum"], t["accum"])
        lines_types.append((lay, lt))
        blocks.append((lay.name, {"x": layer_in}, params, units))
        layer_in, n_in, prev_fmt = f"{lay.name}.h_next", units, t["result"]

    text = [f"# {name}: {len(model.layers)} LSTM layer{'s' if len(model.layers) > 1 else ''} "
            "as hls4ml 1.3.0 builds them (nnet::lstm_stack, Latency strategy), bit for bit.",
            f"# Generated by lstm-hw import --hls4ml {config_source} from {source}.",
            f"# The weights are in {weights_file}, printed and read back as hls4ml does.",
            f"# Input {input_name}: {n_in if len(model.layers) == 0 else model.layers[0].kernel.shape[0]}"
            f" elements in {in_fmt} ({in_where}).",
            "# Each layer is an instance of lstm_hls4ml (lstm_hw/library/lstm.yaml): zx_X and zh_X",
            "# are hls4ml's two dense sums, z_X the pre-activation, i f g o the gates, c_next and",
            "# h_next its state in result_t. Its hls4ml types, and where the configuration sets them:"]
    for lay, lt in lines_types:
        order = "PyTorch (two biases)" if lay.pytorch else "Keras"
        text.append(f"#   {lay.name} ({order} weights, {'static' if lt.static else 'non-static'}):")
        for var in TYPE_VARS:
            text.append(f"#     {var}_t = {lt.types[var]}  ({lt.sources[var]})")
        text.append(f"#     table_t = {lt.table_t}  ({lt.sources['table_t']}), "
                    f"TableSize {lt.table_size}")
    text.append("# Sweep them with --precision, e.g. 'LAYER.z*=...' (accum_t), 'LAYER.*:table=...'.")
    text += ["lstm_hw: 1", f"name: {_scalar(name)}",
             f"doc: {_scalar(_doc(source, in_fmt, lines_types))}",
             f"format: {_scalar(str(in_fmt))}",
             "import: [lstm_hw/lstm.yaml]   # module lstm_hls4ml", "",
             f"inputs: {{{input_name}: {{size: {model.layers[0].kernel.shape[0]}, "
             f"format: {_scalar(str(in_fmt))}}}}}",
             f"outputs: [{layer_in}]", "", "blocks:"]
    for lname, ports, params, units in blocks:
        text += [f"  {lname}:", "    module: lstm_hls4ml", f"    in: {_flow(ports)}",
                 "    params:"]
        text += [f"      {k}: {_flow(v)}" for k, v in params.items()]
    return "\n".join(text) + "\n", arrays


def _doc(source: str, in_fmt: FixedFormat, layers) -> str:
    """The netlist's doc (``info`` shows it): hls4ml's types by name, and the blocks of each."""
    parts = [f"hls4ml's LSTM from {Path(source).name}; input_t {in_fmt}"]
    for lay, lt in layers:
        t, n = lt.types, lay.name
        parts.append(f"{n}: result_t {t['result']} ({n}.c_next, {n}.h_next), accum_t "
                     f"{t['accum']} ({n}.zx_*, {n}.zh_*, {n}.z_*, the gates, {n}.hc), weight_t "
                     f"{t['weight']}, recurrent_weight_t {t['recurrent_weight']}, bias_t "
                     f"{t['bias']}, recurrent_bias_t {t['recurrent_bias']}, table_t "
                     f"{lt.table_t} ({lt.table_size} entries)")
    return "; ".join(parts)


def _looks_like_lstm(entry: dict) -> bool:
    prec = entry.get("Precision")
    return any(k in entry for k in ("TableSize", "table_size", "Static", "static", "table_t",
                                    "RecurrentReuseFactor")) or \
        (isinstance(prec, dict) and any(k in prec for k in ("recurrent_weight", "accum")))


def import_hls4ml(model_path, config_path, out_path, *, keras: bool = False,
                  name: str | None = None, input_name: str = "x"):
    """Read MODEL and CONFIG, write OUT.yaml and OUT.npz; returns (paths, model, config)."""
    path, npz = netlist_paths(out_path)
    hls = read_config(config_path)
    config = Config(hls, str(config_path))
    model = read_model(model_path, keras=keras)
    text, arrays = hls4ml_netlist(model, config, name=name or path.stem, weights_file=npz.name,
                                  source=str(model_path), config_source=str(config_path),
                                  input_name=input_name)
    return write_files(path, text, arrays), model


__all__ = ["Config", "ConfigError", "HlsLstm", "KerasModel", "hls4ml_netlist", "hls4ml_weights",
           "hls_type", "import_hls4ml", "read_config", "read_keras_file", "read_model"]
