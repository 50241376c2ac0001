"""The logit lens against hand-written references on tiny random models."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from _lens_reference import reference_logits
from conftest import FAMILIES, MAX_POSITIONS, make_causal_lm

import tokenheat as th
from tokenheat.models import ModelAdapter

lens_module = importlib.import_module("tokenheat.analyses._lens")
stats_module = importlib.import_module("tokenheat.analyses._lens_stats")
PROMPTS = ["The cat sat on the mat.", "Hello world", "A quick brown fox jumps over the lazy dog."]


@pytest.mark.parametrize("family", FAMILIES)
def test_lens_entropy_matches_hand_written_logit_lens(family: str, tokenizer) -> None:
    model = make_causal_lm(family, len(tokenizer))
    logits = reference_logits(model, tokenizer, PROMPTS[0])
    m = th.lens(model, tokenizer, PROMPTS[0], progress=False)
    expected = scipy.stats.entropy(scipy.special.softmax(logits, axis=-1), axis=-1)
    assert m.rows == ["L0", "L1", "output"]
    np.testing.assert_allclose(m.values, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m.values[-2], m.values[-1], rtol=1e-5)  # no double norm
    top1 = np.vectorize(lambda i: tokenizer.convert_ids_to_tokens(int(i)))(logits.argmax(-1))
    assert (m.cell_text_array() == top1).all()
    assert m.cols == tokenizer.convert_ids_to_tokens(tokenizer(PROMPTS[0]).input_ids)
    assert m.col_kind == "position" and m.row_kind == "layer"
    assert m.value_label == "entropy (nats)"


def test_lens_kl_final_and_top1_prob_match_numpy(llama_lm, tokenizer) -> None:
    logits = reference_logits(llama_lm, tokenizer, PROMPTS[2])
    logp = scipy.special.log_softmax(logits, axis=-1)
    p = np.exp(logp)
    kl = (p * (logp - logp[-1])).sum(-1)
    kl_matrix = th.lens(llama_lm, tokenizer, PROMPTS[2], stat="kl_final", progress=False)
    np.testing.assert_allclose(kl_matrix.values, kl, atol=1e-4)
    assert np.all(kl_matrix.values[-1] == 0)
    np.testing.assert_allclose(kl_matrix.values, scipy.stats.entropy(p, p[-1], axis=-1), atol=1e-4)
    top1 = th.lens(llama_lm, tokenizer, PROMPTS[2], stat="top1_prob", progress=False)
    np.testing.assert_allclose(top1.values, p.max(-1), atol=1e-5)
    np.testing.assert_allclose(top1.extras["kl_final"], kl, atol=1e-4)
    assert top1.scale.domain == (0.0, 1.0)


def test_padded_batch_equals_one_by_one(causal_lm, tokenizer) -> None:
    adapter = ModelAdapter(causal_lm, tokenizer)
    enc = adapter.encode(PROMPTS)
    batched = lens_module.lens_arrays(adapter, enc, [0, 1], top_k=5, batch_size=3)
    for e, res in zip(enc, batched, strict=True):
        (alone,) = lens_module.lens_arrays(adapter, [e], [0, 1], top_k=5, batch_size=1)
        for name in ("entropy", "kl_final", "top1_prob", "top_probs"):
            np.testing.assert_allclose(getattr(res, name), getattr(alone, name), atol=2e-4)
        assert (res.top_ids[..., 0] == alone.top_ids[..., 0]).all()


@pytest.mark.parametrize("chunk_rows", [1, 3])
def test_small_chunks_give_the_same_numbers(gpt2_lm, tokenizer, monkeypatch, chunk_rows) -> None:
    full = th.lens(gpt2_lm, tokenizer, PROMPTS, progress=False)
    monkeypatch.setattr(lens_module, "CHUNK_ELEMENTS", chunk_rows * len(tokenizer))
    chunked = th.lens(gpt2_lm, tokenizer, PROMPTS, progress=False)
    np.testing.assert_allclose(chunked.values, full.values, rtol=1e-6)
    for name in ("kl_final", "top1_prob"):
        np.testing.assert_allclose(chunked.extras[name], full.extras[name], rtol=1e-5, atol=1e-6)
    assert (chunked.cell_text_array() == full.cell_text_array()).all()


def test_plain_head_fast_path_equals_the_adapter_logits(causal_lm, tokenizer, monkeypatch) -> None:
    """The in-place ``matmul(..., out=)`` unembedding gives what ``adapter.logits`` gives."""
    adapter = ModelAdapter(causal_lm, tokenizer)
    assert stats_module._plain_linear_head(adapter) is not None  # the fixtures take the fast path
    enc = adapter.encode(PROMPTS)
    fast = lens_module.lens_arrays(adapter, enc, [0, 1], top_k=5, batch_size=2)
    monkeypatch.setattr(stats_module, "_plain_linear_head", lambda adapter: None)
    generic = lens_module.lens_arrays(adapter, enc, [0, 1], top_k=5, batch_size=2)
    for a, b in zip(fast, generic, strict=True):
        for name in ("entropy", "kl_final", "top1_prob", "p_next", "top_probs"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-6)
        assert (a.top_ids[..., 0] == b.top_ids[..., 0]).all()


def test_p_next_and_top_k_match_numpy(llama_lm, tokenizer) -> None:
    logits = reference_logits(llama_lm, tokenizer, PROMPTS[2])
    p = scipy.special.softmax(logits, axis=-1)
    adapter = ModelAdapter(llama_lm, tokenizer)
    ids = tokenizer(PROMPTS[2]).input_ids
    (res,) = lens_module.lens_arrays(adapter, adapter.encode(PROMPTS[2]), [0, 1], top_k=3)
    expected_next = np.take_along_axis(p[:, :-1], np.array(ids[1:])[None, :, None], -1)[..., 0]
    np.testing.assert_allclose(res.p_next[:, :-1], expected_next, atol=1e-6)
    assert np.isnan(res.p_next[:, -1]).all()
    np.testing.assert_allclose(res.top_probs, -np.sort(-p, axis=-1)[..., :3], atol=1e-6)
    np.testing.assert_allclose(res.top1_prob, p.max(-1), atol=1e-6)


def test_a_row_of_only_minus_inf_logits_is_uniform(tokenizer) -> None:
    """As with a clamped log-softmax: every logit equally (very) negative → uniform."""
    model = make_causal_lm("gpt2", len(tokenizer))
    model.lm_head = torch.nn.Linear(32, len(tokenizer), bias=True)
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.bias.fill_(-torch.inf)
    m = th.lens(model, tokenizer, PROMPTS[1], progress=False)
    np.testing.assert_allclose(m.values, np.log(len(tokenizer)), rtol=1e-5)
    np.testing.assert_allclose(m.extras["kl_final"], 0.0, atol=1e-5)
    np.testing.assert_allclose(m.extras["top1_prob"], 1 / len(tokenizer), rtol=1e-5)


def test_several_prompts_average_by_position_with_counts(neox_lm, tokenizer) -> None:
    singles = [th.lens(neox_lm, tokenizer, p, progress=False).values for p in PROMPTS]
    m = th.lens(neox_lm, tokenizer, PROMPTS, progress=False, batch_size=2)
    lengths = [s.shape[1] for s in singles]
    assert m.shape == (3, max(lengths))
    for c in range(m.shape[1]):
        rows = [s[:, c] for s in singles if s.shape[1] > c]
        np.testing.assert_allclose(m.values[:, c], np.mean(rows, axis=0), atol=1e-4)
        assert (m.counts[:, c] == len(rows)).all()
    assert m.cols[0] == "0"  # prompts disagree on their first token
    assert m.col_tokens[0] is None


def test_right_alignment_lines_up_the_last_tokens(neox_lm, tokenizer) -> None:
    singles = [th.lens(neox_lm, tokenizer, p, n_dummy=2, progress=False).values for p in PROMPTS]
    m = th.lens(neox_lm, tokenizer, PROMPTS, align="right", n_dummy=2, progress=False)
    for back in range(1, min(s.shape[1] for s in singles) + 1):
        expected = np.mean([s[:, -back] for s in singles], axis=0)
        np.testing.assert_allclose(m.values[:, -back], expected, atol=1e-4)
    dummy = tokenizer.convert_ids_to_tokens(tokenizer(" ...", add_special_tokens=False).input_ids)
    assert m.cols[-len(dummy) :] == dummy
    assert (m.counts[:, -1] == 3).all()
    assert m.counts[0, 0] == 1 and m.cols[0] == "A"  # only the longest prompt reaches back there
    assert m.cols[-len(dummy) * 2 - 1] == str(-len(dummy) * 2 - 1)  # prompts end differently
    with pytest.raises(ValueError, match="align must be one of 'left', 'right', got 'center'"):
        th.lens(neox_lm, tokenizer, PROMPTS, align="center", progress=False)


def test_chat_template_with_dummy_tokens(qwen2_lm, tokenizer) -> None:
    m = th.lens(qwen2_lm, tokenizer, "What is 2+2?", chat=True, n_dummy=3, progress=False)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+2?"}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False).input_ids
    dummy = tokenizer(" ...", add_special_tokens=False).input_ids
    expected = scipy.stats.entropy(
        scipy.special.softmax(_model_logits(qwen2_lm, ids + dummy * 3), axis=-1), axis=-1
    )
    assert m.cols == tokenizer.convert_ids_to_tokens(ids + dummy * 3)
    np.testing.assert_allclose(m.values[-1], expected, atol=1e-4)
    assert m.corpus.texts == [text + " ..." * 3]
    assert m.meta["appended_tokens"] == 3 * len(dummy)


def _model_logits(model, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double().numpy()


def test_too_long_prompt_raises_or_is_truncated(gpt2_lm, tokenizer) -> None:
    long = "The cat sat on the mat. " * 20
    with pytest.raises(ValueError, match=rf"{MAX_POSITIONS} tokens.*truncate=True"):
        th.lens(gpt2_lm, tokenizer, long, progress=False)
    m = th.lens(gpt2_lm, tokenizer, long, truncate=True, progress=False)
    assert m.shape == (3, MAX_POSITIONS)
    expected = _model_logits(gpt2_lm, tokenizer(long).input_ids[:MAX_POSITIONS])
    np.testing.assert_allclose(
        m.values[-1],
        scipy.stats.entropy(scipy.special.softmax(expected, axis=-1), axis=-1),
        atol=1e-4,
    )


def test_tokenizer_without_pad_token_gives_the_same_lens(
    llama_lm, tokenizer, tokenizer_no_pad
) -> None:
    with_pad = th.lens(llama_lm, tokenizer, PROMPTS, progress=False)
    without = th.lens(llama_lm, tokenizer_no_pad, PROMPTS, progress=False)
    np.testing.assert_allclose(without.values, with_pad.values, atol=1e-5)
    assert tokenizer_no_pad.pad_token is None


def test_contexts_list_top_k_and_next_token(gpt2_lm, tokenizer) -> None:
    m = th.lens(gpt2_lm, tokenizer, PROMPTS[:2], top_k=4, progress=False)
    ctx = m.contexts.to_pandas()
    n_tokens = [len(tokenizer(p).input_ids) for p in PROMPTS[:2]]
    assert len(ctx) == 3 * sum(n_tokens)
    assert {"top1", "top4", "p1", "p4", "next", "p_next"} <= set(ctx.columns)
    assert "top5" not in ctx.columns
    logits = reference_logits(gpt2_lm, tokenizer, PROMPTS[0])
    probs = scipy.special.softmax(logits, axis=-1)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(PROMPTS[0]).input_ids)
    ids = tokenizer(PROMPTS[0]).input_ids
    row = ctx[(ctx["row"] == 1) & (ctx["col"] == 2) & (ctx["example"] == 0)].iloc[0]
    order = np.argsort(-probs[1, 2])
    assert row["top1"] == tokenizer.convert_ids_to_tokens(int(order[0]))
    assert row["top2"] == tokenizer.convert_ids_to_tokens(int(order[1]))
    np.testing.assert_allclose([row["p1"], row["p2"]], probs[1, 2, order[:2]], atol=1e-5)
    assert row["next"] == tokens[3]
    np.testing.assert_allclose(row["p_next"], probs[1, 2, ids[3]], atol=1e-5)
    assert (row["start"], row["end"], row["start2"], row["end2"]) == (2, 3, 3, 4)
    last = ctx[(ctx["col"] == n_tokens[0] - 1) & (ctx["example"] == 0)]
    assert (
        (last["next"] == "").all() and last["p_next"].isna().all() and (last["start2"] == -1).all()
    )
    assert m.corpus.tokens(0) == tokens
    # What tells a column's contexts apart in the panel: each carries its layer.
    assert (ctx["layer"] == np.asarray(m.rows)[ctx["row"]]).all()
    assert m.meta["max_contexts_per_cell"] == 100


def test_layers_subset_and_bad_arguments(llama_lm, tokenizer) -> None:
    m = th.lens(llama_lm, tokenizer, PROMPTS[0], layers=[-1], progress=False)
    full = th.lens(llama_lm, tokenizer, PROMPTS[0], progress=False)
    assert m.rows == ["L1", "output"]
    np.testing.assert_allclose(m.values, full.values[1:], rtol=1e-6)
    with pytest.raises(ValueError, match=r"layers entries must be block indices in -2..1 .*got 5"):
        th.lens(llama_lm, tokenizer, PROMPTS[0], layers=[5], progress=False)
    with pytest.raises(ValueError, match=r"stat must be one of 'entropy', .*got 'perplexity'"):
        th.lens(llama_lm, tokenizer, PROMPTS[0], stat="perplexity", progress=False)
    with pytest.raises(ValueError, match="top_k must be an int >= 0, got -1"):
        th.lens(llama_lm, tokenizer, PROMPTS[0], top_k=-1, progress=False)


def test_dtype_argument_runs_in_that_dtype_and_restores(tokenizer) -> None:
    model = make_causal_lm("gpt2", len(tokenizer)).train()
    m64 = th.lens(model, tokenizer, PROMPTS[0], dtype=torch.float64, progress=False)
    assert next(model.parameters()).dtype == torch.float32 and model.training
    m32 = th.lens(model, tokenizer, PROMPTS[0], progress=False)  # eval inside: no dropout
    np.testing.assert_allclose(m64.values, m32.values, atol=1e-4)
    assert model.training


def test_top_k_zero_keeps_cell_text_and_drops_prediction_columns(gpt2_lm, tokenizer) -> None:
    m = th.lens(gpt2_lm, tokenizer, PROMPTS[0], top_k=0, progress=False)
    assert m.cell_text_array() is not None
    assert "top1" not in m.contexts.to_pandas().columns
    assert (
        th.lens(gpt2_lm, tokenizer, PROMPTS[0], max_contexts_per_cell=0, progress=False).contexts
        is None
    )


def test_minus_inf_logits_give_finite_stats(tokenizer) -> None:
    model = make_causal_lm("gpt2", len(tokenizer))
    model.lm_head = torch.nn.Linear(32, len(tokenizer), bias=True)
    with torch.no_grad():
        model.lm_head.bias[5:9] = -torch.inf  # e.g. a masked slice of a padded vocabulary
    logits = reference_logits(model, tokenizer, PROMPTS[1])
    m = th.lens(model, tokenizer, PROMPTS[1], progress=False)
    assert np.isfinite(m.values).all() and np.isfinite(m.extras["kl_final"]).all()
    expected = scipy.stats.entropy(scipy.special.softmax(logits, axis=-1), axis=-1)
    np.testing.assert_allclose(m.values, expected, atol=1e-4)


def test_analysis_names_are_the_functions_and_modules_are_private() -> None:
    import tokenheat.analyses

    assert "tokenheat.analyses._lens" in __import__("sys").modules  # imported at the top
    assert callable(tokenheat.analyses.lens) and tokenheat.analyses.lens is th.lens
    assert tokenheat.analyses.anchor_similarity is th.anchor_similarity
    assert tokenheat.analyses._lens is lens_module
