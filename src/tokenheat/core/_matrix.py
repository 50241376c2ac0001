"""TokenMatrix: a labelled metric matrix over tokens, with the contexts behind its cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tokenheat.core._checks import as_float_grid, as_int_array, as_labels, describe, unique_or_raise
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._display import Display
from tokenheat.core._hook import upper
from tokenheat.core._scale import ColorScale

if TYPE_CHECKING:
    import pathlib

    import altair

#: Axis kinds on which a label may repeat (a token at two positions, two examples alike).
REPEATABLE_KINDS = frozenset({"position", "example", "target"})


class TokenMatrix:
    """A metric matrix over tokens: values, axis labels and kinds, and the contexts behind cells.

    Parameters
    ----------
    values : array-like (R, C)
        The metric. ``NaN`` marks a missing cell (drawn as missing); ``±inf`` is rejected.
    rows, cols : sequence of str
        Axis labels (``R`` and ``C`` of them).
    row_kind, col_kind : str
        What an axis holds: ``"token"``, ``"bucket"``, ``"layer"``, ``"position"``,
        ``"example"``, ``"distance"``, ``"target"`` or anything else. Linking uses it.
    row_title, col_title : str, optional
        Axis titles (default: the kind).
    title : str
        The heatmap's title.
    value_label : str
        What a value is, e.g. ``"entropy (nats)"``.
    cell_text : array-like (R, C) of str or None, optional
        Text per cell, e.g. the top-1 predicted token.
    counts : array-like (R, C), optional
        The number of observations behind each cell.
    extras : mapping of str to array-like (R, C), optional
        More per-cell numbers shown in the tooltip, e.g. confidence bounds.
    scale : ColorScale or str, optional
        Colour scale or palette name (default viridis over the data range).
    row_tokens, col_tokens : sequence of str or None, optional
        The token each row/column carries, for linking (default: the labels on a
        ``"token"`` axis).
    row_examples, col_examples : sequence of int, optional
        The corpus example of each row/column on an ``"example"`` axis (-1 for none).
    corpus : Corpus, optional
        The examples the contexts point into.
    contexts : Contexts, optional
        The occurrences behind each cell.
    meta : dict, optional
        Free-form JSON-able metadata (method, model, warnings, ...).
    display : Display or dict, optional
        Reading defaults: initial row/column order, printed values, faded thin cells, marked
        outliers, labelled groups of rows/columns (see :class:`tokenheat.Display`).

    Raises
    ------
    ValueError
        For an empty matrix, shapes or label counts that do not match, ±inf values,
        ambiguous duplicate labels, or contexts that point outside the matrix or corpus.

    Examples
    --------
    >>> import numpy as np
    >>> m = TokenMatrix(np.eye(2), rows=["a", "b"], cols=["x", "y"], row_kind="token")
    >>> m.shape
    (2, 2)
    """

    def __init__(
        self,
        values: Any,
        rows: Sequence[str],
        cols: Sequence[str],
        *,
        row_kind: str = "row",
        col_kind: str = "col",
        row_title: str | None = None,
        col_title: str | None = None,
        title: str = "",
        value_label: str = "value",
        cell_text: Any = None,
        counts: Any = None,
        extras: Mapping[str, Any] | None = None,
        scale: ColorScale | str | None = None,
        row_tokens: Sequence[str | None] | None = None,
        col_tokens: Sequence[str | None] | None = None,
        row_examples: Sequence[int] | None = None,
        col_examples: Sequence[int] | None = None,
        corpus: Corpus | None = None,
        contexts: Contexts | None = None,
        meta: Mapping[str, Any] | None = None,
        display: Display | Mapping[str, Any] | None = None,
    ) -> None:
        arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if arr.ndim != 2:
            raise ValueError(
                f"values must be two-dimensional (rows × cols), got {describe(arr)}; "
                "reshape a vector with values[None, :]"
            )
        if arr.size == 0:
            raise ValueError(
                f"values is empty (shape {arr.shape}); a heatmap needs at least one row and "
                "one column"
            )
        shape = (int(arr.shape[0]), int(arr.shape[1]))
        self.values = as_float_grid("values", arr, shape)
        self.rows = as_labels("rows", rows, shape[0])
        self.cols = as_labels("cols", cols, shape[1])
        self.row_kind, self.col_kind = str(row_kind), str(col_kind)
        for name, labels, kind in (
            ("rows", self.rows, self.row_kind),
            ("cols", self.cols, self.col_kind),
        ):
            if kind not in REPEATABLE_KINDS:
                unique_or_raise(name, labels, kind)
        self.row_title = row_title if row_title is not None else self.row_kind
        self.col_title = col_title if col_title is not None else self.col_kind
        self.title = str(title)
        self.value_label = str(value_label)
        self.cell_text = _cell_text(cell_text, shape)
        self.counts = None if counts is None else as_float_grid("counts", counts, shape)
        self.extras = {
            str(k): as_float_grid(f"extras[{k!r}]", v, shape) for k, v in (extras or {}).items()
        }
        self.scale = ColorScale.coerce(scale)
        self.row_tokens = _axis_tokens("row_tokens", row_tokens, self.rows, self.row_kind)
        self.col_tokens = _axis_tokens("col_tokens", col_tokens, self.cols, self.col_kind)
        self.row_examples = (
            None if row_examples is None else as_int_array("row_examples", row_examples, shape[0])
        )
        self.col_examples = (
            None if col_examples is None else as_int_array("col_examples", col_examples, shape[1])
        )
        if corpus is not None and not isinstance(corpus, Corpus):
            raise TypeError(f"corpus must be a tokenheat.Corpus, got {type(corpus).__name__}")
        if contexts is not None:
            if not isinstance(contexts, Contexts):
                raise TypeError(
                    f"contexts must be a tokenheat.Contexts, got {type(contexts).__name__}"
                )
            contexts.check_against(shape, corpus)
        self.corpus = corpus
        self.contexts = contexts
        self.meta: dict[str, Any] = dict(meta or {})
        self.display = Display.coerce(display)
        self.display.check_against(shape)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def __repr__(self) -> str:
        """Title, shape, kinds and the range of the finite values, e.g.
        ``TokenMatrix('flips', 3 token × 10 bucket, flip rate 0.02 to 0.91, 57 contexts)``."""
        ctx = f", {len(self.contexts)} contexts" if self.contexts is not None else ""
        title = f"{self.title!r}, " if self.title else ""
        finite = self.values[np.isfinite(self.values)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            span = f"{lo:.4g}" if lo == hi else f"{lo:.4g} to {hi:.4g}"
        else:
            span = "no finite values"
        missing = self.values.size - finite.size
        gaps = f", {missing} missing" if missing else ""
        return (
            f"TokenMatrix({title}{self.shape[0]} {self.row_kind} × {self.shape[1]} "
            f"{self.col_kind}, {self.value_label} {span}{gaps}{ctx})"
        )

    def cell_text_at(self, row: int, col: int) -> str | None:
        """The text of one cell, or ``None``."""
        if self.cell_text is None:
            return None
        vocab, codes = self.cell_text
        code = int(codes[row, col])
        return vocab[code] if code >= 0 else None

    def cell_text_array(self) -> np.ndarray | None:
        """Cell texts as an object array (R, C), ``None`` where a cell has none."""
        if self.cell_text is None:
            return None
        vocab, codes = self.cell_text
        table = np.asarray([*vocab, None], dtype=object)
        return table[np.where(codes >= 0, codes, len(vocab))]

    def equals(self, other: TokenMatrix) -> bool:
        """Same values (NaN = NaN), labels, kinds, counts, cell text, extras and scale."""
        if not isinstance(other, TokenMatrix) or self.shape != other.shape:
            return False
        same = (
            np.array_equal(self.values, other.values, equal_nan=True)
            and self.rows == other.rows
            and self.cols == other.cols
            and (self.row_kind, self.col_kind) == (other.row_kind, other.col_kind)
            and self.scale == other.scale
            and self.display == other.display
            and self.extras.keys() == other.extras.keys()
        )
        if not same:
            return False
        if (self.counts is None) != (other.counts is None):
            return False
        if (
            self.counts is not None
            and other.counts is not None
            and not np.array_equal(self.counts, other.counts, equal_nan=True)
        ):
            return False
        if not all(
            np.array_equal(v, other.extras[k], equal_nan=True) for k, v in self.extras.items()
        ):
            return False
        mine, theirs = self.cell_text_array(), other.cell_text_array()
        return (mine is None and theirs is None) or (
            mine is not None and theirs is not None and (mine == theirs).all()
        )

    # ------------------------------------------------------------------ pandas
    def to_pandas(self) -> pd.DataFrame:
        """The tidy form: one row per cell with ``row``, ``col``, ``value`` (+ ``count``,
        ``text`` and extras where present). Missing cells keep ``NaN``.

        Examples
        --------
        >>> TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x", "y"]).to_pandas().value.tolist()
        [1.0, 2.0]
        """
        r, c = self.shape
        frame = pd.DataFrame(
            {
                "row": np.repeat(np.asarray(self.rows, dtype=object), c),
                "col": np.tile(np.asarray(self.cols, dtype=object), r),
                "value": self.values.reshape(-1),
            }
        )
        if self.counts is not None:
            frame["count"] = self.counts.reshape(-1)
        texts = self.cell_text_array()
        if texts is not None:
            frame["text"] = texts.reshape(-1)
        for name, grid in self.extras.items():
            frame[name] = grid.reshape(-1)
        frame.attrs["tokenheat"] = {
            "row_kind": self.row_kind,
            "col_kind": self.col_kind,
            "row_title": self.row_title,
            "col_title": self.col_title,
            "title": self.title,
            "value_label": self.value_label,
            "scale": self.scale,
            "display": self.display,
            "row_order": list(self.rows),
            "col_order": list(self.cols),
        }
        return frame

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        row: str,
        col: str,
        value: str,
        count: str | None = None,
        text: str | None = None,
        agg: str | Any = "mean",
        *,
        extras: Sequence[str] = (),
        row_order: Sequence[Any] | None = None,
        col_order: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> TokenMatrix:
        """Build a matrix from a tidy frame (one row per observation or per cell).

        Parameters
        ----------
        df : pandas.DataFrame
            The tidy frame.
        row, col, value : str
            Column names for the row label, the column label and the value.
        count : str, optional
            A column of counts per row of ``df``; summed per cell.
        text : str, optional
            A column of cell text; the first text per cell is kept.
        agg : str or callable
            How duplicates of one (row, col) are combined: any pandas aggregation
            (``"mean"``, ``"sum"``, ``"max"``, ``"median"``, ...).
        extras : sequence of str
            More numeric columns, aggregated like ``value``, shown in the tooltip.
        row_order, col_order : sequence, optional
            Label order (default: order of first appearance).
        **kwargs
            Passed to :class:`TokenMatrix` (``row_kind``, ``scale``, ``title``, ...).

        Returns
        -------
        TokenMatrix
            Cells absent from ``df`` are ``NaN``.

        Raises
        ------
        ValueError
            When a named column is missing or the frame is empty.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"tok": ["a", "a", "b"], "b": [0, 0, 1], "v": [1.0, 3.0, 5.0]})
        >>> TokenMatrix.from_dataframe(df, row="tok", col="b", value="v").values.tolist()
        [[2.0, nan], [nan, 5.0]]
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        wanted = {"row": row, "col": col, "value": value, "count": count, "text": text}
        wanted.update({f"extras[{i}]": e for i, e in enumerate(extras)})
        for arg, name in wanted.items():
            if name is not None and name not in df.columns:
                raise ValueError(
                    f"{arg}={name!r} is not a column of df; the columns are {list(df.columns)}"
                )
        if df.empty:
            raise ValueError("df is empty; a heatmap needs at least one row")
        saved = df.attrs.get("tokenheat", {}) if isinstance(df.attrs, dict) else {}
        if saved and (row, col) != ("row", "col"):
            saved = {}
        row_order = row_order if row_order is not None else saved.get("row_order")
        col_order = col_order if col_order is not None else saved.get("col_order")
        rows = _order(df[row], row_order, "row_order")
        cols = _order(df[col], col_order, "col_order")
        r_idx = pd.Index(rows).get_indexer(df[row])
        c_idx = pd.Index(cols).get_indexer(df[col])
        keep = (r_idx >= 0) & (c_idx >= 0)
        frame = df.loc[keep].assign(_r=r_idx[keep], _c=c_idx[keep])
        grouped = frame.groupby(["_r", "_c"], sort=False)

        def grid(series: pd.Series) -> np.ndarray:
            out = np.full((len(rows), len(cols)), np.nan)
            idx = series.index
            out[idx.get_level_values(0), idx.get_level_values(1)] = series.to_numpy(dtype=float)
            return out

        try:
            values = grid(grouped[value].agg(agg))
            extra_grids = {e: grid(grouped[e].agg(agg)) for e in extras}
        except (TypeError, AttributeError, ValueError) as err:
            raise ValueError(f"agg={agg!r} could not aggregate the value column: {err}") from None
        counts: np.ndarray | None = (
            grid(grouped[count].sum(min_count=1)) if count else grid(grouped.size())
        )
        cell_text = None
        if text is not None:
            firsts = grouped[text].first()
            cell_text = np.full((len(rows), len(cols)), None, dtype=object)
            idx = firsts.index
            cell_text[idx.get_level_values(0), idx.get_level_values(1)] = firsts.to_numpy(
                dtype=object
            )
        if count is None and grouped.size().max() <= 1:
            counts = None
        for key, default in saved.items():
            if key not in ("row_order", "col_order"):
                kwargs.setdefault(key, default)
        kwargs.setdefault("row_title", row)
        kwargs.setdefault("col_title", col)
        kwargs.setdefault("value_label", value)
        return cls(
            values,
            [str(x) for x in rows],
            [str(x) for x in cols],
            counts=counts,
            cell_text=cell_text,
            extras=extra_grids,
            **kwargs,
        )

    # ------------------------------------------------------------------ display / export
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # The widget's bundle, with this matrix's repr as the text a terminal shows.
        bundle = upper("Heatmap")(self)._repr_mimebundle_(**kwargs)
        if bundle is None:
            return {"text/plain": repr(self)}
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        return {**data, "text/plain": repr(self)}, metadata

    def to_html(self, path: Any = None, **kwargs: Any) -> pathlib.Path | str:
        """Write one self-contained, offline, interactive HTML file; returns its path (a
        :class:`pathlib.Path`), or the page's text when ``path`` is ``None``.

        See :func:`tokenheat.to_html`.
        """
        written: pathlib.Path | str = upper("to_html")(self, path, **kwargs)
        return written

    def to_altair(self, **kwargs: Any) -> altair.Chart:
        """This matrix as an Altair (Vega-Lite) heatmap with tooltips."""
        chart: altair.Chart = upper("to_altair")(self, **kwargs)
        return chart


