"""How far the netlist's constants moved when they were quantised into their formats."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compile.circuit import Circuit
from ..fixed import FixedFormat


@dataclass
class ParamError:
    cell: str
    what: str              # weights, bias, value, init
    fmt: FixedFormat
    count: int
    max_error: float       # max |quantised - written|
    overflowed: int        # values outside the format's range
    worst: tuple[float, float]   # (written, quantised) of the worst value

    def describe(self) -> str:
        text = (f"{self.cell}.{self.what}: {self.count} value{'s' if self.count != 1 else ''} in "
                f"{self.fmt}, max error {self.max_error:.6g}")
        if self.overflowed:
            text += (f"; {self.overflowed} out of range (worst: {self.worst[0]:g} became "
                     f"{self.worst[1]:g})")
        return text


def parameter_errors(circuit: Circuit) -> list[ParamError]:
    out = []
    for c in circuit.cells:
        for what, raw_key, fmt_key in c.spec.constants:
            fmt = getattr(c.params, fmt_key) if fmt_key else c.fmt
            written = np.asarray(getattr(c.params, what), dtype=np.float64).ravel()
            got = fmt.to_float(np.asarray(getattr(c.params, raw_key)).ravel())
            err = np.abs(got - written)
            lo, hi = fmt.to_float(fmt.lo), fmt.to_float(fmt.hi)
            over = (written < lo) | (written > hi)
            k = int(np.argmax(err)) if err.size else 0
            out.append(ParamError(c.name, what, fmt, written.size,
                                  float(err.max()) if err.size else 0.0, int(over.sum()),
                                  (float(written[k]), float(got[k])) if err.size else (0, 0)))
    return out
