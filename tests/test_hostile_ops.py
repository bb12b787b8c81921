"""Hostile parameters of the min, max and clip ops: each is refused with a located message."""
from __future__ import annotations

import pytest

from hostile import Case, run_case

HEAD = "lstm_hw: 1\nname: t\nformat: ap_fixed<8,3>\ninputs: [x]\noutputs: [y]\nblocks:\n"
CASES = [
    Case("clip_lo_above_hi", ["validate", "bad.yaml"],
         files={"bad.yaml": HEAD + "  y: {op: clip, in: x, lo: 1, hi: -1}\n"},
         first=r"bad\.yaml:7:\d+: error: block 'y': 'lo' is above 'hi'"),
    Case("clip_hi_outside_format", ["run", "bad.yaml", "-i", "in.csv"],
         files={"bad.yaml": HEAD + "  y: {op: clip, in: x, lo: 0, hi: 100}\n",
                "in.csv": "x\n1\n"},
         first=r"bad\.yaml:7:\d+: error: block 'y': 'hi' does not fit its format"),
    Case("clip_missing_hi", ["info", "bad.yaml"],
         files={"bad.yaml": HEAD + "  y: {op: clip, in: x, lo: 0}\n"},
         first=r"bad\.yaml:7:\d+: error: .*'hi'"),
    Case("clip_lo_not_a_number", ["validate", "bad.yaml"],
         files={"bad.yaml": HEAD + "  y: {op: clip, in: x, lo: x, hi: 1}\n"},
         first=r"bad\.yaml:7:\d+: error: block 'y': 'lo' must be numbers"),
    Case("max_one_input", ["validate", "bad.yaml"],
         files={"bad.yaml": HEAD + "  y: {op: max, in: x}\n"},
         first=r"bad\.yaml:7:\d+: error: .*at least 2"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
