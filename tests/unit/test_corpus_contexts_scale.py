"""Corpus, Contexts and ColorScale."""

from __future__ import annotations

import numpy as np
import pytest

import tokenheat as th


def test_corpus_from_tokens_shares_one_vocabulary():
    c = th.Corpus.from_tokens([["a", "b", "a"], ["b"]], texts=["aba", "b"])
    assert c.vocab == ["a", "b"]
    assert c.ids.dtype == np.int32
    assert c.tokens(0) == ["a", "b", "a"] and c.tokens(1) == ["b"]
    assert len(c) == 2 and c.length(0) == 3


def test_corpus_handles_empty_examples():
    c = th.Corpus.from_tokens([[], ["x"]])
    assert c.tokens(0) == [] and c.tokens(1) == ["x"]


def test_corpus_rejects_a_string_instead_of_token_lists():
    with pytest.raises(TypeError, match="list of token lists"):
        th.Corpus.from_tokens("hello world")


def test_corpus_rejects_ids_outside_vocab():
    with pytest.raises(ValueError, match=r"ids must be indices in 0..\d+ \(indices into vocab\)"):
        th.Corpus(["a"], [0, 1], [0, 2])


def test_corpus_texts_length_is_checked():
    with pytest.raises(
        ValueError, match=r"texts must be one entry per example \(2\), got a list of length 1"
    ):
        th.Corpus.from_tokens([["a"], ["b"]], texts=["a"])


def test_corpus_to_pandas_lists_each_token():
    df = th.Corpus.from_tokens([["a", "b"], ["c"]]).to_pandas()
    assert df.values.tolist() == [[0, 0, "a"], [0, 1, "b"], [1, 0, "c"]]


# A Contexts spelled out like those of the other tests on purpose: its values are the test.
def test_contexts_are_sorted_by_cell_and_keep_their_columns():
    ctx = th.Contexts(
        row=[1, 0, 0],
        col=[0, 1, 0],
        example=[0, 1, 2],
        start=[0, 1, 2],
        end=[1, 2, 3],
        numeric={"p": [0.1, 0.2, 0.3]},
        labels={"lab": ["x", "y", "x"]},
    )
    assert ctx.row.tolist() == [0, 0, 1] and ctx.col.tolist() == [0, 1, 0]
    assert ctx.numeric["p"].tolist() == pytest.approx([0.3, 0.2, 0.1])
    cats, codes = ctx.labels["lab"]
    assert [cats[c] for c in codes] == ["x", "y", "x"]
    assert ctx.cell(0, 1).tolist() == [1]
    assert ctx.cell(2, 2).tolist() == []


def test_contexts_scores_follow_the_sort():
    ctx = th.Contexts(
        row=[1, 0], col=[0, 0], example=[0, 1], start=[0, 0], end=[1, 1], scores=[[1.0, 2.0], [3.0]]
    )
    assert ctx.scores_of(0).tolist() == [3.0]
    assert ctx.scores_of(1).tolist() == [1.0, 2.0]


def test_contexts_reject_mismatched_columns():
    with pytest.raises(ValueError, match="col must be of length 2"):
        th.Contexts(row=[0, 1], col=[0], example=[0, 0], start=[0, 0], end=[1, 1])
    with pytest.raises(ValueError, match="start2 and end2 must be given together"):
        th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1], start2=[0])
    with pytest.raises(ValueError, match="end must be >= start"):
        th.Contexts(row=[0], col=[0], example=[0], start=[2], end=[1])


def test_scale_diverging_defaults_to_centre_zero_and_symmetric_domain():
    s = th.ColorScale("RdBu")
    assert s.kind == "diverging" and s.center == 0.0
    assert s.resolve(np.array([-1.0, 3.0, np.nan])) == (-3.0, 3.0)


def test_scale_sequential_uses_data_range_and_ignores_nan():
    assert th.ColorScale().resolve(np.array([2.0, np.nan, 5.0])) == (2.0, 5.0)
    assert th.ColorScale().resolve(np.array([np.nan])) == (0.0, 1.0)
    assert th.ColorScale().resolve(np.array([3.0])) == (2.5, 3.5)


def test_scale_rejects_unknown_palettes_and_centre_on_sequential():
    with pytest.raises(ValueError, match=r"palette must be one of 'viridis'.*got 'jet'"):
        th.ColorScale("jet")
    with pytest.raises(ValueError, match="needs a diverging palette"):
        th.ColorScale("viridis", center=0.0)
    with pytest.raises(ValueError, match="low <= high"):
        th.ColorScale(domain=(1, 0))


def test_a_score_vector_passed_for_many_contexts_is_stored_once():
    shared = np.array([0.5, -1.0, 2.0])
    ctx = th.Contexts(
        row=[0, 1, 2, 0],
        col=[0, 0, 0, 1],
        example=[0, 0, 0, 0],
        start=[0, 1, 2, 0],
        end=[1, 2, 3, 1],
        scores=[shared, shared, shared, np.array([1.0, 1.0, 1.0])],
    )
    assert ctx.scores.size == 6
    for k in range(4):
        expected = [1.0, 1.0, 1.0] if ctx.col[k] == 1 else shared.tolist()
        assert ctx.scores_of(k).tolist() == expected
