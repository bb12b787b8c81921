"""The bounded safe YAML loader: the same data as PyYAML's safe_load where within its bounds,
a located error beyond them (alias expansion, depth, recursive aliases)."""
from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from lstm_hw.diagnostics import NetlistError
from lstm_hw.netlist import safe_yaml

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False), st.text(max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_same_data_as_safe_load(data):
    text = yaml.safe_dump(data)
    assert safe_yaml.load(text, "doc.yaml") == yaml.safe_load(text)


def test_aliases_counted_expanded(monkeypatch):
    text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"      # 1 + 2 keys + (1 + 3) + (1 + 3 x 4) = 20 nodes
    assert safe_yaml.load(text, "t.yaml") == {"a": [1, 2, 3], "b": [[1, 2, 3]] * 3}
    monkeypatch.setenv("LSTM_HW_MAX_YAML_NODES", "20")
    assert safe_yaml.load(text, "t.yaml")["b"][2] == [1, 2, 3]
    monkeypatch.setenv("LSTM_HW_MAX_YAML_NODES", "19")
    with pytest.raises(NetlistError, match=r"^t\.yaml:1:1: error: this YAML expands to more "
                                           r"than 19 values.*LSTM_HW_MAX_YAML_NODES"):
        safe_yaml.load(text, "t.yaml")


def test_billion_laughs_refused_quickly():
    lines = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]" for k in range(1, 12)]
    with pytest.raises(NetlistError, match=r"^b\.yaml:7:5: error: this YAML expands"):
        safe_yaml.load("\n".join(lines), "b.yaml")     # 9**12 values from 600 bytes


@pytest.mark.parametrize("depth,ok", [(safe_yaml.MAX_DEPTH - 1, True), (300, False),
                                      (5000, False)])
def test_depth_bounded(depth, ok):
    text = "[" * depth + "]" * depth
    if ok:
        assert safe_yaml.load(text, "d.yaml") is not None
    else:
        with pytest.raises(NetlistError, match=r"^d\.yaml:1:\d+: error: YAML nested more than "):
            safe_yaml.load(text, "d.yaml")


def test_recursive_alias_refused():
    with pytest.raises(NetlistError, match=r"^r\.yaml:1:4: error: a YAML alias refers to a "
                                           r"node that contains it"):
        safe_yaml.load("a: &a [1, [2, *a]]\n", "r.yaml")


def test_unsafe_tag_refused_located():
    with pytest.raises(NetlistError, match=r"^u\.yaml:1:4: error: YAML syntax error: could not "
                                           r"determine a constructor"):
        safe_yaml.load("a: !!python/object/apply:os.system [echo]\n", "u.yaml")
