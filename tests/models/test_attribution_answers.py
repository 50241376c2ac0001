"""attribution of several answers to one input: answers with different prefixes share the
input's forward pass and equal captum column by column."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import _ig_reference as ref  # noqa: E402

from tokenheat.analyses._attribution import attribution  # noqa: E402

PROMPT = "The capital of France is"


ANSWERS = [" Paris", " Rome", " cat sat", " cat mat the", "Ġcat"]  # prefixes: 2 distinct, 1 shared


def captum_columns(model: Any, tokenizer: Any, answers: list[str], steps: int) -> np.ndarray:
    prompt_ids = ref.with_sink(tokenizer, ref.token_ids(tokenizer, PROMPT))
    emb = ref.embed(model, prompt_ids)
    base = ref.kept_baseline(emb, prompt_ids, tokenizer)
    cols = []
    for a in answers:
        ids = (
            [tokenizer.get_vocab()[a]]
            if a in tokenizer.get_vocab()
            else ref.token_ids(tokenizer, a)
        )
        cols.append(ref.captum_ig(ref.lm_logprob(model, ids), emb, base, steps)[1:])
    return np.stack(cols, 1)


@pytest.mark.parametrize("model_name", ["llama_lm", "gpt2_lm"])
def test_answers_with_different_prefixes_share_the_input_forward(
    model_name: str, tokenizer: Any, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(model_name)
    n = len(ref.token_ids(tokenizer, PROMPT)) + 1  # the sink
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
    ref.assert_rel_close(
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
    ref.assert_rel_close(
        m.values.astype(np.float64), captum_columns(llama_lm, tokenizer, ANSWERS[:3], 16), 1e-4
    )
