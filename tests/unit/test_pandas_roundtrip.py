"""pandas round trips: TokenMatrix.to_pandas ↔ from_dataframe, Contexts.to_pandas ↔ from_pandas."""

from __future__ import annotations

import _roundtrip
import numpy as np
import pandas as pd
import pytest

import tokenheat as th

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    given = None


def _back(m: th.TokenMatrix) -> th.TokenMatrix:
    df = m.to_pandas()
    return th.TokenMatrix.from_dataframe(
        df,
        row="row",
        col="col",
        value="value",
        count="count" if m.counts is not None else None,
        text="text" if m.cell_text is not None else None,
        extras=list(m.extras),
    )


def _same_metadata(a: th.TokenMatrix, b: th.TokenMatrix) -> None:
    assert (a.row_title, a.col_title, a.title, a.value_label) == (
        b.row_title,
        b.col_title,
        b.title,
        b.value_label,
    )


@pytest.fixture
def full_matrix() -> th.TokenMatrix:
    return _roundtrip.full_matrix()


def test_matrix_round_trip_keeps_every_field(full_matrix):
    back = _back(full_matrix)
    assert back.equals(full_matrix)
    _same_metadata(back, full_matrix)
    assert back.scale == full_matrix.scale
    assert (back.row_kind, back.col_kind) == ("token", "bucket")


def test_missing_cells_stay_nan(full_matrix):
    back = _back(full_matrix)
    assert np.isnan(back.values[0, 1]) and np.isnan(back.values[1, 0])
    assert np.isnan(back.extras["ci_low"][0, 1])


def test_missing_counts_stay_nan_not_zero(full_matrix):
    counts = _back(full_matrix).counts
    assert np.isnan(counts[0, 1])
    assert counts[1, 0] == 0


def test_cell_text_none_and_empty_string_stay_distinct(full_matrix):
    texts = _back(full_matrix).cell_text_array()
    assert texts[0, 1] is None
    assert texts[0, 2] == ""


def test_tidy_frame_has_one_row_per_cell_in_order(full_matrix):
    df = full_matrix.to_pandas()
    assert list(df.columns) == ["row", "col", "value", "count", "text", "ci_low", "ci_high"]
    assert len(df) == 6
    assert df.loc[4, ["row", "col", "value", "count", "text"]].tolist() == [
        "<b>x</b>",
        "b1",
        2.0,
        7.0,
        "Ċ",
    ]


def test_plain_matrix_round_trips_without_counts_or_text():
    m = th.TokenMatrix(np.arange(6.0).reshape(3, 2), rows=["z", "a", "m"], cols=["2", "1"])
    back = _back(m)
    assert back.equals(m)
    assert back.counts is None and back.cell_text is None
    assert back.rows == ["z", "a", "m"]  # order is kept, not sorted


def test_round_trip_without_attrs_uses_order_of_appearance(full_matrix):
    df = full_matrix.to_pandas()
    df.attrs = {}
    back = th.TokenMatrix.from_dataframe(
        df,
        row="row",
        col="col",
        value="value",
        row_kind="token",
        col_kind="bucket",
        scale=full_matrix.scale,
        count="count",
        text="text",
        extras=["ci_low", "ci_high"],
    )
    assert back.equals(full_matrix)


def test_repeated_position_labels_round_trip_cell_by_cell():
    # A lens result repeats column labels (the same token at two positions): the frame that
    # to_pandas() wrote is rebuilt cell by cell, -0.0 included.
    m = th.TokenMatrix([[1.0, -0.0]], rows=["r"], cols=["the", "the"], col_kind="position")
    back = _back(m)
    assert back.cols == ["the", "the"]
    assert back.values.tobytes() == m.values.tobytes()


@pytest.fixture
def corpus() -> th.Corpus:
    return th.Corpus.from_tokens([["a", "b", "c"], ["x", "y"], ["<i>", "q", "r", "s"]])


@pytest.fixture
def contexts() -> th.Contexts:
    return _roundtrip.full_contexts(col=[0, 1, 0, 0])


def test_contexts_round_trip_keeps_every_column(contexts):
    back = th.Contexts.from_pandas(contexts.to_pandas())
    _roundtrip.same_contexts(back, contexts)
    assert list(back.numeric) == ["p_orig", "p_new"]
    assert list(back.labels) == ["orig", "new"]


