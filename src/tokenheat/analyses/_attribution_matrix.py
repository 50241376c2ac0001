"""The TokenMatrix of :func:`tokenheat.attribution`: values, labels and one context per cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenheat.analyses._attr_jobs import Column


def cell_contexts(
    attr: list[np.ndarray],
    columns: list[Column],
    lengths: list[int],
    per_column: dict[str, np.ndarray],
) -> Any:
    """One context per cell (row = position, column = target) inside its input.

    Each lists the column's whole input coloured by the column's attributions, the clicked
    position highlighted (``start``/``end``) and the scored position as the second mark
    (``start2``/``end2``). Every context of a column passes the very same score array, so
    :class:`~tokenheat.Contexts` stores it once. ``per_column`` values (one per column) are
    repeated for each of the column's cells; ``attribution`` is the cell's own value.
    """
    from tokenheat.core import Contexts

    n = [lengths[c.example] for c in columns]
    col = np.repeat(np.arange(len(columns)), n)
    pos = np.concatenate([np.arange(k) for k in n]) if columns else np.zeros(0, np.int64)
    vectors = [np.asarray(a, dtype=np.float32) for a in attr]
    scored = np.array([c.position for c in columns], np.int64)[col]
    numeric = {name: np.asarray(v, np.float64)[col] for name, v in per_column.items()}
    numeric["attribution"] = np.concatenate(vectors) if vectors else np.zeros(0, np.float32)
    return Contexts(
        row=pos,
        col=col,
        example=np.array([c.example for c in columns], np.int64)[col],
        start=pos,
        end=pos + 1,
        start2=scored,
        end2=scored + 1,
        scores=[vectors[c] for c in col],
        numeric=numeric,
        labels={"target": [columns[c].target for c in col]},
    )


def attribution_matrix(
    attr: list[np.ndarray],
    columns: list[Column],
    encoded: list[Any],
    f_x: np.ndarray,
    completeness: tuple[np.ndarray, np.ndarray] | None,
    meta: dict[str, Any],
    title: str | None,
    *,
    contexts: bool = True,
) -> Any:
    """The attribution TokenMatrix (values, labels, scale, corpus and, if ``contexts``, one
    context per cell)."""
    from tokenheat.core import ColorScale, Corpus, TokenMatrix

    tokens = [list(e.tokens) for e in encoded]
    n_rows, n_cols = max(map(len, tokens)), len(columns)
    values = np.full((n_rows, n_cols), np.nan)
    cell_text = np.full((n_rows, n_cols), None, dtype=object)
    for c, col in enumerate(columns):
        toks = tokens[col.example]
        values[: len(toks), c] = attr[c]
        cell_text[: len(toks), c] = toks
    same = all(t == tokens[0] for t in tokens)
    rows = tokens[0] if same else [f"pos {i}" for i in range(n_rows)]
    # a row carries a token for linking when every input long enough has that token there
    at = [{t[i] for t in tokens if i < len(t)} for i in range(n_rows)]
    row_tokens = [next(iter(s)) if len(s) == 1 else None for s in at]
    extras: dict[str, Any] = {}
    numeric: dict[str, np.ndarray] = {"score": np.asarray(f_x, np.float64)}
    if completeness is not None:
        err, rel = completeness
        have = ~np.isnan(values)
        extras = {
            "completeness_error": np.where(have, err[None], np.nan),
            "completeness_rel": np.where(have, rel[None], np.nan),
        }
        numeric.update(completeness_error=err, completeness_rel=rel)
    bound = float(np.nanmax(np.abs(values))) if np.any(np.isfinite(values)) else 1.0
    multi = len(encoded) > 1
    lengths = [len(t) for t in tokens]
    cells = cell_contexts(attr, columns, lengths, numeric) if contexts else None
    meta = {**meta, "columns": [c.label for c in columns], "targets": [c.target for c in columns]}
    return TokenMatrix(
        values,
        rows=rows,
        cols=[c.label for c in columns],
        row_kind="position",
        col_kind="example" if multi else "target",
        row_title="input token" if same else "position",
        col_title="example" if multi else "target",
        title=title if title is not None else f"Attribution ({meta['method'].replace('_', ' ')})",
        value_label="attribution" + (f" ({meta['normalize']})" if meta["normalize"] else ""),
        cell_text=cell_text,
        extras=extras,
        scale=ColorScale.diverging("RdBu", center=0.0, domain=(-(bound or 1.0), bound or 1.0)),
        row_tokens=row_tokens,
        col_tokens=[c.token for c in columns],
        col_examples=[c.example for c in columns] if multi else None,
        corpus=Corpus.from_tokens(tokens, texts=[e.text for e in encoded]),
        contexts=cells,
        meta=meta,
    )


def attribution_tallies(
    attr: Any, columns: Any, f_x: Any, comp: tuple[Any, Any] | None
) -> dict[str, Any]:
    """What :func:`tokenheat.merge` needs to rebuild the matrix over several shards (also
    what a merged result carries, so it can be merged again)."""
    return {
        "attr": [np.asarray(a, np.float64) for a in attr],
        "names": [c.target for c in columns],
        "examples": [c.example for c in columns],
        "tokens": [c.token for c in columns],
        "positions": [c.position for c in columns],
        "f_x": f_x,
        "err": None if comp is None else comp[0],
        "rel": None if comp is None else comp[1],
    }
