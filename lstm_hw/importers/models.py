"""Trained models in -> LSTM layers in PyTorch layout (plain numpy), ready for lstm_to_netlist.

- ``from_torch(lstm, readout)``: an ``nn.LSTM`` (or ``nn.LSTMCell``) module and an optional
  ``nn.Linear``. torch is imported here only, lazily: the rest of lstm_hw never needs it.
- ``layers_from_state_dict(arrays)``: the keys of a saved ``state_dict`` (``weight_ih_l0``,
  ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ... under one optional prefix such as
  ``lstm.``, plus a readout ``readout.weight``/``readout.bias`` or another single Linear).
- ``layers_from_keras(arrays)``: Keras-layout arrays (``kernel``, ``recurrent_kernel``,
  ``bias`` per layer under a prefix, plus an optional Dense ``kernel``/``bias``).
- ``load_model(path)``: a ``.pt``/``.pth`` state dict (needs torch) or an ``.npz`` of the same
  keys (no torch needed).
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import limits, npz
from .lstm import ModelError, from_keras, from_keras_dense

_LSTM_KEY = re.compile(r"^(?P<prefix>.*?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
                       r"_l(?P<layer>\d+)(?P<reverse>_reverse)?$")


def _torch():
    try:
        import torch
    except ImportError:
        raise ModelError("this needs PyTorch, which is not installed (pip install torch); "
                         "without it, save the weights as .npz arrays (the state_dict's keys, "
                         "or Keras layout with --keras)") from None
    return torch


TORCH_SAFE_LOAD = (2, 6)   # from 2.6, torch.load(weights_only=True) runs no code from the file


def _torch_for_loading(path):
    """torch, if its ``weights_only`` loader can be trusted with a file from anywhere."""
    torch = _torch()
    found = re.match(r"(\d+)\.(\d+)", str(getattr(torch, "__version__", "")))
    if found is None or tuple(map(int, found.groups())) < TORCH_SAFE_LOAD:
        version = getattr(torch, "__version__", "of unknown version")
        raise ModelError(f"{path}: PyTorch {version} is too old to read a model file safely: "
                         f"torch.load(weights_only=True) can run code from the file before "
                         f"{'.'.join(map(str, TORCH_SAFE_LOAD))} (pip install "
                         f"'torch>={'.'.join(map(str, TORCH_SAFE_LOAD))}'), or save the weights "
                         "as .npz arrays")
    return torch


def _np(value, key: str) -> np.ndarray:
    if hasattr(value, "detach"):
        return value.detach().cpu().double().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ModelError(f"'{key}' is not an array of numbers")
    return arr.astype(np.float64)


def from_torch(module, readout=None):
    """``(layers, readout)`` in PyTorch layout from an ``nn.LSTM`` (any num_layers, batch_first
    either way; unidirectional, no proj_size) or ``nn.LSTMCell``, and an optional ``nn.Linear``
    (or an ``nn.Sequential`` ending in one, with nothing else in it). Pass the result on:
    ``lstm_to_netlist(*from_torch(lstm, linear))``."""
    torch = _torch()
    nn = torch.nn
    if isinstance(module, nn.LSTM):
        if module.bidirectional:
            raise ModelError("bidirectional LSTMs are not supported: a circuit runs forward in "
                             "time (use bidirectional=False)")
        if getattr(module, "proj_size", 0):
            raise ModelError(f"LSTMs with projections (proj_size={module.proj_size}) are not "
                             "supported")
        if getattr(module, "mode", "LSTM") != "LSTM":
            raise ModelError(f"not an LSTM: mode {module.mode}")
        layers = []
        for k in range(module.num_layers):
            layer = {"weight_ih": getattr(module, f"weight_ih_l{k}"),
                     "weight_hh": getattr(module, f"weight_hh_l{k}")}
            if module.bias:
                layer["bias_ih"] = getattr(module, f"bias_ih_l{k}")
                layer["bias_hh"] = getattr(module, f"bias_hh_l{k}")
            layers.append({k2: _np(v, k2) for k2, v in layer.items()})
    elif isinstance(module, nn.LSTMCell):
        layer = {"weight_ih": module.weight_ih, "weight_hh": module.weight_hh}
        if module.bias:
            layer.update(bias_ih=module.bias_ih, bias_hh=module.bias_hh)
        layers = [{k2: _np(v, k2) for k2, v in layer.items()}]
    else:
        raise ModelError(f"expected a torch.nn.LSTM or nn.LSTMCell, got {type(module).__name__}")
    ro = None
    if readout is not None:
        if isinstance(readout, nn.Sequential) and len(readout) == 1:
            readout = readout[0]
        if not isinstance(readout, nn.Linear):
            raise ModelError(f"the readout must be a torch.nn.Linear, got "
                             f"{type(readout).__name__}")
        ro = {"weight": _np(readout.weight, "weight")}
        if readout.bias is not None:
            ro["bias"] = _np(readout.bias, "bias")
    return layers, ro


def layers_from_state_dict(arrays: Mapping, readout_prefix: str | None = None,
                           where: str = "the state dict"):
    """``(layers, readout)`` from a state dict's keys (arrays or tensors)."""
    if not isinstance(arrays, Mapping):
        raise ModelError(f"{where}: expected a state_dict (a mapping of names to tensors), got "
                         f"{type(arrays).__name__} (save model.state_dict(), not the model)")
    if "state_dict" in arrays and isinstance(arrays["state_dict"], Mapping):
        arrays = arrays["state_dict"]          # a training checkpoint
    found: dict[str, dict[int, dict[str, str]]] = {}
    rest = []
    for key in arrays:
        if not isinstance(key, str):
            raise ModelError(f"{where}: key {key!r} is not a name")
        m = _LSTM_KEY.match(key)
        if not m:
            rest.append(key)
            continue
        if m["reverse"]:
            raise ModelError(f"{where}: '{key}' belongs to a bidirectional LSTM, which is not "
                             "supported (a circuit runs forward in time)")
        if m["kind"] == "weight_hr":
            raise ModelError(f"{where}: '{key}' belongs to an LSTM with projections (proj_size), "
                             "which is not supported")
        found.setdefault(m["prefix"], {}).setdefault(int(m["layer"]), {})[m["kind"]] = key
    if not found:
        raise ModelError(f"{where}: no LSTM weights (expected keys weight_ih_l0, weight_hh_l0, "
                         f"...; found {_some(list(arrays))})")
    if len(found) > 1:
        raise ModelError(f"{where}: weights of {len(found)} LSTMs (prefixes "
                         f"{', '.join(repr(p) for p in found)}); expected one")
    prefix, by_layer = next(iter(found.items()))
    n = max(by_layer) + 1
    layers = []
    for k in range(n):
        keys = by_layer.get(k)
        if keys is None:
            raise ModelError(f"{where}: layer {k} is missing ({prefix}weight_ih_l{k} ...)")
        for need in ("weight_ih", "weight_hh"):
            if need not in keys:
                raise ModelError(f"{where}: '{prefix}{need}_l{k}' is missing")
        if ("bias_ih" in keys) != ("bias_hh" in keys):
            have, miss = ("bias_ih", "bias_hh") if "bias_ih" in keys else ("bias_hh", "bias_ih")
            raise ModelError(f"{where}: '{prefix}{have}_l{k}' without '{prefix}{miss}_l{k}'")
        layers.append({kind: _np(arrays[key], key) for kind, key in keys.items()})
    ro_keys = _readout_keys(rest, readout_prefix, where)
    extra = [k for k in rest if k not in ro_keys.values()]
    if extra:
        raise ModelError(f"{where}: unexpected key{'s' if len(extra) > 1 else ''} "
                         f"{_some(extra)} (an LSTM's weights and one Linear readout are "
                         "expected; name the readout with --readout-prefix)")
    ro = None
    if ro_keys:
        ro = {part: _np(arrays[key], key) for part, key in ro_keys.items()}
    return layers, ro


