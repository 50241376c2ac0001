"""Pieces that merging shard results needs: one corpus from many, capped context samples,
and the check that shards came from the same analysis, arguments, model and tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokenheat.core._corpus import Corpus
from tokenheat.errors import MergeError


@dataclass
class ShardResult:
    """A shard's tallies before any matrix is drawn (what a distributed worker sends back
    when its shard alone would not make a matrix, e.g. no unit reaching ``min_count``).
    :func:`tokenheat.merge` takes these alongside results."""

    meta: dict[str, Any]
    corpus: Corpus
    title: str | None = None
    contexts: Any = None
    rows: list[str] = field(default_factory=list)


def corpora_of(results: Sequence[Any]) -> list[Corpus]:
    """The corpus of each result; a result without one cannot be merged."""
    from tokenheat.errors import MergeError

    out = []
    for i, r in enumerate(results):
        if r.corpus is None:
            raise MergeError(
                f"results[{i}] has no corpus, so its contexts cannot be remapped; merge "
                "results as the analyses return them"
            )
        out.append(r.corpus)
    return out


def concat_corpora(corpora: Sequence[Corpus]) -> tuple[Corpus, np.ndarray]:
    """One corpus holding every example of ``corpora`` in order, and where each one starts.

    Returns
    -------
    corpus : Corpus
        Examples of ``corpora[0]``, then ``corpora[1]``, ...; texts kept when all have them.
    starts : int64 array (len(corpora),)
        The merged index of each corpus's example 0 (add it to remap example ids).
    """
    vocab: dict[str, int] = {}
    ids, offsets, starts = [], [np.zeros(1, np.int64)], []
    n_examples, n_ids = 0, 0
    for c in corpora:
        remap = np.asarray([vocab.setdefault(v, len(vocab)) for v in c.vocab], np.int64)
        ids.append(remap[c.ids] if c.ids.size else np.zeros(0, np.int64))
        offsets.append(c.offsets[1:].astype(np.int64) + n_ids)
        starts.append(n_examples)
        n_examples += len(c)
        n_ids += int(c.ids.size)
    texts = None
    if all(c.texts is not None for c in corpora):
        texts = [t for c in corpora for t in (c.texts or [])]
    merged = Corpus(
        list(vocab),
        np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32),
        np.concatenate(offsets),
        texts=texts,
    )
    return merged, np.asarray(starts, np.int64)


def summed(results: Sequence[Any], keys: Sequence[str]) -> dict[str, int]:
    """``meta`` counters summed over ``results``."""
    return {k: int(sum(r.meta.get(k, 0) for r in results)) for k in keys}


def first_per_cell(cap: int, cell: np.ndarray, *order: np.ndarray) -> np.ndarray:
    """Indices of the first ``cap`` entries of each ``cell`` in ``order`` (lexicographic:
    the first array most significant), sorted by cell then that order."""
    if not cell.size:
        return np.zeros(0, np.int64)
    idx = np.lexsort((*reversed(order), cell))
    sorted_cell = cell[idx]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_cell)) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, sorted_cell.size]))
    rank = np.arange(sorted_cell.size) - starts
    return idx[rank < cap]


def tokenizer_name(tokenizer: Any) -> str | None:
    """What identifies a tokenizer for merging: class, name or path, vocabulary size, and a
    digest of its full definition (vocabulary, merges, pre- and post-processing)."""
    if tokenizer is None:
        return None
    import hashlib

    name = getattr(tokenizer, "name_or_path", "") or ""
    try:
        size = len(tokenizer)
    except TypeError:
        size = -1
    backend = getattr(tokenizer, "backend_tokenizer", None)
    try:
        text = (
            backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        )
    except (AttributeError, TypeError, ValueError):  # an unusual tokenizer: name and size only
        text = ""
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{type(tokenizer).__name__}:{name}:{size}:{digest}"


def check_same(results: Sequence[Any], keys: Sequence[str], what: str) -> None:
    """Raise :class:`MergeError` naming the first ``meta`` entry in ``keys`` (or the row or
    column labels, for ``"rows"``/``"cols"``) on which a result differs from the first."""
    first = results[0]
    for i, r in enumerate(results[1:], start=1):
        for key in keys:
            mine = _get(first, key)
            theirs = _get(r, key)
            if _norm(mine) != _norm(theirs):
                label = "model" if key == "model" else key
                raise MergeError(
                    f"results[{i}] differs from results[0] in {label}: {theirs!r} vs {mine!r}; "
                    f"only {what} results run with the same arguments, model and tokenizer on "
                    "different inputs can be merged"
                )


def _get(m: Any, key: str) -> Any:
    if key in ("rows", "cols"):
        return list(getattr(m, key))
    return m.meta.get(key)


def _norm(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_norm(v) for v in value]
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value
