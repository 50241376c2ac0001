"""Results of captum and inseq, run for real on tiny random models, become the matrices
tokenheat's own attribution computes on the same model (``th.from_captum``, ``th.from_inseq``);
a 1-D score vector becomes a one-row matrix (``TokenMatrix.from_scores``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from conftest import make_causal_lm

import tokenheat as th
from tokenheat.errors import ArgumentError, ArgumentTypeError

captum_attr = pytest.importorskip("captum.attr")

PROMPT = "The cat sat on the"
ANSWER = " mat."


@pytest.fixture(scope="module")
def lm(tokenizer: Any) -> Any:
    return make_causal_lm("gpt2", len(tokenizer))


def tokenheat_attribution(lm: Any, tok: Any, target: Any, method: str, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # completeness warnings: not what is tested here
        return th.attribution(
            lm, tok, PROMPT, target, method=method, baseline=0, baseline_keep=None,
            progress=False, **kw,
        )  # fmt: skip


@pytest.fixture(scope="module")
def captum_ig(lm: Any, tokenizer: Any) -> Any:
    ig = captum_attr.LayerIntegratedGradients(lm, lm.get_input_embeddings())
    llm = captum_attr.LLMGradientAttribution(ig, tokenizer)
    # TextTokenInput's baseline is token id 0 at every position, as baseline=0 with nothing kept
    return llm.attribute(captum_attr.TextTokenInput(PROMPT, tokenizer), target=ANSWER, n_steps=16)


def test_captum_integrated_gradients_equal_tokenheat_s(captum_ig, lm, tokenizer) -> None:
    m = th.from_captum(captum_ig, method="integrated_gradients")
    ours = tokenheat_attribution(lm, tokenizer, ANSWER, "integrated_gradients", steps=16)
    first = tokenheat_attribution(lm, tokenizer, "Ġmat", "integrated_gradients", steps=16)
    assert m.shape == (5, 3) and m.cols == ["mat.", "mat", "."]
    np.testing.assert_allclose(m.values[:, 0], ours.values[:, 0], atol=1e-5)  # the answer
    np.testing.assert_allclose(m.values[:, 1], first.values[:, 0], atol=1e-5)  # its 1st token


def test_captum_matrix_links_and_has_contexts_like_attribution(
    captum_ig, tokenizer, tmp_path
) -> None:
    m = th.from_captum(captum_ig)
    assert (m.row_kind, m.col_kind) == ("position", "target")
    assert m.rows == m.row_tokens == tokenizer.tokenize(PROMPT)
    assert m.col_tokens == ["mat.", "mat", "."]
    assert m.meta["source"] == "captum" and m.meta["method"] == "captum"
    ctx = m.contexts.to_pandas()
    assert len(ctx) == 15
    cell = ctx[(ctx["row"] == 2) & (ctx["col"] == 1)].iloc[0]
    assert (cell["start"], cell["end"], cell["start2"]) == (2, 3, 4)  # last input position
    np.testing.assert_allclose(cell["attribution"], m.values[2, 1], rtol=1e-6)
    assert m.corpus.texts == [PROMPT]
    assert "mat" in th.to_html(m)
    th.save(m, tmp_path / "captum.th")
    assert th.load(tmp_path / "captum.th").equals(m)


def test_captum_columns_option(captum_ig) -> None:
    assert th.from_captum(captum_ig, columns="sequence").cols == ["mat."]
    assert th.from_captum(captum_ig, columns="tokens").cols == ["mat", "."]
    with pytest.raises(
        ArgumentError,
        match="columns must be one of 'both', 'sequence', 'tokens', got 'rows'",
    ):
        th.from_captum(captum_ig, columns="rows")


def test_captum_feature_ablation_equals_occlusion(lm, tokenizer) -> None:
    llm = captum_attr.LLMAttribution(captum_attr.FeatureAblation(lm), tokenizer)
    inp = captum_attr.TextTokenInput(PROMPT, tokenizer)
    # one forward over input + answer (captum's token-by-token default gives other numbers
    # for a multi-token answer, while it agrees with a forward by hand for a single token)
    res = llm.attribute(inp, target=ANSWER, forward_in_tokens=False)
    m = th.from_captum(res, columns="sequence", method="occlusion")
    ours = tokenheat_attribution(lm, tokenizer, ANSWER, "occlusion")
    np.testing.assert_allclose(m.values[:, 0], ours.values[:, 0], atol=1e-5)
    assert m.title == "Attribution (occlusion)"


# ------------------------------------------------------------------------------ inseq


@pytest.fixture(scope="module")
def inseq_model(lm: Any, tokenizer: Any) -> Any:
    inseq = pytest.importorskip("inseq")
    return inseq.load_model(lm, "input_x_gradient", tokenizer=tokenizer)


@pytest.fixture(scope="module")
def inseq_out(inseq_model: Any) -> Any:
    return inseq_model.attribute(
        [PROMPT, PROMPT + " mat"], [PROMPT + ANSWER, PROMPT + " mat and"],
        step_scores=["probability"], show_progress=False,
    )  # fmt: skip


def test_inseq_input_x_gradient_equals_tokenheat_s(inseq_out, lm, tokenizer) -> None:
    # inseq attributes the probability, tokenheat the log-probability: d p = p d log p
    m = th.from_inseq(
        inseq_out, sequence=0, aggregator="scores", aggregate_fn="sum", normalize=False
    )
    n = len(tokenizer.tokenize(PROMPT))
    p = m.meta["step_scores"]["probability"][0]
    ours = tokenheat_attribution(lm, tokenizer, "Ġmat", "gradient_x_input")
    np.testing.assert_allclose(m.values[:n, 0] / p, ours.values[:, 0], rtol=1e-4, atol=1e-6)
    assert np.isnan(m.values[n:, 0]).all()  # the answer's own tokens come after it
    ctx = m.contexts.to_pandas()
    np.testing.assert_allclose(ctx.loc[ctx["col"] == 0, "score"], np.log(p), rtol=1e-6)


def test_inseq_default_aggregation_is_inseq_s(inseq_out, tokenizer) -> None:
    ms = th.from_inseq(inseq_out)
    assert isinstance(ms, list) and len(ms) == 2
    expected = inseq_out.sequence_attributions[1].aggregate().target_attributions.numpy()
    np.testing.assert_allclose(ms[1].values, expected, atol=1e-6)
    assert ms[0].rows == tokenizer.tokenize(PROMPT + ANSWER)
    assert ms[0].cols == ["Ġmat", "."] and ms[0].col_tokens == ["Ġmat", "."]
    assert ms[0].meta["method"] == "input_x_gradient" and ms[0].meta["source"] == "inseq"
    assert ms[0].contexts.to_pandas()["start2"].tolist()[:2] == [4, 5]


def test_inseq_sequence_out_of_range(inseq_out) -> None:
    with pytest.raises(
        ArgumentError,
        match=r"sequence must be an int from -2 to 1, got 2; output holds 2 sequence\(s\)",
    ):
        th.from_inseq(inseq_out, sequence=2)


# ------------------------------------------------------------------------ wrong kinds


def test_each_converter_names_the_one_that_fits(captum_ig, inseq_out, lm, tokenizer) -> None:
    with pytest.raises(ArgumentTypeError, match=r"inseq FeatureAttributionOutput.*from_inseq"):
        th.from_captum(inseq_out)
    with pytest.raises(ArgumentTypeError, match=r"captum LLMAttributionResult.*from_captum"):
        th.from_inseq(captum_ig)
    llm = captum_attr.LLMAttribution(captum_attr.FeatureAblation(lm), tokenizer)
    with pytest.raises(ArgumentTypeError, match=r"not its result.*\.attribute\(inp"):
        th.from_captum(llm)
    with pytest.raises(ArgumentTypeError, match="from_scores"):
        th.from_captum(torch.zeros(3))


def test_a_captum_result_without_token_attr_refuses_tokens_columns(captum_ig) -> None:
    res = captum_attr.LLMAttributionResult(
        input_tokens=captum_ig.input_tokens, output_tokens=captum_ig.output_tokens,
        seq_attr=captum_ig.seq_attr,
    )  # fmt: skip
    assert th.from_captum(res).cols == ["mat."]
    with pytest.raises(
        ArgumentError,
        match=r"columns must be 'sequence' for a captum result without token_attr, got 'tokens'",
    ):
        th.from_captum(res, columns="tokens")


# -------------------------------------------------------------------------- from_scores


def test_from_scores_is_a_linked_one_row_matrix(tmp_path) -> None:
    tokens = ["The", "Ġcat", "Ġsat", "Ġon", "Ġthe", "Ġmat"]
    scores = np.array([0.1, -0.5, 0.2, 0.0, np.nan, 1.5])
    m = th.TokenMatrix.from_scores(tokens, scores, title="salience")
    assert m.shape == (1, 6) and m.cols == m.col_tokens == tokens
    assert (m.row_kind, m.col_kind) == ("score", "position")
    np.testing.assert_array_equal(m.values[0], scores.astype(np.float32))
    assert m.corpus.texts == ["The cat sat on the mat"]
    assert m.scale.domain == (-1.5, 1.5)  # negative scores: diverging around 0
    ctx = m.contexts.to_pandas()
    assert ctx["start"].tolist() == list(range(6))
    np.testing.assert_array_equal(ctx["score"], scores.astype(np.float32))
    assert "salience" in th.to_html(m)
    th.save(m, tmp_path / "scores.th")
    assert th.load(tmp_path / "scores.th").equals(m)


def test_from_scores_takes_torch_tensors_and_lists() -> None:
    a = th.TokenMatrix.from_scores(["a", "b"], torch.tensor([1.0, 2.0]))
    b = th.TokenMatrix.from_scores(["a", "b"], [1, 2])
    c = th.TokenMatrix.from_scores(
        ["a", "b"], torch.tensor([1.0, 2.0], dtype=torch.bfloat16, requires_grad=True)
    )
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(c.values, b.values)
    assert b.scale.domain != (-2.0, 2.0)  # all non-negative: the default scale


@pytest.mark.parametrize("scores", [[1.0], [[1.0, 2.0]], np.zeros((2, 1))])
def test_from_scores_refuses_scores_that_do_not_fit(scores) -> None:
    with pytest.raises(
        ValueError, match=r"scores must be one-dimensional with one number per token \(2\)"
    ):
        th.TokenMatrix.from_scores(["a", "b"], scores)


# ------------------------------------------- TransformerBridge (TL 3 and 4), nnsight

TEXTS = ["The cat sat on the mat and then _PAUSE_ the dog came.", "I love this movie, it is great."]


def four_analyses(model: Any, tok: Any) -> list[Any]:
    """The four analyses on ``model`` (with ``tok``, None for the model's own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            th.lens(model, tok, TEXTS, stat="kl_final", progress=False),
            th.anchor_similarity(model, tok, TEXTS, max_distance=4, progress=False),
            th.attribution(model, tok, PROMPT, ANSWER, steps=8, progress=False),
            th.flip_rate(
                model, TEXTS, labels=["cat", "sad"], tokenizer=tok, min_count=1, progress=False
            ),
        ]


