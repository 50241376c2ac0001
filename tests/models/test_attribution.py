"""attribution against captum, hand-written autograd and a naive occlusion loop."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
from conftest import make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import _ig_reference as ref  # noqa: E402

from tokenheat.analyses._attribution import attribution  # noqa: E402
from tokenheat.errors import CompletenessWarning  # noqa: E402

PROMPT = "The capital of France is"
PROMPTS = ["The capital of France is", "I love this movie", "The cat sat on the mat."]


@pytest.mark.parametrize("model_name", ["gpt2_lm", "llama_lm", "qwen2_lm", "neox_lm"])
def test_integrated_gradients_match_captum(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    ids = ref.with_sink(tokenizer, ref.token_ids(tokenizer, PROMPT))
    targets = [" Paris", "Ġcat"]  # a two-token answer and a vocabulary token
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(model, tokenizer, PROMPT, targets, steps=32, batch_size=7, progress=False)
    emb = ref.embed(model, ids)
    for c, target in enumerate(targets):
        answer = (
            [tokenizer.get_vocab()[target]]
            if target in tokenizer.get_vocab()
            else ref.token_ids(tokenizer, target)
        )
        want = ref.captum_ig(
            ref.lm_logprob(model, answer), emb, ref.kept_baseline(emb, ids, tokenizer), 32
        )
        assert want[0] == 0.0  # the sink, kept in the baseline: 0 by construction, not shown
        ref.assert_rel_close(m.values[:, c].astype(np.float64), want[1:], 1e-4)
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
    emb = ref.embed(model, ref.token_ids(tokenizer, PROMPT))
    answer = ref.token_ids(tokenizer, " Paris")
    want = ref.captum_ig(ref.lm_logprob(model, answer), emb, torch.zeros_like(emb), 32)
    ref.assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)
    assert m.meta["baseline_keep"] == [] and m.meta["baseline_kept"] == {"0": []}


def test_special_tokens_keep_their_embedding_in_the_baseline(llama_lm: Any) -> None:
    tok = make_tokenizer(bos=True)
    text = "The cat<|endoftext|> sat"
    ids = ref.token_ids(tok, text)
    specials = [i for i, t in enumerate(ids) if t in tok.all_special_ids]
    assert specials[0] == 0 and len(specials) == 2  # BOS and the one in the text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(llama_lm, tok, text, "Ġthe", steps=16, progress=False)
        first = attribution(
            llama_lm, tok, text, "Ġthe", steps=16, baseline_keep="first", progress=False
        )
    emb = ref.embed(llama_lm, ids)
    want = ref.captum_ig(
        ref.lm_logprob(llama_lm, [tok.get_vocab()["Ġthe"]]),
        emb,
        ref.kept_baseline(emb, ids, tok),
        16,
    )
    ref.assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)
    assert m.meta["baseline_kept"] == {"0": specials}
    assert np.all(m.values[specials, 0] == 0.0)
    assert first.meta["baseline_kept"] == {"0": [0]} and first.values[specials[1], 0] != 0.0
    # completeness is measured against the baseline actually used
    f = ref.lm_logprob(llama_lm, [tok.get_vocab()["Ġthe"]])
    with torch.no_grad():
        f_b = float(f(ref.kept_baseline(emb, ids, tok)[None])[0])
    assert m.meta["completeness"][0]["f_baseline"] == pytest.approx(f_b, rel=1e-5)


@pytest.mark.parametrize("rule", ["riemann_trapezoid", "riemann_middle", "riemann_left"])
def test_riemann_rules_match_captum(rule: str, gpt2_lm: Any, tokenizer: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(
            gpt2_lm, tokenizer, PROMPT, "Ġcat", steps=16, integration=rule, progress=False
        )
    ids = ref.with_sink(tokenizer, ref.token_ids(tokenizer, PROMPT))
    emb = ref.embed(gpt2_lm, ids)
    base = ref.kept_baseline(emb, ids, tokenizer)
    want = ref.captum_ig(
        ref.lm_logprob(gpt2_lm, [tokenizer.get_vocab()["Ġcat"]]), emb, base, 16, rule
    )
    want = want[1:]
    if rule == "riemann_trapezoid":
        # captum's trapezoid weights are 1/n (halved at the ends) and sum to (n-1)/n;
        # tokenheat uses the exact trapezoid rule, 1/(n-1), whose weights sum to 1
        want = want * 16 / 15
    ref.assert_rel_close(m.values[:, 0].astype(np.float64), want, 1e-4)


def test_integrated_gradients_match_captum_for_a_classifier(bert: Any, tokenizer: Any) -> None:
    m = attribution(bert, tokenizer, PROMPT, ["pos", 2], steps=32, progress=False)
    ids = ref.token_ids(tokenizer, PROMPT)  # a classifier gets no sink
    emb = ref.embed(bert, ids)
    base = ref.kept_baseline(emb, ids, tokenizer)
    for c, cls in enumerate([1, 2]):

        def f(e: Any, cls: int = cls) -> Any:
            return torch.log_softmax(bert(inputs_embeds=e).logits.float(), -1)[:, cls]

        ref.assert_rel_close(
            m.values[:, c].astype(np.float64), ref.captum_ig(f, emb, base, 32), 1e-4
        )
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
    ids = ref.with_sink(tokenizer, ref.token_ids(tokenizer, PROMPT))
    emb = ref.embed(gpt2_lm, ids).requires_grad_(True)
    out = ref.lm_logprob(gpt2_lm, [tokenizer.get_vocab()["Ġcat"]])(emb[None])
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
    ids = ref.with_sink(tokenizer, ref.token_ids(tokenizer, PROMPT))
    emb = ref.embed(llama_lm, ids)
    base_id = {"pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id}.get(baseline)
    base = torch.zeros(emb.shape[1]) if base_id is None else ref.embed(llama_lm, [base_id])[0]
    f = ref.lm_logprob(llama_lm, [tokenizer.get_vocab()["Ġcat"]])
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
    assert calls == [1, len(ref.token_ids(tokenizer, PROMPT))]  # every token, the sink kept


def test_ragged_inputs_are_nan_padded(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPTS, ["Ġis", "Ġcat", 5], progress=False)
    lengths = [len(ref.token_ids(tokenizer, p)) for p in PROMPTS]
    assert m.shape == (max(lengths), 3)
    for c, n in enumerate(lengths):
        assert not np.isnan(m.values[:n, c]).any() and np.isnan(m.values[n:, c]).all()
        assert list(m.cell_text_array()[:n, c]) == tokenizer.convert_ids_to_tokens(
            ref.token_ids(tokenizer, PROMPTS[c])
        )
    assert m.rows == [f"pos {i}" for i in range(max(lengths))]
    assert m.row_kind == "position" and m.col_kind == "example"
    assert list(m.col_examples) == [0, 1, 2]
    assert m.cols[1] == "#1: Ġcat"


def test_one_input_many_targets_are_columns(smooth_gpt2: Any, tokenizer: Any) -> None:
    m = attribution(smooth_gpt2, tokenizer, PROMPT, ["Ġcat", " Paris", None], progress=False)
    top = int(smooth_gpt2(torch.tensor([ref.token_ids(tokenizer, PROMPT)])).logits[0, -1].argmax())
    assert m.cols == ["Ġcat", "ĠParis", tokenizer.convert_ids_to_tokens(top)]
    assert m.rows == tokenizer.convert_ids_to_tokens(ref.token_ids(tokenizer, PROMPT))
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
    emb = ref.embed(model, ref.token_ids(tokenizer, PROMPT))
    f = ref.lm_logprob(model, ref.token_ids(tokenizer, " Paris"))
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
    ids = ref.token_ids(tokenizer, PROMPT)
    cat = tokenizer.get_vocab()["Ġcat"]
    eot = tokenizer.get_vocab()["<|endoftext|>"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(model, tokenizer, PROMPT, "Ġcat", steps=8, progress=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([[eot, *ids]])).logits[0, -1]
        emb = ref.embed(model, [eot, *ids])
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
