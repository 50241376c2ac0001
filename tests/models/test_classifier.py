"""Classifier wrappers: HF sequence classifier, causal LM with verbalised labels, callables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import (
    FAMILIES,
    SENTENCES,
    make_bert_classifier,
    make_causal_lm,
    make_tokenizer,
    widened,
)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenheat.models._classifier import (  # noqa: E402
    CallableClassifier,
    HFClassifier,
    LMClassifier,
    as_classifier,
)

TEXTS = [*SENTENCES[:5], "the cat", "I love it"]
SINGLE = ["cat", "fox", "mat"]  # one token each after a space in the tiny BPE vocabulary
MULTI = ["sad", "wonderful", "terrible cat"]


@pytest.fixture(scope="module")
def bert(tokenizer: Any) -> Any:
    return widened(make_bert_classifier(len(tokenizer), num_labels=3))


def reference_lm_probs(
    model: Any, tok: Any, text: str, labels: list[str], template: str
) -> np.ndarray:
    """Sequence log-prob of each label from one unpadded forward on prompt + label."""
    prompt = tok(template.format(text=text))["input_ids"]
    scores = []
    for label in labels:
        ids = tok(" " + label, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([prompt + ids])).logits[0].float(), -1)
        scores.append(sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(ids)))
    return torch.softmax(torch.tensor(scores), -1).numpy()


def test_hf_classifier_labels_come_from_id2label(bert: Any, tokenizer: Any) -> None:
    clf = HFClassifier(bert, tokenizer)
    assert clf.labels == ["neg", "pos", "label2"]


def test_hf_classifier_batched_equals_one_at_a_time(bert: Any, tokenizer: Any) -> None:
    clf = HFClassifier(bert, tokenizer, batch_size=3)
    batched = clf.predict_proba(TEXTS)
    single = np.concatenate([clf.predict_proba([t]) for t in TEXTS])
    assert batched.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(batched.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert batched.std(0).max() > 0.01  # not a constant predictor


def test_hf_classifier_counts_one_forward_per_batch(bert: Any, tokenizer: Any) -> None:
    clf = HFClassifier(bert, tokenizer, batch_size=3)
    clf.predict_proba(TEXTS)
    assert clf.forward_calls == math.ceil(len(TEXTS) / 3)


def test_hf_classifier_decoder_model_batched_equals_one_at_a_time(tokenizer: Any) -> None:
    config = transformers.GPT2Config(
        n_embd=32, n_layer=2, n_head=2, n_positions=64, vocab_size=len(tokenizer), num_labels=3,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    clf = HFClassifier(
        widened(transformers.GPT2ForSequenceClassification(config).eval()), tokenizer
    )
    single = np.concatenate([clf.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(clf.predict_proba(TEXTS), single, atol=1e-5)


def test_hf_classifier_works_without_pad_token(
    bert: Any, tokenizer: Any, tokenizer_no_pad: Any
) -> None:
    a = HFClassifier(bert, tokenizer).predict_proba(TEXTS)
    b = HFClassifier(bert, tokenizer_no_pad).predict_proba(TEXTS)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_hf_classifier_too_long_text_raises_or_truncates(bert: Any, tokenizer: Any) -> None:
    long = " ".join(["the cat sat on the mat"] * 40)
    with pytest.raises(ValueError, match="truncate=True"):
        HFClassifier(bert, tokenizer).predict_proba([long])
    probs = HFClassifier(bert, tokenizer, truncate=True).predict_proba([long])
    assert probs.shape == (1, 3)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("labels", [SINGLE, MULTI], ids=["single-token", "multi-token"])
def test_lm_classifier_matches_unpadded_reference(
    family: str, labels: list[str], tokenizer: Any
) -> None:
    model = make_causal_lm(family, len(tokenizer))
    template = "Text: {text}\nLabel:"
    clf = LMClassifier(model, tokenizer, template, labels, batch_size=4)
    got = clf.predict_proba(TEXTS)
    want = np.stack([reference_lm_probs(model, tokenizer, t, labels, template) for t in TEXTS])
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_lm_classifier_single_token_labels_compute_last_position_logits_only(
    gpt2_lm: Any, tokenizer: Any
) -> None:
    shapes = []
    head = gpt2_lm.get_output_embeddings()
    handle = head.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    try:
        clf = LMClassifier(gpt2_lm, tokenizer, labels=SINGLE, batch_size=8)
        assert all(len(ids) == 1 for ids in clf.label_ids)
        clf.predict_proba(TEXTS)
    finally:
        handle.remove()
    assert shapes == [(len(TEXTS), 1, len(tokenizer))]
    assert clf.forward_calls == 1


def test_lm_classifier_multi_token_labels_use_two_forwards_per_batch(
    gpt2_lm: Any, tokenizer: Any
) -> None:
    clf = LMClassifier(gpt2_lm, tokenizer, labels=MULTI, batch_size=4)
    clf.predict_proba(TEXTS)
    assert clf.forward_calls == 2 * math.ceil(len(TEXTS) / 4)


def test_lm_classifier_works_without_pad_token(
    gpt2_lm: Any, tokenizer: Any, tokenizer_no_pad: Any
) -> None:
    a = LMClassifier(gpt2_lm, tokenizer, labels=MULTI).predict_proba(TEXTS)
    b = LMClassifier(gpt2_lm, tokenizer_no_pad, labels=MULTI).predict_proba(TEXTS)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_lm_classifier_truncates_the_text_not_the_template(gpt2_lm: Any, tokenizer: Any) -> None:
    long = " ".join(["the cat sat on the mat"] * 40)
    with pytest.raises(ValueError, match="truncate=True"):
        LMClassifier(gpt2_lm, tokenizer, labels=SINGLE).predict_proba([long])
    clf = LMClassifier(gpt2_lm, tokenizer, "{text} Label:", SINGLE, truncate=True)
    ids = clf._prompt_ids(long, 0)
    assert len(ids) <= 64
    assert tokenizer.decode(ids).endswith(" Label:")
    assert clf.predict_proba([long]).shape == (1, 3)


def test_lm_classifier_rejects_bad_template_and_labels(gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="template"):
        LMClassifier(gpt2_lm, tokenizer, "no field here", SINGLE)
    with pytest.raises(ValueError, match="labels"):
        LMClassifier(gpt2_lm, tokenizer, labels=["cat"])
    with pytest.raises(ValueError, match="tokenize differently"):
        LMClassifier(gpt2_lm, tokenizer, labels=["cat", "cat"])


def test_callable_classifier_validates_output() -> None:
    ok = CallableClassifier(lambda texts: [[0.25, 0.75]] * len(texts), labels=["a", "b"])
    assert ok.predict_proba(["x", "y"]).shape == (2, 2)
    with pytest.raises(
        ValueError,
        match=r"what classifier returned must be probabilities of shape \(1, 2\) .*, got an array of shape \(1, 1\)",
    ):
        CallableClassifier(lambda texts: [[1.0]] * len(texts), labels=["a", "b"]).predict_proba(
            ["x"]
        )
    with pytest.raises(
        ValueError,
        match=r"must be rows that sum to 1 \(probabilities\), got a row summing to 5 for text 0; apply a softmax",
    ):
        CallableClassifier(lambda texts: [[2.0, 3.0]] * len(texts)).predict_proba(["x"])
    with pytest.raises(
        ValueError,
        match=r"must be finite, non-negative probabilities, got \[-0\.5, 1\.5\] for text 0",
    ):
        CallableClassifier(lambda texts: [[-0.5, 1.5]] * len(texts)).predict_proba(["x"])


def test_callable_classifier_default_labels() -> None:
    clf = CallableClassifier(lambda texts: np.full((len(texts), 3), 1 / 3))
    assert clf.labels == ["class_0", "class_1", "class_2"]


def test_as_classifier_dispatches(bert: Any, gpt2_lm: Any, tokenizer: Any) -> None:
    assert isinstance(as_classifier(bert, tokenizer), HFClassifier)
    assert isinstance(as_classifier(gpt2_lm, tokenizer, labels=SINGLE), LMClassifier)
    assert isinstance(as_classifier(lambda t: [[1.0]] * len(t)), CallableClassifier)
    clf = HFClassifier(bert, tokenizer)
    assert as_classifier(clf) is clf
    with pytest.raises(
        TypeError, match="tokenizer must be the tokenizer of the transformers model, got None"
    ):
        as_classifier(bert)
    with pytest.raises(
        TypeError, match=r"classifier must be an object with predict_proba\(\) .*, got 42"
    ):
        as_classifier(42)


def test_tokenizer_is_not_modified(gpt2_lm: Any) -> None:
    tok = make_tokenizer(pad=False)
    LMClassifier(gpt2_lm, tok, labels=SINGLE).predict_proba(TEXTS)
    assert tok.pad_token is None


# ---------------------------------------------------------------- shared-prefix KV cache

ORIGINALS = ["The cat sat on the mat.", "I love this movie, it is great and wonderful.", "sad"]


def perturbations(text: str) -> list[str]:
    """Every one-word deletion and masking of ``text``, plus the text itself."""
    words = text.split(" ")
    out = [text]
    for i in range(len(words)):
        out.append(" ".join(words[:i] + words[i + 1 :]))
        out.append(" ".join([*words[:i], "_", *words[i + 1 :]]))
    return out


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("labels", [SINGLE, MULTI], ids=["single-token", "multi-token"])
def test_continued_prompts_equal_full_prompts(
    family: str, labels: list[str], tokenizer: Any
) -> None:
    model = make_causal_lm(family, len(tokenizer), seed=3)
    clf = LMClassifier(model, tokenizer, "Text: {text}\nLabel:", labels, batch_size=4)
    _, states = clf.predict_proba_with_states(ORIGINALS)
    assert all(s is not None for s in states)
    texts, parents = [], []
    for j, text in enumerate(ORIGINALS):
        for variant in perturbations(text):
            texts.append(variant)
            parents.append(states[j])
    before = clf.n_forward_tokens
    got = clf.predict_proba_continued(texts, parents)
    computed = clf.n_forward_tokens - before
    want = clf.predict_proba(texts)
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_array_equal(got.argmax(1), want.argmax(1))
    full = sum(len(clf._prompt_ids(t, 0)) for t in texts)
    assert computed < 0.8 * full  # the shared prefixes were not recomputed


def test_continued_prompt_equals_unpadded_reference(llama_lm: Any, tokenizer: Any) -> None:
    template = "Text: {text}\nLabel:"
    clf = LMClassifier(llama_lm, tokenizer, template, MULTI)
    _, states = clf.predict_proba_with_states(ORIGINALS[:2])
    texts = ["The cat on the mat.", "I love this, it is great and wonderful."]
    got = clf.predict_proba_continued(texts, states)
    want = np.stack([reference_lm_probs(llama_lm, tokenizer, t, MULTI, template) for t in texts])
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_prefix_is_measured_on_token_ids(gpt2_lm: Any, tokenizer: Any) -> None:
    """An edit that changes the tokens before it (a BPE merge) shortens the reused prefix."""
    clf = LMClassifier(gpt2_lm, tokenizer, "{text} Label:", SINGLE)
    original = "Hello world"
    _, states = clf.predict_proba_with_states([original])
    ids = clf._prompt_ids(original, 0)
    texts = ["Helloworld", "world", "Hello", original]  # merge, nothing shared, shorter, same
    shared = [0] * len(texts)
    for i, t in enumerate(texts):
        p = clf._prompt_ids(t, 0)
        while shared[i] < min(len(p), len(ids)) and p[shared[i]] == ids[shared[i]]:
            shared[i] += 1
    assert shared[0] < 2 and shared[1] == 0  # the merge really changed the first tokens
    got = clf.predict_proba_continued(texts, states * len(texts))
    np.testing.assert_allclose(got, clf.predict_proba(texts), atol=2e-5)


def test_texts_without_a_state_run_in_full(gpt2_lm: Any, tokenizer: Any) -> None:
    clf = LMClassifier(gpt2_lm, tokenizer, labels=SINGLE)
    got = clf.predict_proba_continued(TEXTS, [None] * len(TEXTS))
    np.testing.assert_allclose(got, clf.predict_proba(TEXTS), atol=1e-6)
    with pytest.raises(ValueError, match="one PromptState"):
        clf.predict_proba_continued(TEXTS, [None])


def test_share_prefix_false_keeps_no_states(gpt2_lm: Any, tokenizer: Any) -> None:
    clf = LMClassifier(gpt2_lm, tokenizer, labels=SINGLE, share_prefix=False)
    probs, states = clf.predict_proba_with_states(TEXTS)
    assert states == [None] * len(TEXTS)
    np.testing.assert_allclose(probs, clf.predict_proba(TEXTS), atol=1e-6)


def test_prompts_are_batched_by_length(gpt2_lm: Any, tokenizer: Any) -> None:
    texts = ["a", "the cat sat on the mat and the dog sat on the log", "b", "I love it so much"] * 4
    clf = LMClassifier(gpt2_lm, tokenizer, labels=SINGLE, batch_size=4)
    probs = clf.predict_proba(texts)
    lengths = sorted(len(clf._prompt_ids(t, 0)) for t in texts)
    unsorted = [len(clf._prompt_ids(t, 0)) for t in texts]
    arrival = sum(4 * max(unsorted[lo : lo + 4]) for lo in range(0, len(texts), 4))
    assert clf.n_forward_tokens == sum(lengths)
    assert clf.n_padded_tokens <= sum(4 * lengths[lo + 3] for lo in range(0, len(texts), 4))
    assert clf.n_padded_tokens < 0.8 * arrival  # less padding than batches in text order
    np.testing.assert_allclose(
        probs, np.concatenate([clf.predict_proba([t]) for t in texts]), atol=2e-5
    )


def test_length_batches_respect_limits_and_cover_every_item() -> None:
    from tokenheat.models._batching import length_batches

    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(3, 30, 300)]
    batches = length_batches(lengths, max_rows=16, max_tokens=200)
    assert sorted(i for b in batches for i in b) == list(range(300))
    for b in batches:
        assert len(b) <= 16 and len(b) * max(lengths[i] for i in b) <= 200
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded < 1.1 * sum(lengths)
    assert length_batches([5, 5, 5], max_rows=2, max_tokens=100) == [[0], [1, 2]]
    assert length_batches([50], max_rows=4, max_tokens=10) == [[0]]  # too long: alone
