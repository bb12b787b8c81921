"""Waveforms: a per-cycle trace as a VCD file (IEEE 1364) that GTKWave and Surfer open, and a
GTKWave save file beside it that shows every signal as the fixed-point number it holds.

One clock period is 10 time units (1 ns each): ``clk`` rises at 10 * cycle, when registers take
their new values, and falls halfway. Every element of every hardware signal is a bit vector of
its width holding its raw two's complement bits, named as the Verilog export names it
(``rtl/names.py``: ``l1.c`` element 3 is ``l1_c_3``, the pipeline register ``b.p1`` is ``b_p1``,
the time steps' valid bit ``in_valid``), all in one scope named after the netlist like the flat
Verilog module, so the RTL's waveforms (the generated testbench's ``+vcd=FILE``) carry the same
names. Each output also gets ``NAME_valid``: 1 in the cycles its value belongs to a time step.
The VCD's header comment lists every signal's netlist name and format.

The save file (``W.gtkw`` beside ``W.vcd``; none for stdout, a device or a FIFO) opens in
GTKWave (``gtkwave W.gtkw``) with the inputs first, then the signals grouped by netlist module
instance and block (a block's pipeline and balancing registers with it, an output's valid bit
right after it), each shown as a signed or unsigned decimal shifted by its fractional bits
(GTKWave's Fixed Point Shift: ``[fpshift_count] F`` before the trace, flag bit 30 with the
Signed or Decimal flag); a format without fractional bits (or with more than 63, or fewer than
0) shows its raw integer, its alias saying the format.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import numpy as np

from ..compile.circuit import Circuit
from ..diagnostics import UserError
from ..files import STDOUT, OutputError, open_output
from ..fixed import FixedFormat
from ..rtl.names import hardware_names
from ..sim.simulator import Simulator, Trace

PERIOD = 10
MAX_SHIFT = 63      # GTKWave's fixed-point shift works on 64-bit integers


@dataclass
class Wave:
    """One waveform: its VCD name (in the top scope; ``[W-1:0]`` follows it when W > 1), width
    and format (None: a valid bit), the netlist block it shows, the save file's alias for it,
    and the trace column it takes its values from (None: the valid bit of the output
    ``block``)."""
    name: str
    width: int
    fmt: FixedFormat | None
    block: str
    alias: str
    column: int | None


def save_file_path(vcd: str | None) -> str | None:
    """The GTKWave save file written with the VCD ``vcd``: ``NAME.gtkw`` beside it, None for
    stdout, a device or a FIFO. A path the save file cannot name is refused."""
    if not vcd or vcd == STDOUT:
        return None
    try:
        if not stat.S_ISREG(os.stat(vcd).st_mode):
            return None
    except (OSError, ValueError):
        pass     # a new file (or one that check_outputs refuses)
    if any(ch in vcd for ch in '"\n\r'):
        raise OutputError(f"{vcd!r}: error: --vcd: its GTKWave save file cannot name a file "
                          "whose name holds a quote or a line break: rename it")
    root, ext = os.path.splitext(vcd)
    return (root if ext.lower() == ".vcd" else vcd) + ".gtkw"


def block_of(name: str, netlist: Circuit) -> str:
    """The netlist block a hardware cell shows: the one whose name its own extends (``b.p1``,
    ``b.comb``, ``x.d2``, ``r.enable`` belong to ``b``, ``x``, ``r``); the valid bit of the time
    steps and its delays (``valid``, ``valid.dK``) to ``valid``."""
    block = name
    while block not in netlist.by_name and "." in block:
        block = block.rsplit(".", 1)[0]
    return block if block in netlist.by_name else "valid"


def waves(trace: Trace, sim: Simulator, valid_names: list[str]) -> list[Wave]:
    """The VCD's signals: each element of each traced hardware signal in the trace's order,
    then the valid bits of the outputs valid_names."""
    hw, netlist = sim.hardware, sim.circuit
    names = hardware_names(hw, sim.timing.timed)
    out, col = [], 0
    for name, size, fmt in zip(trace.names, trace.sizes, trace.formats):
        cid = hw.by_name[name]
        for e in range(size):
            label = name if size == 1 else f"{name}[{e}]"
            out.append(Wave(names.signals[(cid, e)], fmt.width,
                            None if cid == names.valid_input else fmt, block_of(name, netlist),
                            f"{label} {fmt}", col))
            col += 1
    for name in valid_names:
        k = netlist.outputs.index(netlist.by_name[name])
        out.append(Wave(names.valids[k], 1, None, name, f"{name} valid", None))
    return out


def write_vcd(path: str, trace: Trace, sim: Simulator, output_valid: dict[str, np.ndarray],
              stream: int = 0, stdout=None) -> None:
    """trace: a per-cycle trace of sim's hardware (Simulator.run_cycles); output_valid: output
    name -> 0/1 per cycle. Writes the save file beside it too (``save_file_path``)."""
    try:
        from vcd import VCDWriter   # pyvcd: the optional 'vcd' extra
    except ImportError:
        raise UserError("--vcd needs pyvcd: pip install 'lstm_hw[vcd]'") from None

    top = sim.circuit.name
    signals = waves(trace, sim, list(output_valid))
    data = trace.data[stream]
    comment = "lstm_hw: the raw bits of each signal, named as in the Verilog export:\n" + \
        "\n".join(f"  {w.name}: {w.alias}" for w in signals)
    with open_output(path, stdout=stdout) as fh, VCDWriter(fh, timescale="1 ns", date="",
                                                           comment=comment,
                                                           version="lstm_hw") as w:
        clk = w.register_var(top, "clk", "wire", size=1, init=0)
        columns = []
        for wave in signals:
            extra = {"bit_index": (wave.width - 1, 0)} if wave.width > 1 else {}
            var = w.register_var(top, wave.name, "wire", size=wave.width, init=0, **extra)
            values = output_valid[wave.block] if wave.column is None else data[:, wave.column]
            columns.append((var, values, (1 << wave.width) - 1))
        last = [None] * len(columns)
        for t in range(data.shape[0]):
            w.change(clk, t * PERIOD, 1)
            for k, (var, values, mask) in enumerate(columns):
                bits = int(values[t]) & mask
                if bits != last[k]:
                    w.change(var, t * PERIOD, bits)
                    last[k] = bits
            w.change(clk, t * PERIOD + PERIOD // 2, 0)
        w.flush(data.shape[0] * PERIOD)
    save = save_file_path(path)
    if save:
        write_save_file(save, path, top, signals, sim.circuit)


def write_save_file(save: str, vcd: str, top: str, signals: list[Wave], netlist: Circuit
                    ) -> None:
    """The GTKWave save file of the VCD ``vcd`` (see the module's docstring)."""
    from vcd.gtkw import GTKWFlag, GTKWSave

    with open_output(save) as fh:
        gtkw = GTKWSave(fh)
        gtkw.comment(f"lstm_hw: the waveforms of {top}, each signal as its fixed-point value")
        gtkw.dumpfile(vcd)
        gtkw.savefile(save)
        gtkw.timestart(0)
        gtkw.trace(f"{top}.clk", datafmt="bin")
        for instance, blocks in wave_groups(signals, netlist):
            if instance:
                gtkw.begin_group(instance)
            for block, members in blocks:
                if len(members) > 1:
                    gtkw.begin_group(block)
                for wave in members:
                    fmt = wave.fmt
                    name = f"{top}.{wave.name}" + (f"[{wave.width - 1}:0]" if wave.width > 1
                                                   else "")
                    if fmt is None:
                        gtkw.trace(name, alias=wave.alias, datafmt="bin")
                        continue
                    shift = 0 < fmt.frac <= MAX_SHIFT
                    if shift:   # GTKWave applies it to the traces that follow
                        print(f"[fpshift_count] {fmt.frac}", file=fh)
                    gtkw.trace(name, alias=wave.alias,
                               datafmt="signed" if fmt.signed else "dec",
                               extraflags=GTKWFlag.fpdecshift if shift else GTKWFlag.none)
                if len(members) > 1:
                    gtkw.end_group(block)
            if instance:
                gtkw.end_group(instance)


def wave_groups(signals: list[Wave], netlist: Circuit
                ) -> list[tuple[str, list[tuple[str, list[Wave]]]]]:
    """[(group, [(block, its waves)])]: first the group 'inputs' (the inputs and the valid bit
    of the time steps), then the blocks in the order of the trace, a netlist module instance's
    blocks in one group named after it (``l1`` for ``l1.c``), a top-level block in a group of
    its own name ''. An output's valid bit comes right after the output."""
    blocks: dict[str, list[Wave]] = {}
    for w in signals:
        if w.column is not None:
            blocks.setdefault(w.block, []).append(w)
    for w in signals:
        if w.column is None:
            blocks.setdefault(w.block, []).append(w)
    inputs = {netlist.cells[i].name for i in netlist.inputs} | {"valid"}
    groups: list[tuple[str, list[tuple[str, list[Wave]]]]] = [("inputs", [])]
    instances: dict[str, list[tuple[str, list[Wave]]]] = {}
    for block, members in blocks.items():
        if block in inputs:
            groups[0][1].append((block, members))
        elif "." in block:
            instance = block.rsplit(".", 1)[0]
            if instance not in instances:
                instances[instance] = []
                groups.append((instance, instances[instance]))
            instances[instance].append((block, members))
        else:
            groups.append(("", [(block, members)]))
    return groups
