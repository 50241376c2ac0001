"""TokenMatrix → Altair (Vega-Lite) heatmaps; several matrices → linked charts.

Token strings are untrusted. Altair's HTML templates (``chart.save("x.html")``, the HTML
renderers used by Colab and others) paste the spec into a ``<script>`` element with
``json.dumps``, which leaves ``</script>`` as is, so a token could end the script and inject
markup. Every chart built here therefore carries its cells as one JSON *string* (Vega-Lite
``data.values`` with ``format: json``) in which ``<``, ``>`` and ``&`` are written as ``\\u``
escapes, axis labels live in ``labelExpr`` string literals escaped the same way, and titles
have a word joiner after each ``<``. No raw ``<`` from a token reaches the page.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import altair as alt
import numpy as np

from tokenheat.core._checks import (
    check_choice,
    check_optional_positive_int,
    check_type,
    fail,
)
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._tokens import display_token, is_byte_level, link_key
from tokenheat.errors import ArgumentTypeError, PayloadTooLargeError
from tokenheat.export._altair_groups import group_layers, mark_records
from tokenheat.export._order import axis_order

#: Altair's own default row limit: above it a matrix is refused unless ``max_rows=None``.
DEFAULT_MAX_ROWS = 5000
#: Cell text is drawn in the cells (auto mode) only up to this many cells.
TEXT_MAX_CELLS = 400
#: Colour of a missing (NaN) cell.
MISSING_COLOR = "#d4d4d4"
#: The selection parameter shared by linked charts.
LINK_PARAM = "th_token"

#: tokenheat palette → Vega colour scheme (both run low → high in the same direction:
#: RdBu and Vega's "redblue" go red → blue, RdYlGn and "redyellowgreen" red → green).
VEGA_SCHEMES = {
    "viridis": "viridis",
    "magma": "magma",
    "Blues": "blues",
    "Greys": "greys",
    "RdBu": "redblue",
    "RdYlGn": "redyellowgreen",
}
_DARK_LOW = frozenset({"viridis", "magma"})  # palettes whose low end is dark


def _script_safe_json(obj: Any) -> str:
    """JSON in which ``<``, ``>`` and ``&`` are ``\\u`` escapes (safe inside ``<script>``)."""
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _safe_title(text: str) -> str:
    """A title that cannot open or close a ``<script>`` element: a word joiner (invisible
    when drawn) after every ``<``."""
    return str(text).replace("<", "<\u2060")


def _label_expr(labels: Sequence[str]) -> str:
    """A Vega expression mapping an index (``datum.value``) to its label."""
    return f"{_script_safe_json(list(labels))}[datum.value]"


def _fmt(value: float) -> str:
    return "missing" if not np.isfinite(value) else f"{value:.4g}"


def _ink(values: np.ndarray, lo: float, hi: float, palette: str, reverse: bool) -> np.ndarray:
    """Black or white text per cell, whichever reads better on the cell's colour."""
    t = np.clip((values - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    t = np.where(np.isfinite(t), t, 0.5)
    if reverse:
        t = 1.0 - t
    if palette in ("RdBu", "RdYlGn"):
        dark = np.abs(t - 0.5) > 0.3
    elif palette in _DARK_LOW:
        dark = t < 0.55
    else:
        dark = t > 0.55
    return np.where(dark & np.isfinite(values), "white", "black")


def _axis_labels(labels: list[str], tokens: list[str | None] | None = None) -> list[str]:
    """Labels as the widget draws them: every axis decoded like tokens ("Ġmovie" → "␣movie"),
    a piece of a character on an axis of byte-level tokens as its bytes ("<0xE7><0xA4>")."""
    byte_level = is_byte_level(labels)
    return [display_token(lab, byte_level=byte_level) for lab in labels]


def _fixed(value: float, digits: int) -> str:
    """A printed cell value, as ``formatFixed`` in ``js/reading.ts`` ("−0.50"; "" for NaN)."""
    if np.isnan(value):
        return ""
    if not np.isfinite(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.{digits}f}"
    if re.fullmatch(r"-0(\.0*)?", text):
        text = text[1:]
    return text.replace("-", "−")


def _unique(titles: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        out.append(title if seen[title] == 1 else f"{title} ({seen[title]})")
    return out


def _records(m: TokenMatrix, lo: float, hi: float) -> tuple[list[dict[str, Any]], list[str]]:
    """One record per cell, and the token fields (link keys) present for linking."""
    r, c = m.shape
    rows = _axis_labels(m.rows, m.row_tokens)
    cols = _axis_labels(m.cols, m.col_tokens)
    values = m.values.astype(np.float64)
    shortest = m.values.astype(str)
    texts = m.cell_text_array()
    texts_byte_level = m.cell_text is not None and is_byte_level(m.cell_text[0])
    ink = _ink(values, lo, hi, m.scale.palette, m.scale.reverse)
    display = m.display
    min_count = display.min_count
    extras = list(m.extras.values())
    fields = [
        f
        for f, present in (("rt", m.row_tokens), ("ct", m.col_tokens), ("tt", texts))
        if present is not None
    ]
    out = []
    for i in range(r):
        rt = m.row_tokens[i] if m.row_tokens is not None else None
        for j in range(c):
            v = values[i, j]
            rec: dict[str, Any] = {
                "r": i,
                "c": j,
                "row": rows[i],
                "col": cols[j],
                "value": float(shortest[i, j]) if np.isfinite(v) else None,
                "vt": _fmt(v),
                "ink": str(ink[i, j]),
            }
            if m.counts is not None:
                n = float(m.counts[i, j])
                thin = min_count is not None and n < min_count and bool(np.isfinite(v))
                below = f" (below {_fmt(min_count)})" if min_count is not None and thin else ""
                rec["n"] = _fmt(n) + below
                rec["thin"] = thin
            if display.cell_text == "value":
                rec["pv"] = _fixed(v, display.digits)
            if display.mark_outliers and np.isfinite(v) and (v > hi or v < lo):
                rec["beyond"] = "▲" if v > hi else "▼"
                rec["vt"] += f" (beyond the scale's end, {_fmt(hi if v > hi else lo)})"
            ct = m.col_tokens[j] if m.col_tokens is not None else None
            tt = texts[i, j] if texts is not None else None
            if texts is not None:
                rec["text"] = "—" if tt is None else display_token(tt, byte_level=texts_byte_level)
            for k, grid in enumerate(extras):
                rec[f"e{k}"] = _fmt(float(grid[i, j]))
            keys = {"rt": link_key(rt), "ct": link_key(ct), "tt": link_key(tt)}
            rec.update(keys)
            rec["token"] = next((k for k in keys.values() if k is not None), None)
            out.append(rec)
    return out, fields


def _match_expr(fields: list[str]) -> str:
    """True where a cell carries (as row token, col token or cell text) a selected token."""
    sel = f"{LINK_PARAM}.token"
    tests = [f"(isValid(datum.{f}) && indexof({sel}, datum.{f}) >= 0)" for f in fields]
    return f"isArray({sel}) && ({' || '.join(tests) or 'false'})"


def _check_size(m: TokenMatrix, index: int | None, max_rows: int | None) -> None:
    if max_rows is None:
        return
    n = m.shape[0] * m.shape[1]
    if n > max_rows:
        fail(
            "obj" if index is None else f"obj[{index}] ({m.title!r})",
            f"at most max_rows={max_rows} cells (Altair embeds one data row per cell in the chart)",
            given=f"{m.shape[0]} × {m.shape[1]} = {n} cells",
            hint="keep fewer rows (top_k=... in the analysis) or pass max_rows=None to draw it "
            "anyway",
            kind=PayloadTooLargeError,
        )


def _chart(
    m: TokenMatrix,
    *,
    cell_size: int | None,
    cell_text: bool | None,
    link: Any,
    orders: dict[str, str] | None = None,
) -> alt.Chart | alt.LayerChart:
    lo, hi = m.scale.resolve(m.values)
    records, fields = _records(m, lo, hi)
    r, c = m.shape
    display = m.display
    fits = cell_text if cell_text is not None else r * c <= TEXT_MAX_CELLS
    draw_values = display.cell_text == "value" and fits
    draw_text = m.cell_text is not None and display.cell_text == "auto" and fits and not draw_values
    orders = orders or {}
    row_order = axis_order(m, "row", orders.get("row", display.row_order))
    col_order = axis_order(m, "col", orders.get("col", display.col_order))
    step = cell_size or (36 if draw_text or draw_values else 16)
    grouped = mark_records(records, c, display.row_groups, display.col_groups, row_order, col_order)
    data_format = alt.DataFormat(type="json")  # type: ignore[no-untyped-call]
    base = alt.Chart(alt.InlineData(values=_script_safe_json(records), format=data_format))
    titles = _titles(m)
    enc = _Encodings(*_axes(m, row_order, col_order), _tooltip(m, titles))
    rect = _rect(base, enc, _color(m, lo, hi, grouped, titles[2]), m, link, fields)
    layers: list[Any] = [rect]
    if draw_values:
        layers.append(_text_layer(base.transform_filter("datum.pv !== ''"), enc, "pv:N"))
    if display.mark_outliers and any("beyond" in rec for rec in records):
        layers.append(
            base.transform_filter("isValid(datum.beyond)")
            .mark_text(fontSize=8, align="right", baseline="top", dx=step / 2 - 1, dy=-step / 2 + 1)
            .encode(x=enc.x, y=enc.y, text="beyond:N", tooltip=enc.tooltip)
        )
    if grouped:
        layers += group_layers(base, enc.x, enc.y, width=step * c)
    chart: alt.Chart | alt.LayerChart = rect if len(layers) == 1 else alt.LayerChart(layer=layers)
    if draw_text:
        limit = max(step - 2, 8)
        text = _text_layer(base.transform_filter("isValid(datum.tt)"), enc, "text:N", limit=limit)
        chart = alt.LayerChart(layer=[*layers, text])
    props: dict[str, Any] = {"width": alt.Step(step), "height": alt.Step(step)}
    if m.title:
        props["title"] = _safe_title(m.title)
    return chart.properties(**props)


class _Encodings(NamedTuple):
    """The encodings every layer of one matrix's chart shares."""

    x: Any
    y: Any
    tooltip: list[Any]


def _titles(m: TokenMatrix) -> list[str]:
    """Field titles, made unique: row, col, value, count, text, then one per extra."""
    return _unique(
        [_safe_title(t) for t in (m.row_title, m.col_title, m.value_label, "n", "text")]
        + [_safe_title(k) for k in m.extras]
    )


def _tooltip(m: TokenMatrix, titles: list[str]) -> list[Any]:
    """The tooltip of a cell: row, col, value, then count, text and extras where present."""
    tooltip = [
        alt.Tooltip("row:N", title=titles[0]),
        alt.Tooltip("col:N", title=titles[1]),
        alt.Tooltip("vt:N", title=titles[2]),
    ]
    if m.counts is not None:
        tooltip.append(alt.Tooltip("n:N", title=titles[3]))
    if m.cell_text is not None:
        tooltip.append(alt.Tooltip("text:N", title=titles[4]))
    tooltip += [alt.Tooltip(f"e{k}:N", title=t) for k, t in enumerate(titles[5:])]
    return tooltip


def _axes(m: TokenMatrix, row_order: np.ndarray, col_order: np.ndarray) -> tuple[Any, Any]:
    """The x (columns) and y (rows) encodings, in display order, labelled for display."""
    x = alt.X(
        "c:O",
        title=_safe_title(m.col_title),
        scale=alt.Scale(domain=[int(i) for i in col_order]),
        axis=alt.Axis(labelExpr=_label_expr(_axis_labels(m.cols, m.col_tokens))),
    )
    y = alt.Y(
        "r:O",
        title=_safe_title(m.row_title),
        scale=alt.Scale(domain=[int(i) for i in row_order]),
        axis=alt.Axis(labelExpr=_label_expr(_axis_labels(m.rows, m.row_tokens))),
    )
    return x, y


def _color(m: TokenMatrix, lo: float, hi: float, grouped: bool, title: str) -> Any:
    """The fill: the colour scale over [lo, hi]; missing cells in MISSING_COLOR."""
    scale: dict[str, Any] = {
        "scheme": VEGA_SCHEMES[m.scale.palette],
        "domain": [lo, hi],
        "reverse": bool(m.scale.reverse),
        "clamp": True,
    }
    if m.scale.center is not None:
        scale["domainMid"] = float(m.scale.center)
    legend: dict[str, Any] = {"title": title}
    names = [g.label for g in m.display.row_groups]
    if grouped and names:  # row-group names stand right of the cells: the legend makes room
        legend["offset"] = 18 + 7 * max(len(n) for n in names)
    return alt.condition(  # the missing-cell test must come first: Vega-Lite adds its own
        "!isValid(datum.value)",
        alt.value(MISSING_COLOR),
        alt.Color("value:Q", scale=alt.Scale(**scale), legend=alt.Legend(**legend)),
    )


def _rect(
    base: alt.Chart, enc: _Encodings, color: Any, m: TokenMatrix, link: Any, fields: list[str]
) -> alt.Chart:
    """The cells: coloured, dimmed/outlined by the link selection, faded where counts are few."""
    stroke = None if link is None else "black"
    rect: alt.Chart = base.mark_rect(invalid=None, stroke=stroke).encode(
        x=enc.x, y=enc.y, color=color, tooltip=enc.tooltip
    )
    if link is not None:
        match = _match_expr(fields)
        rect = rect.encode(
            opacity=alt.condition(
                f"!isArray({LINK_PARAM}.token) || !isValid({LINK_PARAM}.token[0]) || ({match})",
                alt.value(1.0),
                alt.value(0.3),
            ),
            strokeWidth=alt.condition(match, alt.value(2), alt.value(0)),
        ).add_params(link)
    if m.display.min_count is not None and m.counts is not None:
        # Few observations: drawn faded (fill only, so the link's opacity and outline still work).
        rect = rect.encode(fillOpacity=alt.condition("datum.thin", alt.value(0.4), alt.value(1.0)))
    return rect


def _text_layer(filtered: alt.Chart, enc: _Encodings, text: str, **mark: Any) -> alt.Chart:
    """Text over the cells (values or cell text), white on dark ink and black on light."""
    layer: alt.Chart = filtered.mark_text(fontSize=10, **mark).encode(
        x=enc.x,
        y=enc.y,
        text=text,
        color=alt.condition("datum.ink === 'white'", alt.value("white"), alt.value("black")),
        tooltip=enc.tooltip,
    )
    return layer


# Not core's check_matrices: this one also takes a Dashboard, says whether one chart was
# asked for, and its errors name ``obj``.
def _matrices(obj: Any) -> tuple[list[TokenMatrix], bool]:
    if isinstance(obj, TokenMatrix):
        return [obj], True
    matrices = getattr(obj, "matrices", obj)
    works = "a TokenMatrix, a non-empty list of them or a tokenheat.Dashboard"
    if isinstance(matrices, (str, bytes)) or not isinstance(matrices, Sequence):
        fail("obj", works, obj, kind=ArgumentTypeError)
    matrices = list(matrices)
    if not matrices:
        fail("obj", works, matrices)
    for i, m in enumerate(matrices):
        check_type(f"obj[{i}]", m, TokenMatrix, "a tokenheat.TokenMatrix")
    return matrices, len(matrices) == 1 and not isinstance(obj, (list, tuple))


def to_altair(
    obj: Any,
    *,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    cell_size: int | None = None,
    cell_text: bool | None = None,
    link_on: str | None = "click",
    columns: int | None = None,
) -> alt.TopLevelMixin:
    """Draw a matrix as a Vega-Lite heatmap, or several as linked charts.

    Each cell is a rect coloured like the widget (same palette, domain, centre and
    direction), missing (NaN) cells grey, and a tooltip with row, column, value, ``n``, cell
    text and extras. The matrix's :class:`~tokenheat.Display` applies as in the widget: rows
    and columns in its order (for a dashboard, the orders its reader chose), values printed
    with ``digits`` for ``cell_text="value"``, cells with ``n`` below ``min_count`` faded and
    their ``n`` marked "(below …)", values beyond the scale flagged with ▲ / ▼, and groups
    set apart by separator lines and named (while the order keeps each group together). Clicking a cell (or
    hovering, with ``link_on="pointerover"``) selects its token (the row's, else the
    column's, else the cell text); every cell carrying that token as row token, column
    token or cell text, in every chart, is outlined and the others are dimmed.
    Double-click clears.

    Parameters
    ----------
    obj : TokenMatrix, list of TokenMatrix or tokenheat.Dashboard
        What to draw.
    max_rows : int or None
        Most cells per matrix (default 5000, Altair's own limit); ``None`` lifts it.
    cell_size : int, optional
        Cell size in pixels (default 16, or 36 when cell text is drawn).
    cell_text : bool, optional
        Draw cell text (or, with ``display.cell_text="value"``, the printed values) inside
        the cells; default: when there is something to print and at most 400 cells.
    link_on : {"click", "pointerover"} or None
        The event that selects a token; ``None`` drops the linking selection.
    columns : int, optional
        Charts per row for several matrices (default 2).

    Returns
    -------
    altair.Chart, altair.LayerChart or altair.ConcatChart
        One matrix gives a ``Chart`` (a ``LayerChart`` with cell text); a list or a
        dashboard of several gives a ``ConcatChart``. Save with ``chart.save("x.html")``,
        ``"x.png"`` or ``"x.svg"`` (PNG/SVG need ``vl-convert-python``). The cells are
        carried as a JSON string, not a DataFrame: use ``matrix.to_pandas()`` for the data.

    Raises
    ------
    tokenheat.errors.PayloadTooLargeError
        When a matrix has more than ``max_rows`` cells (a ``ValueError``).
    tokenheat.errors.ArgumentError
        When ``link_on`` is unknown, ``obj`` is an empty list, or ``max_rows``,
        ``cell_size`` or ``columns`` is an int below 1 (a ``ValueError``).
    tokenheat.errors.ArgumentTypeError
        When ``obj`` is not a matrix, a list of matrices or a dashboard, or ``max_rows``,
        ``cell_size`` or ``columns`` is not an int (a ``TypeError``).

    Examples
    --------
    >>> import tokenheat as th
    >>> m = th.TokenMatrix([[0.1, 0.9]], rows=["Ġthe"], cols=["0", "1"], row_kind="token")
    >>> chart = to_altair(m)
    >>> chart.save("heatmap.svg")  # doctest: +SKIP
    """
    matrices, single = _matrices(obj)
    check_choice("link_on", link_on, ("click", "pointerover", None))
    check_optional_positive_int("cell_size", cell_size)
    check_optional_positive_int("columns", columns)
    check_optional_positive_int("max_rows", max_rows)
    for i, m in enumerate(matrices):
        _check_size(m, None if single else i, max_rows)
    link = None
    if link_on is not None:
        link = alt.selection_point(
            name=LINK_PARAM,
            fields=["token"],
            on=link_on,
            clear="dblclick" if link_on == "click" else "pointerout",
            toggle=False,
        )
    chosen = list(getattr(obj, "orders", None) or [])
    charts = [
        _chart(
            m,
            cell_size=cell_size,
            cell_text=cell_text,
            link=link,
            orders=chosen[i] if i < len(chosen) else None,
        )
        for i, m in enumerate(matrices)
    ]
    if single:
        return charts[0]
    with warnings.catch_warnings():
        # Altair merges the one shared selection of every chart and warns that it did so.
        warnings.filterwarnings("ignore", message="Automatically deduplicated selection")
        concat = alt.concat(*charts, columns=columns or min(len(charts), 2))
    linked: alt.TopLevelMixin = concat.resolve_scale(
        color="independent", x="independent", y="independent"
    )
    return linked
