"""Anchor similarity against numpy cosines of the model's hidden states."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from conftest import make_causal_lm

import tokenheat as th
from tokenheat.analyses._anchor_similarity import Occurrence, find_anchors
from tokenheat.models import ModelAdapter, encode_prompts

TEXTS = [
    "The cat sat on the mat and then _PAUSE_ the dog came.",
    "Hello world, _PAUSE_ and then more text _PAUSE_",
]


def hidden_states(model, tokenizer, text: str) -> np.ndarray:
    """(emb + n_layers, T, d): HF hidden_states, with the last block's raw output (before
    the final norm, which HF applies to its last entry) taken by a hook."""
    adapter = ModelAdapter(model, tokenizer)
    last: dict[str, Any] = {}
    handle = adapter.blocks[-1].register_forward_hook(lambda m, a, out: last.setdefault("h", out))
    try:
        with torch.no_grad():
            hs = list(
                model(
                    torch.tensor([tokenizer(text).input_ids]), output_hidden_states=True
                ).hidden_states
            )
    finally:
        handle.remove()
    hs[-1] = last["h"][0] if isinstance(last["h"], tuple) else last["h"]
    return torch.cat(hs).double().numpy()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def anchor_position(tokenizer, text: str, k: int = 0) -> int:
    """Position of the last token of the k-th "_PAUSE_" (tokens "Ġ_" "PAUSE" "_")."""
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text).input_ids)
    hits = [i + 2 for i in range(len(tokens) - 2) if tokens[i + 1 : i + 3] == ["PAUSE", "_"]]
    return hits[k]


#: "_PAUSE_" is three tokens here: distances count back from its first, two before the last.
PIECES = 3


@pytest.mark.parametrize("family", ["gpt2", "llama", "gpt_neox"])
def test_cosine_matches_numpy_on_hidden_states(family: str, tokenizer) -> None:
    model = make_causal_lm(family, len(tokenizer))
    text = TEXTS[0]
    h = hidden_states(model, tokenizer, text)
    m_pos = anchor_position(tokenizer, text)
    f = m_pos - PIECES + 1
    result = th.anchor_similarity(model, tokenizer, text, max_distance=f + 3, progress=False)
    assert result.rows == ["emb", "L0", "L1"]
    assert result.cols[:2] == ["1", "2"] and result.col_kind == "distance"
    for r in range(h.shape[0]):
        for t in range(1, f + 1):
            assert result.values[r, t - 1] == pytest.approx(
                cosine(h[r, m_pos], h[r, f - t]), abs=1e-5
            )
    assert np.isnan(result.values[:, f:]).all()  # f - T < 0
    assert (result.counts[:, :f] == 1).all() and (result.counts[:, f:] == 0).all()
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(text).input_ids)
    assert result.cell_text_at(1, 0) == tokens[f - 1] == "Ġthen"  # not the anchor's own "PAUSE"
    assert result.cell_text_at(0, f) is None


def test_anchor_is_the_last_token_of_each_occurrence(tokenizer) -> None:
    enc = encode_prompts(tokenizer, TEXTS)
    found = find_anchors(enc, "_PAUSE_")
    assert [o.example for o in found] == [0, 1, 1]
    for o in found:
        assert enc[o.example].tokens[o.first : o.last + 1] == ["Ġ_", "PAUSE", "_"]
    assert found[1].last == anchor_position(tokenizer, TEXTS[1], 0)
    assert found[2].last == anchor_position(tokenizer, TEXTS[1], 1)


def test_slow_tokenizer_fallback_matches_token_ids(tokenizer) -> None:
    enc = encode_prompts(tokenizer, TEXTS)
    stripped = [type(e)(ids=e.ids, tokens=e.tokens, text=e.text) for e in enc]  # no offsets
    assert find_anchors(stripped, "_PAUSE_", tokenizer) == find_anchors(enc, "_PAUSE_")
    with pytest.raises(
        TypeError, match=r"tokenizer must be a tokenizer .* got None; pass tokenizer="
    ):
        find_anchors(stripped, "_PAUSE_")


def test_mean_over_occurrences_with_counts(gpt2_lm, tokenizer) -> None:
    result = th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, max_distance=20, progress=False)
    expected = np.full((3, 3, 20), np.nan)
    for k, (text, occ) in enumerate([(TEXTS[0], 0), (TEXTS[1], 0), (TEXTS[1], 1)]):
        h = hidden_states(gpt2_lm, tokenizer, text)
        m_pos = anchor_position(tokenizer, text, occ)
        f = m_pos - PIECES + 1
        for t in range(1, min(20, f) + 1):
            expected[k, :, t - 1] = [cosine(h[r, m_pos], h[r, f - t]) for r in range(3)]
    counts = (~np.isnan(expected)).sum(0)
    np.testing.assert_array_equal(result.counts, counts)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(expected, 0) / counts
    np.testing.assert_allclose(result.values, np.where(counts > 0, mean, np.nan), atol=1e-5)
    assert result.cell_text is None  # several anchors: no single past token
    assert result.meta["n_occurrences"] == 3


def test_center_mean_subtracts_the_mean_hidden_state(llama_lm, tokenizer) -> None:
    states = [hidden_states(llama_lm, tokenizer, t) for t in TEXTS]
    # (layers, d) over every position but each text's first (the attention sink)
    mu = np.concatenate([s[:, 1:] for s in states], axis=1).mean(axis=1)
    h = states[0] - mu[:, None, :]
    m_pos = anchor_position(tokenizer, TEXTS[0])
    result = th.anchor_similarity(
        llama_lm,
        tokenizer,
        TEXTS,
        center="mean",
        anchor=[[m_pos], []],
        max_distance=5,
        progress=False,
    )
    expected = [[cosine(h[r, m_pos], h[r, m_pos - t]) for t in range(1, 6)] for r in range(3)]
    np.testing.assert_allclose(result.values, expected, atol=1e-5)
    plain = th.anchor_similarity(
        llama_lm, tokenizer, TEXTS, anchor=[[m_pos], []], max_distance=5, progress=False
    )
    assert not np.allclose(plain.values, result.values)


def test_contexts_mark_anchor_and_past_token_with_norms(neox_lm, tokenizer) -> None:
    text = TEXTS[0]
    h = hidden_states(neox_lm, tokenizer, text)
    m_pos = anchor_position(tokenizer, text)
    result = th.anchor_similarity(
        neox_lm, tokenizer, text, max_distance=4, layers=[1], progress=False
    )
    assert result.rows == ["L1"]
    ctx = result.contexts.to_pandas()
    assert len(ctx) == 4
    row = ctx[ctx["col"] == 2].iloc[0]
    f = m_pos - 2
    assert (row["start"], row["end"]) == (f, m_pos + 1)  # the whole "_PAUSE_"
    assert (row["start2"], row["end2"]) == (f - 3, f - 2)
    assert row["norm_anchor"] == pytest.approx(np.linalg.norm(h[2, m_pos]), rel=1e-5)
    assert row["norm_past"] == pytest.approx(np.linalg.norm(h[2, f - 3]), rel=1e-5)
    assert row["cosine"] == pytest.approx(cosine(h[2, m_pos], h[2, f - 3]), abs=1e-5)
    assert result.scale.palette == "RdBu" and result.scale.domain == (-1.0, 1.0)
    assert result.scale.center == 0.0
    assert result.value_label == "cosine similarity"


def test_anchor_positions_and_padded_batches(qwen2_lm, tokenizer) -> None:
    positions = [
        [anchor_position(tokenizer, TEXTS[0])],
        [anchor_position(tokenizer, TEXTS[1], 1), 3],
    ]
    batched = th.anchor_similarity(
        qwen2_lm, tokenizer, TEXTS, anchor=positions, max_distance=8, batch_size=2, progress=False
    )
    by_string = th.anchor_similarity(
        qwen2_lm, tokenizer, TEXTS, max_distance=8, batch_size=1, progress=False
    )
    # the anchor at position 3 has 3 tokens before it: it counts up to T=3, not at T=4
    assert batched.counts[0, 2] == 3 and batched.counts[0, 3] == 2
    only_pause = th.anchor_similarity(
        qwen2_lm, tokenizer, TEXTS, anchor=[positions[0], [anchor_position(tokenizer, TEXTS[1], i) for i in (0, 1)]],
        max_distance=8, batch_size=2, progress=False,
    )  # fmt: skip
    # positions make a one-token anchor: its T + 2 is the string anchor's T (counted from "Ġ_")
    np.testing.assert_allclose(only_pause.values[:, 2:], by_string.values[:, :-2], atol=1e-5)
    np.testing.assert_array_equal(only_pause.counts[:, 2:], by_string.counts[:, :-2])


def test_missing_anchor_and_bad_arguments(gpt2_lm, tokenizer) -> None:
    with pytest.raises(
        ValueError,
        match=r"anchor must be a string that occurs in the texts.*got '<nope>'; it occurs in none",
    ):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, anchor="<nope>", progress=False)
    with pytest.raises(
        ValueError, match=r"anchor\[0\] positions must be an int from -\d+ to \d+, got 99"
    ):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, anchor=[[99], []], progress=False)
    with pytest.raises(
        ValueError,
        match=r"anchor must be 2 position lists \(one per text\), got a list of length 1",
    ):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, anchor=[[1]], progress=False)
    with pytest.raises(
        ValueError, match=r"center must be False, 'mean' or a HiddenMeans.*got 'median'"
    ):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, center="median", progress=False)
    with pytest.raises(ValueError, match="max_distance must be a positive int, got 0"):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, max_distance=0, progress=False)
    assert find_anchors(encode_prompts(tokenizer, TEXTS[0]), [[0]]) == [Occurrence(0, 0, 0)]


def test_a_four_piece_anchor_counts_as_one_unit(llama_lm, tokenizer) -> None:
    anchor = "_PAUSE_PAUSE"
    text = f"one two three four {anchor} five"
    enc = encode_prompts(tokenizer, [text])[0]
    (occ,) = find_anchors([enc], anchor)
    assert occ.last - occ.first + 1 == 4  # four pieces, like SmolLM2's "Ġ_ PA USE _"
    h = hidden_states(llama_lm, tokenizer, text)
    result = th.anchor_similarity(
        llama_lm, tokenizer, text, anchor=anchor, max_distance=6, progress=False
    )
    for t in range(1, 7):
        past = occ.first - t
        want = [cosine(h[r, occ.last], h[r, past]) if past >= 0 else np.nan for r in range(3)]
        np.testing.assert_allclose(result.values[:, t - 1], want, atol=1e-5)
    assert result.cell_text_at(0, 0) == enc.tokens[occ.first - 1]  # the token before the anchor
    assert set(enc.tokens[occ.first : occ.last + 1]).isdisjoint(
        result.cell_text_array()[0, :4].tolist()
    )
    assert result.meta["distance_from"] == "first anchor token"


def test_single_text_view_labels_columns_with_past_tokens(gpt2_lm, tokenizer) -> None:
    mean = th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, max_distance=6, progress=False)
    one = th.anchor_similarity(
        gpt2_lm, tokenizer, TEXTS, max_distance=6, occurrence=-1, progress=False
    )
    tokens = encode_prompts(tokenizer, TEXTS)[1].tokens
    f = anchor_position(tokenizer, TEXTS[1], 1) - PIECES + 1
    assert one.col_kind == "position" and one.cols == [tokens[f - t] for t in range(1, 7)]
    assert one.meta["n_occurrences"] == 1 and "PAUSE" not in one.cols[:2]
    assert mean.col_kind == "distance" and mean.meta["n_occurrences"] == 3
    assert (one.counts == 1).all()
    with pytest.raises(
        ValueError, match="occurrence must be an int from -3 to 2, got 3; the anchor occurs 3 times"
    ):
        th.anchor_similarity(gpt2_lm, tokenizer, TEXTS, occurrence=3, progress=False)


def test_centred_view_has_a_symmetric_data_scale(llama_lm, tokenizer) -> None:
    m = th.anchor_similarity(
        llama_lm, tokenizer, TEXTS, center="mean", max_distance=4, progress=False
    )
    assert m.scale.domain is None and m.scale.center == 0.0
