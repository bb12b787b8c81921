"""What a sweep varies: settings, each an ordered list of precision rules, from a compact grid.

A *setting* is what ``--precision`` takes, several times: rules ``GLOB[:part]=VALUE`` applied in
order after the netlist's own formats (part: result, weight, bias, accum, table_size). A sweep
writes them as templates with placeholders and a grid of values for the placeholders:

    --vary '*=ap_fixed<{W},{I},AP_RND,AP_SAT>' --vary '*_gate:table_size={T}'
    --grid W=6..16 I=2..10 T=64,256,1024

``a..b`` is every integer from a to b (inclusive), ``a,b,c`` a list (numbers or words, e.g.
``Q=AP_RND,AP_TRN``); both mix (``W=4..8,12,16``). The grid is the product of the variables in
the order given, the last varying fastest. The same in a YAML sweep file (``--file``)::

    vary:                         # KEY: TEMPLATE, in order (or a list of 'KEY=TEMPLATE')
      "*": "ap_fixed<{W},{I},AP_RND,AP_SAT>"
    grid:                         # NAME: a..b, a list, or one value
      W: 6..16
      I: [2, 4, 6]
    settings:                     # optional: named settings, evaluated after the grid's
      - name: gates narrow
        precision: ["*_gate=ap_fixed<10,2,AP_RND,AP_SAT>"]

A grid point whose rules are not valid formats (ap_fixed allows I > W, not W > 64) is skipped
and counted, not an error: a grid is a rectangle, the valid settings need not be.
"""
from __future__ import annotations

import fnmatch
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from ..diagnostics import UserError, did_you_mean
from ..fixed import FormatError, parse_format
from ..netlist import safe_yaml
from ..netlist.parse import parse_precision_rule
from ..diagnostics import SourceLoc

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
MAX_SETTINGS = 100_000
MAX_TABLE = 1 << 20


class SweepError(UserError):
    """A bad --vary, --grid or sweep file (exit status 2)."""


@dataclass(frozen=True)
class Setting:
    """One point of a sweep: its label, its rules (in order) and the grid values behind them."""

    label: str
    rules: tuple[str, ...]
    values: tuple[tuple[str, str], ...] = ()


@dataclass
class Grid:
    """``vary`` templates and ``grid`` variables; ``named``: explicit settings."""

    vary: list[tuple[str, str]] = field(default_factory=list)     # (KEY, TEMPLATE)
    variables: list[tuple[str, list[str]]] = field(default_factory=list)
    named: list[Setting] = field(default_factory=list)
    source: str = "the command line"

    def describe(self) -> str:
        rules = ", ".join(f"'{k}={t}'" for k, t in self.vary)
        grid = " ".join(f"{n}={_compact(v)}" for n, v in self.variables)
        named = f"+ {len(self.named)} named" if self.named else ""
        return " ".join(p for p in (rules, grid, named) if p)


@dataclass
class Expansion:
    settings: list[Setting]
    skipped: Counter          # reason -> number of grid points skipped for it

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


def parse_vary(text: str) -> tuple[str, str]:
    """'KEY=TEMPLATE' -> (KEY, TEMPLATE); raises SweepError."""
    key, sep, template = text.partition("=")
    if not sep or not key.strip() or not template.strip():
        raise SweepError(f"--vary '{text}': expected GLOB[:PART]=TEMPLATE, e.g. "
                         "'*=ap_fixed<{W},{I},AP_RND,AP_SAT>' or '*_gate:table_size={T}'")
    return key.strip(), template.strip()


