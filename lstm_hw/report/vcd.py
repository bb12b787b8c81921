"""Waveforms: a per-cycle trace as a VCD file (IEEE 1364) that GTKWave and Surfer open.

One clock period is 10 time units (1 ns each): ``clk`` rises at 10 * cycle, when registers take
their new values, and falls halfway. Every fixed-point signal is a bit vector of its width
holding its raw two's complement bits, named ``NAME__FORMAT`` so the reader knows how to scale it
(GTKWave: Data Format > Fixed Point Shift by F). Hierarchical names (``in_gate.comb``,
``valid.d2``) become scopes. Each output also gets ``NAME_valid``: 1 in the cycles its value
belongs to a time step.
"""
from __future__ import annotations

import numpy as np

from ..diagnostics import UserError
from ..sim.simulator import Trace
from ..files import open_output

PERIOD = 10


def write_vcd(path: str, trace: Trace, top: str, output_valid: dict[str, np.ndarray],
              stream: int = 0, stdout=None) -> None:
    """trace: a per-cycle trace (Simulator.run_cycles); output_valid: name -> 0/1 per cycle."""
    try:
        from vcd import VCDWriter   # pyvcd: the optional 'vcd' extra
    except ImportError:
        raise UserError("--vcd needs pyvcd: pip install 'lstm_hw[vcd]'") from None

    data = trace.data[stream]
    with open_output(path, stdout=stdout) as fh, VCDWriter(fh, timescale="1 ns", date="",
                                             version="lstm_hw") as w:
        clk = w.register_var(top, "clk", "wire", size=1, init=0)
        columns = []
        col = 0
        for name, size, fmt in zip(trace.names, trace.sizes, trace.formats):
            *scope, leaf = name.split(".")
            for e in range(size):
                label = leaf if size == 1 else f"{leaf}_{e}"
                var = w.register_var((top, *scope), f"{label}__{fmt}", "wire", size=fmt.width,
                                     init=0, bit_index=(fmt.width - 1, 0))
                columns.append((var, col, (1 << fmt.width) - 1))
                col += 1
        flags = [(w.register_var(top, f"{name}_valid", "wire", size=1, init=0), bits)
                 for name, bits in output_valid.items()]
        last = [None] * len(columns)
        last_flag = [None] * len(flags)
        for t in range(data.shape[0]):
            w.change(clk, t * PERIOD, 1)
            for k, (var, c, mask) in enumerate(columns):
                bits = int(data[t, c]) & mask
                if bits != last[k]:
                    w.change(var, t * PERIOD, bits)
                    last[k] = bits
            for k, (var, valid) in enumerate(flags):
                if valid[t] != last_flag[k]:
                    w.change(var, t * PERIOD, int(valid[t]))
                    last_flag[k] = valid[t]
            w.change(clk, t * PERIOD + PERIOD // 2, 0)
        w.flush(data.shape[0] * PERIOD)
