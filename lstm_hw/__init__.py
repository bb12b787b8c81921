"""lstm_hw: bit-exact, cycle-by-cycle simulation of fixed-point LSTM hardware netlists.

    import lstm_hw
    circuit = lstm_hw.load("netlists/memory_cell.yaml", precision=["*=ap_fixed<12,6>"])
    trace = lstm_hw.Simulator(circuit).run(inputs)       # inputs [streams, steps, columns]
    float_trace = lstm_hw.run_reference(circuit, inputs)
"""
from .compile.circuit import Circuit
from .compile.elaborate import Options, elaborate
from .diagnostics import DataError, InternalError, NetlistError, SourceLoc, UserError
from .fixed import FixedFormat, parse_format
from .netlist.parse import load_design, parse_precision_rule
from .sim.reference import run_reference
from .sim.simulator import Simulator, Trace

__all__ = ["Circuit", "DataError", "FixedFormat", "InternalError", "NetlistError", "Options",
           "Simulator", "SourceLoc", "Trace", "UserError", "elaborate", "load", "load_design",
           "parse_format", "run_reference"]
__version__ = "0.1.0"


def load(path, precision=(), weights_dir=None) -> Circuit:
    """Parse and elaborate a netlist; ``precision``: 'GLOB[:part]=FORMAT' overrides, in order."""
    from .diagnostics import Diagnostic
    rules = []
    for k, text in enumerate(precision):
        loc = SourceLoc(f"--precision #{k + 1} '{text}'")
        try:
            rules.append(parse_precision_rule(text, loc))
        except ValueError as exc:
            raise NetlistError([Diagnostic(loc, str(exc))]) from None
    return elaborate(load_design(path), Options(tuple(rules), weights_dir))
