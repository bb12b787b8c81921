"""The one way lstm_hw reads YAML: PyYAML's safe loader, bounded.

Every YAML document the tool reads (netlists, imported libraries, sweep files, configuration
files) goes through :func:`compose` or :func:`load`. Only PyYAML's safe constructors build
values, so nothing in a file is ever evaluated. Two bounds keep a small hostile file from
running away:

- depth: nesting deeper than ``MAX_DEPTH`` is refused while composing, before PyYAML's
  recursive composer could overflow Python's stack (a RecursionError);
- size after alias expansion: an alias (``*a``) is the same node as its anchor (``&a``), so a
  500-byte "billion laughs" document composes quickly but expands to billions of values for
  whatever walks it afterwards. The expanded count is computed once per distinct node and
  refused above the ``yaml_nodes`` limit (lstm_hw/limits.py); a recursive alias (a node
  inside itself) is refused.

Errors are NetlistErrors located at the node (file:line:col), exit status 2.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .. import limits
from ..diagnostics import Diagnostic, NetlistError, SourceLoc

MAX_DEPTH = 64      # a netlist needs about 6 levels; PyYAML's composer recurses per level


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than MAX_DEPTH while it composes."""

    def __init__(self, text: str, path: str):
        super().__init__(text)
        self.depth = 0
        self.source_path = path

    def compose_node(self, parent, index):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise NetlistError([Diagnostic(
                SourceLoc(self.source_path, mark.line + 1, mark.column + 1),
                f"YAML nested more than {MAX_DEPTH} levels deep")])
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(text: str, path: str) -> yaml.Node | None:
    """The node tree of a YAML document (None for an empty one), with its marks; bounded in
    depth and expanded size. Raises NetlistError."""
    loader = _BoundedLoader(text, path)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise NetlistError([_syntax_diagnostic(exc, text, path)]) from None
    except yaml.YAMLError as exc:
        raise NetlistError([Diagnostic(SourceLoc(path), f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is not None:
        _check_expanded_size(node, path)
    return node


def load(text: str, path: str):
    """Plain Python data (dicts, lists, str, int, float, bool, None) from a YAML document,
    bounded as :func:`compose`. Raises NetlistError."""
    node = compose(text, path)
    if node is None:
        return None
    return construct(node, path)


def construct(node: yaml.Node, path: str, constructor: yaml.SafeLoader | None = None):
    """The plain value of a composed node (safe constructors only; pass one ``constructor``
    to share its memo over many calls). Raises NetlistError."""
    constructor = constructor or yaml.SafeLoader("")
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        raise NetlistError([_syntax_diagnostic(exc, "", path)]) from None
    except yaml.YAMLError as exc:
        raise NetlistError([Diagnostic(SourceLoc(path), f"YAML error: {exc}")]) from None


def read_text(path: str | Path, what: str) -> str:
    """A YAML file's text; NetlistError ('cannot read WHAT: ...') when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetlistError([Diagnostic(SourceLoc(str(path)), f"cannot read {what}: {exc}")]) \
            from None


def _loc(path: str, node: yaml.Node) -> SourceLoc:
    return SourceLoc(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _check_expanded_size(root: yaml.Node, path: str) -> None:
    """Refuse a document whose aliases expand it beyond the limit, or that contains itself.

    Sizes are memoised per node (an alias is its anchor's node), so this costs one visit per
    distinct node however large the expansion; iterative, so deep expansions need no stack."""
    limit = limits.get("yaml_nodes")
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > limit:
                raise NetlistError([Diagnostic(
                    _loc(path, node),
                    f"this YAML expands to more than {limit:,} values through its aliases "
                    f"(*name repeats &name); {limits.how_to_raise('yaml_nodes')}")])
            continue
        if key in open_nodes:       # reached again from inside itself
            raise NetlistError([Diagnostic(_loc(path, node),
                                           "a YAML alias refers to a node that contains it "
                                           "(a recursive structure)")])
        open_nodes.add(key)
        stack.append((node, True))
        stack += [(c, False) for c in children if id(c) not in size]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# PyYAML's words for where it was, and for what it met, in the user's words
_YAML_CONTEXTS = {
    "while parsing a flow sequence": "in the list '[' that opens here",
    "while parsing a flow mapping": "in the mapping '{' that opens here",
    "while parsing a block mapping": "in the mapping that starts here",
    "while parsing a block collection": "in the list that starts here",
    "while scanning a quoted scalar": "in the quoted string that starts here",
}
_YAML_TOKENS = {"'<stream end>'": "the end of the file",
                "unexpected end of stream": "the end of the file",
                "'<scalar>'": "a value", "'<block mapping start>'": "a key"}


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, text: str, path: str) -> Diagnostic:
    """A YAML syntax error at the place PyYAML stopped, with a note where the construct began."""
    lines = text.splitlines()

    def loc(mark) -> SourceLoc:
        if mark is None:
            return SourceLoc(path)
        if lines and mark.line >= len(lines):    # at the end of the file: after its last line
            return SourceLoc(path, len(lines), len(lines[-1]) + 1)
        return SourceLoc(path, mark.line + 1, mark.column + 1)

    problem = exc.problem or exc.context or "invalid YAML"
    if problem.startswith("expected <block end>"):
        problem = "bad indentation: this line does not line up with the lines above it"
    elif "'\\t'" in problem:
        problem += " (indent with spaces: YAML does not allow tabs)"
    elif problem == "mapping values are not allowed here":
        problem += " (quote a value that contains ': ')"
    for word, plain in _YAML_TOKENS.items():
        problem = problem.replace(word, plain)
    notes = []
    if exc.problem and exc.context and exc.context_mark:
        notes.append((loc(exc.context_mark), _YAML_CONTEXTS.get(exc.context, exc.context)))
    return Diagnostic(loc(exc.problem_mark or exc.context_mark), f"YAML syntax error: {problem}",
                      notes=notes)
