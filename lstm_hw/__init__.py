"""lstm_hw: bit-exact, cycle-by-cycle simulation of fixed-point LSTM hardware netlists.

    import lstm_hw
    circuit = lstm_hw.load("netlists/memory_cell.yaml", precision=["*=ap_fixed<12,6>"])
    trace = lstm_hw.Simulator(circuit).run(inputs)       # inputs [streams, steps, columns]
    float_trace = lstm_hw.run_reference(circuit, inputs)
"""
from .compile.circuit import Circuit
from .compile.elaborate import Options, elaborate
from .compile.pipeline import Compiled, compile_netlist
from .diagnostics import DataError, InternalError, NetlistError, SourceLoc, UserError
from .fixed import FixedFormat, parse_format
from .netlist.parse import load_design
from .sim.reference import run_reference
from .sim.simulator import Simulator, Trace

__all__ = ["Circuit", "Compiled", "DataError", "FixedFormat", "InternalError", "NetlistError",
           "Options", "Simulator", "SourceLoc", "Trace", "UserError", "compile_netlist", "elaborate",
           "load", "load_design", "parse_format", "run_reference"]
__version__ = "0.1.0"


def load(path, precision=(), weights_dir=None) -> Circuit:
    """The elaborated circuit of a netlist, through every stage of the compiler (so every error a
    run would meet is raised here); ``precision``: 'GLOB[:part]=FORMAT' overrides, in order."""
    return compile_netlist(path, precision, weights_dir).circuit
