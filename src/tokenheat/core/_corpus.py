"""A corpus: examples stored as token strings (a vocabulary of unique strings + ids)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tokenheat.core._checks import as_int_array, check_index_range, clean_texts, fail
from tokenheat.errors import ArgumentTypeError


class Corpus:
    """Examples as sequences of token strings.

    Stored compactly: ``vocab`` holds each distinct token string once, ``ids`` the tokens of
    all examples concatenated, and ``offsets`` where each example starts (``n + 1`` entries).

    Parameters
    ----------
    vocab : sequence of str
        Distinct token strings.
    ids : array of int
        Token ids into ``vocab``, all examples concatenated.
    offsets : array of int
        ``n_examples + 1`` increasing offsets into ``ids``, starting at 0.
    texts : list of str, optional
        The original text of each example.
    names : list of str, optional
        A display name per example (default ``"#i"``).
    meta : pandas.DataFrame, optional
        One row of metadata per example (labels, sources, ...).

    Raises
    ------
    ValueError
        When ids fall outside the vocabulary, offsets are not increasing, or per-example
        lists have the wrong length.

    Examples
    --------
    >>> c = Corpus.from_tokens([["Hello", " world"], ["Bye"]])
    >>> len(c), c.tokens(0)
    (2, ['Hello', ' world'])
    """

    def __init__(
        self,
        vocab: Sequence[str],
        ids: Any,
        offsets: Any,
        *,
        texts: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        meta: pd.DataFrame | None = None,
    ) -> None:
        if vocab is None or isinstance(vocab, str):
            fail("vocab", "a sequence of token strings", vocab, kind=ArgumentTypeError)
        self.vocab = clean_texts("vocab", [v if isinstance(v, str) else str(v) for v in vocab])
        self.ids = as_int_array("ids", ids)
        self.offsets = as_int_array("offsets", offsets)
        if self.offsets.size == 0 or self.offsets[0] != 0:
            fail("offsets", "one entry per example plus one, starting at 0", self.offsets)
        if np.any(np.diff(self.offsets) < 0):
            fail("offsets", "non-decreasing", self.offsets)
        if self.offsets[-1] != self.ids.size:
            fail(
                "offsets",
                f"ending at len(ids) = {self.ids.size}",
                self.offsets,
                f"it ends at {self.offsets[-1]}",
            )
        check_index_range("ids", self.ids, 0, len(self.vocab), "indices into vocab")
        n = len(self)
        self.texts = _per_example("texts", texts, n)
        self.names = _per_example("names", names, n)
        if meta is not None:
            if not isinstance(meta, pd.DataFrame):
                fail("meta", "a pandas DataFrame", meta, kind=ArgumentTypeError)
            if len(meta) != n:
                fail("meta", f"a frame with one row per example ({n})", meta)
            meta = meta.reset_index(drop=True)
        self.meta = meta

    @classmethod
    def from_tokens(
        cls,
        examples: Sequence[Sequence[str]],
        *,
        texts: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        meta: pd.DataFrame | None = None,
    ) -> Corpus:
        """Build a corpus from lists of token strings, one list per example.

        Examples
        --------
        >>> Corpus.from_tokens([["a", "b", "a"]]).vocab
        ['a', 'b']
        """
        if isinstance(examples, str) or not hasattr(examples, "__iter__"):
            fail(
                "examples",
                "a list of token lists, one per example",
                examples,
                "split a text into tokens first, e.g. [text.split()]",
                kind=ArgumentTypeError,
            )
        index: dict[str, int] = {}
        ids: list[int] = []
        offsets = [0]
        for i, example in enumerate(examples):
            if isinstance(example, str) or not hasattr(example, "__iter__"):
                fail(f"examples[{i}]", "a list of token strings", example, kind=ArgumentTypeError)
            for tok in example:
                ids.append(index.setdefault(str(tok), len(index)))
            offsets.append(len(ids))
        return cls(
            list(index), np.asarray(ids, np.int32), offsets, texts=texts, names=names, meta=meta
        )

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} examples, {self.ids.size} tokens, {len(self.vocab)} distinct)"

    def tokens(self, i: int) -> list[str]:
        """The token strings of example ``i``."""
        i = self._index(i)
        return [self.vocab[j] for j in self.ids[self.offsets[i] : self.offsets[i + 1]]]

    def length(self, i: int) -> int:
        """Number of tokens in example ``i``."""
        return int(np.diff(self.offsets)[self._index(i)])

    def _index(self, i: Any) -> int:
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            fail("i", f"an int example index in {-n}..{n - 1}", i, kind=ArgumentTypeError)
        if not -n <= i < n:
            raise IndexError(f"i must be an example index in {-n}..{n - 1}, got {i}")
        return int(i) % n

    def name(self, i: int) -> str:
        """Display name of example ``i``."""
        i = self._index(i)
        return self.names[i] if self.names is not None else f"#{i}"

    def to_pandas(self) -> pd.DataFrame:
        """One row per token: ``example``, ``position``, ``token``."""
        lengths = np.diff(self.offsets)
        example = np.repeat(np.arange(len(self), dtype=np.int32), lengths)
        position = np.arange(self.ids.size, dtype=np.int32) - np.repeat(self.offsets[:-1], lengths)
        vocab = np.asarray(self.vocab, dtype=object)
        return pd.DataFrame(
            {
                "example": example,
                "position": position,
                "token": vocab[self.ids] if self.ids.size else [],
            }
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Corpus) or len(self) != len(other):
            return False
        return (
            all(self.tokens(i) == other.tokens(i) for i in range(len(self)))
            and self.texts == other.texts
            and self.names == other.names
        )

    __hash__ = None  # type: ignore[assignment]


def distinct_corpora(matrices: Sequence[Any]) -> tuple[list[Corpus], list[int | None]]:
    """The corpora of ``matrices``, each once (by identity, in first-use order), and each
    matrix's index into them (None for a matrix without a corpus)."""
    corpora: list[Corpus] = []
    index_of: list[int | None] = []
    for m in matrices:
        index = None
        if m.corpus is not None:
            index = next((j for j, c in enumerate(corpora) if c is m.corpus), None)
            if index is None:
                corpora.append(m.corpus)
                index = len(corpora) - 1
        index_of.append(index)
    return corpora, index_of


def _per_example(name: str, values: Sequence[str] | None, n: int) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        fail(name, "a list with one string per example", values, kind=ArgumentTypeError)
    out = clean_texts(name, [v if isinstance(v, str) else str(v) for v in values])
    if len(out) != n:
        fail(name, f"one entry per example ({n})", values)
    return out
