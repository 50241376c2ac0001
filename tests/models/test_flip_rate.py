"""flip_rate against a naive one-perturbation-at-a-time loop, plus its bookkeeping."""

from __future__ import annotations

import math
import string
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import SENTENCES, make_bert_classifier, make_causal_lm, make_tokenizer, widened

torch = pytest.importorskip("torch")

from tokenheat.analyses._flip_collect import _SHARED_FLUSH  # noqa: E402
from tokenheat.analyses._flip_rate import flip_rate  # noqa: E402
from tokenheat.analyses._perturb import bucket_labels, bucket_of, wilson_interval  # noqa: E402
from tokenheat.models._classifier import CallableClassifier, HFClassifier, LMClassifier  # noqa: E402

TEXTS = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog.",
    "I love this movie, it is great and wonderful.",
    "I hate waiting, this is terrible and sad.",
    "The capital of France is Paris.",
    "the cat and the dog",
    "Hello world!",
    "sad",
    "the the the cat",
]


def keyword_probs(texts: list[str]) -> np.ndarray:
    """A deterministic 3-class 'classifier' driven by word counts."""
    out = []
    for t in texts:
        w = t.lower().split()
        z = np.array(
            [w.count("the") + 0.5 * len(w), 2.0 * sum("a" in x for x in w), 6.5 * ("cat" in t)]
        )
        e = np.exp(z - z.max())
        out.append(e / e.sum())
    return np.array(out)


@pytest.fixture(scope="module")
def bert_clf(tokenizer: Any) -> HFClassifier:
    return HFClassifier(widened(make_bert_classifier(len(tokenizer), num_labels=3)), tokenizer)


@pytest.fixture(scope="module")
def lm_clf(tokenizer: Any) -> LMClassifier:
    model = make_causal_lm("llama", len(tokenizer), seed=1)
    return LMClassifier(model, tokenizer, "Text: {text}\nLabel:", ["cat", "sad", "wonderful"])


@pytest.fixture(scope="module")
def callable_clf() -> CallableClassifier:
    return CallableClassifier(keyword_probs, labels=["x", "y", "z"])


def naive_key(word: str) -> str:
    core = word.strip(string.punctuation)
    return (core or word).lower()


def naive_counts(
    predict: Callable[[list[str]], np.ndarray],
    texts: list[str],
    n_buckets: int,
    mode: str,
    fill: str = "",
) -> tuple[dict, dict, int]:
    """(key, bucket) -> occurrences / flips, classifying one perturbed text per call."""
    occ: dict = defaultdict(int)
    flips: dict = defaultdict(int)
    calls = 0
    for text in texts:
        words = text.split(" ")
        orig = int(np.argmax(predict([text])[0]))
        for i, w in enumerate(words):
            changed = [*words[:i], *([] if mode == "delete" else [fill]), *words[i + 1 :]]
            new = int(np.argmax(predict([" ".join(changed)])[0]))
            calls += 1
            b = min(n_buckets - 1, math.floor(n_buckets * i / len(words)))
            occ[naive_key(w), b] += 1
            flips[naive_key(w), b] += int(new != orig)
    return occ, flips, calls


def assert_matches_naive(m: Any, occ: dict, flips: dict, min_count: int = 2) -> None:
    frame = m.to_pandas()
    cols = {label: b for b, label in enumerate(m.cols)}
    for row in frame.itertuples():
        key = (row.row, cols[row.col])
        assert row.count == occ.get(key, 0)
        assert row.flips == flips.get(key, 0)
        if occ.get(key, 0):
            assert row.value == pytest.approx(flips[key] / occ[key], abs=1e-6)
        else:
            assert math.isnan(row.value)
    totals = defaultdict(int)
    for (k, _), n in occ.items():
        totals[k] += n
    assert set(m.rows) == {k for k, n in totals.items() if n >= min_count}


@pytest.mark.parametrize("which", ["bert_clf", "lm_clf", "callable_clf"])
@pytest.mark.parametrize("mode", ["delete", "mask"])
def test_flip_rate_equals_naive_loop(which: str, mode: str, request: pytest.FixtureRequest) -> None:
    clf = request.getfixturevalue(which)
    mask = {"mask_token": "_"} if mode == "mask" else {}
    m = flip_rate(
        clf, TEXTS, perturb=mode, n_buckets=4, top_k=1000, batch_size=5, progress=False, **mask
    )
    occ, flips, n = naive_counts(clf.predict_proba, TEXTS, 4, mode, "_")
    assert_matches_naive(m, occ, flips)
    assert m.meta["n_perturbations"] == n
    assert 0 < m.meta["n_flips"] < n  # the comparison is not vacuous


