"""attribution against captum, hand-written autograd and a naive occlusion loop."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from conftest import make_bert_classifier, make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenheat.analyses._attribution import attribution  # noqa: E402
from tokenheat.errors import ArgumentTypeError, CompletenessWarning  # noqa: E402

PROMPT = "The capital of France is"
PROMPTS = ["The capital of France is", "I love this movie", "The cat sat on the mat."]


@pytest.fixture(scope="module")
def smooth_gpt2(tokenizer: Any) -> Any:
    """A GPT-2 with transformers' default (small) init: a smooth function of its inputs."""
    config = transformers.GPT2Config(
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=64,
        vocab_size=len(tokenizer),
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.fixture(scope="module")
def smooth_llama(tokenizer: Any) -> Any:
    """A Llama with the default init; IG with a zero baseline needs more steps than GPT-2."""
    config = transformers.LlamaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        intermediate_size=64, vocab_size=len(tokenizer), max_position_embeddings=64,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def bert(tokenizer: Any) -> Any:
    return make_bert_classifier(len(tokenizer), num_labels=3)


def token_ids(tok: Any, text: str) -> list[int]:
    return list(tok(text)["input_ids"])


def lm_logprob(model: Any, answer: list[int]) -> Any:
    """emb (B, L, d) -> summed log-prob of ``answer`` teacher-forced after the input."""
    tail = model.get_input_embeddings()(torch.tensor(answer[:-1], dtype=torch.long))

    def f(emb: Any) -> Any:
        full = torch.cat([emb, tail[None].expand(emb.shape[0], -1, -1)], 1)
        logp = torch.log_softmax(model(inputs_embeds=full).logits.float(), -1)
        n = emb.shape[1]
        return sum(logp[:, n - 1 + j, t] for j, t in enumerate(answer))

    return f


def captum_ig(f: Any, emb: Any, base: Any, steps: int, method: str = "gausslegendre") -> np.ndarray:
    from captum.attr import IntegratedGradients

    attr = IntegratedGradients(f).attribute(
        emb[None], baselines=base[None], n_steps=steps, method=method
    )
    return attr.sum(-1)[0].detach().double().numpy()


def embed(model: Any, ids: list[int]) -> Any:
    return model.get_input_embeddings()(torch.tensor(ids)).detach()


def with_sink(tokenizer: Any, ids: list[int]) -> list[int]:
    """``ids`` as tokenheat runs them by default: ``<|endoftext|>`` prepended as the sink when
    the input does not start with a special token (the tiny tokenizer adds no BOS)."""
    if ids[0] in set(tokenizer.all_special_ids):
        return ids
    return [tokenizer.get_vocab()["<|endoftext|>"], *ids]


def kept_baseline(emb: Any, ids: list[int], tokenizer: Any) -> Any:
    """The baseline tokenheat uses by default (``baseline_keep=("sink", "special")``) for
    ``ids`` that already hold the sink: zeros, but special tokens (the sink among them) keep
    their own embeddings."""
    base = torch.zeros_like(emb)
    keep = [i for i, t in enumerate(ids) if t in set(tokenizer.all_special_ids)]
    base[keep] = emb[keep]
    return base


def assert_rel_close(got: np.ndarray, want: np.ndarray, rel: float) -> None:
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= rel * scale, (got, want)


@pytest.mark.parametrize("model_name", ["gpt2_lm", "llama_lm", "qwen2_lm", "neox_lm"])
def test_integrated_gradients_match_captum(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    ids = with_sink(tokenizer, token_ids(tokenizer, PROMPT))
    targets = [" Paris", "Ġcat"]  # a two-token answer and a vocabulary token
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(model, tokenizer, PROMPT, targets, steps=32, batch_size=7, progress=False)
    emb = embed(model, ids)
    for c, target in enumerate(targets):
        answer = (
            [tokenizer.get_vocab()[target]]
            if target in tokenizer.get_vocab()
            else token_ids(tokenizer, target)
        )
        want = captum_ig(lm_logprob(model, answer), emb, kept_baseline(emb, ids, tokenizer), 32)
        assert want[0] == 0.0  # the sink, kept in the baseline: 0 by construction, not shown
        assert_rel_close(m.values[:, c].astype(np.float64), want[1:], 1e-4)
        assert m.values[0, c] != 0.0  # the first content token is attributed
    assert m.meta["sink"] == {"token": "<|endoftext|>", "id": ids[0], "inputs": [0]}
    assert m.meta["baseline_kept"] == {"0": [0]}


@pytest.mark.parametrize("model_name", ["gpt2_lm", "llama_lm"])
def test_plain_baseline_matches_captum(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(
            model, tokenizer, PROMPT, " Paris", steps=32, baseline_keep=None, progress=False
        )
    emb = embed(model, token_ids(tokenizer, PROMPT))
    answer = token_ids(tokenizer, " Paris")
    want = captum_ig(lm_logprob(model, answer), emb, torch.zeros_like(emb), 32)
    assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)
    assert m.meta["baseline_keep"] == [] and m.meta["baseline_kept"] == {"0": []}


def test_special_tokens_keep_their_embedding_in_the_baseline(llama_lm: Any) -> None:
    tok = make_tokenizer(bos=True)
    text = "The cat<|endoftext|> sat"
    ids = token_ids(tok, text)
    specials = [i for i, t in enumerate(ids) if t in tok.all_special_ids]
    assert specials[0] == 0 and len(specials) == 2  # BOS and the one in the text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(llama_lm, tok, text, "Ġthe", steps=16, progress=False)
        first = attribution(
            llama_lm, tok, text, "Ġthe", steps=16, baseline_keep="first", progress=False
        )
    emb = embed(llama_lm, ids)
    want = captum_ig(
        lm_logprob(llama_lm, [tok.get_vocab()["Ġthe"]]), emb, kept_baseline(emb, ids, tok), 16
    )
    assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)
    assert m.meta["baseline_kept"] == {"0": specials}
    assert np.all(m.values[specials, 0] == 0.0)
    assert first.meta["baseline_kept"] == {"0": [0]} and first.values[specials[1], 0] != 0.0
    # completeness is measured against the baseline actually used
    f = lm_logprob(llama_lm, [tok.get_vocab()["Ġthe"]])
    with torch.no_grad():
        f_b = float(f(kept_baseline(emb, ids, tok)[None])[0])
    assert m.meta["completeness"][0]["f_baseline"] == pytest.approx(f_b, rel=1e-5)


@pytest.mark.parametrize("rule", ["riemann_trapezoid", "riemann_middle", "riemann_left"])
def test_riemann_rules_match_captum(rule: str, gpt2_lm: Any, tokenizer: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(
            gpt2_lm, tokenizer, PROMPT, "Ġcat", steps=16, integration=rule, progress=False
        )
    ids = with_sink(tokenizer, token_ids(tokenizer, PROMPT))
    emb = embed(gpt2_lm, ids)
    base = kept_baseline(emb, ids, tokenizer)
    want = captum_ig(lm_logprob(gpt2_lm, [tokenizer.get_vocab()["Ġcat"]]), emb, base, 16, rule)
    want = want[1:]
    if rule == "riemann_trapezoid":
        # captum's trapezoid weights are 1/n (halved at the ends) and sum to (n-1)/n;
        # tokenheat uses the exact trapezoid rule, 1/(n-1), whose weights sum to 1
        want = want * 16 / 15
    assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)


def test_integrated_gradients_match_captum_for_a_classifier(bert: Any, tokenizer: Any) -> None:
    m = attribution(bert, tokenizer, PROMPT, ["pos", 2], steps=32, progress=False)
    ids = token_ids(tokenizer, PROMPT)  # a classifier gets no sink
    emb = embed(bert, ids)
    base = kept_baseline(emb, ids, tokenizer)
    for c, cls in enumerate([1, 2]):

        def f(e: Any, cls: int = cls) -> Any:
            return torch.log_softmax(bert(inputs_embeds=e).logits.float(), -1)[:, cls]

        assert_rel_close(m.values[:, c].astype(np.float64), captum_ig(f, emb, base, 32), 1e-4)
    assert m.cols == ["pos", "label2"]


def test_completeness_within_one_percent_at_64_steps(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, None, steps=64, progress=False)
    rel = np.array([c["rel_error"] for c in m.meta["completeness"]])
    assert np.all(rel < 0.01)
    for c, entry in enumerate(m.meta["completeness"]):
        total = np.nansum(m.values[:, c])
        assert total == pytest.approx(entry["f_x"] - entry["f_baseline"], rel=0.01)
        assert np.nanmax(m.extras["completeness_rel"][:, c]) == pytest.approx(
            entry["rel_error"], rel=1e-4
        )


def test_completeness_error_is_in_contexts(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, None, steps=16, progress=False)
    frame = m.contexts.to_pandas(m.corpus)
    assert len(frame) == int(np.sum(~np.isnan(m.values)))
    for row in frame.itertuples():
        entry = m.meta["completeness"][row.col]
        assert row.completeness_error == pytest.approx(entry["abs_error"], rel=1e-4, abs=1e-6)
        assert row.score == pytest.approx(entry["f_x"], rel=1e-5)
        np.testing.assert_allclose(row.scores, m.values[: len(row.scores), row.col], rtol=1e-6)


def test_one_context_per_cell_inside_each_input(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, ["Ġis", "Ġcat", 5], steps=8, progress=False)
    ctx = m.contexts
    cells = {(int(r), int(c)) for r, c in zip(ctx.row, ctx.col, strict=True)}
    assert cells == {tuple(map(int, rc)) for rc in np.argwhere(~np.isnan(m.values))}
    assert len(cells) == len(ctx)  # one each, and none for the NaN cells past an input's end
    frame = ctx.to_pandas(m.corpus)
    for row in frame.itertuples():
        assert row.start == row.row and row.end == row.row + 1 and row.example == row.col
        n = m.corpus.length(row.example)
        assert row.start2 == n - 1 and row.end2 == n  # the scored (last) position
        assert row.attribution == pytest.approx(float(m.values[row.row, row.col]), rel=1e-6)
        assert row.target == m.meta["targets"][row.col]
        assert len(row.scores) == n


def test_contexts_of_a_column_share_one_score_array(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPT, ["Ġcat", "Ġis"], steps=8, progress=False)
    ctx = m.contexts
    n = m.shape[0]
    assert len(ctx) == 2 * n
    assert ctx.scores is not None and ctx.scores.size == 2 * n  # stored once per column
    for c in range(2):
        starts = {int(ctx.score_start[k]) for k in np.flatnonzero(ctx.col == c)}
        assert len(starts) == 1
        np.testing.assert_allclose(
            ctx.scores_of(int(np.flatnonzero(ctx.col == c)[0])), m.values[:, c], rtol=1e-6
        )


def test_warns_naming_columns_above_tolerance(llama_lm: Any, tokenizer: Any) -> None:
    with pytest.warns(
        CompletenessWarning, match=r"completeness error above 5% for columns \['␣Paris'"
    ) as rec:
        m = attribution(llama_lm, tokenizer, PROMPT, " Paris", steps=2, progress=False)
    assert m.meta["completeness"][0]["rel_error"] > 0.05
    assert len(rec) == 1


def test_no_warning_when_complete(smooth_gpt2: Any, tokenizer: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribution(smooth_gpt2, tokenizer, PROMPT, None, steps=32, progress=False)


def test_auto_steps_double_until_tolerance(smooth_llama: Any, tokenizer: Any) -> None:
    schedule = (32, 64, 128, 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = np.array([
            [c["rel_error"] for c in attribution(smooth_llama, tokenizer, PROMPTS[:2], None, steps=s, baseline_keep=None, progress=False).meta["completeness"]]
            for s in schedule
        ])  # fmt: skip
    expected = [
        next(s for s, r in zip(schedule, fixed[:, c], strict=True) if r < 0.01) for c in range(2)
    ]
    assert max(expected) > 32  # doubling happened
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = attribution(
            smooth_llama,
            tokenizer,
            PROMPTS[:2],
            None,
            steps="auto",
            tol=0.01,
            baseline_keep=None,  # the all-zero baseline needs more than 32 steps here
            progress=False,
        )
    assert m.meta["steps"] == expected
    assert m.meta["auto_steps"]["reached_tol"] is True
    assert all(c["rel_error"] < 0.01 for c in m.meta["completeness"])


def test_auto_steps_warn_at_max_steps(llama_lm: Any, tokenizer: Any) -> None:
    with pytest.warns(CompletenessWarning, match="max_steps=32"):
        m = attribution(
            llama_lm,
            tokenizer,
            PROMPT,
            " Paris",
            steps="auto",
            tol=1e-9,
            max_steps=32,
            progress=False,
        )
    assert m.meta["auto_steps"] == {"tol": 1e-9, "max_steps": 32, "reached_tol": False}
    assert m.meta["steps"] == [32]


def test_gradient_x_input_matches_hand_autograd(gpt2_lm: Any, tokenizer: Any) -> None:
    m = attribution(gpt2_lm, tokenizer, PROMPT, "Ġcat", method="input_x_gradient", progress=False)
    ids = with_sink(tokenizer, token_ids(tokenizer, PROMPT))
    emb = embed(gpt2_lm, ids).requires_grad_(True)
    out = lm_logprob(gpt2_lm, [tokenizer.get_vocab()["Ġcat"]])(emb[None])
    (grad,) = torch.autograd.grad(out.sum(), emb)
    np.testing.assert_allclose(
        m.values[:, 0], (grad * emb).sum(-1).detach().numpy()[1:], rtol=1e-4, atol=1e-6
    )
    assert "completeness" not in m.meta and m.meta["method"] == "input_x_gradient"
    old = attribution(gpt2_lm, tokenizer, PROMPT, "Ġcat", method="gradient_x_input", progress=False)
    np.testing.assert_array_equal(old.values, m.values)  # the earlier name still works
    assert old.meta["method"] == "input_x_gradient"


@pytest.mark.parametrize("baseline", ["zero", "pad", "eos"])
def test_occlusion_matches_naive_loop(baseline: str, llama_lm: Any, tokenizer: Any) -> None:
    m = attribution(
        llama_lm, tokenizer, PROMPT, "Ġcat", method="occlusion", baseline=baseline, progress=False
    )
    ids = with_sink(tokenizer, token_ids(tokenizer, PROMPT))
    emb = embed(llama_lm, ids)
    base_id = {"pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id}.get(baseline)
    base = torch.zeros(emb.shape[1]) if base_id is None else embed(llama_lm, [base_id])[0]
    f = lm_logprob(llama_lm, [tokenizer.get_vocab()["Ġcat"]])
    with torch.no_grad():
        full = float(f(emb[None])[0])
        want = []  # the sink (position 0) keeps its embedding and is not shown
        for i in range(1, len(ids)):
            e = emb.clone()
            e[i] = base
            want.append(full - float(f(e[None])[0]))
    np.testing.assert_allclose(m.values[:, 0], want, rtol=1e-4, atol=1e-5)


def test_integration_steps_are_batched(gpt2_lm: Any, tokenizer: Any) -> None:
    calls: list[int] = []
    handle = gpt2_lm.register_forward_pre_hook(
        lambda mod, args, kwargs: calls.append(kwargs["inputs_embeds"].shape[0]), with_kwargs=True
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attribution(
                gpt2_lm,
                tokenizer,
                PROMPT,
                ["Ġcat", "Ġthe", "Ġis"],
                steps=32,
                batch_size=8,
                progress=False,
            )
    finally:
        handle.remove()
    # three single-token targets share one input: 32 / 8 interpolation batches, then f(x)
    # and f(baseline) in one forward without gradients
    assert calls == [8, 8, 8, 8, 2]


def test_occlusion_is_one_batched_forward(gpt2_lm: Any, tokenizer: Any) -> None:
    calls: list[int] = []
    handle = gpt2_lm.register_forward_pre_hook(
        lambda mod, args, kwargs: calls.append(kwargs["inputs_embeds"].shape[0]), with_kwargs=True
    )
    try:
        attribution(gpt2_lm, tokenizer, PROMPT, "Ġcat", method="occlusion", progress=False)
    finally:
        handle.remove()
    assert calls == [1, len(token_ids(tokenizer, PROMPT))]  # every token, the sink kept


def test_ragged_inputs_are_nan_padded(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, ["Ġis", "Ġcat", 5], progress=False)
    lengths = [len(token_ids(tokenizer, p)) for p in PROMPTS]
    assert m.shape == (max(lengths), 3)
    for c, n in enumerate(lengths):
        assert not np.isnan(m.values[:n, c]).any() and np.isnan(m.values[n:, c]).all()
        assert list(m.cell_text_array()[:n, c]) == tokenizer.convert_ids_to_tokens(
            token_ids(tokenizer, PROMPTS[c])
        )
    assert m.rows == [f"pos {i}" for i in range(max(lengths))]
    assert m.row_kind == "position" and m.col_kind == "example"
    assert list(m.col_examples) == [0, 1, 2]
    assert m.cols[1] == "#1: Ġcat"


def test_one_input_many_targets_are_columns(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPT, ["Ġcat", " Paris", None], progress=False)
    top = int(smooth_gpt2(torch.tensor([token_ids(tokenizer, PROMPT)])).logits[0, -1].argmax())
    assert m.cols == ["Ġcat", "ĠParis", tokenizer.convert_ids_to_tokens(top)]
    assert m.rows == tokenizer.convert_ids_to_tokens(token_ids(tokenizer, PROMPT))
    assert m.col_kind == "target" and m.col_tokens[:2] == ["Ġcat", "ĠParis"]  # " Paris": 2 tokens
    assert "\\u2423Paris" in json.dumps(m.to_altair().to_dict())  # drawn "␣Paris", not "ĠParis"
    frame = m.contexts.to_pandas(m.corpus)
    last = frame[frame["row"] == m.shape[0] - 1]
    assert list(last["target"]) == m.cols and list(last["token"]) == ["Ġis"] * 3


def test_scale_is_diverging_and_symmetric(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, None, progress=False)
    lo, hi = m.scale.domain
    assert m.scale.palette == "RdBu" and m.scale.center == 0.0
    assert lo == -hi and hi == pytest.approx(float(np.nanmax(np.abs(m.values))), rel=1e-6)


@pytest.mark.parametrize("normalize", ["maxabs", "l1"])
def test_normalize(normalize: str, smooth_gpt2: Any, tokenizer: Any) -> None:
    raw = attribution(smooth_gpt2, tokenizer, PROMPTS, None, progress=False)
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, None, normalize=normalize, progress=False)
    for c in range(3):
        col = raw.values[:, c][~np.isnan(raw.values[:, c])]
        denom = np.abs(col).max() if normalize == "maxabs" else np.abs(col).sum()
        np.testing.assert_allclose(m.values[: col.size, c], col / denom, rtol=1e-5)


def test_target_position_scores_an_earlier_prediction(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(
        smooth_gpt2,
        tokenizer,
        PROMPT,
        "Ġcat",
        target_position=2,
        method="gradient_x_input",
        progress=False,
    )
    assert np.all(m.values[3:, 0] == 0.0) and np.any(m.values[:3, 0] != 0.0)
    assert set(m.contexts.start2) == {2}  # every context marks the scored position


def test_pad_baseline_needs_a_pad_token(gpt2_lm: Any) -> None:
    tok = make_tokenizer(pad=False)
    with pytest.raises(
        ValueError,
        match=r"baseline must be 'zero', 'eos' or a token id when the tokenizer has no pad token, got 'pad'",
    ):
        attribution(gpt2_lm, tok, PROMPT, "Ġcat", baseline="pad", progress=False)


# A table of bad options like test_flip_rate.py's on purpose: one per analysis, other options.
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"method": "saliency"},
            "method must be one of 'integrated_gradients', .*, got 'saliency'",
        ),
        (
            {"baseline": "mean"},
            "baseline must be one of 'zero', 'pad', 'eos', or a token id, got 'mean'",
        ),
        ({"normalize": "l2"}, "normalize must be one of None, 'maxabs', 'l1', got 'l2'"),
        ({"steps": 1}, "steps must be an int >= 2 or 'auto', got 1"),
        ({"steps": "many"}, "steps must be an int >= 2 or 'auto', got 'many'"),
        ({"tol": 2}, r"tol must be a number in \(0, 1\), .*, got 2"),
        ({"max_steps": 8}, "max_steps must be an int >= 32, got 8"),
        ({"batch_size": 0}, "batch_size must be a positive int or None, got 0"),
        (
            {"integration": "simpson"},
            "integration must be one of 'gausslegendre', .*, got 'simpson'",
        ),
        (
            {"baseline_keep": "last"},
            "baseline_keep must be 'sink', 'first', 'special', .*, got 'last'",
        ),
        (
            {"method": "gradient"},
            "method must be one of .*, got 'gradient'; 'gradient_x_input' is accepted",
        ),
        ({"baseline_keep": ("first", 0)}, "baseline_keep must be .*, got a tuple of length 2"),
        (
            {"target_position": 40},
            r"target_position must be -1 \(the last token\) or a position in 0..5 .*, got 40",
        ),
        (
            {"targets": ""},
            r"targets must be a token string or an answer text \(not empty\), got ''",
        ),
        (
            {"targets": 10_000},
            r"targets must be a token id in 0..399 \(the vocabulary\), got 10000",
        ),
        (
            {"targets": " Paris", "target_position": 1},
            "target_position must be -1 for a multi-token answer .*, got 1",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, match: str, gpt2_lm: Any, tokenizer: Any) -> None:
    kwargs = {"targets": "Ġcat", **kwargs}
    with pytest.raises(ValueError, match=match):
        attribution(gpt2_lm, tokenizer, PROMPT, progress=False, **kwargs)


@pytest.mark.parametrize("targets", [3.5, {"a": 1}, b"x"])
def test_a_target_of_the_wrong_type_is_named(targets: Any, gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(ArgumentTypeError, match=r"targets must be a token id .* got"):
        attribution(gpt2_lm, tokenizer, PROMPT, targets, progress=False)


def test_target_count_must_match_inputs(gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(
        ValueError, match=r"targets must be one target per input \(3\), .*, got a list of length 2"
    ):
        attribution(gpt2_lm, tokenizer, PROMPTS, ["Ġcat", "Ġis"], progress=False)


def test_unknown_class_is_named(bert: Any, tokenizer: Any) -> None:
    with pytest.raises(
        ValueError,
        match=r"targets must be a class of the model: one of \['neg', 'pos', 'label2'\] or 0..2, got 'happy'",
    ):
        attribution(bert, tokenizer, PROMPT, "happy", progress=False)


def test_rejects_other_models(tokenizer: Any) -> None:
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32)  # fmt: skip
    with pytest.raises(
        TypeError, match=r"model must be a causal LM \(…ForCausalLM\) or .*, got a BertModel"
    ):
        attribution(transformers.BertModel(config), tokenizer, PROMPT, progress=False)


def test_single_target_broadcasts_to_all_inputs(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(
        smooth_gpt2, tokenizer, PROMPTS, "Ġcat", method="gradient_x_input", progress=False
    )
    assert m.meta["targets"] == ["Ġcat"] * 3
    assert math.isfinite(float(np.nansum(m.values)))


def test_empty_inputs_are_rejected(gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(
        ValueError,
        match="inputs must be a text or a non-empty list of texts, got a list of length 0",
    ):
        attribution(gpt2_lm, tokenizer, [], progress=False)


def test_too_long_input_is_rejected(gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(
        ValueError, match=r"prompts\[0\] must be at most \d+ tokens long .*truncate=True"
    ):
        attribution(gpt2_lm, tokenizer, "the cat " * 80, "Ġcat", progress=False)


def test_chat_conversation_input(smooth_gpt2: Any, tokenizer: Any) -> None:
    chat = [{"role": "user", "content": "The capital of France is"}]
    m = attribution(smooth_gpt2, tokenizer, chat, "Ġcat", method="gradient_x_input", progress=False)
    assert m.rows[0] == "<|im_start|>" and m.shape[1] == 1


ANSWERS = [" Paris", " Rome", " cat sat", " cat mat the", "Ġcat"]  # prefixes: 2 distinct, 1 shared


def captum_columns(model: Any, tokenizer: Any, answers: list[str], steps: int) -> np.ndarray:
    prompt_ids = with_sink(tokenizer, token_ids(tokenizer, PROMPT))
    emb = embed(model, prompt_ids)
    base = kept_baseline(emb, prompt_ids, tokenizer)
    cols = []
    for a in answers:
        ids = [tokenizer.get_vocab()[a]] if a in tokenizer.get_vocab() else token_ids(tokenizer, a)
        cols.append(captum_ig(lm_logprob(model, ids), emb, base, steps)[1:])
    return np.stack(cols, 1)


@pytest.mark.parametrize("model_name", ["llama_lm", "gpt2_lm"])
def test_answers_with_different_prefixes_share_the_input_forward(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    n = len(token_ids(tokenizer, PROMPT)) + 1  # the sink
    lengths: list[int] = []
    handle = model.register_forward_pre_hook(
        lambda mod, args, kwargs: lengths.append(kwargs["inputs_embeds"].shape[1]),
        with_kwargs=True,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = attribution(model, tokenizer, PROMPT, ANSWERS, steps=16, progress=False)
    finally:
        handle.remove()
    # one batch: the input once, then each distinct answer prefix (1, 1, 1 and 2 tokens);
    # the same again without gradients for f(x) and f(baseline)
    assert sorted(lengths) == sorted([1, 1, 1, 2, n] * 2)
    assert_rel_close(
        m.values.astype(np.float64), captum_columns(model, tokenizer, ANSWERS, 16), 1e-4
    )


def test_answers_rerun_in_full_when_the_cache_cannot_be_reused(
    llama_lm: Any, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokenheat.models._prefix as prefix

    monkeypatch.setattr(prefix, "cache_layers", lambda cache: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(llama_lm, tokenizer, PROMPT, ANSWERS[:3], steps=16, progress=False)
    assert_rel_close(
        m.values.astype(np.float64), captum_columns(llama_lm, tokenizer, ANSWERS[:3], 16), 1e-4
    )


def test_parameters_keep_their_requires_grad_flags(gpt2_lm: Any, tokenizer: Any) -> None:
    flags = [p.requires_grad for p in gpt2_lm.parameters()]
    gpt2_lm.transformer.wte.weight.requires_grad_(False)
    try:
        attribution(gpt2_lm, tokenizer, PROMPT, "Ġcat", steps=4, progress=False)
        assert not gpt2_lm.transformer.wte.weight.requires_grad
        assert [p.requires_grad for p in gpt2_lm.parameters()][1:] == flags[1:]
    finally:
        gpt2_lm.transformer.wte.weight.requires_grad_(flags[0])


@pytest.mark.parametrize("model_name", ["smooth_gpt2", "smooth_llama"])
def test_plain_zero_baseline_is_f_x_minus_f_zero(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    """``baseline_keep=None`` alone: no sink, zeros everywhere; Σ attributions = f(x) − f(0)."""
    model = request.getfixturevalue(model_name)
    m = attribution(model, tokenizer, PROMPT, " Paris", steps=256, baseline_keep=None,
                    progress=False)  # fmt: skip
    assert m.meta["sink"] is None and m.meta["baseline_kept"] == {"0": []}
    emb = embed(model, token_ids(tokenizer, PROMPT))
    f = lm_logprob(model, token_ids(tokenizer, " Paris"))
    with torch.no_grad():
        f_x = float(f(emb[None])[0])
        want = f_x - float(f(torch.zeros_like(emb)[None])[0])
    assert float(np.sum(m.values[:, 0])) == pytest.approx(want, rel=0.01)
    assert m.meta["completeness"][0]["f_x"] == pytest.approx(f_x, rel=1e-5)


@pytest.mark.parametrize("model_name", ["gpt2_lm", "llama_lm"])
def test_the_sink_is_the_models_own_bos_prefixed_forward(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    """What is compared: the prepended sink changes the function only as the model itself
    does when run on ``[<|endoftext|>] + ids`` (TransformerLens's prepend_bos). f(x) is the
    log-probability of that plain forward; f(baseline) that of the sink's own embedding
    followed by zeros; and a tokenizer that already adds a BOS gets no second one (the
    result equals the call on the BOS-prefixed text with no sink)."""
    model = request.getfixturevalue(model_name)
    ids = token_ids(tokenizer, PROMPT)
    cat = tokenizer.get_vocab()["Ġcat"]
    eot = tokenizer.get_vocab()["<|endoftext|>"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(model, tokenizer, PROMPT, "Ġcat", steps=8, progress=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[eot, *ids]])).logits[0, -1]
        emb = embed(model, [eot, *ids])
        base = torch.zeros_like(emb)
        base[0] = emb[0]
        f_b = torch.log_softmax(model(inputs_embeds=base[None]).logits[0, -1], -1)[cat]
    entry = m.meta["completeness"][0]
    assert entry["f_x"] == pytest.approx(float(torch.log_softmax(logits, -1)[cat]), abs=1e-5)
    assert entry["f_baseline"] == pytest.approx(float(f_b), abs=1e-5)
    assert m.rows == tokenizer.convert_ids_to_tokens(ids)  # the sink row is not shown
    bos_tok = make_tokenizer(bos=True)  # adds <|endoftext|> itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = attribution(model, bos_tok, PROMPT, "Ġcat", steps=8, progress=False)
        plain = attribution(model, bos_tok, PROMPT, "Ġcat", steps=8, sink=None, progress=False)
    assert own.meta["sink"] is None and own.rows[0] == "<|endoftext|>"
    np.testing.assert_array_equal(own.values, plain.values)
    np.testing.assert_allclose(own.values[1:, 0], m.values[:, 0], rtol=1e-5, atol=1e-7)


def test_first_position_can_still_be_pinned(gpt2_lm: Any, tokenizer: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(gpt2_lm, tokenizer, PROMPT, "Ġcat", steps=8, progress=False,
                        baseline_keep=("sink", "first"))  # fmt: skip
    assert m.values[0, 0] == 0.0 and m.meta["baseline_kept"] == {"0": [0, 1]}


def test_progress_bar_counts_integration_points(
    smooth_llama: Any, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    seen: list[tuple[int, int]] = []
    real = tqdm.auto.tqdm

    class Spy(real):  # type: ignore[misc, valid-type]
        def update(self, n: int = 1) -> Any:
            out = super().update(n)
            seen.append((int(self.n), int(self.total)))
            return out

    monkeypatch.setattr(tqdm.auto, "tqdm", Spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(smooth_llama, tokenizer, PROMPTS[:2], None, tol=0.01, batch_size=8,
                        baseline_keep=None, progress=True)  # fmt: skip
    assert [n for n, _ in seen] == list(range(8, 8 * len(seen) + 1, 8))  # moves every batch
    assert (
        seen[-1][0]
        == seen[-1][1]
        == sum(s + sum(2**k * 32 for k in range(int(np.log2(s / 32)))) for s in m.meta["steps"])
    )


@pytest.mark.slow
def test_the_five_example_figure_converges_with_the_default_call() -> None:
    """Issue 11: on SmolLM2, the research figure's five arithmetic examples (answers as
    columns, the questions' tokens as rows) reach a relative completeness error <= 5% on
    every column with the default call, every content token attributed."""
    import tokenheat as th

    model, tok = th.models.load_default()
    questions, answers = map(list, zip(*th.datasets.arithmetic_figure(), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompletenessWarning)
        m = attribution(model, tok, questions, answers, progress=False)
    rel = [c["rel_error"] for c in m.meta["completeness"]]
    assert max(rel) <= 0.05, (rel, m.meta["steps"])
    assert np.all(m.values[0] != 0.0) and m.meta["sink"]["inputs"] == [0, 1, 2, 3, 4]
