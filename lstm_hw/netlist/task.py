"""The netlist's ``task:`` section: how ``lstm-hw check`` draws the memory task's sequences and
judges a run (tasks/memory.py uses the settings): p_add, p_reset, p_output (P(x2 = 1), P(x2 = -1),
P(x3 = 1)), x1_values ([lo, hi], the integers x1 is drawn from), max_memory (an add that would take
|memory| past it resets instead), tolerance (|y - ideal| below it is right; default 0.5) and
min_accuracy (the fraction of output and of silent steps that must be right; default 1). Syntax,
so checked here, where every value still has its location."""
from __future__ import annotations

TASK_KEYS = ("p_add", "p_reset", "p_output", "x1_values", "max_memory", "tolerance",
             "min_accuracy")


def task_setting(key: str, value):
    """The value of one of TASK_KEYS, validated and converted; ValueError saying what is
    expected."""
    if key == "x1_values":
        if not (isinstance(value, list) and len(value) == 2 and all(
                isinstance(k, int) and not isinstance(k, bool) for k in value)
                and value[0] <= value[1]):
            raise ValueError("x1_values must be [lo, hi], two integers with lo <= hi")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"'{key}' must be a non-negative number")
    if (key.startswith("p_") or key == "min_accuracy") and value > 1:
        raise ValueError(f"'{key}' must be from 0 to 1")
    return float(value)
