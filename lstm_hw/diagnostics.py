"""Source locations and errors, rendered the way compilers render them.

``NetlistError`` and ``DataError`` are the user's mistakes (exit status 2, never a traceback);
``InternalError`` is ours. A phase collects every ``Diagnostic`` it finds in a ``Diagnostics``
list and raises them together at its end (``abort_if_errors``), so the user sees all of them.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceLoc:
    """1-based line and column in a file (or a pseudo-file such as '<command line>')."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@dataclass
class Diagnostic:
    loc: SourceLoc
    message: str
    severity: str = "error"
    notes: list[tuple[SourceLoc, str]] = field(default_factory=list)

    def render(self, sources: dict[str, str] | None = None) -> str:
        lines = [f"{self.loc}: {self.severity}: {self.message}"]
        lines += _excerpt(self.loc, sources)
        for loc, text in self.notes:
            lines.append(f"{loc}: note: {text}")
            lines += _excerpt(loc, sources)
        return "\n".join(lines)


def _excerpt(loc: SourceLoc, sources: dict[str, str] | None) -> list[str]:
    """The source line and a caret under the column (nothing if the file cannot be read)."""
    if not loc.line:
        return []
    text = (sources or {}).get(loc.file)
    if text is None:
        try:
            text = Path(loc.file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    all_lines = text.splitlines()
    if not 1 <= loc.line <= len(all_lines):
        return []
    src = all_lines[loc.line - 1].replace("\t", " ")
    return [f"  {src}", "  " + " " * max(loc.col - 1, 0) + "^"]


class UserError(Exception):
    """A mistake in what the user gave us: reported without a traceback, exit status 2."""

    exit_status = 2


class NetlistError(UserError):
    """One or more diagnostics about a netlist (or the options that change it)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        text = "\n".join(d.render() for d in self.diagnostics)
        count = sum(d.severity == "error" for d in self.diagnostics)
        if count > 1:
            text += f"\n{count} errors"
        return text


class DataError(UserError):
    """Bad input data (CSV, arrays): the message names the file, row and column.

    For a value refused inside an array, ``stream``, ``step``, ``column`` and ``detail`` say
    which and why, so a caller that read the array from a file can point at the file's row
    instead.
    """

    def __init__(self, message: str, step: int | None = None, column: str | None = None,
                 detail: str = "", stream: int | None = None):
        super().__init__(message)
        self.step, self.column, self.detail = step, column, detail or message
        self.stream = stream


class InternalError(Exception):
    """A bug in lstm_hw, not the user's mistake."""


class Diagnostics:
    """Collects the errors of one phase."""

    def __init__(self):
        self.items: list[Diagnostic] = []

    def error(self, loc: SourceLoc, message: str,
              notes: list[tuple[SourceLoc, str]] | None = None) -> None:
        self.items.append(Diagnostic(loc, message, "error", list(notes or [])))

    def __bool__(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def abort_if_errors(self) -> None:
        if self:
            raise NetlistError(self.in_order())

    def in_order(self) -> list[Diagnostic]:
        """By file (in the order they first come up), then line and column, as compilers do."""
        rank: dict[str, int] = {}
        for d in self.items:
            rank.setdefault(d.loc.file, len(rank))
        return sorted(self.items, key=lambda d: (rank[d.loc.file], d.loc.line, d.loc.col))


def did_you_mean(name: str, candidates) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