def test_token_unit_equals_naive_decode_loop(bert_clf: HFClassifier, tokenizer: Any) -> None:
    m = flip_rate(
        bert_clf, TEXTS, unit="token", n_buckets=3, min_count=1, top_k=1000, progress=False
    )
    occ: dict = defaultdict(int)
    for text in TEXTS:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        toks = tokenizer.convert_ids_to_tokens(ids)
        orig = bert_clf.predict_proba([text])[0].argmax()
        for i, t in enumerate(toks):
            variant = tokenizer.decode(ids[:i] + ids[i + 1 :])
            flipped = bert_clf.predict_proba([variant])[0].argmax() != orig
            occ[t, min(2, 3 * i // len(toks)), "n"] += 1
            occ[t, min(2, 3 * i // len(toks)), "f"] += int(flipped)
    frame = m.to_pandas()
    for row in frame.itertuples():
        b = list(m.cols).index(row.col)
        assert row.count == occ.get((row.row, b, "n"), 0)
        assert row.flips == occ.get((row.row, b, "f"), 0)


def test_bucket_formula() -> None:
    for n in (1, 3, 7, 10, 23):
        for b in (1, 3, 10):
            assert [bucket_of(i, n, b) for i in range(n)] == [
                min(b - 1, math.floor(b * i / n)) for i in range(n)
            ]
    assert bucket_labels(10)[0] == "0–10%" and bucket_labels(10)[-1] == "90–100%"
    assert bucket_labels(3) == ["0–33%", "33–67%", "67–100%"]


def test_contexts_sit_in_their_bucket(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, TEXTS, n_buckets=3, min_count=1, top_k=1000, progress=False)
    ctx = m.contexts
    for k in range(len(ctx)):
        n = m.corpus.length(int(ctx.example[k]))
        assert ctx.col[k] == min(2, 3 * int(ctx.start[k]) // n)
        word = m.corpus.tokens(int(ctx.example[k]))[ctx.start[k]]
        assert m.rows[ctx.row[k]] == naive_key(word.strip())


def test_wilson_interval_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 1), (1, 1), (3, 10), (5, 10), (17, 40), (0, 7)]:
        lo, hi = wilson_interval(k, n)
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert float(lo) == pytest.approx(ci.low, abs=1e-9)
        assert float(hi) == pytest.approx(ci.high, abs=1e-9)
    lo, hi = wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_extras_hold_wilson_bounds(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, TEXTS, n_buckets=2, progress=False)
    lo, hi = wilson_interval(m.extras["flips"], m.counts)
    np.testing.assert_allclose(m.extras["ci_low"], lo, atol=1e-6)
    np.testing.assert_allclose(m.extras["ci_high"], hi, atol=1e-6)
    have = m.counts > 0
    assert np.all(m.extras["ci_low"][have] <= m.values[have] + 1e-6)
    assert np.all(m.values[have] <= m.extras["ci_high"][have] + 1e-6)


def test_target_class_restricts_examples(callable_clf: CallableClassifier) -> None:
    preds = keyword_probs(TEXTS).argmax(1)
    keep = [t for t, p in zip(TEXTS, preds, strict=True) if p == 2]
    assert 0 < len(keep) < len(TEXTS)
    m = flip_rate(
        callable_clf, TEXTS, target_class="z", n_buckets=2, min_count=1, top_k=1000, progress=False
    )
    occ, flips, n = naive_counts(keyword_probs, keep, 2, "delete")
    assert_matches_naive(m, occ, flips, min_count=1)
    assert m.meta["n_texts_used"] == len(keep) and m.meta["n_perturbations"] == n
    by_index = flip_rate(
        callable_clf, TEXTS, target_class=2, n_buckets=2, min_count=1, progress=False
    )
    np.testing.assert_array_equal(by_index.counts, m.counts[: by_index.shape[0]])
    assert set(m.contexts.to_pandas()["orig_label"]) == {"z"}


def test_forward_passes_are_batched(bert_clf: HFClassifier) -> None:
    calls: list[int] = []

    def counted(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return bert_clf.predict_proba(texts)

    m = flip_rate(
        CallableClassifier(counted, labels=bert_clf.labels), TEXTS * 3, batch_size=8, progress=False
    )
    n_texts, n_pert = len(TEXTS) * 3, m.meta["n_perturbations"]
    assert max(calls) <= 8
    assert len(calls) <= math.ceil(n_texts / 8) + math.ceil(n_pert / 8)
    assert sum(calls) == m.meta["n_classified"] < n_texts + n_pert  # repeats were de-duplicated


def test_hf_model_forwards_never_one_per_text(bert_clf: HFClassifier) -> None:
    before = bert_clf.forward_calls
    m = flip_rate(bert_clf, TEXTS, batch_size=16, progress=False)
    used = bert_clf.forward_calls - before
    assert used <= math.ceil(len(TEXTS) / 16) + math.ceil(m.meta["n_perturbations"] / 16)
    assert used < m.meta["n_perturbations"] / 4


def test_identical_perturbations_are_classified_once() -> None:
    seen: list[str] = []

    def record(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return keyword_probs(texts)

    flip_rate(
        CallableClassifier(record, labels=["x", "y", "z"]),
        ["the the the the"],
        min_count=1,
        progress=False,
    )
    assert seen.count("the the the") == 1


def test_contexts_record_labels_and_probabilities(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, TEXTS, n_buckets=2, min_count=1, top_k=1000, progress=False)
    frame = m.contexts.to_pandas(m.corpus)
    assert len(frame) == m.meta["n_perturbations"]
    for row in frame.itertuples():
        words = m.corpus.tokens(row.example)
        text = TEXTS[row.example]
        p0 = keyword_probs([text])[0]
        assert "".join(words) == text  # words keep the whitespace before them
        p1 = keyword_probs(
            [" ".join(w.strip() for w in words[: row.start] + words[row.start + 1 :])]
        )[0]
        assert row.orig_label == "xyz"[p0.argmax()] and row.new_label == "xyz"[p1.argmax()]
        assert row.p_orig == pytest.approx(p0[p0.argmax()], abs=1e-6)
        assert row.p_new == pytest.approx(p1[p0.argmax()], abs=1e-6)
        assert row.flipped == float(p0.argmax() != p1.argmax())


def test_contexts_are_capped_per_cell(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, TEXTS * 5, n_buckets=2, max_contexts_per_cell=2, progress=False)
    cells = m.contexts.to_pandas().groupby(["row", "col"]).size()
    assert cells.max() == 2
    assert m.counts.max() > 2


def test_rank_by_rate_or_count(callable_clf: CallableClassifier) -> None:
    by_rate = flip_rate(callable_clf, TEXTS, n_buckets=2, top_k=5, progress=False)
    totals = np.nansum(by_rate.counts, 1)
    rates = np.nansum(by_rate.extras["flips"], 1) / totals
    assert list(rates) == sorted(rates, reverse=True) and by_rate.shape[0] == 5
    by_count = flip_rate(callable_clf, TEXTS, n_buckets=2, rank="count", progress=False)
    counts = list(np.nansum(by_count.counts, 1))
    assert counts == sorted(counts, reverse=True) and by_count.rows[0] == "the"
    assert min(counts) >= 2


def test_matrix_shape_and_scale(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, TEXTS, progress=False)
    assert m.row_kind == "token" and m.col_kind == "bucket" and m.shape[1] == 10
    assert m.value_label == "flip rate" and m.scale.domain == (0.0, 1.0)
    assert m.meta["labels"] == ["x", "y", "z"] and m.meta["n_texts"] == len(TEXTS)


def test_default_mask_strings(
    bert_clf: HFClassifier, callable_clf: CallableClassifier, gpt2_lm: Any
) -> None:
    assert flip_rate(bert_clf, TEXTS, perturb="mask", progress=False).meta["fill"] == "<mask>"
    assert flip_rate(callable_clf, TEXTS, perturb="mask", progress=False).meta["fill"] == "[MASK]"
    tok = make_tokenizer(mask=False)
    lm = LMClassifier(gpt2_lm, tok, labels=["cat", "sad"])
    assert flip_rate(lm, TEXTS, perturb="mask", progress=False).meta["fill"] == "_"


def test_replacement_callable(callable_clf: CallableClassifier) -> None:
    seen: list[str] = []
    m = flip_rate(callable_clf, ["the cat sat"], perturb="replace", replacement=lambda w: seen.append(w) or w.upper(),
                  min_count=1, progress=False)  # fmt: skip
    assert seen == ["the", "cat", "sat"] and m.meta["n_perturbations"] == 3


def test_streams_an_iterator(callable_clf: CallableClassifier) -> None:
    m = flip_rate(callable_clf, iter(TEXTS), progress=False)
    assert m.meta["n_texts"] == len(TEXTS) and m.corpus.texts is None
    assert len(m.corpus) == len(TEXTS)


def test_transformers_model_with_tokenizer(tokenizer: Any) -> None:
    model = widened(make_bert_classifier(len(tokenizer)))
    m = flip_rate(model, TEXTS, tokenizer=tokenizer, progress=False)
    assert m.meta["labels"] == ["neg", "pos"]


# A table of bad options like test_attribution.py's on purpose: one per analysis, other options.
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"perturb": "swap"}, "perturb must be one of 'delete', 'mask', 'replace', got 'swap'"),
        ({"unit": "char"}, "unit must be one of 'word', 'token', got 'char'"),
        ({"rank": "best"}, "rank must be one of 'rate', 'count', got 'best'"),
        ({"n_buckets": 0}, "n_buckets must be a positive int, got 0"),
        ({"top_k": -1}, "top_k must be a positive int, got -1"),
        ({"target_class": "nope"}, r"target_class must be a label .*\('x', 'y', 'z'\).*got 'nope'"),
        ({"target_class": 7}, r"target_class must be .* or an index 0..2, got 7"),
        ({"perturb": "replace"}, "replacement must be a str, or a callable .*, got None"),
        ({"replacement": "x"}, "replacement must be None with perturb='delete'.*, got 'x'"),
        ({"mask_token": "x"}, "mask_token must be None with perturb='delete'.*, got 'x'"),
        ({"unit": "token"}, "tokenizer must be a tokenizer with unit='token', got None"),
        ({"min_count": 1000}, r"min_count must be at most \d+ \(the most occurrences .*, got 1000"),
        ({"n_buckets": 200}, "n_buckets must be at most 100, got 200"),
        ({"words": []}, "words must be a non-empty list of str, got a list of length 0"),
        ({"words": ["cat", 3]}, r"words\[1\] must be a non-blank str, got 3"),
        ({"device": "cpu"}, "model must be a torch model .* to use device= or dtype=, got a "),
    ],
)
def test_bad_arguments_are_named(
    callable_clf: CallableClassifier, kwargs: dict, match: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        flip_rate(callable_clf, TEXTS, progress=False, **kwargs)


def test_words_as_one_string_is_rejected(callable_clf: CallableClassifier) -> None:
    with pytest.raises(TypeError, match=r"words must be a list of str .*, got 'cat'"):
        flip_rate(callable_clf, TEXTS, words="cat", progress=False)


def test_single_string_is_rejected(callable_clf: CallableClassifier) -> None:
    with pytest.raises(
        TypeError, match=r"texts must be a list of str, got 'the cat'; wrap it in a list"
    ):
        flip_rate(callable_clf, "the cat", progress=False)


def test_wrong_probability_shape_is_reported() -> None:
    with pytest.raises(
        ValueError,
        match=r"what classifier returned must be probabilities of shape \(9, 2\) .*, got an array of shape \(10, 2\)",
    ):
        flip_rate(
            CallableClassifier(lambda t: np.full((len(t) + 1, 2), 0.5), labels=["a", "b"]),
            TEXTS,
            progress=False,
        )


def test_sentences_fixture_runs_with_every_option(bert_clf: HFClassifier) -> None:
    m = flip_rate(
        bert_clf,
        list(SENTENCES),
        perturb="mask",
        unit="token",
        n_buckets=5,
        min_count=1,
        progress=False,
    )
    assert m.meta["unit"] == "token" and m.shape[1] == 5


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("mode", ["delete", "mask"])
def test_shared_prefix_path_equals_full_path(family: str, mode: str, tokenizer: Any) -> None:
    model = make_causal_lm(family, len(tokenizer), seed=2)
    labels = ["cat", "sad", "wonderful"]
    shared = LMClassifier(model, tokenizer, "Text: {text}\nLabel:", labels, batch_size=4)
    full = LMClassifier(
        model, tokenizer, "Text: {text}\nLabel:", labels, batch_size=4, share_prefix=False
    )
    kwargs = {"perturb": mode, "n_buckets": 3, "min_count": 1, "top_k": 1000, "progress": False}
    a = flip_rate(shared, TEXTS, **kwargs, **({"mask_token": "_"} if mode == "mask" else {}))
    b = flip_rate(full, TEXTS, **kwargs, **({"mask_token": "_"} if mode == "mask" else {}))
    assert a.rows == b.rows
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.extras["flips"], b.extras["flips"])
    ca, cb = a.contexts.to_pandas(), b.contexts.to_pandas()
    assert list(ca["new_label"]) == list(cb["new_label"])
    np.testing.assert_allclose(ca["p_new"], cb["p_new"], atol=2e-5)
    assert 0 < a.meta["n_flips"] < a.meta["n_perturbations"]
    assert shared.n_forward_tokens < 0.8 * full.n_forward_tokens


class StatefulKeywords:
    """A classifier speaking the prefix-sharing protocol, counting the states alive."""

    def __init__(self) -> None:
        import weakref

        self.labels = ["x", "y", "z"]
        self.alive: Any = weakref.WeakSet()
        self.peak = 0

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return keyword_probs(texts)

    def predict_proba_with_states(self, texts: list[str]) -> tuple[np.ndarray, list[Any]]:
        states = [type("State", (), {"text": t})() for t in texts]
        self.alive.update(states)
        return keyword_probs(texts), states

    def predict_proba_continued(self, texts: list[str], states: list[Any]) -> np.ndarray:
        assert all(s is not None for s in states)
        self.peak = max(self.peak, len(self.alive))
        return keyword_probs(texts)


def test_states_are_released_as_texts_finish() -> None:
    import gc

    clf = StatefulKeywords()
    texts = TEXTS * 40
    gc.disable()  # states are freed by reference counting alone
    try:
        m = flip_rate(clf, texts, n_buckets=4, top_k=1000, batch_size=4, progress=False)
    finally:
        gc.enable()
    occ, flips, _ = naive_counts(keyword_probs, texts, 4, "delete")
    assert_matches_naive(m, occ, flips)
    # originals of at most one flush group of perturbed texts, plus one chunk: not all 360
    assert 0 < clf.peak <= 2 * _SHARED_FLUSH * 4 + 4


def _restricted(full: Any, rows: list[str]) -> dict[str, Any]:
    """The full run's rows ``rows`` (in its order), as comparable plain data."""
    keep = [full.rows.index(r) for r in rows]
    ctx = full.contexts.to_pandas()
    ctx = ctx[ctx["row"].isin(keep)].assign(row=lambda d: d["row"].map(keep.index))
    return _plain(full, keep, ctx)


def _plain(m: Any, keep: list[int], ctx: Any) -> dict[str, Any]:
    """Everything but the probabilities exactly; those to 4 decimals (a batch of other
    lengths pads differently, which moves float32 logits in the last bits)."""
    cols = ["row", "col", "example", "start", "orig_label", "new_label", "p_orig", "p_new"]
    rounded = ctx[cols].round({"p_orig": 4, "p_new": 4})
    return {
        "rows": [m.rows[i] for i in keep],
        "counts": m.counts[keep].tolist(),
        "flips": m.extras["flips"][keep].tolist(),
        "values": np.nan_to_num(m.values[keep], nan=-1).tolist(),
        "contexts": sorted(map(tuple, rounded.itertuples(index=False))),
    }


@pytest.mark.parametrize(("which", "unit"), [("lm_clf", "word"), ("bert_clf", "token")])
def test_words_equals_full_run_restricted_to_them(
    which: str, unit: str, request: pytest.FixtureRequest
) -> None:
    clf = request.getfixturevalue(which)
    kwargs = {"unit": unit, "n_buckets": 4, "min_count": 1, "top_k": 1000, "progress": False}
    full = flip_rate(clf, TEXTS, **kwargs)
    words = ["the", "cat", "sad", "nowhere"] if unit == "word" else ["the", "Ġcat", "sad"]
    part = flip_rate(clf, TEXTS, words=words, **kwargs)
    assert part.rows and set(part.rows) < set(full.rows)
    got = _plain(part, list(range(len(part.rows))), part.contexts.to_pandas())
    assert got == _restricted(full, part.rows)
    assert part.meta["n_perturbations"] == int(part.counts.sum()) < full.meta["n_perturbations"]
    assert part.meta["n_classified"] < full.meta["n_classified"]
    if unit == "word":
        assert part.rows == [r for r in full.rows if r in {"the", "cat", "sad"}]
        assert part.meta["words_not_found"] == ["nowhere"]


def test_words_skips_texts_without_them(callable_clf: CallableClassifier) -> None:
    seen: list[str] = []

    def record(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return keyword_probs(texts)

    m = flip_rate(
        CallableClassifier(record, labels=["x", "y", "z"]), TEXTS, words=["Paris"],
        n_buckets=2, min_count=1, progress=False,
    )  # fmt: skip
    assert m.rows == ["paris"]
    assert seen == ["The capital of France is Paris.", "The capital of France is"]
    assert m.meta["n_texts"] == len(TEXTS) and m.meta["n_classified"] == 2


def test_options_after_the_inputs_are_keyword_only(callable_clf: CallableClassifier) -> None:
    with pytest.raises(TypeError, match="positional"):
        flip_rate(callable_clf, TEXTS, "mask")  # type: ignore[misc]


def test_thin_cells_are_faded_by_default(callable_clf: CallableClassifier) -> None:
    assert flip_rate(callable_clf, TEXTS, progress=False).display.min_count == 3
