"""Tidy frame → the arguments of a :class:`~tokenheat.TokenMatrix` (``from_dataframe``).

A frame that :meth:`TokenMatrix.to_pandas` wrote (its ``attrs`` say so and its rows are in
that layout) is rebuilt cell by cell, bit for bit — repeated labels of a lens or position
axis and ``-0.0`` included. Any other frame is grouped by (row, col): a cell with one
observation is copied, several are combined with ``agg``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from tokenheat.core._checks import as_array, error, fail
from tokenheat.errors import ArgumentTypeError


def matrix_args(
    df: Any,
    row: str,
    col: str,
    value: str,
    count: str | None,
    text: str | None,
    agg: Any,
    *,
    extras: Sequence[str],
    row_order: Sequence[Any] | None,
    col_order: Sequence[Any] | None,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Keyword arguments for ``TokenMatrix(...)`` built from ``df`` (checked first)."""
    spec = _Columns(row, col, value, count, text, agg, extras)
    _check_frame(df, spec)
    saved = df.attrs.get("tokenheat", {}) if isinstance(df.attrs, dict) else {}
    if saved and (row, col) != ("row", "col"):
        saved = {}
    kwargs = dict(kwargs)
    for key, default in saved.items():
        if key not in ("row_order", "col_order"):
            kwargs.setdefault(key, default)
    kwargs.setdefault("row_title", row)
    kwargs.setdefault("col_title", col)
    kwargs.setdefault("value_label", value)
    if row_order is None and col_order is None and _in_saved_layout(df, row, col, saved):
        shape = (len(saved["row_order"]), len(saved["col_order"]))
        return {
            "values": df[value].to_numpy().reshape(shape),
            "rows": list(saved["row_order"]),
            "cols": list(saved["col_order"]),
            "counts": None if count is None else df[count].to_numpy().reshape(shape),
            "cell_text": None if text is None else df[text].to_numpy(object).reshape(shape),
            "extras": {e: df[e].to_numpy().reshape(shape) for e in extras},
            **kwargs,
        }
    rows = _order(
        df[row], row_order if row_order is not None else saved.get("row_order"), "row_order"
    )
    cols = _order(
        df[col], col_order if col_order is not None else saved.get("col_order"), "col_order"
    )
    return {
        **_aggregate(df, spec, rows, cols),
        "rows": [str(x) for x in rows],
        "cols": [str(x) for x in cols],
        **kwargs,
    }


class _Columns(NamedTuple):
    """Which columns of the frame hold what (``from_dataframe``'s arguments), and ``agg``."""

    row: str
    col: str
    value: str
    counts: str | None  # the column of counts ("count" would shadow tuple.count)
    text: str | None
    agg: Any
    extras: Sequence[str]


def _check_frame(df: Any, spec: _Columns) -> None:
    row, col, value, count, text, agg, extras = spec
    if not isinstance(df, pd.DataFrame):
        fail("df", "a pandas DataFrame", df, kind=ArgumentTypeError)
    wanted = {"row": row, "col": col, "value": value, "count": count, "text": text}
    wanted.update({f"extras[{i}]": e for i, e in enumerate(extras)})
    for arg, name in wanted.items():
        if name is not None and name not in df.columns:
            fail(arg, f"a column of df (one of {list(df.columns)})", name)
    if df.empty:
        fail("df", "a frame with at least one row", df)
    numeric = {"value": value, "count": count, **{f"extras[{e!r}]": e for e in extras}}
    for arg, name in numeric.items():
        if name is not None:
            as_array(f"{arg} (column {name!r})", df[name].to_numpy())
    if isinstance(agg, str) and not hasattr(pd.core.groupby.SeriesGroupBy, agg):
        fail("agg", "a pandas aggregation ('mean', 'sum', 'max', ...) or a callable", agg)


def _aggregate(
    df: pd.DataFrame, spec: _Columns, rows: list[Any], cols: list[Any]
) -> dict[str, Any]:
    """Values, counts, extras and cell text per (row, col) cell; absent cells are NaN."""
    row, col, value, count, text, agg, extras = spec
    r_idx = pd.Index(rows).get_indexer(df[row])
    c_idx = pd.Index(cols).get_indexer(df[col])
    keep = (r_idx >= 0) & (c_idx >= 0)
    frame = df.loc[keep].assign(_r=r_idx[keep], _c=c_idx[keep])
    grouped = frame.groupby(["_r", "_c"], sort=False)
    single = bool(grouped.size().max() <= 1)
    shape = (len(rows), len(cols))

    def grid(name: str) -> np.ndarray:
        if single:  # one observation per cell: copied, not aggregated (keeps -0.0)
            out = np.full(shape, np.nan, dtype=np.float64)
            out[frame["_r"].to_numpy(), frame["_c"].to_numpy()] = frame[name].to_numpy(float)
            return out
        return _scatter(grouped[name].agg(agg), shape)

    try:
        values = grid(value)
        extra_grids = {e: grid(e) for e in extras}
    except (TypeError, AttributeError, ValueError) as err:
        works = "a pandas aggregation that works on the value column"
        raise error("agg", works, given=f"{agg!r} ({err})") from None
    counts: np.ndarray | None
    if count:
        counts = grid(count) if single else _scatter(grouped[count].sum(min_count=1), shape)
    else:
        counts = None if single else _scatter(grouped.size(), shape)
    cell_text = None
    if text is not None:
        firsts = grouped[text].first()
        cell_text = np.full(shape, None, dtype=object)
        idx = firsts.index
        cell_text[idx.get_level_values(0), idx.get_level_values(1)] = firsts.to_numpy(dtype=object)
    return {"values": values, "counts": counts, "cell_text": cell_text, "extras": extra_grids}


def _scatter(series: pd.Series, shape: tuple[int, int]) -> np.ndarray:
    out = np.full(shape, np.nan)
    idx = series.index
    out[idx.get_level_values(0), idx.get_level_values(1)] = series.to_numpy(dtype=float)
    return out


def _in_saved_layout(df: pd.DataFrame, row: str, col: str, saved: dict[str, Any]) -> bool:
    """Whether ``df`` is row for row the frame :meth:`TokenMatrix.to_pandas` wrote."""
    rows, cols = saved.get("row_order"), saved.get("col_order")
    if not isinstance(rows, list) or not isinstance(cols, list) or not rows or not cols:
        return False
    if len(df) != len(rows) * len(cols):
        return False
    want_r = np.repeat(np.asarray(rows, dtype=object), len(cols))
    want_c = np.tile(np.asarray(cols, dtype=object), len(rows))
    return bool(
        (df[row].to_numpy(object) == want_r).all() and (df[col].to_numpy(object) == want_c).all()
    )


def _order(column: pd.Series, order: Sequence[Any] | None, name: str) -> list[Any]:
    if order is None:
        return list(pd.unique(column))
    order = list(order)
    if len(set(order)) != len(order):
        dup = next(x for x in order if order.count(x) > 1)
        fail(
            name,
            "labels that each appear once (a label names one row or column)",
            order,
            f"{dup!r} repeats",
        )
    return order
