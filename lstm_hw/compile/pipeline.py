"""The compiler as one script: netlist path and options in, everything the engines run out.

    rules    = precision_rules(--precision texts)     options -> PrecisionRule (errors name them)
    design   = load_design(path)                      YAML -> Design, modules flattened
    circuit  = elaborate(design, options)             names, sizes, formats, constants; checks
    timing   = analyse(circuit)                       when each value is valid; the II asked for
    check_budget(circuit, timing)                     refuse what is too big to run (limits.py)
    hardware = expand(circuit, timing)                pipelines, valid bits, folded dots
    program  = lower(hardware)                        numpy arrays for the engines
    verify_program(program, hardware)                 our own invariants (InternalError)

Each stage raises the user's mistakes it finds together (NetlistError); ``load``, ``Simulator``,
``validate``, ``info`` and the sweeps all go through here, so each reports every error ``run``
would. A circuit is not changed after elaboration: its compiled form is kept with it, and a
Simulator made from it does not lower it again.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic, Diagnostics, NetlistError, SourceLoc
from ..netlist.parse import load_design, parse_precision_rule
from ..netlist.schema import Design, PrecisionRule
from .cells import COST_KEYS, cost
from .circuit import Circuit
from .elaborate import Options, elaborate
from .schedule import Program, lower, verify_program
from .timing import Timing, analyse, check_budget, expand


@dataclass
class Compiled:
    """A netlist through every stage. ``present[c]``: the hardware cell presenting the value of
    circuit cell c (the cell itself in an untimed circuit)."""

    circuit: Circuit          # the elaborated circuit: what the netlist means, one step a cycle
    timing: Timing
    hardware: Circuit         # the clocked circuit that runs (the circuit itself when untimed)
    present: dict[int, int]
    program: Program
    design: Design | None = None   # None for a circuit built without a netlist


def precision_rules(texts) -> tuple[PrecisionRule, ...]:
    """``--precision`` texts -> rules; a bad one is a NetlistError naming it (#1, #2...)."""
    rules = []
    for k, text in enumerate(texts):
        loc = SourceLoc(f"--precision #{k + 1} '{text}'")
        try:
            rules.append(parse_precision_rule(text, loc))
        except ValueError as exc:
            raise NetlistError([Diagnostic(loc, str(exc))]) from None
    return tuple(rules)


def compile_netlist(path, precision=(), weights_dir=None, design: Design | None = None) -> Compiled:
    """Every stage, from the netlist at ``path`` (or its ``design`` already parsed) with the
    ``--precision`` texts ``precision`` (later ones win) to the Program."""
    rules = precision_rules(precision)
    design = design or load_design(path)
    circuit = elaborate(design, Options(rules, weights_dir))
    return compile_circuit(circuit, design)


def compile_circuit(circuit: Circuit, design: Design | None = None) -> Compiled:
    """The back half of the pipeline, from an elaborated circuit (kept with the circuit)."""
    known = getattr(circuit, "_compiled", None)
    if known is not None:
        return known
    timing = analyse(circuit)
    diag = Diagnostics()
    check_budget(circuit, timing, diag)       # before building what could not run
    diag.abort_if_errors()
    if timing.timed:   # the clocked hardware: pipeline registers, valid bits, folded dots
        hardware, present = expand(circuit, timing)
    else:              # one time step per cycle: the circuit is its own hardware
        hardware, present = circuit, {c.id: c.id for c in circuit.cells}
    program = lower(hardware)
    verify_program(program, hardware)
    compiled = Compiled(circuit, timing, hardware, present, program, design)
    circuit._compiled = compiled
    return compiled


def signal_of(name: str, signals) -> str | None:
    """The netlist signal a hardware cell belongs to: itself, or the signal whose pipeline
    (``NAME.comb``, ``NAME.p1``), balancing (``NAME.d1``) or control (``NAME.enable``)
    registers it is; None for the valid chain (``valid.d1``...), which belongs to none."""
    while name not in signals and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in signals else None


def hardware_costs(circuit: Circuit) -> dict[str | None, dict[str, float]]:
    """The cost model (cells.py: cost) of the hardware that runs, as the Verilog export builds
    it, per netlist signal (its pipeline, balancing and control registers included; None: the
    valid bits). A timed circuit's hardware has more than its cells: registers on every
    ``latency`` stage and on values waiting for a later reader, the valid chain, folded dots'
    state machines."""
    hw = compile_circuit(circuit).hardware
    signals = set(circuit.by_name)
    out: dict[str | None, dict[str, float]] = {}
    built: set = set()       # products by constants: synthesis builds each once
    for cell in hw.cells:
        owner = out.setdefault(signal_of(cell.name, signals), dict.fromkeys(COST_KEYS, 0))
        for key, value in cost(cell, hw.cells, built).items():
            owner[key] += value
    return out


def hardware_cost(circuit: Circuit) -> dict[str, float]:
    """``hardware_costs`` summed: what ``info``, ``sweep`` and ``tune`` report and rank by."""
    total = dict.fromkeys(COST_KEYS, 0)
    for part in hardware_costs(circuit).values():
        for key, value in part.items():
            total[key] += value
    return total
