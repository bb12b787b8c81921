"""Hostile hls4ml configurations and models for `lstm-hw import --hls4ml`: each fails cleanly
(exit 2, a message naming the file and the setting), within the harness's limits, writing
nothing."""
from __future__ import annotations

import io

import numpy as np
import pytest

from hostile import Case, run_case


def _model(path) -> None:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, **{"lstm.weight_ih_l0": rng.normal(size=(8, 1)).astype(np.float32),
                     "lstm.weight_hh_l0": rng.normal(size=(8, 2)).astype(np.float32)})
    path.write_bytes(buf.getvalue())


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
IMPORT = ["import", "m.npz", "--hls4ml", "c.yml", "-o", "net.yaml"]


def case(name: str, config, first: str, model=_model) -> Case:
    return Case(f"hls4ml_{name}", IMPORT, files={"c.yml": config, "m.npz": model},
                first=first)


CASES = [
    case("yaml_bomb", LAUGHS, r"c\.yml:\d+:\d+: error: .*"),
    case("deep_nesting", "a: " + "[" * 200 + "]" * 200 + "\n", r"c\.yml:\d+:\d+: error: "),
    case("not_a_mapping", "[1, 2, 3]\n", r"c\.yml: expected hls4ml's configuration"),
    case("binary", b"\x00\xff\xfe" * 100, r"c\.yml.*(error|cannot read)"),
    case("layer_not_mapping", "Model: {Precision: 'ap_fixed<16,6>'}\nLayerName: {lstm: 7}\n",
         r"c\.yml: LayerName: 'lstm': expected a mapping"),
    case("huge_table", "Model: {Precision: 'ap_fixed<16,6>'}\nLayerName: {lstm: {TableSize: "
         "1099511627776}}\n", r"c\.yml: LayerName: lstm: TableSize 1099511627776: expected"),
    case("huge_type", "Model: {Precision: 'ap_fixed<100000,5>'}\n",
         r"c\.yml: Model: Precision: default: 'ap_fixed<100000,5>': "),
    case("bool_static", "Model: {Precision: 'ap_fixed<16,6>'}\nLayerName: {lstm: {Static: "
         "maybe}}\n", r"c\.yml: LayerName: lstm: Static 'maybe': expected true or false"),
    case("model_garbage", "Model: {Precision: 'ap_fixed<16,6>'}\n", r"m\.npz: cannot read",
         model=b"PK\x03\x04 not really a zip"),
    Case("hls4ml_config_missing", IMPORT, files={"m.npz": _model},
         first=r"c\.yml: error: cannot read the hls4ml configuration"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