def _readout_keys(rest: list[str], prefix: str | None, where: str) -> dict[str, str]:
    if prefix is not None:
        p = prefix.rstrip(".")
        keys = {part: f"{p}.{part}" for part in ("weight", "bias") if f"{p}.{part}" in rest}
        if "weight" not in keys:
            cands = sorted({k[:-len(".weight")] for k in rest if k.endswith(".weight")})
            raise ModelError(f"{where}: no '{p}.weight' for the readout"
                             + (f" (Linear layers found: {', '.join(cands)})" if cands else ""))
        return keys
    if "readout.weight" in rest:
        return {part: f"readout.{part}" for part in ("weight", "bias") if f"readout.{part}" in rest}
    weights = [k for k in rest if k.endswith("weight")]
    if len(weights) == 1:
        p = weights[0][:-len("weight")]
        keys = {part: f"{p}{part}" for part in ("weight", "bias") if f"{p}{part}" in rest}
        if set(keys.values()) == set(rest):
            return keys
    return {}


def layers_from_keras(arrays: Mapping, readout_prefix: str | None = None,
                      where: str = "the Keras weights"):
    """``(layers, readout)`` from Keras-layout arrays: per LSTM layer ``P kernel``,
    ``P recurrent_kernel``, ``P bias`` (P a prefix such as ``lstm_1/`` or ``layer0_``, layers
    in the order of their keys), and optionally one Dense ``Q kernel`` (+ ``Q bias``)."""
    keys = [k[:-2] if k.endswith(":0") else k for k in arrays]   # TF variable names
    by_name = dict(zip(keys, arrays))
    prefixes = [k[:-len("recurrent_kernel")] for k in keys if k.endswith("recurrent_kernel")]
    if not prefixes:
        raise ModelError(f"{where}: no LSTM weights (expected keys kernel, recurrent_kernel, "
                         f"bias, each after a layer prefix; found {_some(keys)})")
    used = set()
    layers = []
    for p in prefixes:
        if p + "kernel" not in by_name:
            raise ModelError(f"{where}: '{p}recurrent_kernel' without '{p}kernel'")
        bias = by_name.get(p + "bias")
        try:
            layers.append(from_keras(_np(arrays[by_name[p + "kernel"]], p + "kernel"),
                                     _np(arrays[by_name[p + "recurrent_kernel"]],
                                         p + "recurrent_kernel"),
                                     None if bias is None else _np(arrays[bias], p + "bias")))
        except ModelError as exc:
            raise ModelError(f"{where}: layer '{p}': {exc}") from None
        used |= {p + "kernel", p + "recurrent_kernel", p + "bias"}
    rest = [k for k in keys if k not in used]
    if readout_prefix is not None:
        dense = [readout_prefix] if readout_prefix + "kernel" in rest else []
        if not dense:
            raise ModelError(f"{where}: no '{readout_prefix}kernel' for the readout")
    else:
        dense = [k[:-len("kernel")] for k in rest if k.endswith("kernel")]
    if len(dense) > 1:
        raise ModelError(f"{where}: several Dense layers ({', '.join(dense)}); name the readout "
                         "with --readout-prefix")
    ro = None
    if dense:
        q = dense[0]
        bias = by_name.get(q + "bias")
        ro = from_keras_dense(_np(arrays[by_name[q + "kernel"]], q + "kernel"),
                              None if bias is None else _np(arrays[bias], q + "bias"))
        used |= {q + "kernel", q + "bias"}
    extra = [k for k in keys if k not in used]
    if extra:
        raise ModelError(f"{where}: unexpected key{'s' if len(extra) > 1 else ''} {_some(extra)}")
    return layers, ro


