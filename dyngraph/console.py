"""Console helpers shared by the ``dyngraph`` commands: plain-text tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_value", "metric_table", "table"]


def format_value(value: Any) -> str:
    """Format one table cell: thousands separators, 4 significant digits."""
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Render ``rows`` (mappings) as a left-aligned text table of ``columns``.

    A missing cell is left empty.
    """
    cells = [[format_value(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(lines)


def metric_table(title: str, rows: Mapping[str, Mapping[str, float]]) -> str:
    """Render ``{method: {metric: value}}`` under ``title``, three decimals."""
    columns = list(next(iter(rows.values())))
    lines = [f"\n{title}", "  " + f"{'':<24}" + "".join(f"{c:>16}" for c in columns)]
    for name, values in rows.items():
        cells = "".join(f"{values[c]:>16.3f}" for c in columns)
        lines.append(f"  {name:<24}{cells}")
    return "\n".join(lines)
