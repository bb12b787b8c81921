"""``info``: what a netlist elaborates to, in words a hardware designer reads."""
from __future__ import annotations

from collections import Counter

from ..compile.cells import cost
from ..compile.circuit import Circuit
from .params import parameter_errors
from .table import render_table


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
    lines.append("timing: one clock; combinational between registers: latency 0 cycles "
                 "(outputs valid in the cycle of their inputs), initiation interval 1")
    lines += ["", "signals:"]
    rows = []
    for c in cells:
        lo, hi = c.fmt.to_float(c.fmt.lo), c.fmt.to_float(c.fmt.hi)
        impl = c.params.get("impl", "")
        if impl == "table":
            impl = c.params["table"].describe()
        elif impl == "pwl":
            impl = c.params["pwl"].describe()
        rows.append([c.name, c.op, c.size, str(c.fmt), f"[{lo:g}, {hi:g}]",
                     f"2^{-c.fmt.frac}", impl])
    lines += ["  " + ln for ln in render_table(
        ["name", "op", "size", "format", "range", "step", "implementation"], rows,
        "llrllll").splitlines()]
    errors = parameter_errors(circuit)
    if errors:
        lines += ["", "constants, quantised into their formats:"]
        lines += [f"  {e.describe()}" for e in errors]
    total = Counter()
    for c in cells:
        total.update(cost(c, cells))
    lines += ["", f"cost estimate: {total['multipliers']} multipliers "
                  f"({total['mult_bits']} operand-bit products), {total['adder_bits']} adder bits, "
                  f"{total['reg_bits']} register bits, {total['table_bits']} lookup-table bits"]
    return "\n".join(lines)