def _some(keys: list[str], n: int = 6) -> str:
    shown = ", ".join(repr(k) for k in keys[:n])
    return (shown + f", ... ({len(keys)} keys)") if len(keys) > n else (shown or "no keys")


def read_npz(path) -> dict[str, np.ndarray]:
    if not Path(path).is_file():
        raise ModelError(f"{path}: no such file")
    try:
        return npz.read_npz(path, limits.get("memory"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read as .npz: {exc}") from None


def read_state_dict(path) -> Mapping:
    """A state dict saved with ``torch.save`` (read with weights_only=True: no code runs)."""
    if not Path(path).is_file():   # said first: it holds with or without torch
        raise ModelError(f"{path}: no such file")
    torch = _torch_for_loading(path)
    try:
        with warnings.catch_warnings():   # torch's warnings about the file are not for users
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # torch raises many kinds (pickle, zip, runtime) for a bad file
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        why = f"{type(exc).__name__}: {first}" if first and not isinstance(exc, KeyError) \
            else "not a file written by torch.save"
        raise ModelError(f"{path}: cannot read as a PyTorch state_dict ({why})") from None


def load_model(path, keras: bool = False, readout_prefix: str | None = None):
    """``(layers, readout)`` from a file: .npz (state-dict keys, or Keras layout with
    ``keras``) or a torch.save'd state dict (.pt, .pth, anything else)."""
    path = str(path)
    if keras or path.endswith(".npz"):
        arrays = read_npz(path)
        if keras:
            return layers_from_keras(arrays, readout_prefix, path)
        return layers_from_state_dict(arrays, readout_prefix, path)
    return layers_from_state_dict(read_state_dict(path), readout_prefix, path)
