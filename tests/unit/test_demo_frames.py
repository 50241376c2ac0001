"""The flip-rate demo corpus: enough occurrences of each emotion word in each bucket.

Counts do not depend on the classifier (every text is used when no target class is set), so a
constant classifier gives the very counts of the demo's SmolLM2 run."""

from __future__ import annotations

import numpy as np
import pytest

import tokenheat as th
from tokenheat.demo import datasets as data
from tokenheat.demo._run import FULL, QUICK


def counts_of(n: int | None, words: tuple[str, ...]) -> th.TokenMatrix:
    clf = th.models.CallableClassifier(
        lambda texts: np.tile([0.7, 0.1, 0.1, 0.1], (len(texts), 1)),
        labels=list(data.EMOTION_LABELS),
    )
    return th.flip_rate(
        clf, data.emotion_frames(n).text.tolist(), words=list(words), min_count=2, progress=False
    )


@pytest.mark.parametrize(
    ("size", "words", "share"),
    [(QUICK, data.QUICK_EMOTION_WORDS, 0.5), (FULL, data.EMOTION_WORDS, 0.6)],
    ids=["quick", "full"],
)
def test_most_cells_have_three_occurrences(size, words, share) -> None:
    m = counts_of(size.frames, words)
    assert m.shape == (len(words), 10) and len(words) >= 25
    assert (m.counts >= 3).mean() >= share
    assert m.meta["words_not_found"] == []


def test_full_corpus_has_five_per_cell_in_most_buckets() -> None:
    m = counts_of(None, data.EMOTION_WORDS)
    assert ((m.counts >= 5).sum(1) >= 7).all()  # every word: >= 5 in at least 7 of 10 buckets


def test_frames_are_labelled_with_the_emotion_of_their_words() -> None:
    frames = data.emotion_frames()
    assert set(frames.label) == set(data.EMOTION_LABELS)
    assert len(frames) == len(set(frames.text))
    for text, words in zip(frames.text, frames.words, strict=True):
        keys = {th.core._tokens.normalize_word(w) for w in text.split()}
        assert set(words.split()) <= keys
    assert (
        data.emotion_frames(data.QUICK_FRAMES).text.tolist() == frames.text[: QUICK.frames].tolist()
    )
    assert QUICK.frames == data.QUICK_FRAMES
