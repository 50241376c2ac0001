"""Flip rate: how often removing or masking a word changes a classifier's prediction."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

import numpy as np

from tokenheat.analyses._common import progress_bar
from tokenheat.analyses._perturb import (
    PerturbationPool,
    Record,
    Tally,
    bucket_labels,
    checked_predict,
    perturb_text,
    prefix_sharing,
    token_units,
    wilson_interval,
    word_units,
)
from tokenheat.models._state import preserves_model_state

__all__ = ["flip_rate"]

_PERTURB = ("delete", "mask", "replace")
_UNITS = ("word", "token")
_RANKS = ("rate", "count")
#: With a prefix-sharing classifier, perturbed texts go to it in groups of this many batches.
_SHARED_FLUSH = 32


def _resolve_target(target_class: Any, labels: list[str]) -> int | None:
    if target_class is None:
        return None
    if isinstance(target_class, (int, np.integer)) and not isinstance(target_class, bool):
        if 0 <= int(target_class) < len(labels):
            return int(target_class)
    elif isinstance(target_class, str) and target_class in labels:
        return labels.index(target_class)
    raise ValueError(
        f"target_class={target_class!r} is not a label of the classifier; use one of {labels} "
        f"or an index 0..{len(labels) - 1}"
    )


def _check_args(
    perturb: str,
    unit: str,
    rank: str,
    n_buckets: Any,
    min_count: Any,
    top_k: Any,
    batch_size: Any,
    cap: Any,
    mask_token: Any,
    replacement: Any,
) -> None:
    for name, value, allowed in (
        ("perturb", perturb, _PERTURB),
        ("unit", unit, _UNITS),
        ("rank", rank, _RANKS),
    ):
        if value not in allowed:
            raise ValueError(
                f"{name}={value!r} is not supported; use one of {', '.join(map(repr, allowed))}"
            )
    for name, value, low in (
        ("n_buckets", n_buckets, 1),
        ("min_count", min_count, 1),
        ("top_k", top_k, 1),
        ("batch_size", batch_size, 1),
        ("max_contexts_per_cell", cap, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if perturb == "replace" and not (isinstance(replacement, str) or callable(replacement)):
        raise ValueError(
            f"perturb='replace' needs replacement= (a str, or a callable word -> str), got {replacement!r}"
        )
    if perturb != "replace" and replacement is not None:
        raise ValueError(f"replacement= is only used with perturb='replace' (perturb={perturb!r})")
    if perturb != "mask" and mask_token is not None:
        raise ValueError(f"mask_token= is only used with perturb='mask' (perturb={perturb!r})")
    if mask_token is not None and not isinstance(mask_token, str):
        raise TypeError(f"mask_token must be a str, got {type(mask_token).__name__}")


@preserves_model_state
def flip_rate(
    classifier: Any,
    texts: Iterable[str],
    perturb: str = "delete",
    unit: str = "word",
    n_buckets: int = 10,
    min_count: int = 2,
    top_k: int = 30,
    target_class: str | int | None = None,
    rank: str = "rate",
    mask_token: str | None = None,
    replacement: str | Callable[[str], str] | None = None,
    batch_size: int = 32,
    progress: bool = True,
    labels: Sequence[str] | None = None,
    *,
    tokenizer: Any = None,
    normalize: bool = True,
    max_contexts_per_cell: int = 200,
    title: str | None = None,
) -> Any:
    """Share of occurrences of each word (or token) whose removal flips the prediction.

    Every unit of every text is perturbed once; a *flip* is a change of the predicted label
    (argmax) from the original text's. Results are aggregated per (unit, relative position
    bucket), where unit ``i`` of ``n`` falls in bucket ``min(B - 1, floor(B * i / n))``.

    All perturbed texts go to the classifier in batches of ``batch_size`` (identical texts
    once); counts are aggregated as batches come back, so memory stays flat in the number
    of texts (only a capped number of contexts per cell is kept). With a causal LM
    (:class:`~tokenheat.models.LMClassifier`) each original prompt is run once with its
    key/value cache kept, and each perturbed prompt computes only the tokens after the
    prefix it shares with its original (same results as running it in full).

    Parameters
    ----------
    classifier
        A :mod:`tokenheat.models` classifier (``predict_proba`` + ``labels``), a
        transformers sequence classifier or causal LM (with ``tokenizer=``; a causal LM
        becomes :class:`~tokenheat.models.LMClassifier`), or a callable
        ``texts -> probabilities`` (with ``labels=``).
    texts : iterable of str
        The examples.
    perturb : {"delete", "mask", "replace"}
        Remove the unit, replace it with ``mask_token``, or replace it with ``replacement``.
    unit : {"word", "token"}
        Whitespace-separated words, or the tokenizer's tokens (needs a fast tokenizer).
    n_buckets : int
        Number of relative position buckets (columns).
    min_count : int
        Rows need at least this many occurrences in total.
    top_k : int
        Number of rows kept.
    target_class : str or int, optional
        Only use texts whose original prediction is this label (name or index).
    rank : {"rate", "count"}
        Rank rows by overall flip rate (ties by count) or by number of occurrences.
    mask_token : str, optional
        The mask string (default: the tokenizer's mask token, ``"_"`` for a causal LM,
        else ``"[MASK]"``).
    replacement : str or callable, optional
        For ``perturb="replace"``: the new text, or a function of the removed unit.
    batch_size : int
        Texts per classifier call.
    progress : bool
        Show a progress bar over texts.
    labels : list of str, optional
        Class names for a callable classifier, or label words for a causal LM.
    tokenizer : transformers tokenizer, optional
        For a transformers model, and for ``unit="token"`` with a callable classifier.
    normalize : bool
        For ``unit="word"``: lower-case words and strip surrounding punctuation to form rows.
    max_contexts_per_cell : int
        Keep at most this many contexts (the first ones) per cell.
    title : str, optional
        Heatmap title.

    Returns
    -------
    TokenMatrix
        Rows: units (kind ``"token"``), columns: buckets (kind ``"bucket"``); values: flip
        rate in [0, 1], NaN where a unit never occurs in a bucket; ``counts``: occurrences;
        extras ``flips``, ``ci_low``, ``ci_high`` (Wilson 95%). Contexts per occurrence with
        ``orig_label``, ``new_label``, ``p_orig``, ``p_new`` (probability of the original label
        before and after) and ``flipped``.

    Raises
    ------
    ValueError
        For unknown options, a bad ``target_class``, or when no unit occurs ``min_count`` times.

    Examples
    --------
    >>> m = th.flip_rate(clf, texts, perturb="mask", unit="word")  # doctest: +SKIP
    >>> m.to_pandas().sort_values("value").tail()  # doctest: +SKIP
    """
    from tokenheat.models._classifier import as_classifier

    cap = max_contexts_per_cell
    _check_args(
        perturb, unit, rank, n_buckets, min_count, top_k, batch_size, cap, mask_token, replacement
    )
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got a single str; wrap it in a list: [text]")
    is_model = hasattr(classifier, "config") and not hasattr(classifier, "predict_proba")
    clf = as_classifier(
        classifier, tokenizer, labels=labels, **({"batch_size": batch_size} if is_model else {})
    )
    class_labels = [str(label) for label in clf.labels]
    k = len(class_labels)
    target = _resolve_target(target_class, class_labels)
    tok = tokenizer if tokenizer is not None else getattr(clf, "tokenizer", None)
    if unit == "token" and tok is None:
        raise ValueError("unit='token' needs a tokenizer: pass tokenizer=... or use unit='word'")
    fill: Any = replacement
    if perturb == "mask":
        fill = (
            mask_token or getattr(tok, "mask_token", None) or getattr(clf, "mask_string", "[MASK]")
        )

    predict = checked_predict(clf, k)
    sharing = prefix_sharing(clf, k)
    tally = Tally(n_buckets, cap)
    pool = PerturbationPool(
        predict,
        batch_size,
        tally.add,
        continued=None if sharing is None else sharing[1],
        flush_at=None if sharing is None else _SHARED_FLUSH * batch_size,
    )
    vocab: dict[str, int] = {}
    ids, offsets = array("i"), array("q", [0])
    n_texts = n_used = 0
    total = len(texts) if isinstance(texts, Sequence) else None
    iterator = iter(progress_bar(texts, total=total, desc="flip rate", enabled=bool(progress)))
    while chunk := list(islice(iterator, batch_size)):
        for j, t in enumerate(chunk):
            if not isinstance(t, str):
                raise TypeError(f"texts[{n_texts + j}] must be a str, got {type(t).__name__}")
        if sharing is None:
            originals, states = predict(chunk), [None] * len(chunk)
        else:
            originals, states = sharing[0](chunk)
        for text, p, state in zip(chunk, originals, states, strict=True):
            example = n_texts
            n_texts += 1
            units = token_units(text, tok) if unit == "token" else word_units(text, normalize)
            ids.extend(vocab.setdefault(s, len(vocab)) for s in units.surface)
            offsets.append(len(ids))
            orig = int(p.argmax())
            if (target is not None and orig != target) or not len(units):
                continue
            n_used += 1
            variants: dict[str, int] = {}
            slot = [
                variants.setdefault(
                    perturb_text(text, span, perturb, fill, tidy_space=unit == "word"),
                    len(variants),
                )
                for span in units.spans
            ]
            rec = Record(
                example,
                units,
                orig,
                p,
                slot,
                np.zeros((len(variants), k), np.float32),
                len(variants),
                state,
            )
            for variant, s in variants.items():
                pool.add(variant, rec, s)
    pool.flush()
    return _build_matrix(
        tally,
        corpus=(list(vocab), np.frombuffer(ids, np.int32), np.frombuffer(offsets, np.int64)),
        texts=texts if isinstance(texts, list) else None,
        labels=class_labels,
        min_count=min_count,
        top_k=top_k,
        rank=rank,
        title=title,
        meta={
            "analysis": "flip_rate",
            "perturb": perturb,
            "unit": unit,
            "normalize": bool(normalize) if unit == "word" else False,
            "fill": fill if isinstance(fill, str) else (None if fill is None else "callable"),
            "n_buckets": n_buckets,
            "min_count": min_count,
            "rank": rank,
            "target_class": None if target is None else class_labels[target],
            "labels": class_labels,
            "n_texts": n_texts,
            "n_texts_used": n_used,
            "n_perturbations": tally.n_perturbations,
            "n_classified": pool.n_classified + n_texts,
            "max_contexts_per_cell": cap,
        },
    )


def _build_matrix(
    tally: Tally,
    *,
    corpus: tuple[list[str], np.ndarray, np.ndarray],
    texts: list[str] | None,
    labels: list[str],
    min_count: int,
    top_k: int,
    rank: str,
    title: str | None,
    meta: dict[str, Any],
) -> Any:
    from tokenheat.core import ColorScale, Contexts, Corpus, TokenMatrix

    n_keys, n_buckets = len(tally.index), tally.n_buckets
    occ, flips = tally.occ[:n_keys], tally.flips[:n_keys]
    total, total_flips = occ.sum(1), flips.sum(1)
    eligible = np.flatnonzero(total >= min_count)
    if not eligible.size:
        raise ValueError(
            f"no {meta['unit']} occurs at least min_count={min_count} times in the "
            f"{meta['n_texts_used']} texts used (of {meta['n_texts']}); lower min_count or pass more texts"
        )
    keys = list(tally.index)
    rate = total_flips[eligible] / total[eligible]
    names = np.asarray([keys[i] for i in eligible], dtype=object)
    if rank == "rate":
        order = np.lexsort((names, -total[eligible], -rate))
    else:
        order = np.lexsort((names, -rate, -total[eligible]))
    chosen = eligible[order[:top_k]]
    occ_c, flips_c = occ[chosen].astype(np.float64), flips[chosen].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(occ_c > 0, flips_c / occ_c, np.nan)
    ci_low, ci_high = wilson_interval(flips_c, occ_c)

    rank_of = np.full(n_keys, -1, np.int64)
    rank_of[chosen] = np.arange(chosen.size)
    cell = np.frombuffer(tally.ctx_cell, np.int64)
    keep = np.flatnonzero(rank_of[cell // n_buckets] >= 0) if cell.size else np.zeros(0, np.int64)
    start = np.frombuffer(tally.ctx_start, np.int32)[keep]
    orig = np.frombuffer(tally.ctx_orig, np.int32)[keep]
    new = np.frombuffer(tally.ctx_new, np.int32)[keep]
    label_arr = np.asarray(labels, dtype=object)
    contexts = Contexts(
        row=rank_of[cell[keep] // n_buckets],
        col=cell[keep] % n_buckets,
        example=np.frombuffer(tally.ctx_example, np.int32)[keep],
        start=start,
        end=start + 1,
        numeric={
            "p_orig": np.frombuffer(tally.ctx_p_orig, np.float32)[keep],
            "p_new": np.frombuffer(tally.ctx_p_new, np.float32)[keep],
            "flipped": (orig != new).astype(np.float32),
        },
        labels={"orig_label": list(label_arr[orig]), "new_label": list(label_arr[new])},
    )
    vocab, ids, offsets = corpus
    unit = meta["unit"]
    target = f" (predicted {meta['target_class']})" if meta["target_class"] is not None else ""
    meta = {
        **meta,
        "n_flips": int(total_flips.sum()),
        "overall_flip_rate": float(total_flips.sum() / max(1, total.sum())),
    }
    return TokenMatrix(
        values,
        rows=[keys[i] for i in chosen],
        cols=bucket_labels(n_buckets),
        row_kind="token",
        col_kind="bucket",
        row_title=unit,
        col_title="relative position",
        title=title if title is not None else f"Flip rate ({meta['perturb']} {unit}){target}",
        value_label="flip rate",
        counts=occ_c,
        extras={"flips": flips_c, "ci_low": ci_low, "ci_high": ci_high},
        scale=ColorScale("magma", domain=(0.0, 1.0)),
        corpus=Corpus(vocab, ids, offsets, texts=texts),
        contexts=contexts,
        meta=meta,
    )
