"""Hostile netlists: each case must fail cleanly (exit 2, a located message), within the limits."""
from __future__ import annotations

import pytest

from hostile import Case, run_case

CASES = [
    Case("netlist_undefined_signal", ["validate", "bad.yaml"],
         files={"bad.yaml": "lstm_hw: 1\nname: t\ninputs: [x]\noutputs: [y]\n"
                            "blocks:\n  y: {op: add, in: [x, q]}\n"},
         first=r"bad\.yaml:6:\d+: error: .*'q'"),
    Case("netlist_not_yaml", ["validate", "bad.yaml"], files={"bad.yaml": "a: [1, 2\n"},
         first=r"bad\.yaml:\d+:\d+: error: "),
    Case("netlist_missing_file", ["info", "nope.yaml"], first=r"nope\.yaml: error: "),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
