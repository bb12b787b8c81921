"""YAML text -> Design, keeping the file:line:col of every key and value.

YAML is composed by the bounded safe loader (safe_yaml.py) into nodes (which carry their marks)
and only scalars are constructed, by the safe constructor: nothing in a netlist is ever evaluated. Duplicate keys,
which YAML itself would silently overwrite, are errors here.
"""
from __future__ import annotations

import errno
import re
from pathlib import Path

import yaml

from ..diagnostics import Diagnostics, NetlistError, Diagnostic, SourceLoc, did_you_mean
from . import safe_yaml
from .modules import PARAM_REF, flatten
from .task import TASK_KEYS, task_setting
from .schema import (FORMAT_VERSION, Block, Design, Instance, Module, Param, Port,
                     PrecisionRule, Ref)

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOP_KEYS = ("lstm_hw", "name", "doc", "format", "precision", "inputs", "outputs", "blocks", "task",
            "clock", "modules", "import")
MODULE_KEYS = ("doc", "params", "inputs", "outputs", "blocks")
LIBRARY = Path(__file__).resolve().parent.parent / "library"   # import: [lstm_hw/NAME.yaml]
PARTS = ("result", "weight", "bias", "accum", "table", "table_size")


def load_design(path: str | Path, library: bool = False,
                seen: frozenset = frozenset()) -> Design:
    """Read and parse a netlist file (instances flattened); raises NetlistError with every
    problem found."""
    path = str(path)
    return parse_design(safe_yaml.read_text(path, "netlist"), path, library, seen)


def parse_design(text: str, path: str = "<netlist>", library: bool = False,
                 seen: frozenset = frozenset()) -> Design:
    """library: a file of modules for `import` (inputs, outputs and blocks optional)."""
    root = _compose(text, path)
    design = _DesignParser(path, library, seen | {_key(path)}).design(root)
    return design if library else flatten(design)


def _key(path: str) -> str:
    try:
        return str(real_path(Path(path)))
    except OSError:
        return path


def real_path(path: Path) -> Path:
    """``path.resolve()``, a symlink loop raising the OSError (ELOOP) it is from Python 3.13 on
    (a RuntimeError before)."""
    try:
        return path.resolve()
    except RuntimeError:
        raise OSError(errno.ELOOP, "a symbolic link loop", str(path)) from None


def _compose(text: str, path: str) -> yaml.Node:
    node = safe_yaml.compose(text, path)
    if node is None:
        raise NetlistError([Diagnostic(SourceLoc(path, 1, 1), "the netlist file is empty")])
    return node


