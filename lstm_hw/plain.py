"""lstm_hw's numba modules run as plain Python: the same source, without numba.

Importing numba takes 0.3 s and its first compile (or load from its cache) of anything 0.7 s
more, while a netlist's few constants, or the numpy engine's elements, take milliseconds in
Python. So the source of lstm_hw.arith, sim/ops.py and sim/kernel.py also runs with ``njit`` an
identity decorator (as ``sim/codegen.load_python`` runs generated code), each importing the
others' plain twins: one definition of the arithmetic, two ways to run it. Values are numpy
int64 scalars or arrays there, so that they wrap at 64 bits as in the compiled code.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import types

from .diagnostics import InternalError

TWINNED = ("lstm_hw.arith", "lstm_hw.sim.ops", "lstm_hw.sim.kernel")


@functools.cache
def twin(name: str) -> types.ModuleType:
    """Module ``name`` (one of TWINNED) as plain Python: ``from numba import njit`` becomes an
    identity decorator, and an import from another twinned module takes that module's twin."""
    if name not in TWINNED:
        raise InternalError(f"{name} has no plain Python twin")
    path = importlib.util.find_spec(name).origin
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = name.rpartition(".")[0]
    module = types.ModuleType(name + "_plain")
    module.__package__ = package
    module.__dict__["_twin"] = twin
    body = []
    for node in tree.body:
        source = None
        if isinstance(node, ast.ImportFrom):
            source = (importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                      if node.level else node.module)
        if source == "numba":
            new = "def njit(*args, **kwargs):\n    return lambda f: f"
        elif source in TWINNED:
            new = "\n".join(f"{a.asname or a.name} = _twin({source!r}).{a.name}"
                            for a in node.names)
        else:
            body.append(node)
            continue
        body += [ast.increment_lineno(stmt, node.lineno - 1) for stmt in ast.parse(new).body]
    tree.body = body
    exec(compile(tree, path, "exec"), module.__dict__)
    return module


def arith() -> types.ModuleType:
    """lstm_hw.arith as plain Python."""
    return twin("lstm_hw.arith")


def ops() -> types.ModuleType:
    """lstm_hw.sim.ops as plain Python (the numpy engine's element functions)."""
    return twin("lstm_hw.sim.ops")


def kernel() -> types.ModuleType:
    """lstm_hw.sim.kernel as plain Python (the numpy engine's fold units: fold_edge)."""
    return twin("lstm_hw.sim.kernel")
