"""Units of a text (words or tokens with character spans) and their perturbations.

Also the bookkeeping of :func:`tokenheat.flip_rate`: perturbed texts waiting for the
classifier (:class:`PerturbationPool`) and running counts per cell (:class:`Tally`).
Pure Python/numpy.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from tokenheat.core._checks import fail
from tokenheat.core._tokens import normalize_word
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._classifier import check_probabilities

_WORD = re.compile(r"\S+")
#: z for a two-sided 95% interval.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Units:
    """The perturbable units of one text.

    Attributes
    ----------
    surface : list of str
        Each unit as stored in the corpus: a word with the whitespace before it (so the
        pieces concatenate back to the text), or the raw token string.
    keys : list of str
        Each unit's row key (normalised word, or the raw token string).
    spans : list of (int, int)
        Character span ``[start, end)`` of each unit in the text.
    """

    surface: list[str]
    keys: list[str]
    spans: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.spans)


def word_units(text: str, normalize: bool = True) -> Units:
    """Split ``text`` into whitespace-separated words, keeping character spans.

    Examples
    --------
    >>> word_units("The cat.").surface, word_units("The cat.").keys
    (['The', ' cat.'], ['the', 'cat'])
    """
    spans, surface, words = [], [], []
    prev = 0
    for m in _WORD.finditer(text):
        spans.append((m.start(), m.end()))
        surface.append(text[prev : m.end()])
        words.append(m.group())
        prev = m.end()
    keys = [normalize_word(w) for w in words] if normalize else words
    return Units(surface, keys, spans)


def token_units(text: str, tokenizer: Any) -> Units:
    """Split ``text`` into the tokenizer's tokens (special tokens skipped), with spans.

    Needs a fast tokenizer (``return_offsets_mapping``). Tokens whose span is empty are
    skipped: they cannot be removed from the text on their own.
    """
    if not getattr(tokenizer, "is_fast", False):
        fail(
            "tokenizer",
            "a fast tokenizer (with character offsets) for unit='token'",
            given=f"the slow {type(tokenizer).__name__}",
            hint="use unit='word' or a PreTrainedTokenizerFast",
        )
    enc = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, return_special_tokens_mask=True
    )
    ids = list(enc["input_ids"])
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(ids)]
    special = enc.get("special_tokens_mask") or [0] * len(ids)
    surface, spans = [], []
    for tok, (s, e), sp in zip(tokens, enc["offset_mapping"], special, strict=True):
        if sp or e <= s:
            continue
        surface.append(tok)
        spans.append((int(s), int(e)))
    return Units(surface, list(surface), spans)


def perturb_text(
    text: str,
    span: tuple[int, int],
    mode: str,
    fill: str | Callable[[str], str] | None = None,
    *,
    tidy_space: bool = True,
) -> str:
    """Return ``text`` with the characters of ``span`` deleted or replaced.

    Parameters
    ----------
    text : str
    span : (int, int)
        Character span ``[start, end)``.
    mode : {"delete", "mask", "replace"}
        ``"delete"`` removes the span (and, with ``tidy_space``, one now-doubled or
        leading/trailing whitespace, for words); ``"mask"`` and
        ``"replace"`` put ``fill`` in its place (a callable gets the removed string).
    fill : str or callable
        The mask string or replacement.
    tidy_space : bool
        Whether deletion tidies the whitespace around the span (words: yes; tokens, whose
        spans may carry their own leading space: no).

    Examples
    --------
    >>> perturb_text("a b c", (2, 3), "delete")
    'a c'
    >>> perturb_text("a b c", (2, 3), "mask", "[MASK]")
    'a [MASK] c'
    """
    s, e = span
    left, right = text[:s], text[e:]
    if mode == "delete":
        if not tidy_space:
            return left + right
        if not left:
            right = right.lstrip()
        elif not right:
            left = left.rstrip()
        elif left[-1].isspace() and right[0].isspace():
            right = right[1:]
        return left + right
    repl = fill(text[s:e]) if callable(fill) else fill
    if not isinstance(repl, str):
        fail(f"replacement({text[s:e]!r:.40})", "a str", repl, kind=ArgumentTypeError)
    return left + repl + right


def bucket_of(i: int, n: int, n_buckets: int) -> int:
    """Relative position bucket of unit ``i`` of ``n``: ``min(B - 1, floor(B * i / n))``."""
    return min(n_buckets - 1, (n_buckets * i) // n)


def bucket_labels(n_buckets: int) -> list[str]:
    """Labels ``"0–10%"``, ``"10–20%"``, … for ``n_buckets`` equal relative buckets."""
    edges = [round(100 * b / n_buckets) for b in range(n_buckets + 1)]
    return [f"{edges[b]}–{edges[b + 1]}%" for b in range(n_buckets)]


def wilson_interval(k: Any, n: Any, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes in ``n`` trials (NaN where ``n == 0``).

    Examples
    --------
    >>> lo, hi = wilson_interval(5, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2366, 0.7634)
    >>> [float(b) for b in wilson_interval([0, 7], [7, 7])[0]][0], float(wilson_interval(7, 7)[1])
    (0.0, 1.0)
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact bounds where rounding would leave 1e-17 (k == 0) or 1 - 1e-16 (k == n)
    lo = np.where(n > 0, np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), math.nan)
    hi = np.where(n > 0, np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0)), math.nan)
    return lo, hi


@dataclass
class Record:
    """One text whose perturbations are being classified."""

    example: int
    units: Units
    orig: int
    p_orig: np.ndarray
    slot: list[int]  # perturbed unit (in ``positions`` order) -> row of ``probs``
    probs: np.ndarray  # (unique perturbed texts, k)
    remaining: int
    state: Any = None  # the classifier's cached prompt state, dropped once all are classified
    positions: list[int] | None = None  # the units perturbed (None: every unit)


class Tally:
    """Counts per (unit key, bucket) and a capped list of contexts per cell, kept compact.

    Texts are counted in input order whatever order the classifier finishes them in
    (:meth:`add` holds a finished text until every earlier one is counted or
    :meth:`skip`-ped), so each cell keeps the contexts of its first ``cap`` occurrences in
    (text, position) order: the rule :func:`tokenheat.merge` applies across shards.
    """

    def __init__(self, n_buckets: int, cap: int) -> None:
        self.next_example = 0
        self.held: dict[int, Record | None] = {}
        self.index: dict[str, int] = {}
        self.occ = np.zeros((64, n_buckets), np.int64)
        self.flips = np.zeros((64, n_buckets), np.int64)
        self.cap = cap
        self.ctx_cell, self.ctx_example, self.ctx_start = array("q"), array("i"), array("i")
        self.ctx_orig, self.ctx_new = array("i"), array("i")
        self.ctx_p_orig, self.ctx_p_new = array("f"), array("f")
        self.n_perturbations = 0
        self.n_buckets = n_buckets

    def row(self, key: str) -> int:
        """Row index of ``key``, adding (and growing the count arrays) on first sight."""
        r = self.index.setdefault(key, len(self.index))
        if r >= self.occ.shape[0]:
            grow = np.zeros_like(self.occ)
            self.occ = np.concatenate([self.occ, grow])
            self.flips = np.concatenate([self.flips, grow])
        return r

    def add(self, rec: Record) -> None:
        """Count a fully classified text once every earlier text is counted or skipped."""
        self.held[rec.example] = rec
        self._release()

    def skip(self, example: int) -> None:
        """Mark text ``example`` as one that is not counted (no units, other target)."""
        self.held[example] = None
        self._release()

    def _release(self) -> None:
        while self.next_example in self.held:
            rec = self.held.pop(self.next_example)
            self.next_example += 1
            if rec is not None:
                self._count(rec)

    def _count(self, rec: Record) -> None:
        """Count every perturbation of a fully classified text."""
        n = len(rec.units)
        probs = rec.probs[rec.slot]
        new = probs.argmax(1)
        p_new = probs[:, rec.orig]
        positions = range(n) if rec.positions is None else rec.positions
        for j, i in enumerate(positions):
            r, b = self.row(rec.units.keys[i]), bucket_of(i, n, self.n_buckets)
            flipped = int(new[j] != rec.orig)
            if self.occ[r, b] < self.cap:
                self.ctx_cell.append(r * self.n_buckets + b)
                self.ctx_example.append(rec.example)
                self.ctx_start.append(i)
                self.ctx_orig.append(rec.orig)
                self.ctx_new.append(int(new[j]))
                self.ctx_p_orig.append(float(rec.p_orig[rec.orig]))
                self.ctx_p_new.append(float(p_new[j]))
            self.occ[r, b] += 1
            self.flips[r, b] += flipped
        self.n_perturbations += len(positions)


class PerturbationPool:
    """Perturbed texts waiting to be classified, de-duplicated, flushed in full batches.

    A batch goes to the classifier when ``flush_at`` distinct texts wait, or when twice as
    many perturbations wait (repeated texts), so the texts whose perturbations are pending,
    and their states, stay bounded whatever the input. With ``continued`` (a classifier
    that reuses each original's cached prompt, see
    :meth:`tokenheat.models.LMClassifier.predict_proba_continued`) each flush sends up to
    ``flush_at`` texts at once, with the state of the original each came from, and the
    classifier sorts and batches them itself.
    """

    def __init__(
        self,
        predict: Callable[[list[str]], np.ndarray],
        batch_size: int,
        done: Callable[[Record], None],
        *,
        continued: Callable[[list[str], list[Any]], np.ndarray] | None = None,
        flush_at: int | None = None,
    ):
        self.predict, self.batch_size, self.done = predict, batch_size, done
        self.continued = continued
        self.flush_at = flush_at or batch_size
        self.waiting: dict[str, list[tuple[Record, int]]] = {}
        self.n_waiting = 0  # perturbations (text, unit) waiting, repeats included
        self.n_classified = 0

    def add(self, text: str, rec: Record, slot: int) -> None:
        self.waiting.setdefault(text, []).append((rec, slot))
        self.n_waiting += 1
        if len(self.waiting) >= self.flush_at or self.n_waiting >= 2 * self.flush_at:
            self._flush_one()

    def _flush_one(self) -> None:
        size = self.batch_size if self.continued is None else self.flush_at
        batch = list(islice(self.waiting, size))
        if self.continued is None:
            probs = self.predict(batch)
        else:
            probs = self.continued(batch, [self.waiting[t][0][0].state for t in batch])
        self.n_classified += len(batch)
        for text, p in zip(batch, probs, strict=True):
            entries = self.waiting.pop(text)
            self.n_waiting -= len(entries)
            for rec, slot in entries:
                rec.probs[slot] = p
                rec.remaining -= 1
                if rec.remaining == 0:
                    rec.state = None
                    self.done(rec)

    def flush(self) -> None:
        """Classify everything still waiting."""
        while self.waiting:
            self._flush_one()


def _checked(probs: Any, n: int, k: int) -> np.ndarray:
    return check_probabilities("classifier.predict_proba", probs, n, k)


def checked_predict(clf: Any, k: int) -> Callable[[list[str]], np.ndarray]:
    """``clf.predict_proba`` as float32, with its shape checked against ``k`` labels."""

    def predict(batch: list[str]) -> np.ndarray:
        return _checked(clf.predict_proba(batch), len(batch), k)

    return predict


def prefix_sharing(
    clf: Any, k: int
) -> tuple[Callable[[list[str]], tuple[np.ndarray, list[Any]]], Callable[..., np.ndarray]] | None:
    """The checked prefix-sharing methods of ``clf``, or ``None`` when it has none.

    A classifier shares prompt prefixes when it has ``predict_proba_with_states(texts) ->
    (probs, states)`` and ``predict_proba_continued(texts, states) -> probs`` (as
    :class:`tokenheat.models.LMClassifier` does) and ``share_prefix`` is not false.
    """
    first = getattr(clf, "predict_proba_with_states", None)
    then = getattr(clf, "predict_proba_continued", None)
    if not (callable(first) and callable(then)) or not getattr(clf, "share_prefix", True):
        return None

    def originals(batch: list[str]) -> tuple[np.ndarray, list[Any]]:
        probs, states = first(batch)
        if len(states) != len(batch):
            fail(
                "the states classifier.predict_proba_with_states returned",
                f"one per text ({len(batch)})",
                given=f"{len(states)} states",
            )
        return _checked(probs, len(batch), k), list(states)

    def continued(batch: list[str], states: list[Any]) -> np.ndarray:
        return _checked(then(batch, states), len(batch), k)

    return originals, continued
