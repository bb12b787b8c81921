"""Hostile inputs that would run away or crash: YAML bombs and deep nesting, designs too big to
run, hostile weight files, caches, sweep files and options. Each case must end cleanly (exit 2,
the first line of the message as given, no traceback, no file changed) within the harness's
memory and time limits (tests/hostile.py)."""
from __future__ import annotations

import pytest

from hostile import Case, run_case

HEAD = "lstm_hw: 1\nname: t\ninputs: [x]\noutputs: [y]\n"


def laughs(levels: int = 9, key: str = "l") -> str:
    """A 'billion laughs' chain of anchors: level k repeats level k-1 nine times (9**levels
    values from a few hundred bytes); the last anchor is ``&{key}{levels - 1}``."""
    lines = [f"{key}0: &{key}0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for k in range(1, levels):
        lines.append(f"{key}{k}: &{key}{k} [" + ", ".join([f"*{key}{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


BOMB_CONST = (HEAD + "x_bomb:\n" + "".join("  " + line + "\n" for line in laughs().splitlines())
              + "blocks:\n  y: {op: const, value: *l8}\n")
BOMB_WEIGHTS = (HEAD + "x_bomb:\n" + "".join("  " + line + "\n" for line in laughs().splitlines())
                + "blocks:\n  y: {op: dot, in: x, weights: *l8, bias: 0}\n")
SWEEP_BOMB = ("x_bomb:\n" + "".join("  " + line + "\n" for line in laughs(key="w").splitlines())
              + "vary: {'*': 'ap_fixed<{W},4>'}\ngrid: {W: *w8}\n")

CASES = [
    # YAML: alias bombs, deep nesting and recursive aliases, wherever YAML is read
    Case("yaml_bomb_in_const", ["validate", "bomb.yaml"], files={"bomb.yaml": BOMB_CONST},
         first=r"bomb\.yaml:\d+:\d+: error: this YAML expands to more than 1,000,000 values"),
    Case("yaml_bomb_in_weights", ["info", "bomb.yaml"], files={"bomb.yaml": BOMB_WEIGHTS},
         first=r"bomb\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_bomb_in_sweep_file",
         ["sweep", "{netlists}/memory_cell.yaml", "--file", "sweep.yaml"],
         files={"sweep.yaml": SWEEP_BOMB},
         first=r"sweep\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_bomb_in_import", ["validate", "top.yaml"],
         files={"top.yaml": HEAD + "import: [lib.yaml]\nblocks:\n  y: {op: identity, in: x}\n",
                "lib.yaml": "x_bomb:\n" + "".join("  " + line + "\n"
                                                  for line in laughs().splitlines())},
         first=r".*lib\.yaml:\d+:\d+: error: this YAML expands"),
    Case("yaml_nested_300_levels", ["validate", "deep.yaml"],
         files={"deep.yaml": HEAD + "blocks:\n  y: {op: const, value: " + nested(300) + "}\n"},
         first=r"deep\.yaml:6:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_nested_300_block_levels", ["validate", "deep.yaml"],
         files={"deep.yaml": HEAD + "doc:\n" + "".join("  " * (k + 1) + f"k{k}:\n"
                                                       for k in range(300)) + "  " * 301 + "1\n"},
         first=r"deep\.yaml:\d+:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_nested_300_in_sweep_file",
         ["sweep", "{netlists}/memory_cell.yaml", "--file", "sweep.yaml"],
         files={"sweep.yaml": "vary: {'*': 'ap_fixed<{W},4>'}\ngrid: {W: " + nested(300) + "}\n"},
         first=r"sweep\.yaml:2:\d+: error: YAML nested more than 64 levels deep"),
    Case("yaml_recursive_alias", ["validate", "rec.yaml"],
         files={"rec.yaml": HEAD + "blocks: &b\n  y: {op: const, value: 1}\n  z: *b\n"},
         first=r"rec\.yaml:\d+:\d+: error: a YAML alias refers to a node that contains it"),
    Case("yaml_python_tag", ["validate", "tag.yaml"],
         files={"tag.yaml": HEAD + "blocks:\n  y: {op: const, value: !!python/object/apply:"
                                   "os.system [touch pwned]}\n"},
         first=r"tag\.yaml:6:\d+: error: "),
    Case("yaml_bomb_limit_lowered", ["validate", "{netlists}/memory_cell.yaml"],
         env={"LSTM_HW_MAX_YAML_NODES": "10"},
         first=r".*memory_cell\.yaml:\d+:\d+: error: this YAML expands to more than 10 values"),
    Case("limit_variable_not_a_number", ["validate", "{netlists}/memory_cell.yaml"],
         env={"LSTM_HW_MAX_YAML_NODES": "lots"},
         first=r"LSTM_HW_MAX_YAML_NODES='lots': expected a whole number"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile(case, tmp_path):
    run_case(case, tmp_path)
