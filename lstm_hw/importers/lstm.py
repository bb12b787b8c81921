"""LSTM layers (PyTorch layout, plain numpy) -> a netlist of lstm_hw's layer module + weights.

A layer is a mapping (or a 4-tuple, in this order) of ``weight_ih`` (4H x in), ``weight_hh``
(4H x H), ``bias_ih`` and ``bias_hh`` (4H each, optional, both added), the gate blocks in
PyTorch's order i, f, g, o. A readout is a mapping (or a pair) of ``weight`` (out x H) and an
optional ``bias`` (out): ``y = weight @ h + bias`` on the last layer's h, as ``nn.Linear``.

Layer k is an instance ``lk`` of the standard layer (lstm_hw/library/lstm.yaml, module
``lstm_layer``), so its signals are, per time step (one clock cycle):

    lk.z_i, lk.z_f, lk.z_g, lk.z_o   dot over [layer input, lk.h]: the gate rows of
                                     [weight_ih | weight_hh], bias = bias_ih + bias_hh
    lk.i, lk.f, lk.o                 sigmoid;  lk.g  tanh
    lk.ig = lk.i * lk.g,  lk.fc = lk.f * lk.c,  lk.c_next = lk.fc + lk.ig
    lk.hc = tanh(lk.c_next),  lk.h_next = lk.o * lk.hc
    lk.c, lk.h                       registers (init 0) latching lk.c_next, lk.h_next

Layer k+1 reads ``lk.h_next`` (this step's h), so the whole stack advances once per cycle, and
the readout (a ``dot``) reads the last layer's ``h_next``.

Every part has a format set by a ``precision:`` glob (hls4ml-style): see ``ROLES``.
"""
from __future__ import annotations

import fnmatch
import io
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..diagnostics import DataError
from ..fixed import FixedFormat, FormatError, parse_format
from ..files import write_output


class ModelError(DataError, ValueError):
    """Weights that do not make an LSTM (shapes, values, keys, files): exit status 2."""


DEFAULT_FORMAT = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
GATES = ("i", "f", "g", "o")
ACT_OF_GATE = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}
# hls4ml's defaults: 1024-entry tables (lstm_hw's default size, left unwritten so that
# `precision: {GLOB:table_size: N}` can set it); sigmoid over [-8, 8), tanh over [-4, 4)
DEFAULT_ACTIVATIONS = {"sigmoid": {"table": {"range": [-8, 8]}},
                       "tanh": {"table": {"range": [-4, 4]}}}

# role -> (globs, what it is, whether its values lie in [-1, 1]); later rules win. "{out}" is
# the readout's name, "{inputs}" stands for one rule per input.
ROLES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "weight": (("*.z_?:weight",), "weights of the gate sums (rows of [weight_ih | weight_hh])",
               False),
    "bias": (("*.z_?:bias",), "biases of the gate sums (bias_ih + bias_hh)", False),
    "accum": (("*.z_?:accum",), "accumulator of the gate sums (unset: exact sum, quantised "
              "once)", False),
    "gate_sum": (("*.z_?",), "gate sums z_i, z_f, z_g, z_o (the activations' inputs)", False),
    "gate": (("*.[ifo]",), "sigmoid gates i, f, o (in [0, 1])", True),
    "candidate": (("*.g",), "cell input g = tanh(z_g) (in [-1, 1])", True),
    "cell": (("*.c", "*.c_next", "*.fc", "*.ig"), "cell state: c, c_next and the products "
             "f*c, i*g", False),
    "hidden": (("*.hc", "*.h_next", "*.h"), "hidden state: hc = tanh(c_next), h_next = o * hc, "
               "h (in [-1, 1])", True),
    "readout_weight": (("{out}:weight",), "readout weights", False),
    "readout_bias": (("{out}:bias",), "readout bias", False),
    "readout_accum": (("{out}:accum",), "readout accumulator (unset: exact sum)", False),
    "readout": (("{out}",), "readout output", False),
    "input": (("{inputs}",), "inputs", False),
}
READOUT_ROLES = ("readout_weight", "readout_bias", "readout_accum", "readout")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# the signals of one instance of lstm_layer (lstm_hw/library/lstm.yaml)
LAYER_SIGNALS = ("z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "fc", "ig", "c_next", "c",
                 "hc", "h_next", "h")


