"""The Verilog backend: export (verilog.py, quantise.py), testbench, synthesis with Yosys."""
from .verilog import VerilogModule, export_verilog

__all__ = ["VerilogModule", "export_verilog"]
