"""Hierarchy: instances of modules flattened into plain blocks with hierarchical names.

An instance ``l1: {module: lstm_layer, in: {x: x}, params: {n: 16}}`` becomes the module's
blocks named ``l1.<block>``; inside, a reference to an input port is replaced by the signal the
instance connects to it, any other name ``s`` becomes ``l1.s`` (so ``l1.h`` outside is the block
``h`` of the instance), and ``$param`` values are replaced by the instance's parameters (or the
module's defaults; a null value leaves its key out). Nested instances stack their prefixes.
``Design.origins`` records, for every flattened block, the instances it came from, so that a
diagnostic about ``l1.zi`` can point at the module's text and at the instance.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..diagnostics import Diagnostics, SourceLoc, did_you_mean
from .schema import Block, Design, Instance, Module, Ref

PARAM_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
MAX_DEPTH = 32


def flatten(design: Design) -> Design:
    """The design with every instance expanded; raises NetlistError with all problems."""
    if not any(isinstance(b, Instance) for b in design.blocks.values()):
        return design
    flat = _Flattener(design)
    blocks = flat.expand_blocks(design.blocks, "", {}, {}, [], [])
    flat.diag.abort_if_errors()
    return replace(design, blocks=blocks, origins=flat.origins)


class _Flattener:
    def __init__(self, design: Design):
        self.d = design
        self.diag = Diagnostics()
        self.origins: dict[str, list[tuple[SourceLoc, str]]] = {}

    def expand_blocks(self, blocks, prefix: str, ports: dict[str, list[Ref]], env: dict,
                      origin: list, stack: list[str]) -> dict[str, Block]:
        out: dict[str, Block] = {}
        for name, item in blocks.items():
            if isinstance(item, Instance):
                out.update(self.instance(item, prefix, ports, env, origin, stack))
                continue
            full = prefix + name
            op = self.subst(item.op, env, item.op_loc)
            if op is None or not isinstance(op, str):
                self.diag.error(item.op_loc, f"block '{full}': 'op' must be an op name, got "
                                f"{op!r}")
                continue
            params = {}
            for key, p in item.params.items():
                value = self.subst(p.value, env, p.loc)
                if value is not None:
                    params[key] = replace(p, value=self.names_in(key, value, prefix, ports))
            out[full] = Block(full, op, item.op_loc,
                              self.refs(item.inputs, prefix, ports, env), params, item.loc)
            if origin:
                self.origins[full] = list(origin)
        return out

    def names_in(self, key: str, value, prefix: str, ports):
        """enable, reset and sel name signals: resolve them like inputs."""
        if key in ("enable", "reset", "sel") and isinstance(value, str):
            return self.resolve(value, prefix, ports)
        return value

    def resolve(self, name: str, prefix: str, ports: dict[str, list[Ref]]) -> str:
        if name in ports:
            connected = ports[name]
            return connected[0].name if len(connected) == 1 else name
        return prefix + name

    def refs(self, refs: list[Ref], prefix: str, ports: dict[str, list[Ref]],
             env: dict) -> list[Ref]:
        out = []
        for ref in refs:
            names = self.subst(ref.name, env, ref.loc)
            for name in (names if isinstance(names, list) else [names]):
                if not isinstance(name, str):
                    self.diag.error(ref.loc, f"expected a signal name, got {name!r}")
                elif name in ports:
                    out += ports[name]
                else:
                    out.append(Ref(prefix + name, ref.loc))
        return out

    def subst(self, value, env: dict, loc: SourceLoc):
        """Replace ``$param`` values (deeply) by the parameter's value."""
        if isinstance(value, str):
            m = PARAM_REF.match(value)
            if not m:
                return value
            if m.group(1) not in env:
                self.diag.error(loc, f"'{value}' names no parameter"
                                f"{did_you_mean(m.group(1), env) if env else ' (not in a module)'}")
                return None
            return env[m.group(1)].value
        if isinstance(value, list):
            return [self.subst(v, env, loc) for v in value]
        if isinstance(value, dict):
            return {k: self.subst(v, env, loc) for k, v in value.items()}
        return value

    def instance(self, inst: Instance, prefix: str, ports, env, origin, stack):
        full = prefix + inst.name
        module: Module | None = self.d.modules.get(inst.module)
        if module is None:
            self.diag.error(inst.module_loc, f"instance '{full}': no module '{inst.module}'"
                            f"{did_you_mean(inst.module, self.d.modules)}")
            return {}
        if inst.module in stack or len(stack) >= MAX_DEPTH:
            path = " -> ".join(stack + [inst.module])
            self.diag.error(inst.loc, f"instance '{full}': modules instantiate each other in a "
                            f"loop: {path}")
            return {}
        here = [*origin, (inst.loc, f"'{full}' is an instance of module '{module.name}' here")]
        # parameters: the module's defaults, then the instance's values (given in the parent's
        # scope, so their own $params and names resolve there)
        values = dict(module.params)
        for key, p in inst.params.items():
            if key not in module.params:
                self.diag.error(p.key_loc, f"instance '{full}': module '{module.name}' has no "
                                f"parameter '{key}'{did_you_mean(key, module.params)}",
                                [(module.loc, f"module '{module.name}' is defined here")])
                continue
            values[key] = replace(p, value=self.subst(p.value, env, p.loc))
        # ports: every module input connected, nothing else
        names = [port.name for port in module.inputs]
        for port, refs in inst.ports.items():
            if port not in names:
                self.diag.error(refs[0].loc if refs else inst.loc, f"instance '{full}': module '{module.name}' has no "
                                f"input '{port}'{did_you_mean(port, names)} (its inputs: "
                                f"{', '.join(names)})")
        inner: dict[str, list[Ref]] = {}
        joined: dict[str, Block] = {}
        for port in module.inputs:
            if port.name not in inst.ports:
                self.diag.error(inst.loc, f"instance '{full}': input '{port.name}' of module "
                                f"'{module.name}' is not connected",
                                [(port.loc, f"'{port.name}' is declared here")])
                continue
            refs = self.refs(inst.ports[port.name], prefix, ports, env)
            if not refs:
                self.diag.error(inst.loc, f"instance '{full}': input '{port.name}' is connected "
                                "to nothing")
                continue
            if len(refs) > 1:   # several signals on one port: their concatenation, as a block
                name = f"{full}.{port.name}"
                joined[name] = Block(name, "concat", inst.loc, refs, {}, refs[0].loc)
                refs = [Ref(name, refs[0].loc)]
            inner[port.name] = refs
        blocks = self.expand_blocks(module.blocks, full + ".", inner, values, here,
                                    stack + [inst.module])
        return {**joined, **blocks}
