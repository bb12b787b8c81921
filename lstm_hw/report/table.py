"""Plain-text tables for the terminal."""
from __future__ import annotations


def render_table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """Columns padded to their widest cell; align: one 'l' or 'r' per column (default right)."""
    cells = [[str(h) for h in header]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    align = align or "r" * len(header)
    lines = []
    for n, row in enumerate(cells):
        parts = [v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(row, widths, align)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt_num(x: float, digits: int = 6) -> str:
    """A float compactly: whole numbers without a point, others to `digits` significant digits."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"
