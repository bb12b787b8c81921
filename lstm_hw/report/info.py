"""``info``: what a netlist elaborates to, in words a hardware designer reads."""
from __future__ import annotations

from collections import Counter

from ..compile.cells import DSP_A, DSP_B, DSP_LUTS
from ..compile.circuit import Circuit
from ..compile.pipeline import Compiled, compile_circuit, hardware_cost, \
    hardware_costs
from ..sim.codegen import describe_dots
from .params import parameter_errors
from .table import render_table


def render_timing(circuit: Circuit) -> list[str]:
    """Latency of each output, the initiation interval and what limits it, as paths of cells."""
    from ..compile.timing import loop_path
    t = compile_circuit(circuit).timing
    cells = circuit.cells
    lat = ", ".join(f"{cells[o].name} {t.finish[o]}" for o in circuit.outputs)
    lines = [f"timing: one clock; output latency (cycles from a step's inputs to the output "
             f"being valid): {lat}",
             f"  initiation interval: {t.ii} cycle{'s' if t.ii > 1 else ''} between time steps "
             f"(the design allows {t.min_ii})"]
    for r in circuit.regs:
        path = " -> ".join(cells[p].name for p in loop_path(cells, t.finish, r))
        lines.append(f"  recurrence through '{cells[r].name}': read at cycle {t.finish[r]}, "
                     f"written after cycle {t.written[r]}: {t.written[r] - t.finish[r] + 1} "
                     f"cycle{'s' if t.written[r] - t.finish[r] else ''} ({path} -> "
                     f"{cells[r].name})")
    for cid, n in t.fold_cycles.items():
        c = cells[cid]
        lines.append(f"  folded '{c.name}': {c.params.w_raw.size} products on "
                     f"{c.params.multipliers} multipliers, {n} cycles per result")
    return lines


def render_info(circuit: Circuit) -> str:
    cells = circuit.cells
    ops = Counter(c.op for c in cells)
    lines = [f"{circuit.name} ({circuit.path})"]
    if circuit.doc:
        lines.append(f"  {circuit.doc}")
    lines.append("cells: " + ", ".join(f"{n} {op}" for op, n in sorted(ops.items())) +
                 f" ({len(cells)} in all)")
    lines.append("inputs: " + ", ".join(circuit.input_columns()))
    lines.append("outputs: " + ", ".join(circuit.output_columns()))
    regs = [cells[r] for r in circuit.regs]
    lines.append("registers: " + (", ".join(f"{r.name}[{r.size}] <- {cells[r.args[0]].name}"
                                             for r in regs) or "none"))
    lines += render_timing(circuit)
    lines += ["", "signals:"]
    rows = []
    costs = hardware_costs(circuit)      # each signal's pipeline and balancing registers with it
    for c in cells:
        lo, hi = c.fmt.to_float(c.fmt.lo), c.fmt.to_float(c.fmt.hi)
        impl = c.impl
        if impl == "table":
            impl = c.params.table.describe()
        elif impl == "pwl":
            impl = c.params.pwl.describe()
        rows.append([c.name, c.op, c.size, str(c.fmt), f"[{lo:g}, {hi:g}]",
                     f"2^{-c.fmt.frac}", f"{costs[c.name]['total']:,.0f}", impl])
    lines += ["  " + ln for ln in render_table(
        ["name", "op", "size", "format", "range", "step", "cost", "implementation"], rows,
        "llrlllrl").splitlines()]
    errors = parameter_errors(circuit)
    if errors:
        lines += ["", "constants, quantised into their formats:"]
        lines += [f"  {e.describe()}" for e in errors]
    lines += [""] + render_cost(hardware_cost(circuit))
    if None in costs:
        lines.append(f"  (the valid bits: {costs[None]['reg_bits']:,} register bits)")
    lines += render_lanes(compile_circuit(circuit))
    return "\n".join(lines)


def render_lanes(compiled: Compiled) -> list[str]:
    """The integers the compiled engine computes each weighted sum in (compile/schedule.py:
    DotLanes), proven from the weights and the inputs' bounds."""
    p = compiled.program
    dots = describe_dots(p)
    if not dots:
        return []
    return ["", "compiled engine, weighted sums (integers proven wide enough by the bounds):"] + \
        [f"  {compiled.hardware.cells[p.cell_ids[i]].name}: {text}" for i, text in dots.items()]


def render_cost(total: dict) -> list[str]:
    """The cost estimate (compile/cells.py: cost) in a few lines."""
    return [f"cost estimate: {total['total']:,.0f} LUT-equivalents "
            f"(= LUTs + {DSP_LUTS} per DSP + register bits / 2)",
            f"  multipliers: {total['multipliers']} ({total['mult_bits']:,} operand-bit "
            f"products): {total['dsp']} DSP slices ({DSP_A}x{DSP_B}), {total['mult_luts']:,} "
            f"LUTs for products under 9 bits",
            f"  adders {total['adder_bits']:,} bits, rounding/saturation/mux logic "
            f"{total['logic_bits']:,} bits, registers {total['reg_bits']:,} bits, lookup tables "
            f"{total['table_bits']:,} bits in {total['table_luts']:,} LUTs"]


def render_dump(compiled: Compiled) -> str:
    """What runs: the elaborated circuit, the clocked hardware (for a timed netlist) and the
    program the engines execute."""
    parts = [compiled.circuit.dump()]
    if compiled.hardware is not compiled.circuit:
        parts.append("hardware " + compiled.hardware.dump().removeprefix("circuit "))
    parts.append(compiled.program.dump(compiled.hardware))
    return "\n\n".join(parts)
