"""Groups of a :class:`~tokenheat.Display` in the Altair export: a separator line at each end
of a span of rows or columns and the group's name beside it, as the widget draws them.

A group is drawn only while the chart's order keeps its members together (as in
``groupSpan`` of ``js/reading.ts``). The marks read their positions from the cell records
themselves (fields ``cg``/``cge`` and ``rg``/``rge`` on one record at each end of a span), so
the chart keeps a single dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np

from tokenheat.core._display import Group


def span(group: Group, order: np.ndarray) -> tuple[int, int] | None:
    """Display positions (first, last) of the group's members, or None when split apart."""
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    shown = position[group.start : group.end]
    first, last = int(shown.min()), int(shown.max())
    return (first, last) if last - first + 1 == len(shown) else None


def mark_records(
    records: list[dict[str, Any]],
    n_cols: int,
    row_groups: Sequence[Group],
    col_groups: Sequence[Group],
    row_order: np.ndarray,
    col_order: np.ndarray,
) -> bool:
    """Flag the records at each end of every drawable group; returns whether any was."""
    drawn = False

    def at(r: int, c: int) -> dict[str, Any]:
        return records[int(r) * n_cols + int(c)]

    for g in col_groups:
        s = span(g, col_order)
        if s is not None:
            at(row_order[0], col_order[s[0]])["cg"] = g.label
            at(row_order[0], col_order[s[1]])["cge"] = True
            drawn = True
    for g in row_groups:
        s = span(g, row_order)
        if s is not None:
            at(row_order[s[0]], col_order[0])["rg"] = g.label
            at(row_order[s[1]], col_order[0])["rge"] = True
            drawn = True
    return drawn


def group_layers(base: alt.Chart, x: Any, y: Any, width: float) -> list[Any]:
    """Separator rules and names for the flagged records (see :func:`mark_records`).

    ``x`` and ``y`` are the cell chart's encodings (same scales, so the rules fall on cell
    edges); ``width`` is the plot's width in pixels (row names go right of it).
    """

    def at_edge(enc: Any, band: float) -> Any:
        return enc.copy(deep=True).to_dict() | {"bandPosition": band}

    def rule(field: str, **edge: Any) -> Any:  # a group's first (band 0) or last (1) edge
        rule = base.transform_filter(f"isValid(datum.{field})")
        return rule.mark_rule(color="black", strokeWidth=2).encode(**edge)

    return [
        rule("cg", x=at_edge(x, 0)),
        rule("cge", x=at_edge(x, 1)),
        base.transform_filter("isValid(datum.cg)")
        .mark_text(align="left", baseline="bottom", dy=-3, fontWeight="bold")
        .encode(x=at_edge(x, 0), y=alt.value(0), text="cg:N"),
        rule("rg", y=at_edge(y, 0)),
        rule("rge", y=at_edge(y, 1)),
        base.transform_filter("isValid(datum.rg)")
        .mark_text(align="left", baseline="top", dx=4, fontWeight="bold")
        .encode(x=alt.value(width), y=at_edge(y, 0), text="rg:N"),
    ]