def parse_values(name: str, spec, where: str) -> list[str]:
    """'6..16', '64,256,1024', '4..8,12', a YAML list or a single value -> the values as text."""
    items = spec if isinstance(spec, list) else str(spec).split(",")
    values: list[str] = []
    for item in items:
        if isinstance(item, bool) or isinstance(item, (dict, list)) or item is None:
            raise SweepError(f"{where}: '{name}': {item!r} is not a value (numbers or words)")
        text = str(item).strip()
        m = RANGE.match(text)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise SweepError(f"{where}: '{name}={spec}': the range {text} is empty "
                                 "(write lo..hi with lo <= hi)")
            if hi - lo >= MAX_SETTINGS:
                raise SweepError(f"{where}: '{name}': the range {text} is too long")
            values += [str(v) for v in range(lo, hi + 1)]
        elif not text or ".." in text or not re.fullmatch(r"[A-Za-z0-9_.+\-]+", text):
            raise SweepError(f"{where}: '{name}={spec}': '{text}' is not a value or a range "
                             "(expected e.g. 6..16, 64,256,1024 or AP_RND,AP_TRN)")
        else:
            values.append(text)
    if not values:
        raise SweepError(f"{where}: '{name}' has no values")
    dup = [v for v, n in Counter(values).items() if n > 1]
    if dup:
        raise SweepError(f"{where}: '{name}' lists {dup[0]} twice")
    return values


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """--grid 'NAME=VALUES' items -> [(name, values)]; raises SweepError."""
    out: list[tuple[str, list[str]]] = []
    for text in items:
        name, sep, spec = text.partition("=")
        name = name.strip()
        if not sep or not NAME.match(name):
            raise SweepError(f"--grid '{text}': expected NAME=VALUES, e.g. W=6..16 or "
                             "T=64,256,1024")
        if name in dict(out):
            raise SweepError(f"--grid: '{name}' is given twice")
        out.append((name, parse_values(name, spec, "--grid")))
    return out


def from_args(vary: list[str], grid: list[str]) -> Grid:
    g = Grid([parse_vary(v) for v in vary], parse_grid(grid))
    check_grid(g)
    return g


def from_file(path: str) -> Grid:
    """A YAML sweep file (the bounded safe loader), validated; raises SweepError naming the
    file (NetlistError, located, for YAML that cannot be read)."""
    data = safe_yaml.load(safe_yaml.read_text(path, "the sweep file"), path)
    where = f"{path}: error"
    if not isinstance(data, dict):
        raise SweepError(f"{where}: a sweep file is a mapping with vary:, grid: and/or "
                         "settings:")
    keys = ("vary", "grid", "settings")
    for key in data:
        if key not in keys:
            raise SweepError(f"{where}: unknown key '{key}'{did_you_mean(str(key), keys)} "
                             f"(expected {', '.join(keys)})")
    g = Grid(source=path)
    vary = data.get("vary") or {}
    if isinstance(vary, dict):
        for key, template in vary.items():
            if not isinstance(key, str) or not isinstance(template, (str, int)) or \
                    isinstance(template, bool):
                raise SweepError(f"{where}: vary: '{key}': expected a template string such as "
                                 "\"ap_fixed<{W},{I}>\"")
            g.vary.append((key, str(template)))
    elif isinstance(vary, list) and all(isinstance(v, str) for v in vary):
        g.vary = [parse_vary(v) for v in vary]
    else:
        raise SweepError(f"{where}: vary: expected a mapping KEY: TEMPLATE (or a list of "
                         "'KEY=TEMPLATE')")
    grid = data.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepError(f"{where}: grid: expected a mapping NAME: VALUES (e.g. W: 6..16)")
    for name, spec in grid.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise SweepError(f"{where}: grid: '{name}' is not a name (letters, digits, _)")
        g.variables.append((name, parse_values(name, spec, f"{where}: grid")))
    settings = data.get("settings") or []
    if not isinstance(settings, list):
        raise SweepError(f"{where}: settings: expected a list of {{name: ..., precision: "
                         "[...]}}")
    for k, item in enumerate(settings):
        if not isinstance(item, dict) or set(item) - {"name", "precision"} or \
                not isinstance(item.get("precision"), list) or \
                not all(isinstance(r, str) for r in item["precision"]):
            raise SweepError(f"{where}: settings[{k}]: expected {{name: NAME, precision: "
                             "['GLOB[:PART]=FORMAT', ...]}")
        g.named.append(Setting(str(item.get("name", f"setting {k + 1}")),
                               tuple(item["precision"])))
    check_grid(g)
    return g