def test_contexts_round_trip_ignores_the_token_column(contexts, corpus):
    frame = contexts.to_pandas(corpus)
    assert frame["token"].tolist() == ["xy", "b", "<i>", "c"]  # sorted by (row, col)
    _roundtrip.same_contexts(th.Contexts.from_pandas(frame), contexts)


def test_minimal_contexts_round_trip():
    ctx = th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1])
    back = th.Contexts.from_pandas(ctx.to_pandas())
    _roundtrip.same_contexts(back, ctx)
    assert back.start2 is None and back.scores is None


def test_contexts_from_pandas_names_missing_columns():
    with pytest.raises(ValueError, match=r"\['start', 'end'\]"):
        th.Contexts.from_pandas(pd.DataFrame({"row": [0], "col": [0], "example": [0]}))


if given is not None:
    _labels = st.lists(st.text(max_size=6), min_size=1, max_size=5, unique=True)
    _value = st.one_of(st.none(), st.floats(-1e6, 1e6, width=32))
    _text = st.one_of(st.none(), st.text(max_size=4))

    @st.composite
    def matrices(draw: st.DrawFn) -> th.TokenMatrix:
        rows, cols = draw(_labels), draw(_labels)
        shape = (len(rows), len(cols))
        n = shape[0] * shape[1]

        def grid(strategy: st.SearchStrategy) -> np.ndarray:
            cells = draw(st.lists(strategy, min_size=n, max_size=n))
            return np.array([np.nan if v is None else v for v in cells], dtype=float).reshape(shape)

        counts = grid(st.one_of(st.none(), st.integers(0, 1000))) if draw(st.booleans()) else None
        texts = None
        if draw(st.booleans()):
            texts = np.array(draw(st.lists(_text, min_size=n, max_size=n)), dtype=object).reshape(
                shape
            )
        extras = {f"x{k}": grid(_value) for k in range(draw(st.integers(0, 2)))}
        palette = draw(st.sampled_from(["viridis", "magma", "Blues", "Greys", "RdBu", "RdYlGn"]))
        return th.TokenMatrix(
            grid(_value),
            rows,
            cols,
            row_kind=draw(st.sampled_from(["token", "layer", "row"])),
            cell_text=texts,
            counts=counts,
            extras=extras,
            scale=palette,
            title=draw(st.text(max_size=5)),
        )

    @settings(max_examples=60, deadline=None)
    @given(matrices())
    def test_any_matrix_round_trips_through_pandas(m: th.TokenMatrix) -> None:
        back = _back(m)
        assert back.equals(m)
        _same_metadata(back, m)

    @st.composite
    def contexts_tables(draw: st.DrawFn) -> th.Contexts:
        n = draw(st.integers(0, 8))
        ints = st.lists(st.integers(0, 5), min_size=n, max_size=n)
        start = np.array(draw(ints), dtype=int)
        kw: dict = {}
        if draw(st.booleans()):
            kw["start2"] = np.array(draw(ints), dtype=int)
            kw["end2"] = kw["start2"] + np.array(draw(ints), dtype=int)
        if draw(st.booleans()):
            kw["scores"] = [
                np.array(draw(st.lists(st.floats(-5, 5, width=32), max_size=4)), np.float32)
                for _ in range(n)
            ]
        if draw(st.booleans()):
            kw["numeric"] = {
                "p": draw(st.lists(st.floats(-1, 1, width=32), min_size=n, max_size=n))
            }
        if draw(st.booleans()):
            kw["labels"] = {
                "lab": draw(
                    st.lists(
                        st.text(min_size=1, max_size=3).filter(
                            lambda t: not t.strip().lstrip("-").replace(".", "").isdigit()
                        ),
                        min_size=n,
                        max_size=n,
                    )
                )
            }
        return th.Contexts(draw(ints), draw(ints), draw(ints), start, start + 1, **kw)

    @settings(max_examples=60, deadline=None)
    @given(contexts_tables())
    def test_any_contexts_round_trip_through_pandas(ctx: th.Contexts) -> None:
        _roundtrip.same_contexts(th.Contexts.from_pandas(ctx.to_pandas()), ctx)
