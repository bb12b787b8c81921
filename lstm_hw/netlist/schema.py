"""The parsed netlist (a Design): what the user wrote, with every part's source location.

Nothing here is resolved yet: names are strings, formats are text, numbers are as written. The
elaborator turns a Design into a Circuit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import SourceLoc

FORMAT_VERSION = 1


@dataclass
class Ref:
    """A use of a signal by name."""

    name: str
    loc: SourceLoc


@dataclass
class Param:
    """A block parameter as written (plain YAML value) and where it was written."""

    value: Any
    loc: SourceLoc           # of the value
    key_loc: SourceLoc       # of the key


@dataclass
class Port:
    """A netlist input: a vector of ``size`` elements in ``format`` (None: the default).
    In a module, size may be a ``$param`` string."""

    name: str
    size: int | str
    format: Param | None
    loc: SourceLoc


@dataclass
class Block:
    """One block: ``name: {op: ..., in: ..., <params>}``; its name is its output signal."""

    name: str
    op: str
    op_loc: SourceLoc
    inputs: list[Ref]
    params: dict[str, Param]
    loc: SourceLoc

    def param(self, key: str, default: Any = None) -> Any:
        p = self.params.get(key)
        return default if p is None else p.value

    def loc_of(self, key: str) -> SourceLoc:
        p = self.params.get(key)
        return p.loc if p is not None else self.loc


@dataclass
class Instance:
    """``name: {module: M, in: {port: signal}, params: {...}}``: a copy of module M whose
    signals are named ``name.<signal>``."""

    name: str
    module: str
    module_loc: SourceLoc
    ports: dict[str, list[Ref]]     # several signals on a port are concatenated
    params: dict[str, Param]
    loc: SourceLoc


@dataclass
class Module:
    """A reusable group of blocks: ports, parameters with defaults, blocks (and instances).

    Inside a module a parameter is used as the whole value ``$name`` of an op, an input, a
    parameter or a size; a parameter whose value is null leaves the key out.
    """

    name: str
    doc: str
    params: dict[str, Param]
    inputs: list[Port]
    outputs: list[Ref]
    blocks: dict[str, "Block | Instance"]
    loc: SourceLoc


@dataclass
class PrecisionRule:
    """``GLOB[:part]=FORMAT``: sets the format of matching blocks (part: weight, bias, accum)."""

    pattern: str
    part: str
    format: str
    loc: SourceLoc


@dataclass
class Design:
    name: str
    doc: str
    path: str
    default_format: Param | None
    inputs: list[Port]
    outputs: list[Ref]
    blocks: dict[str, "Block | Instance"]
    precision: list[PrecisionRule] = field(default_factory=list)
    loc: SourceLoc = SourceLoc("<netlist>")
    task: Param | None = None    # settings for `check` (netlist/task.py: TASK_KEYS)
    clock: Param | None = None   # {ii: N}: the initiation interval asked for
    modules: dict[str, Module] = field(default_factory=dict)   # its own and imported ones
    origins: dict[str, list[tuple[SourceLoc, str]]] = field(default_factory=dict)
    # flattened block name -> the instances it came from, outermost first (for diagnostics)
    imported: list[str] = field(default_factory=list)   # files read by `import:`, resolved