def assert_same(a: list[Any], b: list[Any]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.rows == y.rows and x.cols == y.cols
        np.testing.assert_allclose(x.values, y.values, atol=1e-5)


@pytest.fixture(scope="module")
def own_tok(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny tokenizer reloaded from a folder (TransformerLens reloads it from there)."""
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    return pytest.importorskip("transformers").AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def bridge(own_tok: Any) -> Any:
    model_bridge = pytest.importorskip("transformer_lens.model_bridge")
    hf = make_causal_lm("llama", len(own_tok))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_bridge.TransformerBridge.boot_transformers(
            "tiny-llama", hf_model=hf, tokenizer=own_tok, device="cpu"
        )


def test_a_bridge_computes_what_its_hf_model_computes(bridge) -> None:
    ids = bridge.tokenizer(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        np.testing.assert_allclose(bridge(ids), bridge.original_model(ids).logits, atol=1e-4)


def test_a_bridge_works_for_the_four_analyses(bridge) -> None:
    ours = four_analyses(bridge, None)
    assert_same(ours, four_analyses(bridge.original_model, bridge.tokenizer))
    assert ours[0].meta["family"] == "llama"


def test_lens_from_a_bridge_cache_equals_lens_from_the_bridge(bridge) -> None:
    # the cache holds the bridge's own hook outputs, an independent path from the HF hooks
    ids = bridge.to_tokens(TEXTS[0])
    _, cache = bridge.run_with_cache(ids)
    a = th.lens(cache, None, ids, progress=False)
    b = th.lens(bridge, None, TEXTS[0], progress=False)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)
    assert a.cell_text_array().tolist() == b.cell_text_array().tolist()
    s = th.anchor_similarity(cache, None, ids, anchor="_PAUSE_", max_distance=4, progress=False)
    t = th.anchor_similarity(
        bridge, None, TEXTS[0], anchor="_PAUSE_", max_distance=4, progress=False
    )
    np.testing.assert_allclose(s.values, t.values, atol=1e-5)


def test_nnsight_language_model_works_for_the_four_analyses(tokenizer) -> None:
    nnsight = pytest.importorskip("nnsight")
    hf = make_causal_lm("gpt2", len(tokenizer))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LanguageModel's deprecation notice (nnsight 0.8)
        wrapped = nnsight.LanguageModel(hf, tokenizer=tokenizer)
    assert_same(four_analyses(wrapped, None), four_analyses(hf, tokenizer))


def test_captum_tensors_of_any_dtype_are_read(captum_ig) -> None:
    res = captum_attr.LLMAttributionResult(
        input_tokens=captum_ig.input_tokens, output_tokens=captum_ig.output_tokens,
        seq_attr=captum_ig.seq_attr.to(torch.bfloat16).requires_grad_(),
        token_attr=captum_ig.token_attr.double(),
    )  # fmt: skip
    m = th.from_captum(res)
    np.testing.assert_allclose(m.values, th.from_captum(captum_ig).values, rtol=1e-2, atol=1e-2)


def test_an_nnsight_model_without_weights_is_a_clear_error(tokenizer, tmp_path) -> None:
    nnsight = pytest.importorskip("nnsight")
    make_causal_lm("gpt2", len(tokenizer)).save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = nnsight.LanguageModel(str(tmp_path), tokenizer=tokenizer)  # meta until used
    with pytest.raises(ArgumentTypeError, match="dispatch=True"):
        th.lens(lazy, None, PROMPT, progress=False)


def test_inseq_encoder_decoder_rows_are_source_then_target(tokenizer) -> None:
    inseq = pytest.importorskip("inseq")
    transformers = pytest.importorskip("transformers")
    config = transformers.T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    t5 = transformers.T5ForConditionalGeneration(config).eval()
    model = inseq.load_model(t5, "input_x_gradient", tokenizer=tokenizer)
    source, target = "The cat sat on the mat.", "A quick brown fox"
    for attribute_target in (False, True):
        out = model.attribute(
            source, target, attribute_target=attribute_target, show_progress=False
        )
        seq = out.sequence_attributions[0].aggregate()
        m = th.from_inseq(out)
        n_src = len(seq.source)
        assert m.rows == [t.token for t in seq.source] + [t.token for t in seq.target]
        assert m.cols == [t.token for t in seq.target][1:]
        np.testing.assert_allclose(m.values[:n_src], seq.source_attributions.numpy(), atol=1e-6)
        target_rows = m.values[n_src:]
        if attribute_target:
            np.testing.assert_allclose(target_rows, seq.target_attributions.numpy(), atol=1e-6)
        else:
            assert np.isnan(target_rows).all()
        # the first output is read after the decoder's start token (<pad>)
        assert m.contexts.to_pandas()["start2"].iloc[0] == n_src
        assert m.meta["source_tokens"] == n_src


def test_captum_output_probs_become_the_scores(captum_ig) -> None:
    res = captum_attr.LLMAttributionResult(
        input_tokens=captum_ig.input_tokens, output_tokens=captum_ig.output_tokens,
        seq_attr=captum_ig.seq_attr, token_attr=captum_ig.token_attr, output_probs=[0.5, 0.25],
    )  # fmt: skip
    m = th.from_captum(res)
    np.testing.assert_allclose(m.meta["scores"], np.log([0.125, 0.5, 0.25]))
    ctx = m.contexts.to_pandas().drop_duplicates("col").sort_values("col")
    np.testing.assert_allclose(ctx["score"], np.log([0.125, 0.5, 0.25]), rtol=1e-6)


def test_a_bridge_in_compatibility_mode_is_read_as_it_computes(own_tok) -> None:
    model_bridge = pytest.importorskip("transformer_lens.model_bridge")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bridge = model_bridge.TransformerBridge.boot_transformers(
            "tiny-gpt2", hf_model=make_causal_lm("gpt2", len(own_tok)), tokenizer=own_tok,
            device="cpu",
        )  # fmt: skip
        before = th.lens(bridge, None, TEXTS[1], progress=False)
        bridge.enable_compatibility_mode(disable_warnings=True)  # folds, centres in place
    ids = bridge.to_tokens(TEXTS[1])
    _, cache = bridge.run_with_cache(ids)  # the bridge's own hooks, after processing
    after = th.lens(bridge, None, TEXTS[1], progress=False)
    np.testing.assert_allclose(
        th.lens(cache, None, ids, progress=False).values, after.values, atol=1e-4
    )
    np.testing.assert_allclose(after.values, before.values, atol=1e-4)  # the lens is unmoved


def test_a_result_from_an_unsupported_version_names_the_supported_one() -> None:
    old = type("LLMAttributionResult", (), {"__module__": "captum.attr._core.llm_attr"})()
    with pytest.raises(ArgumentTypeError, match=r"without seq_attr.*supports captum >= 0\.7"):
        th.from_captum(old)
    out = type("FeatureAttributionOutput", (), {"__module__": "inseq.data.attribution"})()
    with pytest.raises(ArgumentTypeError, match=r"supports inseq >= 0\.6"):
        th.from_inseq(out)
