"""YAML text -> Design, keeping the file:line:col of every key and value.

YAML is composed with PyYAML's safe loader into nodes (which carry their marks) and only scalars
are constructed, by the safe constructor: nothing in a netlist is ever evaluated. Duplicate keys,
which YAML itself would silently overwrite, are errors here.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..diagnostics import Diagnostics, NetlistError, Diagnostic, SourceLoc, did_you_mean
from .schema import FORMAT_VERSION, Block, Design, Param, Port, PrecisionRule, Ref

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOP_KEYS = ("lstm_hw", "name", "doc", "format", "precision", "inputs", "outputs", "blocks", "task",
            "clock")
PARTS = ("result", "weight", "bias", "accum")


def load_design(path: str | Path) -> Design:
    """Read and parse a netlist file; raises NetlistError with every problem found."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetlistError([Diagnostic(SourceLoc(path), f"cannot read netlist: {exc}")]) from None
    return parse_design(text, path)


def parse_design(text: str, path: str = "<netlist>") -> Design:
    root = _compose(text, path)
    return _DesignParser(path).design(root)


def _compose(text: str, path: str) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise NetlistError([_yaml_diagnostic(exc, path)]) from None
    except yaml.YAMLError as exc:
        raise NetlistError([Diagnostic(SourceLoc(path), f"YAML error: {exc}")]) from None
    if node is None:
        raise NetlistError([Diagnostic(SourceLoc(path, 1, 1), "the netlist file is empty")])
    return node


# PyYAML's words for where it was, and for what it met, in the user's words
_YAML_CONTEXTS = {
    "while parsing a flow sequence": "in the list '[' that opens here",
    "while parsing a flow mapping": "in the mapping '{' that opens here",
    "while parsing a block mapping": "in the mapping that starts here",
    "while parsing a block collection": "in the list that starts here",
    "while scanning a quoted scalar": "in the quoted string that starts here",
}
_YAML_TOKENS = {"'<stream end>'": "the end of the file", "end of stream": "the end of the file",
                "'<scalar>'": "a value", "'<block mapping start>'": "a key"}


def _yaml_diagnostic(exc: yaml.MarkedYAMLError, path: str) -> Diagnostic:
    """A YAML syntax error at the place PyYAML stopped, with a note where the construct began."""
    def loc(mark) -> SourceLoc:
        return SourceLoc(path, mark.line + 1, mark.column + 1) if mark else SourceLoc(path)

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


def parse_precision_rule(text: str, loc: SourceLoc) -> PrecisionRule:
    """``GLOB[:part]=FORMAT`` (the --precision syntax); raises ValueError with the reason."""
    if "=" not in text:
        raise ValueError(f"'{text}' is not GLOB[:PART]=FORMAT (e.g. 'z_*=ap_fixed<12,6>')")
    key, fmt = text.split("=", 1)
    return precision_rule(key.strip(), fmt.strip(), loc)


def precision_rule(key: str, fmt: str, loc: SourceLoc) -> PrecisionRule:
    pattern, _, part = key.partition(":")
    part = part or "result"
    if part not in PARTS:
        raise ValueError(f"unknown part ':{part}' in '{key}' (expected one of {', '.join(PARTS)})")
    if not pattern or not re.fullmatch(r"[A-Za-z0-9_.*?\[\]!]+", pattern):
        raise ValueError(f"'{pattern}' is not a glob over block names")
    return PrecisionRule(pattern, part, fmt, loc)


