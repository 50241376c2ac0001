"""One self-contained, offline, still-interactive HTML file.

The page inlines the front end (``static/standalone.js``, which carries the same ``render``
the notebook widget runs, and ``static/widget.css``) and the data, with every buffer base64
encoded. It references no other file or host, so it makes no network request.
"""

from __future__ import annotations

import html
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from tokenheat._version import __version__
from tokenheat.core._atomic import write_atomic
from tokenheat.core._checks import check_positive_int, check_str, fail
from tokenheat.core._display import as_left
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._spec import DEFAULT_MAX_BYTES, build_spec, dumps_for_html
from tokenheat.errors import ArgumentTypeError
from tokenheat.widget import EMPTY_SELECTION, _LinkedHeatmaps, bundle

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:">
<meta name="generator" content="tokenheat {version}">
<title>{title}</title>
<style>
body {{ margin: 16px; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #111; color: #ddd; }} }}
</style>
<style>{css}</style>
</head>
<body>
{heading}<div class="tokenheat-root" data-tokenheat="tokenheat-data-0"></div>
<script type="application/json" id="tokenheat-data-0">{data}</script>
<script>{js}</script>
</body>
</html>
"""


def _read_static(name: str) -> str:
    return bundle(name).read_text(encoding="utf-8")


def _matrices_of(obj: Any) -> tuple[list[TokenMatrix], dict[str, Any]]:
    if isinstance(obj, TokenMatrix):
        return [obj], {}
    if isinstance(obj, _LinkedHeatmaps):
        return list(obj.matrices), {
            "selected": dict(obj.selected),
            "height": obj.height,
            "orders": list(obj.orders),
            **obj._layout_options,
        }
    works = "a TokenMatrix, a non-empty list of them or a Dashboard"
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        items = list(obj)
        if not items:
            fail("obj", works, obj)
        if all(isinstance(m, TokenMatrix) for m in items):
            return items, {}
    fail("obj", works, obj, kind=ArgumentTypeError)


def to_html(
    obj: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    columns: int | None = None,
    cell_size: int | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> pathlib.Path | str:
    """Write ``obj`` as one offline HTML file in which hover, click and linking all work.

    A :class:`tokenheat.Dashboard` is exported as the reader left it: its selection and the
    row and column orders chosen in its sort menus (the ``orders`` trait) become the file's.

    Parameters
    ----------
    obj : TokenMatrix, list of TokenMatrix, or Dashboard
        What to export.
    path : str or path-like, optional
        Where to write the file (written atomically). ``None`` writes nothing and returns the
        page's text instead.
    title : str, optional
        Page title and heading (default: the matrices' titles).
    columns, cell_size, max_bytes
        As for :class:`tokenheat.Dashboard`.

    Returns
    -------
    pathlib.Path or str
        The path written (so that a notebook cell shows where the file is, not megabytes of
        page text), or the page's text when ``path`` is ``None``.

    Examples
    --------
    >>> matrix.to_html("heatmap.html")  # doctest: +SKIP
    PosixPath('heatmap.html')
    """
    matrices, state = _matrices_of(obj)
    check_str("title", title, allow_none=True)
    if columns is not None:
        check_positive_int("columns", columns)
    if cell_size is not None:
        check_positive_int("cell_size", cell_size, minimum=2)
    columns = columns if columns is not None else state.get("columns")
    cell_size = cell_size if cell_size is not None else state.get("cell_size") or 14
    spec = build_spec(matrices, columns=columns, cell_size=cell_size, max_bytes=max_bytes)
    _apply_orders(spec, matrices, state.get("orders") or [])
    payload = {
        "spec": spec,
        "selected": state.get("selected") or dict(EMPTY_SELECTION),
        "height": state.get("height", 0),
    }
    page_title = title if title is not None else " · ".join(m.title for m in matrices if m.title)
    text = _PAGE.format(
        version=__version__,
        title=html.escape(page_title or "tokenheat"),
        heading=f'<h1 class="tokenheat-page-title">{html.escape(title)}</h1>\n' if title else "",
        css=_read_static("widget.css").replace("</", "<\\/"),
        data=dumps_for_html(payload),
        js=_read_static("standalone.js"),
    )
    if path is None:
        return text
    target = pathlib.Path(path)
    data = text.encode("utf-8")
    write_atomic(target, lambda fh: fh.write(data), make_parents=True)
    return target


def _apply_orders(
    spec: dict[str, Any], matrices: list[TokenMatrix], orders: Sequence[dict[str, str]]
) -> None:
    """Write a widget's chosen row / column orders into the spec's ``display`` entries (the
    same rule as a saved results file: :func:`tokenheat.core._display.as_left`)."""
    displays = as_left([m.display for m in matrices], orders)
    for entry, display in zip(spec["matrices"], displays, strict=True):
        entry["display"]["row_order"] = display.row_order
        entry["display"]["col_order"] = display.col_order
