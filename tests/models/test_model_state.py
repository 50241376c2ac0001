"""Every analysis leaves the user's model as it found it: train/eval mode of every module,
dtype, device, requires_grad and hooks; after a normal return, an exception and Ctrl-C."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from conftest import make_causal_lm

torch = pytest.importorskip("torch")

import tokenheat as th  # noqa: E402
from tokenheat.models import LMClassifier  # noqa: E402
from tokenheat.models._state import converted, preserved  # noqa: E402

PROMPT = "The cat sat on the mat."
PAUSED = ["The cat sat on the mat and then _PAUSE_ the dog came."]
TEXTS = ["The cat sat on the mat.", "I love this movie, it is great and wonderful."]


def run_attribution(model: Any, tok: Any) -> Any:
    return th.attribution(model, tok, PROMPT, "Ġcat", steps=4, progress=False)


def run_lens(model: Any, tok: Any) -> Any:
    return th.lens(model, tok, PROMPT, progress=False)


def run_anchor(model: Any, tok: Any) -> Any:
    return th.anchor_similarity(model, tok, PAUSED, max_distance=4, progress=False)


def run_flip_rate_lm(model: Any, tok: Any) -> Any:
    return th.flip_rate(model, TEXTS, tokenizer=tok, labels=["cat", "sad"], n_buckets=2,
                        progress=False)  # fmt: skip


def run_flip_rate_classifier(model: Any, tok: Any) -> Any:
    clf = LMClassifier(model, tok, labels=["cat", "sad"])
    return th.flip_rate(clf, TEXTS, n_buckets=2, progress=False)


ANALYSES: dict[str, Callable[[Any, Any], Any]] = {
    "attribution": run_attribution,
    "lens": run_lens,
    "anchor_similarity": run_anchor,
    "flip_rate(causal LM)": run_flip_rate_lm,
    "flip_rate(LMClassifier)": run_flip_rate_classifier,
}


def state(model: Any) -> dict[str, Any]:
    return {
        "modes": [m.training for m in model.modules()],
        "tensors": [(n, t.dtype, t.device, t.data_ptr()) for n, t in model.state_dict().items()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
    }


@pytest.fixture
def user_model(tokenizer: Any) -> Any:
    """A model as a user may hold it: in train mode but one block in eval, the embedding
    frozen, a hook of the user's own on the last block."""
    model = make_causal_lm("llama", len(tokenizer)).train()
    model.model.layers[0].eval()
    model.get_input_embeddings().weight.requires_grad_(False)
    model.model.layers[-1].register_forward_hook(lambda mod, args, out: None)
    return model


class Boom(Exception):
    pass


def raising(exc: type[BaseException]) -> Callable[..., None]:
    def hook(mod: Any, args: Any) -> None:
        raise exc("stop")

    return hook


@pytest.mark.parametrize("name", list(ANALYSES))
def test_model_state_after_a_normal_return(name: str, user_model: Any, tokenizer: Any) -> None:
    before = state(user_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ANALYSES[name](user_model, tokenizer)
    assert state(user_model) == before


@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("name", list(ANALYSES))
def test_model_state_after_an_interruption(
    name: str, exc: type[BaseException], user_model: Any, tokenizer: Any
) -> None:
    # the user's model raises inside its second block, mid-forward
    handle = user_model.model.layers[1].register_forward_pre_hook(raising(exc))
    before = state(user_model)
    with pytest.raises(exc), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ANALYSES[name](user_model, tokenizer)
    assert state(user_model) == before
    handle.remove()


def test_preserved_restores_dtype_bit_for_bit_and_removes_new_hooks(tokenizer: Any) -> None:
    model = make_causal_lm("gpt2", len(tokenizer)).train()
    weights = {n: t.clone() for n, t in model.state_dict().items()}
    with pytest.raises(KeyboardInterrupt), preserved(model):
        model.eval().to(torch.bfloat16)
        model.transformer.h[0].register_forward_hook(lambda *a: None)
        next(model.parameters()).register_hook(lambda g: g)
        for p in model.parameters():
            p.requires_grad_(False)
        raise KeyboardInterrupt
    assert model.training and all(m.training for m in model.modules())
    for n, t in model.state_dict().items():
        assert t.dtype == torch.float32 and torch.equal(t, weights[n])
    assert all(p.requires_grad for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    assert not next(model.parameters())._backward_hooks


def test_lm_classifier_with_a_dtype_leaves_the_users_model_uncast(tokenizer: Any) -> None:
    model = make_causal_lm("llama", len(tokenizer)).train()
    clf = LMClassifier(model, tokenizer, labels=["cat", "sad"], dtype=torch.float64)
    probs = clf.predict_proba(TEXTS)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert {p.dtype for p in clf.model.parameters()} == {torch.float64}
    assert model.training and probs.shape == (2, 2)
    # the cast copy computes what the model computes, and shares no tensor with it
    ref = LMClassifier(model, tokenizer, labels=["cat", "sad"]).predict_proba(TEXTS)
    assert abs(probs - ref).max() < 1e-5
    ptrs = {p.data_ptr() for p in model.parameters()}
    assert not ptrs & {p.data_ptr() for p in clf.model.parameters()}


def test_converted_keeps_tied_weights_tied(tokenizer: Any) -> None:
    model = make_causal_lm("gpt2", len(tokenizer))
    copy = converted(model, dtype=torch.float64)
    assert copy.lm_head.weight is copy.transformer.wte.weight
    assert converted(model, dtype=torch.float32) is model  # nothing to do: the model itself


def test_attribution_runs_a_cast_copy_for_dtype(user_model: Any, tokenizer: Any) -> None:
    before = state(user_model)
    m = th.attribution(user_model, tokenizer, PROMPT, "Ġcat", steps=4, dtype=torch.float64,
                       progress=False)  # fmt: skip
    assert state(user_model) == before and m.shape[1] == 1