# -- normalising the weights ----------------------------------------------------------------
def _array(value, what: str, ndim: int) -> np.ndarray:
    if hasattr(value, "detach"):            # a torch tensor, without importing torch
        value = value.detach().cpu().double().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{what}: not an array of numbers ({exc})") from None
    if ndim == 1 and arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != ndim:
        raise ModelError(f"{what}: expected a {ndim}-D array, got shape {_shape(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"{what}: has a NaN or infinite value")
    return arr


def _shape(shape) -> str:
    return " x ".join(map(str, shape)) if len(shape) else "scalar"


def _fields(obj, names: tuple[str, ...], what: str, required: int) -> list:
    if isinstance(obj, Mapping):
        unknown = sorted(set(obj) - set(names))
        if unknown:
            raise ModelError(f"{what}: unexpected key '{unknown[0]}' (expected "
                             f"{', '.join(names)})")
        missing = [n for n in names[:required] if obj.get(n) is None]
        if missing:
            raise ModelError(f"{what}: missing '{missing[0]}'")
        return [obj.get(n) for n in names]
    if isinstance(obj, (tuple, list)) and required <= len(obj) <= len(names):
        return list(obj) + [None] * (len(names) - len(obj))
    raise ModelError(f"{what}: expected a mapping of {', '.join(names)} (or a tuple of them)")


def normalise_layers(layers, readout=None):
    """Check shapes; return ([(W_ih, W_hh, b) per layer], (W, b) or None) as float64."""
    if isinstance(layers, Mapping) or not isinstance(layers, (list, tuple)) or not layers:
        raise ModelError("layers: expected a non-empty list of layers")
    out = []
    n_in = None
    for k, layer in enumerate(layers, 1):
        what = f"layer {k}"
        w_ih, w_hh, b_ih, b_hh = _fields(layer, ("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                                         what, 2)
        w_ih = _array(w_ih, f"{what} weight_ih", 2)
        w_hh = _array(w_hh, f"{what} weight_hh", 2)
        four_h = w_hh.shape[0]
        if four_h % 4 or four_h == 0 or w_hh.shape != (four_h, four_h // 4):
            raise ModelError(f"{what} weight_hh: expected 4H x H (gates i, f, g, o), got "
                             f"{_shape(w_hh.shape)}")
        hidden = four_h // 4
        if w_ih.shape[0] != four_h or w_ih.shape[1] == 0:
            raise ModelError(f"{what} weight_ih: expected {four_h} x inputs (4H x in, H = "
                             f"{hidden} from weight_hh), got {_shape(w_ih.shape)}")
        if n_in is not None and w_ih.shape[1] != n_in:
            raise ModelError(f"{what} weight_ih: has {w_ih.shape[1]} inputs, but layer {k - 1} "
                             f"has {n_in} units")
        bias = np.zeros(four_h)
        for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
            if b is not None:
                b = _array(b, f"{what} {name}", 1)
                if b.shape != (four_h,):
                    raise ModelError(f"{what} {name}: expected {four_h} values (4H), got "
                                     f"{_shape(b.shape)}")
                bias = bias + b
        out.append((w_ih, w_hh, bias))
        n_in = hidden
    ro = None
    if readout is not None:
        w, b = _fields(readout, ("weight", "bias"), "readout", 1)
        w = _array(w, "readout weight", 2) if np.ndim(_plain(w)) != 1 else \
            _array(w, "readout weight", 1)[None, :]     # one output
        if w.shape[1] != n_in or w.shape[0] == 0:
            raise ModelError(f"readout weight: expected outputs x {n_in} (the last layer's "
                             f"units), got {_shape(w.shape)}")
        b = np.zeros(w.shape[0]) if b is None else _array(b, "readout bias", 1)
        if b.shape != (w.shape[0],):
            raise ModelError(f"readout bias: expected {w.shape[0]} values, got {_shape(b.shape)}")
        ro = (w, b)
    return out, ro


def _plain(v):
    return v.detach() if hasattr(v, "detach") else v


def from_keras(kernel, recurrent_kernel, bias=None) -> dict:
    """One Keras ``LSTM`` layer -> a layer in PyTorch layout.

    Keras stores kernel (in x 4H), recurrent_kernel (H x 4H) and one bias (4H), the gate blocks
    in the order i, f, c, o, where c is the candidate that PyTorch calls g: the same positions as
    PyTorch's i, f, g, o, so the conversion is a transpose (and the one bias). Keras must have
    used activation='tanh' and recurrent_activation='sigmoid' (Keras 2.3+ defaults).
    """
    k = _array(kernel, "keras kernel", 2)
    r = _array(recurrent_kernel, "keras recurrent_kernel", 2)
    four_h = r.shape[1]
    if four_h % 4 or four_h == 0 or r.shape != (four_h // 4, four_h):
        raise ModelError(f"keras recurrent_kernel: expected H x 4H, got {_shape(r.shape)}")
    if k.shape[1] != four_h:
        raise ModelError(f"keras kernel: expected inputs x {four_h} (in x 4H), got "
                         f"{_shape(k.shape)}")
    layer = {"weight_ih": k.T.copy(), "weight_hh": r.T.copy()}
    if bias is not None:
        b = _array(bias, "keras bias", 1)
        if b.shape != (four_h,):
            raise ModelError(f"keras bias: expected {four_h} values (4H), got {_shape(b.shape)}")
        layer["bias_ih"] = b
    return layer


def from_keras_dense(kernel, bias=None) -> dict:
    """A Keras ``Dense`` readout (kernel in x out) -> {weight: out x in, bias}."""
    k = _array(kernel, "keras dense kernel", 2)
    out = {"weight": k.T.copy()}
    if bias is not None:
        out["bias"] = _array(bias, "keras dense bias", 1)
    return out


# -- formats ----------------------------------------------------------------------------------
def _bounded(fmt: FixedFormat) -> str:
    """The default format's width, rounding and overflow, with the integer bits of [-1, 1]."""
    bounded = FixedFormat(fmt.width, 2 if fmt.signed else 1, fmt.signed, fmt.rounding,
                          fmt.saturation, min(fmt.saturation_bits, fmt.width))
    return str(bounded)


def _fmt(text, what: str) -> str:
    if not isinstance(text, str):
        raise ModelError(f"{what}: expected a format such as 'ap_fixed<16,6>', got {text!r}")
    try:
        parse_format(text)
    except FormatError as exc:
        raise ModelError(f"{what}: {exc}") from None
    return text.strip()


def resolve_precision(format: str, precision) -> tuple[dict[str, str | None], list]:
    """(format per role, extra (glob, format) rules); defaults derive from ``format``."""
    default = parse_format(_fmt(format, "format"))
    roles: dict[str, str | None] = {}
    for role, (_, _, bounded) in ROLES.items():
        roles[role] = _bounded(default) if bounded else str(default)
    roles["accum"] = roles["readout_accum"] = None
    extra = []
    for key, value in (precision or {}).items():
        if key in ROLES:
            roles[key] = None if value is None else _fmt(value, f"precision '{key}'")
        elif isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.*?\[\]!]+(:[a-z]+)?", key):
            extra.append((key, _fmt(value, f"precision '{key}'")))
        else:
            raise ModelError(f"precision: '{key}' is neither a role ({', '.join(ROLES)}) nor a "
                             "glob over block names")
    return roles, extra


# -- YAML text ---------------------------------------------------------------------------------
def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    s = str(v)
    plain = IDENT.match(s) and s.lower() not in ("true", "false", "null", "yes", "no", "on", "off")
    return s if plain else \
        '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _flow(v) -> str:
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _activation(spec, op: str) -> dict:
    if spec is None or spec == "table":
        return DEFAULT_ACTIVATIONS[op]
    if spec == "exact":
        return {"exact": True}
    if isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in ("table", "pwl",
                                                                              "exact"):
        return dict(spec)
    raise ModelError(f"{op}: expected 'table', 'exact' or a mapping such as "
                     "{'table': {'size': 1024, 'range': [-8, 8]}}")


def lstm_to_netlist(layers, readout=None, *, name: str = "lstm", format: str = DEFAULT_FORMAT,
                    precision: Mapping | None = None, sigmoid="table", tanh="table",
                    inputs="x", output: str = "y", weights_file: str | None = None,
                    doc: str | None = None, task: Mapping | None = None,
                    source: str = "", notes=(), dtype=np.float64
                    ) -> tuple[str, dict[str, np.ndarray]]:
    """A netlist for a stack of LSTM layers (and a readout): (YAML text, weight arrays).

    layers, readout: see the module doc (PyTorch layout; torch tensors are accepted too).
    format: the netlist's default format; the [-1, 1] roles (gates, candidate, hidden) default
      to its width with 2 integer bits. precision: {role or GLOB[:PART]: format} on top (a role
      set to None drops its rule); the roles are ``ROLES``.
    sigmoid, tanh: 'table' (hls4ml's 1024-entry tables), 'exact', or the block's mapping,
      e.g. {'table': {'size': 4096, 'range': [-8, 8]}} or {'pwl': {...}}.
    inputs: one name (a vector input; a scalar if the network has one input) or a list of
      scalar input names, one per input element. output: the readout's name (without a readout
      the outputs are the last layer's h_next).
    weights_file: the .npz the netlist reads (default NAME.npz); the arrays returned go there.
    task: a ``task:`` mapping for ``lstm-hw check`` (netlist/task.py: TASK_KEYS).
    source: where the weights came from (named in the header); notes: more header lines.
    dtype: the dtype the weight arrays are stored in (float64 keeps them exact).
    """
    lay, ro = normalise_layers(layers, readout)
    if not isinstance(name, str) or not name.strip() or "\n" in name:
        raise ModelError(f"name: expected a one-line name, got {name!r}")
    n_in = lay[0][0].shape[1]
    if isinstance(inputs, str):
        in_names = [inputs]
        in_ports = {inputs: {"size": n_in}} if n_in > 1 else {inputs: None}
    else:
        in_names = list(inputs)
        if len(in_names) != n_in:
            raise ModelError(f"inputs: {len(in_names)} names for {n_in} input elements")
        in_ports = {n: None for n in in_names}
    for n in in_names + [output]:
        if not isinstance(n, str) or not IDENT.match(n) or re.match(r"^l\d+$", n):
            raise ModelError(f"'{n}' is not a usable signal name (letters, digits and _, not "
                             "starting with a digit, and not 'l<number>', a layer's name)")
    if len(set(in_names + [output])) != len(in_names) + 1:
        raise ModelError("input and output names must differ")
    roles, extra = resolve_precision(format, precision)
    acts = {"sigmoid": _activation(sigmoid, "sigmoid"), "tanh": _activation(tanh, "tanh")}
    wfile = weights_file or f"{name}.npz"
    if not isinstance(wfile, str) or "/" in wfile or "\\" in wfile or not wfile.endswith(".npz"):
        raise ModelError(f"weights_file: expected a file name ending in .npz, got {wfile!r}")

    arrays: dict[str, np.ndarray] = {}

    def ref(key, arr):
        arrays[key] = np.ascontiguousarray(arr, dtype=dtype)
        return {"file": wfile, "key": key}

    sizes = [n_in] + [w_hh.shape[1] for _, w_hh, _ in lay]
    blocks: list[tuple[str | None, str, dict]] = []     # (comment, name, fields)
    layer_in = list(in_names)
    for k, (w_ih, w_hh, bias) in enumerate(lay, 1):
        p = f"l{k}"
        hidden = w_hh.shape[1]
        params = {}
        for gi, gate in enumerate(GATES):
            rows = slice(gi * hidden, (gi + 1) * hidden)
            params[f"W_{gate}"] = ref(f"{p}_W_{gate}",
                                      np.concatenate([w_ih[rows], w_hh[rows]], axis=1))
            params[f"b_{gate}"] = ref(f"{p}_b_{gate}", bias[rows])
        for act, op in [(g, ACT_OF_GATE[g]) for g in GATES] + [("h", "tanh")]:
            params.update({f"{kind}_{act}": value for kind, value in acts[op].items()})
        blocks.append((f"layer {k}: {sizes[k - 1]} inputs -> {hidden} units (gate rows of "
                       f"[weight_ih | weight_hh] over [{', '.join(layer_in)}, {p}.h])", p,
                       {"module": "lstm_layer",
                        "in": {"x": layer_in if len(layer_in) > 1 else layer_in[0]},
                        "params": params}))
        layer_in = [f"{p}.h_next"]
    last = layer_in[0]
    if ro is not None:
        w, b = ro
        blocks.append((f"readout: {w.shape[0]} output{'s' if w.shape[0] > 1 else ''} = weight "
                       f"@ {last} + bias", output, {"op": "dot", "in": last,
                                                    "weights": ref(f"{output}_W", w),
                                                    "bias": ref(f"{output}_b", b)}))
        outputs = [output]
    else:
        outputs = [last]

    names = set(in_names) | {output} | {f"l{k}.{sig}" for k in range(1, len(lay) + 1)
                                         for sig in LAYER_SIGNALS}
    for g, _ in extra:
        if not any(fnmatch.fnmatchcase(n, g.partition(":")[0]) for n in names):
            raise ModelError(f"precision '{g}' matches no signal (the roles are "
                             f"{', '.join(ROLES)})")

    # precision rules, in order (later rules win)
    rules: list[tuple[str | None, str, str]] = []   # (comment, glob, format)
    for role, (globs, what, _) in ROLES.items():
        if ro is None and role in READOUT_ROLES:
            continue
        fmt = roles[role]
        expanded = []
        for g in globs:
            if g == "{inputs}":
                expanded += in_names
            else:
                expanded.append(g.replace("{out}", output))
        for g in expanded:
            rules.append((f"{role}: {what}", g, fmt))
    for g, fmt in extra:
        rules.append(("set by the caller", g, fmt))
    # a glob written twice would be a duplicate YAML key: the later rule wins, as it would
    last = {glob: k for k, (_, glob, fmt) in enumerate(rules) if fmt is not None}
    rules = [r for k, r in enumerate(rules) if r[2] is None or last[r[1]] == k]

    text = _header(name, lay, ro, sizes, in_names, outputs, wfile, acts, source,
                   [notes] if isinstance(notes, str) else list(notes))
    lines = [text, "lstm_hw: 1", f"name: {_scalar(name)}"]
    default_doc = (f"{len(lay)}-layer LSTM ({' -> '.join(map(str, sizes))}"
                   f"{f' -> readout {ro[0].shape[0]}' if ro else ''}), PyTorch gate order "
                   "i, f, g, o; one time step per cycle")
    lines.append(f"doc: {_scalar(doc or default_doc)}")
    lines.append(f"format: {_scalar(str(parse_format(format)))}")
    lines.append("import: [lstm_hw/lstm.yaml]   # the standard LSTM layer, module lstm_layer")
    lines.append("")
    lines.append("# Formats by role, most specific last (the same GLOB[:PART] syntax as "
                 "--precision).")
    lines.append("precision:")
    seen_comment = None
    for comment, glob, fmt in rules:
        if comment != seen_comment:
            lines.append(f"  # {comment}")
            seen_comment = comment
        if fmt is None:
            lines.append(f"  # {_scalar(glob)}: \"ap_fixed<32,12,AP_RND_CONV,AP_SAT>\"")
        else:
            lines.append(f"  {_scalar(glob)}: {_scalar(fmt)}")
    lines.append("")
    lines.append("inputs: " + _flow(in_ports) if any(v for v in in_ports.values())
                 else "inputs: " + _flow(list(in_ports)))
    lines.append("outputs: " + _flow(outputs))
    if task:
        lines.append("task: " + _flow(dict(task)))
    lines.append("")
    lines.append("blocks:")
    for comment, bname, fields in blocks:
        if comment:
            lines.append(f"  # {comment}")
        if "module" not in fields:
            lines.append(f"  {bname}: {_flow(fields)}")
            continue
        lines += [f"  {bname}:", f"    module: {fields['module']}",
                  f"    in: {_flow(fields['in'])}", "    params:"]
        lines += [f"      {key}: {_flow(value)}" for key, value in fields["params"].items()]
    return "\n".join(lines) + "\n", arrays


def _header(name, lay, ro, sizes, in_names, outputs, wfile, acts, source, notes) -> str:
    n_params = sum(a.size + b.size + c.size for a, b, c in lay) + \
        (ro[0].size + ro[1].size if ro else 0)
    shape = " -> ".join([f"input {len(in_names) if len(in_names) > 1 else sizes[0]}"] +
                        [f"l{k} {h} units" for k, h in enumerate(sizes[1:], 1)] +
                        ([f"readout {ro[0].shape[0]}"] if ro else []))
    act = ", ".join(f"{op} " + (f"table of {v['table'].get('size', 1024)} entries over "
                                f"[{', '.join(map(str, v['table'].get('range', [-8, 8])))})"
                                if "table" in v else
                                "pwl" if "pwl" in v else "exact")
                    for op, v in acts.items())
    out = [
        f"# {name}: an LSTM network (PyTorch nn.LSTM layout) as a circuit.",
        "# Generated by lstm_hw.importers.lstm_to_netlist" + (f" from {source}" if source else "")
        + ".",
        f"# The weights are in {wfile}.",
        "#",
        f"# Shape: {shape} ({n_params} parameters);",
        f"# inputs {', '.join(in_names)}; outputs {', '.join(outputs)}.",
        "# Layer k is the instance lk of lstm_hw's standard layer (lstm_hw/library/lstm.yaml),",
        "# per time step, gate order i, f, g, o as in PyTorch:",
        "#   lk.z_X = W_X @ [layer input, lk.h] + b_X  for X in i, f, g, o, where W_X holds gate",
        "#            X's rows of [weight_ih | weight_hh] and b_X = bias_ih + bias_hh (npz keys",
        "#            lk_W_X, lk_b_X)",
        "#   lk.i, lk.f, lk.o = sigmoid(lk.z_i, lk.z_f, lk.z_o);  lk.g = tanh(lk.z_g)",
        "#   lk.c_next = lk.f * lk.c + lk.i * lk.g;  lk.h_next = lk.o * tanh(lk.c_next)",
        "#   lk.c, lk.h: registers (init 0) that latch c_next and h_next for the next step.",
        "# Layer k+1 reads lk.h_next (this step's h): one time step is one clock cycle for the",
        "# whole stack (latency 0, initiation interval 1)."]
    if ro:
        out.append(f"# The readout {outputs[0]} = weight @ h + bias (npz keys {outputs[0]}_W, "
                   f"{outputs[0]}_b) reads the last layer's")
        out.append("# h_next.")
    out += [
        "# Activations: " + act.replace(", tanh", ",\n#   tanh") + ".",
        "# Formats: see precision: below; change them there or with --precision GLOB[:PART]=FMT.",
        "# With float64 weights in the npz, lstm_hw.run_reference reproduces PyTorch in float64.",
    ]
    if notes:
        out.append("#")
        for note in notes:
            out += [("# " + ln).rstrip() for ln in str(note).splitlines()]
    return "\n".join(out) + "\n"


# -- files ---------------------------------------------------------------------------------------
def write_netlist(path, layers, readout=None, *, name: str | None = None, dtype=np.float64,
                  check: bool = True, **kwargs) -> tuple[Path, Path]:
    """Write NAME.yaml and NAME.npz (the weights) at ``path``, whole or not at all.

    ``path`` is the .yaml file; the weights go next to it, with the same stem and .npz. Both are
    first written into a scratch folder and loaded there (``check``: every netlist error, e.g.
    from a format or table option, is raised before anything is replaced), then written in
    place (lstm_hw/files.py). Other keyword arguments are those of :func:`lstm_to_netlist`.
    Returns (yaml path, npz path).
    """
    path, npz = netlist_paths(path)
    text, arrays = lstm_to_netlist(layers, readout, name=name or path.stem,
                                   weights_file=npz.name, dtype=dtype, **kwargs)
    return write_files(path, text, arrays, check)


def write_files(path, text: str, arrays: dict[str, np.ndarray], check: bool = True
                ) -> tuple[Path, Path]:
    """Write a netlist's text at ``path`` and its arrays in the .npz beside it, whole or not at
    all (see :func:`write_netlist`)."""
    path, npz = netlist_paths(path)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    if check:
        _check_netlist(path, text, buf.getvalue())
    write_output(str(npz), buf.getvalue())
    write_output(str(path), text)
    return path, npz


def netlist_paths(path) -> tuple[Path, Path]:
    """The netlist an import writes and its weights file next to it (same stem, .npz)."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise ModelError(f"{path}: error: the netlist file name must end in .yaml or .yml")
    return path, path.with_suffix(".npz")


def _check_netlist(path: Path, text: str, weights: bytes) -> None:
    """Load the netlist as it will be written (in a scratch folder, with its weights)."""
    from .. import load
    from ..diagnostics import UserError
    with tempfile.TemporaryDirectory(prefix="lstm_hw_import_") as scratch:
        tmp_yaml = Path(scratch) / path.name
        tmp_yaml.with_suffix(".npz").write_bytes(weights)
        tmp_yaml.write_text(text, encoding="utf-8")
        try:
            load(tmp_yaml)
        except UserError as exc:
            raise ModelError(str(exc).replace(str(tmp_yaml), str(path))) from None


__all__ = ["DEFAULT_FORMAT", "ModelError", "ROLES", "from_keras", "from_keras_dense",
           "lstm_to_netlist", "netlist_paths", "normalise_layers", "write_files",
           "write_netlist"]