def parse_precision_rule(text: str, loc: SourceLoc) -> PrecisionRule:
    """``GLOB[:part]=FORMAT`` (the --precision syntax; part table_size takes a number of
    entries instead of a format); raises ValueError with the reason."""
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
    def __init__(self, path: str, library: bool = False, seen: frozenset = frozenset()):
        self.path = path
        self.library = library
        self.seen = seen             # files on the import chain (an import loop is an error)
        self.in_module = False       # inside a module, '$param' may stand for a name
        self.diag = Diagnostics()
        self.constructor = yaml.SafeLoader("")   # only its safe scalar constructors are used
        self.imported: list[str] = []   # files read by `import:` (outputs must not be these)

    def loc(self, node: yaml.Node) -> SourceLoc:
        m = node.start_mark
        return SourceLoc(self.path, m.line + 1, m.column + 1)

    def value(self, node: yaml.Node):
        """A plain Python value (safe constructors only)."""
        return safe_yaml.construct(node, self.path, self.constructor)

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

    def ident(self, node: yaml.Node, what: str, dotted: bool = False) -> str | None:
        """A name; dotted: a use, which may name a signal inside an instance (``l1.h``)."""
        name = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if self.in_module and isinstance(name, str) and PARAM_REF.match(name):
            return name
        if dotted and isinstance(name, str) and all(IDENT.match(p) for p in name.split(".")):
            return name
        if not isinstance(name, str) or not IDENT.match(name):
            shown = name if isinstance(name, str) else getattr(node, "value", "?")
            self.diag.error(self.loc(node), f"{what} '{shown}' is not a valid name "
                            "(letters, digits and _, not starting with a digit)")
            return None
        return name

    def design(self, root: yaml.Node) -> Design:
        if not isinstance(root, yaml.MappingNode):   # every other check would repeat this one
            self.diag.error(self.loc(root), "the netlist must be a mapping (lstm_hw: 1, "
                            "inputs: ..., outputs: ..., blocks: ...)")
            self.diag.abort_if_errors()
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
            version = self.value(vnode)
            if type(version) is not int or version != FORMAT_VERSION:
                self.diag.error(self.loc(vnode), f"unsupported netlist format version "
                                f"{vnode.value!r} (this lstm_hw reads version {FORMAT_VERSION})")
        name = self.text(fields.get("name"), Path(self.path).stem)
        doc = self.text(fields.get("doc"), "")
        fmt = self.param(fields["format"]) if "format" in fields else None
        inputs = self.inputs(fields["inputs"][1]) if "inputs" in fields else []
        if "inputs" not in fields and not self.library:
            self.diag.error(self.loc(root), "missing 'inputs' (the list of input signals)")
        outputs = self.outputs(fields["outputs"][1]) if "outputs" in fields else []
        if "outputs" not in fields and not self.library:
            self.diag.error(self.loc(root), "missing 'outputs' (the list of output signals)")
        blocks = self.blocks(fields["blocks"][1]) if "blocks" in fields else {}
        if "blocks" not in fields and not self.library:
            self.diag.error(self.loc(root), "missing 'blocks' (NAME: {op: ..., in: ...} for "
                            "each block)")
        precision = self.precision(fields["precision"][1]) if "precision" in fields else []
        self.diag.abort_if_errors()
        task = self.task(fields["task"]) if "task" in fields else None
        clock = self.param(fields["clock"]) if "clock" in fields else None
        modules = self.imports(fields["import"][1]) if "import" in fields else {}
        for mod in (self.modules(fields["modules"][1]) if "modules" in fields else {}).values():
            if mod.name in modules:
                self.diag.error(mod.loc, f"module '{mod.name}' is defined twice",
                                [(modules[mod.name].loc, "first defined here")])
            modules[mod.name] = mod
        self.diag.abort_if_errors()
        return Design(name, doc, self.path, fmt, inputs, outputs, blocks, precision,
                      self.loc(root), task, clock, modules, imported=self.imported)

    def imports(self, node: yaml.Node) -> dict[str, Module]:
        """``import: [file.yaml, lstm_hw/lstm.yaml]``: modules of other files (next to this one,
        or in lstm_hw's library)."""
        modules: dict[str, Module] = {}
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        base = Path(self.path).resolve().parent
        for item in items:
            name = self.value(item) if isinstance(item, yaml.ScalarNode) else None
            loc = self.loc(item)
            if not isinstance(name, str) or not name.endswith((".yaml", ".yml")):
                self.diag.error(loc, "import: expected a netlist file name ending in .yaml")
                continue
            target = (LIBRARY / name.removeprefix("lstm_hw/")) if name.startswith("lstm_hw/") \
                else (base / name)
            try:
                target = real_path(target)
            except OSError as exc:
                self.diag.error(loc, f"import: cannot read '{name}': {exc.strerror}")
                continue
            if not any(target.is_relative_to(d) for d in (base, LIBRARY)):
                self.diag.error(loc, f"import: '{name}' is outside the netlist's folder")
                continue
            if not target.is_file():
                self.diag.error(loc, f"import: no file '{name}'"
                                + (f" in lstm_hw's library ({', '.join(sorted(p.name for p in LIBRARY.glob('*.yaml')))})"
                                   if name.startswith("lstm_hw/") else f" next to {Path(self.path).name}"))
                continue
            if str(target) in self.seen:
                self.diag.error(loc, f"import: '{name}' imports itself (an import loop)")
                continue
            try:
                lib = load_design(target, library=True, seen=self.seen)
            except NetlistError as exc:
                self.diag.items += exc.diagnostics
                continue
            self.imported += [str(target), *lib.imported]
            for mod in lib.modules.values():
                if mod.name in modules and modules[mod.name].loc == mod.loc:
                    continue     # the same file reached twice (a diamond) is one import
                if mod.name in modules:
                    self.diag.error(loc, f"module '{mod.name}' is imported twice",
                                    [(modules[mod.name].loc, "first defined here"),
                                     (mod.loc, "and again here")])
                modules[mod.name] = mod
        return modules

    def modules(self, node: yaml.Node) -> dict[str, Module]:
        modules = {}
        for name, knode, vnode in self.mapping(node, "'modules'"):
            if self.ident(knode, "module name") is None:
                continue
            fields = {k: (kn, vn) for k, kn, vn in self.mapping(vnode, f"module '{name}'")}
            for key, (kn, _) in fields.items():
                if key not in MODULE_KEYS:
                    self.diag.error(self.loc(kn), f"module '{name}': unknown key '{key}'"
                                    f"{did_you_mean(key, MODULE_KEYS)}")
            params = {}
            if "params" in fields:
                for key, pk, pv in self.mapping(fields["params"][1], f"module '{name}' params"):
                    if self.ident(pk, "parameter") is not None:
                        params[key] = self.param((pk, pv))
            self.in_module = True
            inputs = self.inputs(fields["inputs"][1]) if "inputs" in fields else []
            outputs = self.outputs(fields["outputs"][1]) if "outputs" in fields else []
            blocks = self.blocks(fields["blocks"][1]) if "blocks" in fields else {}
            self.in_module = False
            doc = self.text(fields.get("doc"), "")
            modules[name] = Module(name, doc, params, inputs, outputs, blocks, self.loc(knode))
        return modules

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

    def task(self, entry) -> Param:
        """``task: {p_add: 0.3, ...}``: the settings, each checked at its own location."""
        knode, vnode = entry
        settings = {}
        for key, kn, vn in self.mapping(vnode, "task"):
            if key not in TASK_KEYS:
                hint = did_you_mean(key, TASK_KEYS) or f" (one of {', '.join(TASK_KEYS)})"
                self.diag.error(self.loc(kn), f"task: unknown key '{key}'{hint}")
                continue
            try:
                settings[key] = task_setting(key, self.value(vn))
            except ValueError as exc:
                self.diag.error(self.loc(vn), f"task: {exc}")
        return Param(settings, self.loc(vnode), self.loc(knode))

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
            name = self.ident(item, what, dotted=True) if isinstance(item, yaml.ScalarNode) else None
            if not isinstance(item, yaml.ScalarNode):
                self.diag.error(self.loc(item), f"{what} must be the name of a signal")
            elif name:
                refs.append(Ref(name, self.loc(item)))
        return refs

    def outputs(self, node: yaml.Node) -> list[Ref]:
        """``outputs:``, each signal once (an output is a column of the results)."""
        refs = self.refs(node, "output")
        first: dict[str, Ref] = {}
        for ref in refs:
            if ref.name in first:
                self.diag.error(ref.loc, f"output '{ref.name}' is listed twice",
                                [(first[ref.name].loc, f"'{ref.name}' is first listed here")])
            first.setdefault(ref.name, ref)
        return list(first.values())

    def blocks(self, node: yaml.Node) -> dict[str, Block]:
        blocks = {}
        for name, knode, vnode in self.mapping(node, "'blocks'"):
            if self.ident(knode, "block name") is None:
                continue
            fields = self.mapping(vnode, f"block '{name}'")
            if any(k == "module" for k, _, _ in fields):
                blocks[name] = self.instance(name, knode, fields)
                continue
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

    def instance(self, name: str, knode: yaml.Node, fields) -> Instance:
        """``name: {module: M, in: {port: signal or [signals]}, params: {...}}``."""
        module, module_loc, ports, params = "", self.loc(knode), {}, {}
        for key, pknode, pvnode in fields:
            if key == "module":
                module, module_loc = self.value(pvnode), self.loc(pvnode)
                if not isinstance(module, str):
                    self.diag.error(module_loc, f"instance '{name}': 'module' must be a name")
            elif key == "in":
                for port, _, ref_node in self.mapping(pvnode, f"the inputs of instance '{name}'"):
                    ports[port] = self.refs(ref_node, f"input '{port}' of instance '{name}'")
            elif key == "params":
                for pkey, pk, pv in self.mapping(pvnode, f"the params of instance '{name}'"):
                    params[pkey] = self.param((pk, pv))
            else:
                self.diag.error(self.loc(pknode), f"instance '{name}': unknown key '{key}' "
                                "(an instance has module, in and params)")
        return Instance(name, module, module_loc, ports, params, self.loc(knode))

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
