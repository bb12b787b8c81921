"""Comparing quantisation settings: sweeps, the cost model's use, range profiles, precision search.

    grid.py      settings from --vary templates and a --grid (or a YAML sweep file)
    evaluate.py  one setting: elaborate, score (check's verdict, or the error against the float
                 reference), overflow, cost; what worker processes run
    sweep.py     many settings in parallel (local processes or a Dask cluster), Pareto front
    output.py    terminal table, CSV, JSON, PNG plot
    profile.py   value ranges per signal against each format: integer bits needed and given
    tune.py      the cheapest per-group formats that keep a target; a netlist written with them
    command.py   the sweep, profile and tune subcommands
"""
from .evaluate import EvalConfig, SettingResult, evaluate
from .grid import Grid, Setting, SweepError, expand
from .sweep import SweepResult, run_sweep

__all__ = ["EvalConfig", "Grid", "Setting", "SettingResult", "SweepError", "SweepResult",
           "evaluate", "expand", "run_sweep"]