def check_grid(g: Grid) -> None:
    """Every placeholder is a grid variable and every variable is used."""
    if not g.vary and not g.named:
        raise SweepError("nothing to sweep: give --vary 'GLOB[:PART]=TEMPLATE' (with --grid) "
                         "or --file SWEEP.yaml")
    names = [n for n, _ in g.variables]
    used = set()
    for key, template in g.vary:
        for ph in PLACEHOLDER.findall(key + template):
            if ph not in names:
                raise SweepError(f"--vary '{key}={template}': {{{ph}}} is not a grid variable"
                                 f"{did_you_mean(ph, names)} (give --grid {ph}=VALUES)")
            used.add(ph)
        stripped = PLACEHOLDER.sub("", key + template)
        if "{" in stripped or "}" in stripped:
            raise SweepError(f"--vary '{key}={template}': braces must hold a grid variable "
                             "name, like {W}")
    for n in names:
        if n not in used:
            raise SweepError(f"--grid {n}: no --vary template uses {{{n}}}")
    size = 1
    for _, values in g.variables:
        size *= len(values)
    if size > MAX_SETTINGS:
        raise SweepError(f"the grid has {size:,} points (at most {MAX_SETTINGS:,})")


def expand(g: Grid) -> Expansion:
    """The grid's settings in order (then the named ones); invalid points skipped, counted."""
    settings, skipped = [], Counter()
    names = [n for n, _ in g.variables]
    points = itertools.product(*[v for _, v in g.variables]) if g.vary else []
    for point in points:
        env = dict(zip(names, point))
        rules = tuple(f"{_fill(k, env)}={_fill(t, env)}" for k, t in g.vary)
        reason = invalid_reason(rules)
        if reason:
            skipped[reason] += 1
            continue
        label = " ".join(f"{n}={v}" for n, v in env.items()) or "the rules"
        settings.append(Setting(label, rules, tuple(env.items())))
    for s in g.named:
        reason = invalid_reason(s.rules)
        if reason:
            raise SweepError(f"{g.source}: setting '{s.label}': {reason}")
        settings.append(s)
    return Expansion(settings, skipped)


def invalid_reason(rules) -> str | None:
    """Why a setting's rules are not valid (None if they are)."""
    for text in rules:
        try:
            rule = parse_precision_rule(text, SourceLoc("<sweep>"))
        except ValueError as exc:
            return str(exc)
        if rule.part == "table_size":
            if not rule.format.isdigit() or not 2 <= int(rule.format) <= MAX_TABLE:
                return f"table_size must be a number of entries from 2 to {MAX_TABLE}"
            continue
        try:
            parse_format(rule.format)
        except FormatError as exc:
            return _general(str(exc))
    return None


def check_patterns(g: Grid, names: list[str]) -> None:
    """Each --vary glob (without placeholders) must match a signal of the netlist."""
    for key, template in g.vary:
        pattern = key.partition(":")[0]
        if PLACEHOLDER.search(pattern):
            continue
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise SweepError(f"--vary '{key}={template}': '{pattern}' matches no signal"
                             f"{did_you_mean(pattern, names)}")


def _fill(text: str, env: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: env[m.group(1)], text)


def _general(message: str) -> str:
    """A format error without its particular numbers' quotes, so that like reasons count
    together ('width must be ... got 40' -> 'width must be ...')."""
    return re.sub(r", got -?\d+$", "", message.split(": ", 1)[-1] if message.startswith("'")
                  else message)


def _compact(values: list[str]) -> str:
    """['6', '7', '8', '12'] -> '6..8,12'."""
    out, k = [], 0
    while k < len(values):
        j = k
        while j + 1 < len(values) and _int(values[j]) is not None and \
                _int(values[j + 1]) == _int(values[j]) + 1:
            j += 1
        out.append(values[k] if j - k < 2 else f"{values[k]}..{values[j]}")
        if 0 < j - k < 2:
            out += values[k + 1:j + 1]
        k = j + 1
    return ",".join(out)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
