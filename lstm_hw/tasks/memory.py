"""The lecture's memory task: x2 = 1 adds x1 into the memory, x2 = -1 resets it, x3 = 1 outputs it.

A netlist does the task if it has three input elements (x1, x2, x3, in that order) and one output
element (y). ``ideal`` is the rule itself; ``score`` compares a run with it. A step counts as
right when |y - ideal| < tolerance (default 0.5: the answers are whole numbers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The lecture's sequence (seed/README.md): columns x1, x2, x3; and its answer y.
LECTURE_INPUTS = np.array([[1, 0, 0], [3, 1, 0], [2, 0, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1],
                           [3, -1, 0], [6, 1, 0], [1, 0, 1]], dtype=np.float64)
LECTURE_Y = np.array([0, 0, 0, 0, 0, 7, 0, 0, 6], dtype=np.float64)


@dataclass(frozen=True)
class TaskSpec:
    """How random sequences are drawn."""

    p_add: float = 0.3          # P(x2 = 1)
    p_reset: float = 0.1        # P(x2 = -1)
    p_output: float = 0.2       # P(x3 = 1)
    x1_values: tuple[int, int] = (1, 9)   # x1 drawn uniformly from these integers (inclusive)
    max_memory: float = 100.0   # a step that would take |memory| past this resets instead


def spec_of(settings: dict) -> TaskSpec:
    return TaskSpec(**{k: v for k, v in settings.items() if k in TaskSpec.__dataclass_fields__})


def generate(n_sequences: int, steps: int, seed: int = 0, spec: TaskSpec = TaskSpec()):
    """Seeded random sequences: float64 [n_sequences, steps, 3] (x1, x2, x3)."""
    rng = np.random.default_rng(seed)
    x1 = rng.integers(spec.x1_values[0], spec.x1_values[1] + 1, (n_sequences, steps))
    u = rng.random((n_sequences, steps))
    x2 = np.where(u < spec.p_add, 1, np.where(u < spec.p_add + spec.p_reset, -1, 0))
    x3 = (rng.random((n_sequences, steps)) < spec.p_output).astype(np.int64)
    memory = np.zeros(n_sequences)
    for t in range(steps):   # keep the ideal memory within range: too large an add resets
        over = (x2[:, t] == 1) & (np.abs(memory + x1[:, t]) > spec.max_memory)
        x2[over, t] = -1
        memory = np.where(x2[:, t] == 1, memory + x1[:, t],
                          np.where(x2[:, t] == -1, 0.0, memory))
    return np.stack([x1, x2, x3], axis=2).astype(np.float64)


def ideal(inputs: np.ndarray) -> np.ndarray:
    """The rule: y [sequences, steps] for inputs [sequences, steps, 3]."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    y = np.zeros(x.shape[:2])
    memory = np.zeros(x.shape[0])
    for t in range(x.shape[1]):
        memory = np.where(x[:, t, 1] == 1, memory + x[:, t, 0],
                          np.where(x[:, t, 1] == -1, 0.0, memory))
        y[:, t] = np.where(x[:, t, 2] == 1, memory, 0.0)
    return y


@dataclass
class Score:
    output_steps: int
    silent_steps: int
    output_accuracy: float     # fraction of x3 = 1 steps with |y - ideal| < tolerance
    silent_accuracy: float     # fraction of x3 = 0 steps with |y| < tolerance
    max_err_ideal: float       # max |y - ideal| over all steps
    first_wrong: tuple[int, int] | None   # (sequence, step) of the first wrong step
    min_accuracy: float = 1.0

    @property
    def passed(self) -> bool:
        return min(self.output_accuracy, self.silent_accuracy) >= self.min_accuracy


def score(y: np.ndarray, inputs: np.ndarray, tolerance: float = 0.5,
          min_accuracy: float = 1.0) -> Score:
    """Score outputs y [sequences, steps] against the ideal answer of inputs."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    want = ideal(x)
    y = np.asarray(y, dtype=np.float64).reshape(want.shape)
    out = x[:, :, 2] == 1
    err = np.abs(y - want)
    right = err < tolerance
    wrong = np.argwhere(~right)
    first = None
    if len(wrong):
        # the earliest step, then the lowest sequence: where a reader should look first
        k = np.lexsort((wrong[:, 0], wrong[:, 1]))[0]
        first = (int(wrong[k, 0]), int(wrong[k, 1]))
    n_out, n_silent = int(out.sum()), int((~out).sum())
    return Score(n_out, n_silent,
                 float(right[out].mean()) if n_out else 1.0,
                 float(right[~out].mean()) if n_silent else 1.0,
                 float(err.max()) if err.size else 0.0, first, min_accuracy)
