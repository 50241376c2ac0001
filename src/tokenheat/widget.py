"""Jupyter widgets: ``Heatmap`` (one matrix) and ``Dashboard`` (several, linked)."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import anywidget
import pandas as pd
import traitlets

from tokenheat.core._checks import check_int_range, check_positive_int, check_str, check_type
from tokenheat.core._display import ORDERS
from tokenheat.core._hook import upper
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._spec import (
    DEFAULT_MAX_BYTES,
    build_spec,
    check_matrices,
    shield_strings,
    unshield,
)

STATIC = pathlib.Path(__file__).parent / "static"

#: Nothing selected: the value of the ``selected`` trait (and of an exported page's selection)
#: before any click. ``js/types.ts`` holds its twin, ``EMPTY_SELECTION``.
EMPTY_SELECTION: dict[str, Any] = {
    "matrix": None,
    "row": None,
    "col": None,
    "token": None,
    "example": None,
}


def bundle(name: str) -> pathlib.Path:
    """The path of the built front-end file ``name`` (``widget.js``, ``standalone.js``,
    ``widget.css``), with a clear error when the bundle was never built."""
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the front-end bundle {path} is missing; build it with `npm install && npm run build` "
            "in the source tree, or reinstall tokenheat from a wheel"
        )
    return path


def _asset(name: str) -> pathlib.Path | str:
    # anywidget reads a path attribute at class creation (and watches it for hot reload with
    # ANYWIDGET_HMR=1); a missing bundle must not break the import, so it is reported by
    # bundle() when a widget is made instead.
    path = STATIC / name
    return path if path.is_file() else f"missing bundle: {name}"


def _selected_to_json(value: Any, widget: Any) -> Any:
    """The selection as synced: a token holding ``<`` travels as ``{"$json": bytes}`` so the
    widget state a notebook saves holds no ``<`` (see ``core/_spec.py``)."""
    if not isinstance(value, dict) or not isinstance(value.get("token"), str):
        return value
    return {**value, "token": shield_strings(value["token"])}


def _selected_from_json(value: Any, widget: Any) -> Any:
    if not isinstance(value, dict) or "token" not in value:
        return value
    try:
        return {**value, "token": unshield(value["token"])}
    except (ValueError, TypeError, UnicodeDecodeError):
        return {**value, "token": None}


class _LinkedHeatmaps(anywidget.AnyWidget):
    """What :class:`Heatmap` and :class:`Dashboard` share: the front end, the spec, the
    selection and its readers. Not for direct use."""

    _esm = _asset("widget.js")
    _css = _asset("widget.css")

    _spec = traitlets.Dict().tag(sync=True)
    """Everything the front end draws (see ``js/PROTOCOL.md``); buffers travel as bytes."""

    selected = traitlets.Dict(default_value=dict(EMPTY_SELECTION)).tag(
        sync=True, to_json=_selected_to_json, from_json=_selected_from_json
    )
    """The current selection, written by clicks and keys in the page: ``matrix``, ``row``,
    ``col`` (indices), ``token`` (str) and ``example`` (corpus index); ``None`` when unset."""

    height = traitlets.Int(0).tag(sync=True)
    """Maximum height in pixels of each heatmap's scroll area (0 = automatic)."""

    orders = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The row and column order of each heatmap as the reader left it, written by the page's
    sort menus: ``[{"row": "mean", "col": "original"}, ...]`` (one entry per matrix; empty
    until the reader sorts, when each matrix's ``display`` applies). ``to_html`` keeps it."""

    def __init__(
        self,
        matrices: list[TokenMatrix],
        *,
        columns: int | None,
        cell_size: int,
        max_bytes: int | None,
        **kwargs: Any,
    ) -> None:
        for name in ("widget.js", "widget.css"):
            bundle(name)
        self.matrices: list[TokenMatrix] = check_matrices(matrices)
        self._layout_options: dict[str, Any] = {"columns": columns, "cell_size": cell_size}
        spec = build_spec(self.matrices, columns=columns, cell_size=cell_size, max_bytes=max_bytes)
        super().__init__(_spec=spec, **kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(repr(m) for m in self.matrices)
        return f"{type(self).__name__}({inner})"

    @traitlets.validate("selected")
    def _validate_selected(self, proposal: Any) -> dict[str, Any]:
        value = dict(EMPTY_SELECTION)
        given = proposal["value"] or {}
        unknown = set(given) - set(EMPTY_SELECTION)
        if unknown:
            raise traitlets.TraitError(
                f"selected has unknown keys {sorted(unknown)}; use {sorted(EMPTY_SELECTION)}"
            )
        value.update(given)
        m = value["matrix"]
        if m is not None and not 0 <= int(m) < len(self.matrices):
            raise traitlets.TraitError(
                f"selected matrix {m} is out of range; the dashboard has {len(self.matrices)}"
            )
        return value

    @traitlets.validate("orders")
    def _validate_orders(self, proposal: Any) -> list[dict[str, str]]:
        value = list(proposal["value"] or [])
        if len(value) > len(self.matrices):
            raise traitlets.TraitError(
                f"orders has {len(value)} entries; the dashboard has {len(self.matrices)} matrices"
            )
        out = []
        for i, entry in enumerate(value):
            if not isinstance(entry, dict) or set(entry) - {"row", "col"}:
                raise traitlets.TraitError(
                    f"orders[{i}] must be a dict with keys 'row' and 'col', got {entry!r}"
                )
            for axis in ("row", "col"):
                mode = entry.get(axis, "original")
                if mode not in ORDERS:
                    raise traitlets.TraitError(
                        f"orders[{i}][{axis!r}] must be one of {', '.join(ORDERS)}, got {mode!r}"
                    )
            out.append({"row": entry.get("row", "original"), "col": entry.get("col", "original")})
        return out

    def clear_selection(self) -> None:
        """Clear the selection here and in the page."""
        self.selected = dict(EMPTY_SELECTION)

    def select(
        self,
        matrix: int = 0,
        row: int | None = None,
        col: int | None = None,
        token: str | None = None,
        example: int | None = None,
    ) -> None:
        """Select a cell, token or example from Python; the page follows."""
        n = len(self.matrices)
        matrix = check_int_range("matrix", matrix, 0, n - 1, "one index per matrix")
        shape = self.matrices[matrix].shape
        for name, value, size in (("row", row, shape[0]), ("col", col, shape[1])):
            if value is not None:
                check_int_range(name, value, 0, size - 1)
        check_str("token", token, allow_none=True)
        if example is not None:
            check_positive_int("example", example, minimum=0)
        self.selected = {
            "matrix": matrix,
            "row": row,
            "col": col,
            "token": token,
            "example": example,
        }

    def selected_contexts(self) -> pd.DataFrame:
        """The contexts of the selected cell as a tidy frame (empty when nothing is selected).

        Examples
        --------
        >>> dash.selected_contexts()[["token", "example"]]  # doctest: +SKIP
        """
        sel = self.selected
        if sel.get("matrix") is None or sel.get("row") is None or sel.get("col") is None:
            return pd.DataFrame()
        m = self.matrices[int(sel["matrix"])]
        if m.contexts is None:
            return pd.DataFrame()
        entries = m.contexts.cell(int(sel["row"]), int(sel["col"]))
        return m.contexts.to_pandas(m.corpus, entries=entries)

    def to_html(self, path: Any = None, **kwargs: Any) -> pathlib.Path | str:
        """Write this dashboard as one offline, interactive HTML file, sorted and selected as
        it is now; returns the file's path (or, without a path, the page's text).

        See :func:`tokenheat.to_html`.
        """
        return upper("to_html")(self, path, **kwargs)

    def to_altair(self, **kwargs: Any) -> Any:
        """The heatmaps as linked Altair charts."""
        return upper("to_altair")(self, **kwargs)


class Dashboard(_LinkedHeatmaps):
    """Several heatmaps that share one selection and one context panel.

    Parameters
    ----------
    matrices : sequence of TokenMatrix
        The heatmaps, drawn in order.
    columns : int, optional
        Heatmaps per grid row (default: up to 2).
    cell_size : int
        Preferred cell size in CSS pixels; large matrices shrink it and scroll.
    max_bytes : int, optional
        Payload limit (default 64 MiB); above it a ValueError says what to reduce.

    Examples
    --------
    >>> dash = Dashboard([m1, m2])          # doctest: +SKIP
    >>> dash                                # shows inline in a notebook  # doctest: +SKIP
    >>> dash.selected["token"]              # what the user clicked  # doctest: +SKIP
    """

    def __init__(
        self,
        matrices: Sequence[TokenMatrix],
        *,
        columns: int | None = None,
        cell_size: int = 14,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            check_matrices(matrices),
            columns=columns,
            cell_size=cell_size,
            max_bytes=max_bytes,
            **kwargs,
        )


class Heatmap(_LinkedHeatmaps):
    """One matrix as an interactive heatmap with its context panel.

    Parameters
    ----------
    matrix : TokenMatrix
        What to draw.
    columns, cell_size, max_bytes
        As for :class:`Dashboard`.

    Examples
    --------
    >>> Heatmap(matrix)  # doctest: +SKIP
    """

    def __init__(
        self,
        matrix: TokenMatrix,
        *,
        columns: int | None = None,
        cell_size: int = 14,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        **kwargs: Any,
    ) -> None:
        check_type(
            "matrix",
            matrix,
            TokenMatrix,
            "a tokenheat.TokenMatrix",
            "for several matrices use tokenheat.Dashboard([...])",
        )
        super().__init__(
            [matrix], columns=columns, cell_size=cell_size, max_bytes=max_bytes, **kwargs
        )

    @property
    def matrix(self) -> TokenMatrix:
        """The matrix drawn."""
        return self.matrices[0]