class _DesignParser:
    def __init__(self, path: str):
        self.path = path
        self.diag = Diagnostics()
        self.constructor = yaml.SafeLoader("")   # only its safe scalar constructors are used

    def loc(self, node: yaml.Node) -> SourceLoc:
        m = node.start_mark
        return SourceLoc(self.path, m.line + 1, m.column + 1)

    def value(self, node: yaml.Node):
        """A plain Python value (safe constructors only)."""
        return self.constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) of a mapping, reporting non-string and duplicate keys."""
        if not isinstance(node, yaml.MappingNode):
            self.diag.error(self.loc(node), f"{what} must be a mapping")
            return []
        seen: dict[str, SourceLoc] = {}
        items = []
        pairs = self.unsplit_formats(node.value, what) if node.flow_style else node.value
        for knode, vnode in pairs:
            key = self.value(knode) if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.diag.error(self.loc(knode), f"keys of {what} must be names")
                continue
            if key in seen:
                self.diag.error(self.loc(knode), f"duplicate key '{key}' in {what}",
                                [(seen[key], "first defined here")])
                continue
            seen[key] = self.loc(knode)
            items.append((key, knode, vnode))
        return items

    def unsplit_formats(self, pairs: list, what: str) -> list:
        """Undo YAML's split of an unquoted format inside { }, and say it must be quoted.

        In ``{format: ap_fixed<8,4>}`` the comma ends the value: 'format' is 'ap_fixed<8' and
        '4>' becomes a key without a value. The pieces are joined back, so that the one mistake
        is reported once, where the format starts.
        """
        out = []
        k = 0
        while k < len(pairs):
            knode, vnode = pairs[k]
            k += 1
            if _plain(vnode) and "<" in vnode.value and ">" not in vnode.value:
                pieces = [vnode.value]
                while (k < len(pairs) and ">" not in pieces[-1] and _plain(pairs[k][0])
                       and _plain(pairs[k][1]) and pairs[k][1].value == ""):
                    pieces.append(pairs[k][0].value)
                    k += 1
                if len(pieces) > 1:
                    text = ",".join(pieces)
                    self.diag.error(self.loc(vnode), f"{what}: inside {{ }} a format must be "
                                    f"quoted, as in {knode.value}: \"{text}\" (YAML splits it "
                                    "at each comma)")
                    vnode = yaml.ScalarNode("tag:yaml.org,2002:str", text, vnode.start_mark,
                                            vnode.end_mark, style='"')
            out.append((knode, vnode))
        return out

    def ident(self, node: yaml.Node, what: str) -> str | None:
        name = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(name, str) or not IDENT.match(name):
            shown = name if isinstance(name, str) else getattr(node, "value", "?")
            self.diag.error(self.loc(node), f"{what} '{shown}' is not a valid name "
                            "(letters, digits and _, not starting with a digit)")
            return None
        return name

    def design(self, root: yaml.Node) -> Design:
        fields = {k: (kn, vn) for k, kn, vn in self.mapping(root, "the netlist")}
        for key, (knode, _) in fields.items():
            if key not in TOP_KEYS:
                self.diag.error(self.loc(knode), f"unknown top-level key '{key}'"
                                f"{did_you_mean(key, TOP_KEYS)}")
        if "lstm_hw" not in fields:
            self.diag.error(self.loc(root), f"missing 'lstm_hw: {FORMAT_VERSION}' "
                            "(the netlist format version)")
        else:
            vnode = fields["lstm_hw"][1]
            if self.value(vnode) != FORMAT_VERSION:
                self.diag.error(self.loc(vnode), f"unsupported netlist format version "
                                f"{vnode.value!r} (this lstm_hw reads version {FORMAT_VERSION})")
        name = self.text(fields.get("name"), Path(self.path).stem)
        doc = self.text(fields.get("doc"), "")
        fmt = self.param(fields["format"]) if "format" in fields else None
        inputs = self.inputs(fields["inputs"][1]) if "inputs" in fields else []
        if "inputs" not in fields:
            self.diag.error(self.loc(root), "missing 'inputs' (the list of input signals)")
        outputs = self.refs(fields["outputs"][1], "output") if "outputs" in fields else []
        if "outputs" not in fields:
            self.diag.error(self.loc(root), "missing 'outputs' (the list of output signals)")
        blocks = self.blocks(fields["blocks"][1]) if "blocks" in fields else {}
        if "blocks" not in fields:
            self.diag.error(self.loc(root), "missing 'blocks' (NAME: {op: ..., in: ...} for "
                            "each block)")
        precision = self.precision(fields["precision"][1]) if "precision" in fields else []
        self.diag.abort_if_errors()
        task = self.param(fields["task"]) if "task" in fields else None
        clock = self.param(fields["clock"]) if "clock" in fields else None
        return Design(name, doc, self.path, fmt, inputs, outputs, blocks, precision,
                      self.loc(root), task, clock)

    def text(self, entry, default: str) -> str:
        if entry is None:
            return default
        value = self.value(entry[1])
        if not isinstance(value, str):
            self.diag.error(self.loc(entry[1]), "expected a string")
            return default
        return value

    def param(self, entry) -> Param:
        knode, vnode = entry
        return Param(self.value(vnode), self.loc(vnode), self.loc(knode))

    def inputs(self, node: yaml.Node) -> list[Port]:
        """``[x1, x2]`` (scalars in the default format) or ``{x: {size: 3, format: ...}}``."""
        ports = []
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                name = self.ident(item, "input")
                if name:
                    ports.append(Port(name, 1, None, self.loc(item)))
            return ports
        for key, knode, vnode in self.mapping(node, "'inputs'"):
            if self.ident(knode, "input") is None:
                continue
            size, fmt = 1, None
            if not (isinstance(vnode, yaml.ScalarNode) and self.value(vnode) is None):
                for pkey, pknode, pvnode in self.mapping(vnode, f"input '{key}'"):
                    if pkey == "size":
                        size = self.value(pvnode)
                        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                            self.diag.error(self.loc(pvnode), f"input '{key}': size must be a "
                                            "positive integer")
                            size = 1
                    elif pkey == "format":
                        fmt = self.param((pknode, pvnode))
                    else:
                        self.diag.error(self.loc(pknode), f"input '{key}': unknown key '{pkey}'"
                                        f"{did_you_mean(pkey, ('size', 'format'))}")
            ports.append(Port(key, size, fmt, self.loc(knode)))
        return ports

    def refs(self, node: yaml.Node, what: str) -> list[Ref]:
        """A signal name or a list of them."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        refs = []
        for item in items:
            name = self.ident(item, what) if isinstance(item, yaml.ScalarNode) else None
            if not isinstance(item, yaml.ScalarNode):
                self.diag.error(self.loc(item), f"expected the name of a signal")
            elif name:
                refs.append(Ref(name, self.loc(item)))
        return refs

    def blocks(self, node: yaml.Node) -> dict[str, Block]:
        blocks = {}
        for name, knode, vnode in self.mapping(node, "'blocks'"):
            if self.ident(knode, "block name") is None:
                continue
            fields = self.mapping(vnode, f"block '{name}'")
            params, op, op_loc, inputs = {}, None, self.loc(vnode), []
            for key, pknode, pvnode in fields:
                if key == "op":
                    op = self.value(pvnode)
                    op_loc = self.loc(pvnode)
                    if not isinstance(op, str):
                        self.diag.error(op_loc, f"block '{name}': 'op' must be a name")
                        op = None
                elif key == "in":
                    inputs = self.refs(pvnode, f"input of block '{name}'")
                else:
                    params[key] = self.param((pknode, pvnode))
            if fields and op is None and not any(k == "op" for k, _, _ in fields):
                self.diag.error(self.loc(vnode), f"block '{name}' has no 'op'")
            if op is not None:
                blocks[name] = Block(name, op, op_loc, inputs, params, self.loc(knode))
        return blocks

    def precision(self, node: yaml.Node) -> list[PrecisionRule]:
        rules = []
        for key, knode, vnode in self.mapping(node, "'precision'"):
            fmt = self.value(vnode)
            if not isinstance(fmt, str):
                self.diag.error(self.loc(vnode), f"precision '{key}': expected a format string")
                continue
            try:
                rules.append(precision_rule(key, fmt, self.loc(vnode)))
            except ValueError as exc:
                self.diag.error(self.loc(knode), str(exc))
        return rules


def _plain(node: yaml.Node) -> bool:
    """An unquoted scalar (as written, before YAML gives it a type)."""
    return isinstance(node, yaml.ScalarNode) and node.style is None
