"""For the round-trip tests (store, pandas): a TokenMatrix and a Contexts with every optional
field set, and comparisons of two Contexts and of two matrices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import tokenheat as th


def full_matrix(**over: Any) -> th.TokenMatrix:
    """Missing values and counts, empty and absent cell text, a BPE space marker, extras and a
    diverging scale with its own domain; ``over`` replaces or adds keywords."""
    options: dict[str, Any] = {
        "rows": ["Ġthe", "<b>x</b>"],
        "cols": ["b0", "b1", "b2"],
        "row_kind": "token",
        "col_kind": "bucket",
        "row_title": "token",
        "col_title": "bucket",
        "title": "flip rate",
        "value_label": "rate",
        "cell_text": [["a", None, ""], [None, "Ċ", "a"]],
        "counts": [[3, np.nan, 1], [0, 7, 2]],
        "extras": {"ci_low": [[0.1, np.nan, -2], [np.nan, 1.5, 0]], "ci_high": np.ones((2, 3))},
        "scale": th.ColorScale.diverging("RdYlGn", center=0.5, domain=(-2.0, 3.0)),
    }
    options.update(over)
    return th.TokenMatrix(np.array([[0.5, np.nan, -1.25], [np.nan, 2.0, 0.0]]), **options)


def full_contexts(**over: Any) -> th.Contexts:
    """Four contexts with second spans (some absent), score vectors of every length (empty, with
    a NaN), numeric and label columns; ``over`` replaces or adds keywords."""
    options: dict[str, Any] = {
        "row": [1, 0, 0, 1],
        "col": [0, 1, 0, 2],
        "example": [2, 0, 1, 0],
        "start": [0, 1, 0, 2],
        "end": [1, 2, 2, 3],
        "start2": [-1, 0, 1, -1],
        "end2": [-1, 1, 2, -1],
        "scores": [np.arange(4.0), np.zeros(0), np.array([0.5, np.nan]), np.ones(3)],
        "numeric": {"p_orig": [0.9, 0.8, np.nan, 0.1], "p_new": [0.2, 0.3, 0.4, 0.5]},
        "labels": {"orig": ["pos", "neg", "pos", "<b>"], "new": ["neg", "neg", "pos", "pos"]},
    }
    options.update(over)
    return th.Contexts(**options)


def same_contexts(a: th.Contexts, b: th.Contexts) -> None:
    """Assert that ``a`` and ``b`` hold the same contexts, columns and score vectors."""
    pd.testing.assert_frame_equal(
        a.to_pandas().drop(columns="scores", errors="ignore"),
        b.to_pandas().drop(columns="scores", errors="ignore"),
    )
    assert (a.scores is None) == (b.scores is None)
    if a.scores is not None:
        for k in range(len(a)):
            np.testing.assert_array_equal(a.scores_of(k), b.scores_of(k))


def same_matrix(a: th.TokenMatrix, b: th.TokenMatrix) -> None:
    """Every field of two matrices agrees (values bit for bit, contexts, corpus)."""
    assert a.equals(b)
    for name in ("row_title", "col_title", "title", "value_label", "row_tokens", "col_tokens"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("row_examples", "col_examples"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert (a.contexts is None) == (b.contexts is None)
    if a.contexts is not None:
        same_contexts(a.contexts, b.contexts)
    assert (a.corpus is None) == (b.corpus is None)
    if a.corpus is not None:
        assert a.corpus == b.corpus
        assert a.corpus.vocab == b.corpus.vocab
