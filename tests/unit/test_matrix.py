"""TokenMatrix: construction, validation errors, tidy round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tokenheat as th


def small_matrix(**kwargs):
    corpus = th.Corpus.from_tokens([["I", "Ġam", "Ġsad"], ["so", "Ġhappy", "!"]])
    contexts = th.Contexts(
        row=[0, 1, 1], col=[2, 0, 0], example=[0, 1, 0], start=[2, 1, 0], end=[3, 2, 1]
    )
    values = np.array([[0.1, np.nan, 0.7], [0.5, 0.2, 0.0]])
    return th.TokenMatrix(
        values,
        rows=["sad", "happy"],
        cols=["b0", "b1", "b2"],
        row_kind="token",
        col_kind="bucket",
        corpus=corpus,
        contexts=contexts,
        **kwargs,
    )


def test_values_are_float32_and_nan_is_kept():
    m = small_matrix()
    assert m.values.dtype == np.float32
    assert np.isnan(m.values[0, 1])
    assert m.shape == (2, 3)


def test_token_axis_carries_its_labels_as_tokens():
    m = small_matrix()
    assert m.row_tokens == ["sad", "happy"]
    assert m.col_tokens is None


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_are_rejected_with_their_position(bad):
    with pytest.raises(ValueError, match=r"values must be finite.*±inf at row 1, col 0"):
        th.TokenMatrix([[1.0], [bad]], rows=["a", "b"], cols=["x"])


def test_empty_matrix_is_rejected():
    with pytest.raises(ValueError, match="values must be a matrix with at least one row"):
        th.TokenMatrix(np.zeros((0, 3)), rows=[], cols=["a", "b", "c"])


def test_one_dimensional_values_are_rejected_with_a_hint():
    with pytest.raises(ValueError, match=r"two-dimensional.*values\[None, :\]"):
        th.TokenMatrix([1.0, 2.0], rows=["a"], cols=["x", "y"])


def test_label_count_mismatch_names_the_argument():
    with pytest.raises(ValueError, match=r"cols must be 2 labels.*got a list of length 1"):
        th.TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x"])


def test_single_string_labels_are_rejected():
    with pytest.raises(TypeError, match=r"rows must be a sequence of labels.*\['ab'\]"):
        th.TokenMatrix([[1.0]], rows="ab", cols=["x"])


def test_duplicate_labels_rejected_where_ambiguous():
    with pytest.raises(ValueError, match="kind 'token', got 'a' more than once"):
        th.TokenMatrix([[1.0], [2.0]], rows=["a", "a"], cols=["x"], row_kind="token")


def test_duplicate_labels_allowed_on_position_axes():
    m = th.TokenMatrix([[1.0], [2.0]], rows=["Ġthe", "Ġthe"], cols=["x"], row_kind="position")
    assert m.rows == ["Ġthe", "Ġthe"]


def test_counts_and_extras_must_match_shape():
    with pytest.raises(
        ValueError, match=r"counts must be an array of shape \(1, 2\).*shape \(1, 1\)"
    ):
        th.TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x", "y"], counts=[[1]])
    with pytest.raises(ValueError, match=r"extras\['lo'\] must be an array of shape \(1, 2\)"):
        th.TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x", "y"], extras={"lo": [1.0]})


def test_cell_text_keeps_none_as_missing():
    m = th.TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x", "y"], cell_text=[["<b>", None]])
    assert m.cell_text_at(0, 0) == "<b>"
    assert m.cell_text_at(0, 1) is None


def test_contexts_outside_the_matrix_are_rejected():
    corpus = th.Corpus.from_tokens([["a", "b"]])
    ctx = th.Contexts(row=[5], col=[0], example=[0], start=[0], end=[1])
    with pytest.raises(ValueError, match="contexts must point at cells inside the matrix"):
        th.TokenMatrix([[1.0]], rows=["a"], cols=["x"], corpus=corpus, contexts=ctx)


def test_contexts_without_corpus_are_rejected():
    ctx = th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1])
    with pytest.raises(
        TypeError, match="corpus must be given with contexts, got None; pass corpus="
    ):
        th.TokenMatrix([[1.0]], rows=["a"], cols=["x"], contexts=ctx)


def test_context_span_beyond_its_example_is_rejected():
    corpus = th.Corpus.from_tokens([["a", "b"]])
    ctx = th.Contexts(row=[0], col=[0], example=[0], start=[1], end=[3])
    with pytest.raises(
        ValueError, match=r"marking tokens \[1, 3\) of example 0, which has 2 tokens"
    ):
        th.TokenMatrix([[1.0]], rows=["a"], cols=["x"], corpus=corpus, contexts=ctx)


def test_to_pandas_is_tidy_with_one_row_per_cell():
    m = small_matrix(counts=[[1, 0, 2], [3, 4, 5]], cell_text=[["x", None, "y"], ["z", "x", "x"]])
    df = m.to_pandas()
    assert list(df.columns) == ["row", "col", "value", "count", "text"]
    assert len(df) == 6
    assert df.loc[(df.row == "happy") & (df.col == "b0"), "count"].item() == 3
    assert np.isnan(df.loc[(df.row == "sad") & (df.col == "b1"), "value"].item())


def test_tidy_round_trip_gives_an_equal_matrix():
    m = small_matrix(
        counts=[[1, 0, 2], [3, 4, 5]],
        cell_text=[["x", None, "y"], ["z", "x", "x"]],
        extras={"ci_low": np.zeros((2, 3))},
        scale="magma",
    )
    back = th.TokenMatrix.from_dataframe(
        m.to_pandas(),
        row="row",
        col="col",
        value="value",
        count="count",
        text="text",
        extras=["ci_low"],
    )
    assert back.equals(m)
    assert back.row_kind == "token"


def test_from_dataframe_aggregates_duplicates_and_fills_missing_with_nan():
    df = pd.DataFrame(
        {"tok": ["a", "a", "b", "b"], "bucket": [0, 0, 1, 1], "flip": [1.0, 0.0, 1.0, 1.0]}
    )
    m = th.TokenMatrix.from_dataframe(df, row="tok", col="bucket", value="flip", agg="mean")
    np.testing.assert_array_equal(m.values, np.array([[0.5, np.nan], [np.nan, 1.0]], np.float32))
    np.testing.assert_array_equal(m.counts, np.array([[2, np.nan], [np.nan, 2]], np.float32))
    assert m.rows == ["a", "b"] and m.cols == ["0", "1"]


def test_from_dataframe_with_sum_and_explicit_order():
    df = pd.DataFrame({"r": ["x", "y", "x"], "c": ["p", "p", "p"], "v": [1, 2, 3]})
    m = th.TokenMatrix.from_dataframe(df, "r", "c", "v", agg="sum", row_order=["y", "x"])
    assert m.rows == ["y", "x"]
    np.testing.assert_array_equal(m.values[:, 0], [2, 4])


def test_from_dataframe_names_a_missing_column():
    df = pd.DataFrame({"r": ["x"], "c": ["p"], "v": [1.0]})
    with pytest.raises(ValueError, match=r"value must be a column of df.*got 'score'"):
        th.TokenMatrix.from_dataframe(df, row="r", col="c", value="score")


def test_from_dataframe_rejects_an_empty_frame():
    with pytest.raises(ValueError, match="df must be a frame with at least one row"):
        th.TokenMatrix.from_dataframe(pd.DataFrame({"r": [], "c": [], "v": []}), "r", "c", "v")


def test_from_dataframe_reports_a_bad_aggregation():
    df = pd.DataFrame({"r": ["x"], "c": ["p"], "v": [1.0]})
    with pytest.raises(ValueError, match=r"agg must be.*got 'nonsense'"):
        th.TokenMatrix.from_dataframe(df, "r", "c", "v", agg="nonsense")


def test_import_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = "import sys, tokenheat; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
