"""The flip rate's reading loop: texts in, the perturbations of the units asked about
queued for the classifier, the results counted by relative position bucket."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import numpy as np

from tokenheat.analyses._perturb import (
    PerturbationPool,
    Record,
    Tally,
    Units,
    checked_predict,
    perturb_text,
    prefix_sharing,
    token_units,
    word_units,
)
from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

#: With a prefix-sharing classifier, perturbed texts go to it in groups of this many batches.
_SHARED_FLUSH = 32


class Collector:
    """Reads texts, queues the perturbations of the units asked about, counts the results."""

    def __init__(
        self,
        clf: Any,
        k: int,
        *,
        unit: str,
        tokenizer: Any,
        normalize: bool,
        wanted: Callable[[str], bool] | None,
        target: int | None,
        perturbation: tuple[str, Any],
        n_buckets: int,
        cap: int,
        batch_size: int,
    ) -> None:
        self.predict = checked_predict(clf, k)
        self.sharing = prefix_sharing(clf, k)
        self.tally = Tally(n_buckets, cap)
        self.pool = PerturbationPool(
            self.predict,
            batch_size,
            self.tally.add,
            continued=None if self.sharing is None else self.sharing[1],
            flush_at=None if self.sharing is None else _SHARED_FLUSH * batch_size,
        )
        self.k, self.unit, self.tok, self.normalize = k, unit, tokenizer, normalize
        self.wanted, self.target, self.perturbation = wanted, target, perturbation
        self.vocab: dict[str, int] = {}
        self.ids, self.offsets = array("i"), array("q", [0])
        self.n_texts = self.n_used = self.n_originals = 0
        self.seen: set[str] = set()

    def units(self, text: str) -> Units:
        if self.unit == "token":
            return token_units(text, self.tok)
        return word_units(text, self.normalize)

    def read(self, chunk: list[str]) -> None:
        """Store a chunk of texts in the corpus and queue the perturbations they need."""
        todo: list[tuple[int, Units, list[int]]] = []  # (index in chunk, units, positions)
        first = self.n_texts
        for j, text in enumerate(chunk):
            if not isinstance(text, str):
                fail(f"texts[{self.n_texts + j}]", "a str", text, kind=ArgumentTypeError)
            units = self.units(text)
            self.ids.extend(self.vocab.setdefault(s, len(self.vocab)) for s in units.surface)
            self.offsets.append(len(self.ids))
            keys = units.keys
            positions = [i for i in range(len(keys)) if self.wanted is None or self.wanted(keys[i])]
            if positions:
                todo.append((j, units, positions))
            else:  # nothing asked about here: the text is not classified
                self.tally.skip(first + j)
        self.n_texts += len(chunk)
        if not todo:
            return
        batch = [chunk[j] for j, _, _ in todo]
        if self.sharing is None:
            originals, states = self.predict(batch), [None] * len(batch)
        else:
            originals, states = self.sharing[0](batch)
        self.n_originals += len(batch)
        for text, (j, units, positions), p, state in zip(
            batch, todo, originals, states, strict=True
        ):
            self._queue(text, first + j, units, positions, p, state)

    def _queue(
        self, text: str, example: int, units: Units, positions: list[int], p: Any, state: Any
    ) -> None:
        orig = int(p.argmax())
        if self.target is not None and orig != self.target:
            self.tally.skip(example)
            return
        self.n_used += 1
        mode, fill = self.perturbation
        variants: dict[str, int] = {}
        slot = [
            variants.setdefault(
                perturb_text(text, units.spans[i], mode, fill, tidy_space=self.unit == "word"),
                len(variants),
            )
            for i in positions
        ]
        self.seen.update(units.keys[i] for i in positions)
        rec = Record(
            example, units, orig, p, slot, np.zeros((len(variants), self.k), np.float32),
            len(variants), state, positions,
        )  # fmt: skip
        for variant, s in variants.items():
            self.pool.add(variant, rec, s)

    def corpus(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        return (
            list(self.vocab),
            np.frombuffer(self.ids, np.int32),
            np.frombuffer(self.offsets, np.int64),
        )
