"""TokenMatrix: a labelled metric matrix over tokens, with the contexts behind its cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tokenheat.core._checks import (
    as_array,
    as_float_grid,
    as_int_array,
    as_labels,
    check_index_range,
    clean_text,
    clean_texts,
    fail,
    unique_or_raise,
)
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._display import Display
from tokenheat.core._frame import matrix_args
from tokenheat.core._hook import upper
from tokenheat.core._scale import ColorScale
from tokenheat.core._tokens import tokens_text
from tokenheat.errors import ArgumentTypeError

if TYPE_CHECKING:
    import pathlib

    import altair

#: Axis kinds on which a label may repeat (a token at two positions, two examples alike).
REPEATABLE_KINDS = frozenset({"position", "example", "target"})
#: Column names of :meth:`TokenMatrix.to_pandas` that an extra may not take.
RESERVED_EXTRAS = frozenset({"row", "col", "value", "count", "text"})


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
        arr = as_array("values", values)
        if arr.ndim != 2:
            fail(
                "values",
                "two-dimensional (rows × cols)",
                arr,
                "reshape a vector with values[None, :]",
            )
        if arr.size == 0:
            fail("values", "a matrix with at least one row and one column", arr)
        shape = (int(arr.shape[0]), int(arr.shape[1]))
        self.values = as_float_grid("values", arr, shape)
        self.rows = as_labels("rows", rows, shape[0])
        self.cols = as_labels("cols", cols, shape[1])
        self.row_kind = clean_text("row_kind", str(row_kind))
        self.col_kind = clean_text("col_kind", str(col_kind))
        for name, labels, kind in (
            ("rows", self.rows, self.row_kind),
            ("cols", self.cols, self.col_kind),
        ):
            if kind not in REPEATABLE_KINDS:
                unique_or_raise(name, labels, kind)
        self.row_title = clean_text(
            "row_title", str(row_title) if row_title is not None else self.row_kind
        )
        self.col_title = clean_text(
            "col_title", str(col_title) if col_title is not None else self.col_kind
        )
        self.title = clean_text("title", str(title))
        self.value_label = clean_text("value_label", str(value_label))
        self.cell_text = _cell_text(cell_text, shape)
        self.counts = None if counts is None else as_float_grid("counts", counts, shape)
        self.extras = _extras(extras, shape)
        self.scale = ColorScale.coerce(scale)
        self.row_tokens = _axis_tokens("row_tokens", row_tokens, self.rows, self.row_kind)
        self.col_tokens = _axis_tokens("col_tokens", col_tokens, self.cols, self.col_kind)
        if corpus is not None and not isinstance(corpus, Corpus):
            fail("corpus", "a tokenheat.Corpus or None", corpus, kind=ArgumentTypeError)
        self.row_examples = _examples("row_examples", row_examples, shape[0], corpus)
        self.col_examples = _examples("col_examples", col_examples, shape[1], corpus)
        if contexts is not None:
            if not isinstance(contexts, Contexts):
                fail("contexts", "a tokenheat.Contexts or None", contexts, kind=ArgumentTypeError)
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
        return cls(
            **matrix_args(
                df,
                row,
                col,
                value,
                count,
                text,
                agg,
                extras=extras,
                row_order=row_order,
                col_order=col_order,
                kwargs=kwargs,
            )
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

    @classmethod
    def from_scores(
        cls,
        tokens: Sequence[str],
        scores: Any,
        *,
        text: str | None = None,
        title: str = "",
        value_label: str = "score",
        scale: ColorScale | str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> TokenMatrix:
        """A one-row matrix of one score per token of a text (circuitsvis' ``colored_tokens``).

        Columns are the tokens (kind ``"position"``, each linked by its token); each cell's
        context is the whole text coloured by the scores, the cell's token highlighted.

        Parameters
        ----------
        tokens : sequence of str
            The text's tokens, raw (``"Ġthe"``) or as text (``" the"``).
        scores : 1-D array-like or tensor
            One number per token (NaN for none); a torch tensor of any dtype or device.
        text : str, optional
            The text (default: the tokens' text joined).
        title, value_label, scale, meta
            As for :class:`TokenMatrix`; the default scale is diverging around 0 when a
            score is negative.

        Raises
        ------
        ArgumentError
            If ``scores`` is not one-dimensional or its length is not ``len(tokens)`` (a
            ``ValueError``).

        Examples
        --------
        >>> m = TokenMatrix.from_scores(["The", "Ġcat"], [0.5, -1.0])
        >>> m.shape, m.col_tokens
        ((1, 2), ['The', 'Ġcat'])
        """
        toks = as_labels("tokens", tokens)
        arr = as_array("scores", scores)  # torch of any dtype/device, masked arrays, lists
        if arr.shape != (len(toks),):
            fail("scores", f"one-dimensional with one number per token ({len(toks)})", arr)
        grid = as_float_grid("scores", arr[None], (1, len(toks)))
        vec, n = grid[0], len(toks)
        if scale is None and np.nanmin(grid, initial=0.0) < 0:
            bound = float(np.nanmax(np.abs(grid), initial=0.0)) or 1.0
            scale = ColorScale.diverging("RdBu", center=0.0, domain=(-bound, bound))
        pos = np.arange(n)
        joined = tokens_text(toks)  # a character split over byte-level tokens comes out whole
        return cls(
            grid, [value_label], toks, row_kind="score", col_kind="position", col_title="token",
            title=title, value_label=value_label, scale=scale, col_tokens=toks,
            corpus=Corpus.from_tokens([toks], texts=[joined if text is None else text]),
            contexts=Contexts(
                np.zeros(n, np.int64), pos, np.zeros(n, np.int64), pos, pos + 1,
                scores=[vec] * n, numeric={"score": vec},
            ),
            meta={"analysis": "scores", **(meta or {})},
        )  # fmt: skip


def _cell_text(cell_text: Any, shape: tuple[int, int]) -> tuple[list[str], np.ndarray] | None:
    if cell_text is None:
        return None
    arr = np.asarray(cell_text, dtype=object)
    if arr.shape != shape:
        fail("cell_text", f"an array of shape {shape} (the matrix shape)", arr)
    flat = arr.reshape(-1)
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in flat])
    texts = np.where(missing, "", flat).astype(str)
    codes, vocab = pd.factorize(texts, sort=False)
    codes = codes.astype(np.int32)
    codes[missing] = -1
    return clean_texts("cell_text", [str(v) for v in vocab]), codes.reshape(shape)


def _extras(extras: Mapping[str, Any] | None, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Extras by name: names that collide (``3`` and ``"3"``) or shadow a ``to_pandas``
    column (``value``, ``row``, ...) are refused."""
    if extras is None:
        return {}
    if not isinstance(extras, Mapping):
        fail("extras", "a mapping of name to array (R, C)", extras, kind=ArgumentTypeError)
    out: dict[str, np.ndarray] = {}
    for key, grid in extras.items():
        name = clean_text("extras", str(key))
        if name in RESERVED_EXTRAS:
            fail(
                "extras",
                f"named other than {', '.join(sorted(RESERVED_EXTRAS))} (to_pandas columns)",
                key,
                f"rename it, e.g. '{name}_extra'",
            )
        if name in out:
            fail("extras", "keys that stay distinct as str", key, f"it collides with {name!r}")
        out[name] = as_float_grid(f"extras[{name!r}]", grid, shape)
    return out


def _examples(name: str, examples: Any, n: int, corpus: Corpus | None) -> np.ndarray | None:
    """Per-label example indices: -1 for none, else an example of ``corpus``."""
    if examples is None:
        return None
    arr = as_int_array(name, examples, n)
    high = len(corpus) if corpus is not None else np.iinfo(np.int32).max
    what = "-1 for none" + (f", else an example of the corpus of {high}" if corpus else "")
    check_index_range(name, arr, -1, high, what)
    return arr


def _axis_tokens(
    name: str, tokens: Sequence[str | None] | None, labels: list[str], kind: str
) -> list[str | None] | None:
    if tokens is None:
        return list(labels) if kind == "token" else None
    if isinstance(tokens, str) or not hasattr(tokens, "__len__") or len(tokens) != len(labels):
        fail(name, f"one token (or None) per label ({len(labels)})", tokens)
    out = [None if t is None else str(t) for t in tokens]
    present = clean_texts(name, [t for t in out if t is not None])
    it = iter(present)
    return [None if t is None else next(it) for t in out]
