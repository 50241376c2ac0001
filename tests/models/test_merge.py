"""th.merge: results on disjoint shards equal the whole run, for all four analyses."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from conftest import SENTENCES, make_causal_lm, make_tokenizer
from test_flip_rate import TEXTS, keyword_probs

torch = pytest.importorskip("torch")

import tokenheat as th  # noqa: E402
from tokenheat.analyses import hidden_means  # noqa: E402
from tokenheat.analyses._anchor_similarity import anchor_similarity_shard  # noqa: E402
from tokenheat.analyses._flip_rate import flip_rate_shard  # noqa: E402
from tokenheat.errors import MergeError  # noqa: E402

SHARDS = (1, 2, 5)
LABELS = ["a", "b", "c"]
ANCHOR_TEXTS = [
    "a b _PAUSE_ c",
    "The cat sat _PAUSE_ on the mat _PAUSE_ ok",
    "no anchor here at all",
    "x _PAUSE_",
    "Hello world, _PAUSE_ and then",
]


def cuts(items: list[Any], n: int) -> list[list[Any]]:
    """``n`` contiguous shards, in order (5 shards of 9 texts: the last holds one text)."""
    return [[items[i] for i in part] for part in np.array_split(np.arange(len(items)), n)]


def assert_same(merged: Any, whole: Any, *, exact: bool = False) -> None:
    """Same matrix (values within 1e-6 relative unless ``exact``) and the same contexts."""
    assert merged.rows == whole.rows and merged.cols == whole.cols
    assert merged.row_tokens == whole.row_tokens and merged.col_tokens == whole.col_tokens
    if exact:
        assert merged.equals(whole)
    else:
        np.testing.assert_allclose(merged.values, whole.values, rtol=1e-6, atol=1e-12)
        assert merged.extras.keys() == whole.extras.keys()
        for k in whole.extras:
            np.testing.assert_allclose(merged.extras[k], whole.extras[k], rtol=1e-6, atol=1e-12)
        np.testing.assert_array_equal(merged.counts, whole.counts)
        a, b = merged.cell_text_array(), whole.cell_text_array()
        assert (a is None and b is None) or (a == b).all()
    assert merged.corpus == whole.corpus
    if whole.contexts is None:
        assert merged.contexts is None
        return
    a, b = merged.contexts.to_pandas(merged.corpus), whole.contexts.to_pandas(whole.corpus)
    assert list(a.columns) == list(b.columns)
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    assert a.drop(columns=[*floats, "scores"], errors="ignore").equals(
        b.drop(columns=[*floats, "scores"], errors="ignore")
    )
    np.testing.assert_allclose(
        a[floats].to_numpy(float), b[floats].to_numpy(float), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------------------- flip rate
FLIP = dict(labels=LABELS, n_buckets=3, min_count=1, top_k=4, max_contexts_per_cell=2)


@pytest.mark.parametrize("n", SHARDS)
def test_flip_rate_callable_merges_exactly(n: int) -> None:
    texts = TEXTS * 2
    whole = th.flip_rate(keyword_probs, texts, progress=False, **FLIP)
    parts = [th.flip_rate(keyword_probs, s, progress=False, **FLIP) for s in cuts(texts, n)]
    merged = th.merge(parts)
    assert_same(merged, whole, exact=True)
    assert merged.meta["n_texts"] == whole.meta["n_texts"]
    assert merged.meta["n_flips"] == whole.meta["n_flips"]


def test_flip_rate_ranks_after_merging() -> None:
    """Shard results hold every unit's tallies: min_count and top_k act on the merged
    counts, so a row no single shard could show (too rare in each) is ranked."""
    texts = TEXTS * 2
    opts = {**FLIP, "min_count": 3, "top_k": 3}
    whole = th.flip_rate(keyword_probs, texts, progress=False, **opts)
    options = {**opts, "perturb": "delete", "unit": "word", "target_class": None,
               "rank": "rate", "mask_token": None, "replacement": None, "batch_size": 4,
               "normalize": True, "device": None, "dtype": None}  # fmt: skip
    parts = [flip_rate_shard(keyword_probs, None, s, options) for s in cuts(texts, 9)]
    assert_same(th.merge(parts), whole, exact=True)


@pytest.mark.parametrize("n", (2, 5))
def test_flip_rate_lm_classifier_merges_exactly(n: int, gpt2_lm: Any, tokenizer: Any) -> None:
    opts = dict(labels=[" yes", " no"], n_buckets=2, min_count=1, top_k=5, perturb="mask")
    whole = th.flip_rate(gpt2_lm, TEXTS, tokenizer=tokenizer, progress=False, **opts)
    parts = [
        th.flip_rate(gpt2_lm, s, tokenizer=tokenizer, progress=False, **opts)
        for s in cuts(TEXTS, n)
    ]
    assert_same(th.merge(parts), whole, exact=True)


# ---------------------------------------------------------------------------- lens
@pytest.mark.parametrize("align", ["left", "right"])
@pytest.mark.parametrize("n", SHARDS)
def test_lens_merges(n: int, align: str, gpt2_lm: Any, tokenizer: Any) -> None:
    texts = [*SENTENCES, "Hello", "The cat"]
    opts = dict(align=align, max_contexts_per_cell=3, top_k=2, progress=False)
    whole = th.lens(gpt2_lm, tokenizer, texts, **opts)
    parts = [th.lens(gpt2_lm, tokenizer, s, **opts) for s in cuts(texts, n)]
    merged = th.merge(parts)
    assert_same(merged, whole)
    assert merged.meta["n_prompts"] == len(texts)


# ---------------------------------------------------------------------------- anchor
@pytest.mark.parametrize("center", [False, "mean"])
@pytest.mark.parametrize("n", SHARDS)
def test_anchor_similarity_merges(n: int, center: Any, llama_lm: Any, tokenizer: Any) -> None:
    """Includes shards without the anchor; center='mean' as two mergeable passes."""
    opts = dict(max_distance=4, max_contexts_per_cell=2)
    whole = th.anchor_similarity(
        llama_lm, tokenizer, ANCHOR_TEXTS, center=center, progress=False, **opts
    )
    shards = cuts(ANCHOR_TEXTS, n)
    if center == "mean":
        center = th.merge([hidden_means(llama_lm, tokenizer, s, progress=False) for s in shards])
    options = dict(anchor="_PAUSE_", layers=None, center=center, batch_size=8, device=None,
                   dtype=None, truncate=False, **opts)  # fmt: skip
    parts = [anchor_similarity_shard(llama_lm, tokenizer, s, options) for s in shards]
    merged = th.merge(parts)
    assert_same(merged, whole)
    assert merged.meta["n_occurrences"] == whole.meta["n_occurrences"]


def test_anchor_single_occurrence_keeps_cell_text(llama_lm: Any, tokenizer: Any) -> None:
    texts = ["no anchor", "a b _PAUSE_ c"]
    whole = th.anchor_similarity(llama_lm, tokenizer, texts, max_distance=3, progress=False)
    options = dict(anchor="_PAUSE_", layers=None, center=False, batch_size=8, device=None,
                   dtype=None, truncate=False, max_distance=3, max_contexts_per_cell=50)  # fmt: skip
    parts = [anchor_similarity_shard(llama_lm, tokenizer, [t], options) for t in texts]
    assert_same(th.merge(parts), whole)


# ---------------------------------------------------------------------------- attribution
@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
@pytest.mark.parametrize("n", SHARDS)
def test_attribution_over_examples_merges(
    n: int, method: str, gpt2_lm: Any, tokenizer: Any
) -> None:
    texts = list(SENTENCES[:5])
    opts = dict(method=method, steps=8, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # completeness warnings of a random model
        whole = th.attribution(gpt2_lm, tokenizer, texts, **opts)
        parts = [th.attribution(gpt2_lm, tokenizer, s, **opts) for s in cuts(texts, n)]
    merged = th.merge(parts)
    assert_same(merged, whole)
    assert merged.meta["columns"] == whole.meta["columns"]


# ---------------------------------------------------------------------------- files, errors
def test_merge_of_saved_results(tmp_path: Any, gpt2_lm: Any, tokenizer: Any) -> None:
    """Tallies survive th.save / th.load (float64 sums as JSON numbers, exactly)."""
    texts = list(SENTENCES)
    whole = th.lens(gpt2_lm, tokenizer, texts, progress=False, max_contexts_per_cell=2)
    loaded = []
    for i, s in enumerate(cuts(texts, 3)):
        th.save(
            th.lens(gpt2_lm, tokenizer, s, progress=False, max_contexts_per_cell=2),
            tmp_path / f"{i}.th",
        )
        loaded.append(th.load(tmp_path / f"{i}.th"))
    merged = th.merge(loaded)
    np.testing.assert_allclose(merged.values, whole.values, rtol=1e-6)
    assert (merged.cell_text_array() == whole.cell_text_array()).all()
    assert len(merged.contexts) == len(whole.contexts)


def test_mismatched_arguments_raise(gpt2_lm: Any, llama_lm: Any, tokenizer: Any) -> None:
    a = th.flip_rate(keyword_probs, TEXTS[:4], progress=False, **FLIP)
    b = th.flip_rate(keyword_probs, TEXTS[4:], progress=False, perturb="mask", **FLIP)
    with pytest.raises(MergeError, match="perturb: 'mask' vs 'delete'"):
        th.merge([a, b])
    lens_a = th.lens(gpt2_lm, tokenizer, SENTENCES[:2], progress=False)
    with pytest.raises(MergeError, match="analysis"):
        th.merge([a, lens_a])
    lens_b = th.lens(gpt2_lm, tokenizer, SENTENCES[2:4], stat="kl_final", progress=False)
    with pytest.raises(MergeError, match="stat"):
        th.merge([lens_a, lens_b])
    lens_c = th.lens(llama_lm, tokenizer, SENTENCES[2:4], progress=False)
    with pytest.raises(MergeError, match="model"):
        th.merge([lens_a, lens_c])
    other_tok = make_tokenizer(bos=True)
    other_lm = make_causal_lm("gpt2", len(other_tok))
    lens_d = th.lens(other_lm, other_tok, SENTENCES[2:4], progress=False)
    lens_d.meta["model"] = lens_a.meta["model"]
    with pytest.raises(MergeError, match="tokenizer"):
        th.merge([lens_a, lens_d])


def test_bad_merge_inputs() -> None:
    with pytest.raises(
        ValueError, match="results must be a non-empty list of results, got a list of length 0"
    ):
        th.merge([])
    with pytest.raises(TypeError, match="results must be a non-empty list of results, got 3"):
        th.merge(3)
    with pytest.raises(
        TypeError, match=r"results\[0\] must be a result of a tokenheat analysis, got an object"
    ):
        th.merge([object()])
    m = th.TokenMatrix(np.eye(2), rows=["a", "b"], cols=["x", "y"])
    m.meta["analysis"] = "flip_rate"
    with pytest.raises(MergeError, match="tallies"):
        th.merge([m])


def test_attribution_without_contexts(gpt2_lm: Any, tokenizer: Any) -> None:
    texts = list(SENTENCES[:3])
    opts = dict(method="occlusion", progress=False, max_contexts_per_cell=0)
    whole = th.attribution(gpt2_lm, tokenizer, texts, **opts)
    assert whole.contexts is None
    merged = th.merge([th.attribution(gpt2_lm, tokenizer, s, **opts) for s in cuts(texts, 2)])
    assert_same(merged, whole)


def test_every_analysis_takes_device_and_dtype(gpt2_lm: Any, tokenizer: Any) -> None:
    """bfloat16 weights give results close to float32 ones; the model is put back as found."""
    texts = list(SENTENCES[:3])
    runs = {
        "lens": lambda **k: th.lens(gpt2_lm, tokenizer, texts, progress=False, **k),
        "anchor": lambda **k: th.anchor_similarity(
            gpt2_lm, tokenizer, ["a b _PAUSE_ c d"], max_distance=3, progress=False, **k
        ),
        "flip": lambda **k: th.flip_rate(
            gpt2_lm, texts, tokenizer=tokenizer, labels=[" the", " a"], min_count=1,
            progress=False, **k,
        ),
        "attribution": lambda **k: th.attribution(
            gpt2_lm, tokenizer, texts, method="occlusion", progress=False, **k
        ),
    }  # fmt: skip
    before = {k: v.clone() for k, v in gpt2_lm.state_dict().items()}
    gpt2_lm.train()
    try:
        for name, run in runs.items():
            full = run(device="cpu", dtype=torch.float32)
            half = run(device="cpu", dtype=torch.bfloat16)
            scale = max(1.0, float(np.nanmax(np.abs(full.values))))
            assert np.nanmax(np.abs(full.values - half.values)) < 0.05 * scale, name
            assert next(gpt2_lm.parameters()).dtype == torch.float32, name
            assert gpt2_lm.training, name
            for k, v in gpt2_lm.state_dict().items():  # the cast is undone exactly
                assert torch.equal(v, before[k]), (name, k)
    finally:
        gpt2_lm.eval()


def test_lens_shards_past_the_cap_carry_no_contexts(gpt2_lm: Any, tokenizer: Any) -> None:
    """A distributed shard knows its first input index and keeps only the contexts the
    merge keeps (prompts below max_contexts_per_cell)."""
    from tokenheat.analyses._lens import lens_shard

    texts = [*SENTENCES, "Hello", "The cat"]
    opts = dict(stat="entropy", top_k=2, layers=None, chat=False, append=None, n_dummy=None,
                align="left", batch_size=4, device=None, dtype=None, truncate=False,
                max_contexts_per_cell=4)  # fmt: skip
    whole = th.lens(gpt2_lm, tokenizer, texts, progress=False, max_contexts_per_cell=4, top_k=2)
    parts, first = [], 0
    for s in cuts(texts, 4):
        parts.append(lens_shard(gpt2_lm, tokenizer, s, opts, first))
        first += len(s)
    assert [p.contexts is not None and len(p.contexts) > 0 for p in parts] == [
        True,
        True,
        False,
        False,
    ]
    assert_same(th.merge(parts), whole)


def test_lens_encoding_in_chunks_equals_one_piece(
    gpt2_lm: Any, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompts are encoded ENCODE_CHUNK at a time; a prompt too long is named by its index
    in the whole input."""
    from tokenheat.analyses import _lens

    texts = [*SENTENCES, "Hello", "The cat"]
    opts = dict(progress=False, align="right", max_contexts_per_cell=4, batch_size=1)
    whole = th.lens(gpt2_lm, tokenizer, texts, **opts)
    monkeypatch.setattr(_lens, "ENCODE_CHUNK", 2)
    assert_same(th.lens(gpt2_lm, tokenizer, texts, **opts), whole)
    with pytest.raises(ValueError, match=r"prompts\[5\]"):
        th.lens(gpt2_lm, tokenizer, [*texts[:5], "word " * 200], **opts)
