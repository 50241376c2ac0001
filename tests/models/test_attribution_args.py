"""attribution's arguments and inputs: what it refuses (named), what it accepts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import make_tokenizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenheat.analyses._attribution import attribution  # noqa: E402
from tokenheat.errors import ArgumentTypeError  # noqa: E402

PROMPT = "The capital of France is"
PROMPTS = ["The capital of France is", "I love this movie", "The cat sat on the mat."]


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
