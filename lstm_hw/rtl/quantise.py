"""Verilog quantisers: an exact signed value into an ``ap_fixed`` format, as one function.

``finish`` in ``lstm_hw/fixed.py`` is the definition (floor onto the target grid, round by the
first dropped bit ``qb`` and the sticky bit ``r``, then the overflow mode); this module writes the
same steps in Verilog-2005 for one (source width, dropped bits, format) at a time, with every
width a literal and every sign extension written out: the value is held in plain (unsigned)
vectors read as two's complement, so no expression depends on Verilog's context-determined
widths or signedness. Only the logic of the format's own modes is written.
"""
from __future__ import annotations

from ..fixed import FixedFormat

# The rounding modes' increment, from qb (first dropped bit), r (any lower dropped bit), neg
# (the exact value is negative) and odd (the floored value's lowest bit): quantization_adjust.
ROUND_INCREMENT = {
    "AP_TRN": None,
    "AP_RND": "qb",
    "AP_RND_ZERO": "qb & (neg | r)",
    "AP_RND_MIN_INF": "qb & r",
    "AP_RND_INF": "qb & (~neg | r)",
    "AP_RND_CONV": "qb & (odd | r)",
    "AP_TRN_ZERO": "neg & (qb | r)",
}


def lit(value: int, width: int) -> str:
    """A sized literal of value's two's complement bits (value must fit in width bits)."""
    return f"{width}'h{value & ((1 << width) - 1):x}"


def sext(name: str, width: int, to: int, signed: bool = True) -> str:
    """name (an identifier of ``width`` bits, two's complement if signed) widened to ``to``."""
    if to == width:
        return name
    assert to > width, (name, width, to)
    top = f"{name}[{width - 1}]" if signed else "1'b0"
    return f"{{{{{to - width}{{{top}}}}}, {name}}}"


def quantiser(fname: str, in_width: int, drop: int, fmt: FixedFormat) -> str:
    """A Verilog function ``fname(v)``: the signed ``in_width``-bit value v, scaled by
    2**-drop (drop < 0: a left shift), quantised into ``fmt``; returns fmt's raw bits."""
    w = fmt.width
    body: list[str] = []
    decl = [f"input [{in_width - 1}:0] v;"]
    # floor onto the target grid: fl (fw bits), first dropped bit qb, sticky r
    need_r = fmt.rounding not in ("AP_TRN", "AP_RND")
    if drop > 0:
        ew = max(in_width, drop + 2)
        decl.append(f"reg [{ew - 1}:0] ve;")
        body.append(f"ve = {sext('v', in_width, ew)};")
        fw = ew - drop
        fl_expr = f"ve[{ew - 1}:{drop}]"
        qb_expr = f"ve[{drop - 1}]"
        r_expr = f"|ve[{drop - 2}:0]" if drop >= 2 else "1'b0"
    elif drop == 0:
        fw, fl_expr, qb_expr, r_expr = in_width, "v", "1'b0", "1'b0"
    else:
        fw, fl_expr, qb_expr, r_expr = in_width - drop, f"{{v, {-drop}'b0}}", "1'b0", "1'b0"
    flw = max(fw, w + 1)           # room for the bit above the format (AP_WRAP_SM's ld)
    vw = flw + 1                   # the rounded value: one more bit for the increment
    decl += [f"reg [{fw - 1}:0] fl0;", f"reg [{flw - 1}:0] fl;", f"reg [{vw - 1}:0] val;",
             "reg neg;"]
    body += [f"fl0 = {fl_expr};", f"fl = {sext('fl0', fw, flw)};",
             f"neg = v[{in_width - 1}];"]
    inc = ROUND_INCREMENT[fmt.rounding]
    if inc is not None:
        decl += ["reg qb, r, odd;"] if need_r else ["reg qb;"]
        body.append(f"qb = {qb_expr};")
        if need_r:
            body += [f"r = {r_expr};", "odd = fl[0];"]
        body.append(f"val = {sext('fl', flw, vw)} + {{{vw - 1}'b0, {inc}}};")
    else:
        body.append(f"val = {sext('fl', flw, vw)};")
    if fmt.signed:
        fits = f"(&val[{vw - 1}:{w - 1}] | ~|val[{vw - 1}:{w - 1}])"
    else:
        fits = f"~|val[{vw - 1}:{w}]"
    hi = (1 << (w - 1)) - 1 if fmt.signed else (1 << w) - 1
    lo = -(1 << (w - 1)) if fmt.signed else 0
    o = fmt.saturation
    sym = o == "AP_SAT_SYM" and fmt.signed
    cond = fits if not sym else f"{fits} & (val[{w - 1}:0] != {lit(lo, w)})"
    over = f"~val[{vw - 1}]"
    body.append(f"if ({cond}) {fname} = val[{w - 1}:0];")
    if o == "AP_SAT" or (o == "AP_WRAP_SM" and not fmt.signed):
        body.append(f"else {fname} = {over} ? {lit(hi, w)} : {lit(lo, w)};")
    elif o == "AP_SAT_ZERO":
        body.append(f"else {fname} = {lit(0, w)};")
    elif o == "AP_SAT_SYM":
        low = -hi if fmt.signed and w > 1 else lo
        body.append(f"else {fname} = {over} ? {lit(hi, w)} : {lit(low, w)};")
    else:
        body += ["else begin", *("  " + s for s in _wrap(fname, fmt)), "end"]
        decl.append(f"reg [{w - 1}:0] bits;")
        if o == "AP_WRAP_SM" and fmt.saturation_bits == 0:
            decl.append("reg ld;")
    lines = [f"function [{w - 1}:0] {fname};   // {fmt}, from {in_width} bits, "
             f"{'dropping ' + str(drop) if drop >= 0 else 'adding ' + str(-drop)} "
             f"fractional bits"]
    lines += ["  " + d for d in decl] + ["  begin"] + ["    " + b for b in body] + ["  end",
                                                                                  "endfunction"]
    return "\n".join(lines)


def _wrap(fname: str, fmt: FixedFormat) -> list[str]:
    """The wrapping overflow modes (AP_WRAP with N saturation bits, signed AP_WRAP_SM)."""
    w, nb = fmt.width, fmt.saturation_bits
    top = f"bits[{w - 1}]"
    rng = f"bits[{w - 2}:{w - nb}]" if nb > 1 else None   # the N - 1 bits below the sign
    out = [f"bits = val[{w - 1}:0];"]
    if fmt.saturation == "AP_WRAP":
        if nb > 0 and fmt.signed:
            out.append(f"{top} = neg;")
            if rng:
                out.append(f"{rng} = neg ? {nb - 1}'b0 : {{{nb - 1}{{1'b1}}}};")
        elif nb > 0:
            out.append(f"bits[{w - 1}:{w - nb}] = {{{nb}{{1'b1}}}};")
    elif nb == 0:   # AP_WRAP_SM: ld, the lowest deleted bit of the floored source
        out += [f"ld = fl[{w}];", f"if (ld != {top}) bits = ~bits;", f"{top} = ld;"]
    elif nb == 1:
        out += [f"if (neg != {top}) bits = ~bits;", f"{top} = neg;"]
    else:
        out += [f"if (bits[{w - nb}] == neg) bits = ~bits;",
                f"{rng} = neg ? {nb - 1}'b0 : {{{nb - 1}{{1'b1}}}};", f"{top} = neg;"]
    out.append(f"{fname} = bits;")
    return out