def _cell_text(cell_text: Any, shape: tuple[int, int]) -> tuple[list[str], np.ndarray] | None:
    if cell_text is None:
        return None
    arr = np.asarray(cell_text, dtype=object)
    if arr.shape != shape:
        raise ValueError(f"cell_text has shape {arr.shape}; it must match the matrix shape {shape}")
    flat = arr.reshape(-1)
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in flat])
    texts = np.where(missing, "", flat).astype(str)
    codes, vocab = pd.factorize(texts, sort=False)
    codes = codes.astype(np.int32)
    codes[missing] = -1
    return [str(v) for v in vocab], codes.reshape(shape)


def _axis_tokens(
    name: str, tokens: Sequence[str | None] | None, labels: list[str], kind: str
) -> list[str | None] | None:
    if tokens is None:
        return list(labels) if kind == "token" else None
    if isinstance(tokens, str) or len(tokens) != len(labels):
        raise ValueError(
            f"{name} must hold one token (or None) per label ({len(labels)}), got {describe(tokens)}"
        )
    return [None if t is None else str(t) for t in tokens]


def _order(column: pd.Series, order: Sequence[Any] | None, name: str) -> list[Any]:
    if order is None:
        return list(pd.unique(column))
    order = list(order)
    if len(set(order)) != len(order):
        raise ValueError(f"{name} holds a label more than once")
    return order
