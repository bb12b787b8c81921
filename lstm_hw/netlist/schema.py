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
    """A netlist input: a vector of ``size`` elements in ``format`` (None: the default)."""

    name: str
    size: int
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
    blocks: dict[str, Block]
    precision: list[PrecisionRule] = field(default_factory=list)
    loc: SourceLoc = SourceLoc("<netlist>")
    task: Param | None = None    # settings for `check` (tasks/memory.py: TASK_KEYS)
    clock: Param | None = None   # {ii: N}: the initiation interval asked for
