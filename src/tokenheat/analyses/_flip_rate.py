"""Flip rate: how often removing or masking a word changes a classifier's prediction."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from tokenheat.analyses._common import placed_module, progress_bar
from tokenheat.analyses._flip_tally import build_flip_matrix, tally_state
from tokenheat.analyses._perturb import (
    PerturbationPool,
    Record,
    Tally,
    checked_predict,
    perturb_text,
    prefix_sharing,
    token_units,
    word_units,
)
from tokenheat.core import Corpus, TokenMatrix
from tokenheat.models._state import preserves_model_state

__all__ = ["flip_rate", "flip_rate_shard", "flip_shard"]

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
    device: Any = None,
    dtype: Any = None,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
) -> TokenMatrix:
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
        Keep at most this many contexts per cell: those of its first occurrences in (text,
        position) order, the same ones however the texts are split into shards.
    title : str, optional
        Heatmap title.
    device, dtype : optional
        Run a torch model (or a classifier holding one as ``.model``) there / in that
        dtype (e.g. ``torch.bfloat16``); it is moved back afterwards.
    engine : {"local", "ray"}
        ``"ray"`` shards ``texts`` (a list, or a ``ray.data.Dataset`` with a ``text``
        column) over a Ray actor pool and merges the shards (:func:`tokenheat.merge`);
        ``classifier`` may then also be a loader: a local model path, or a zero-argument
        callable returning ``(model, tokenizer)``. See :func:`tokenheat.engines.run_engine`.
    ray_options : dict, optional
        For ``engine="ray"``: ``concurrency``, ``num_gpus``, ``num_cpus``, ``batch_size``.

    Returns
    -------
    TokenMatrix
        Rows: units (kind ``"token"``), columns: buckets (kind ``"bucket"``); values: flip
        rate in [0, 1], NaN where a unit never occurs in a bucket; ``counts``: occurrences;
        extras ``flips``, ``ci_low``, ``ci_high`` (Wilson 95%). ``meta["tallies"]`` holds
        every unit's counts, so :func:`tokenheat.merge` ranks shards' rows after merging. Contexts per occurrence with
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
    if engine != "local" or ray_options is not None:
        from tokenheat.analyses._merge import merge
        from tokenheat.engines import run_engine

        return run_engine(
            "flip_rate", engine, ray_options, classifier, texts, tokenizer=tokenizer,
            shard=flip_rate_shard, merge=merge,
            options=dict(
                perturb=perturb, unit=unit, n_buckets=n_buckets, min_count=min_count,
                top_k=top_k, target_class=target_class, rank=rank, mask_token=mask_token,
                replacement=replacement, batch_size=batch_size, labels=labels,
                normalize=normalize, max_contexts_per_cell=max_contexts_per_cell, title=title,
                device=device, dtype=dtype,
            ),
            progress=progress,
        )  # fmt: skip
    state, corpus, meta = flip_shard(
        classifier, texts, perturb=perturb, unit=unit, n_buckets=n_buckets,
        min_count=min_count, top_k=top_k, target_class=target_class, rank=rank,
        mask_token=mask_token, replacement=replacement, batch_size=batch_size,
        progress=progress, labels=labels, tokenizer=tokenizer, normalize=normalize,
        max_contexts_per_cell=max_contexts_per_cell, device=device, dtype=dtype,
    )  # fmt: skip
    return build_flip_matrix(state, corpus=corpus, top_k=top_k, title=title, meta=meta)


def flip_shard(
    classifier: Any,
    texts: Iterable[str],
    *,
    perturb: str,
    unit: str,
    n_buckets: int,
    min_count: int,
    top_k: int,
    target_class: Any,
    rank: str,
    mask_token: Any,
    replacement: Any,
    batch_size: int,
    progress: bool,
    labels: Any,
    tokenizer: Any,
    normalize: bool,
    max_contexts_per_cell: int,
    device: Any,
    dtype: Any,
) -> tuple[dict[str, Any], Corpus, dict[str, Any]]:
    """The counting part of :func:`flip_rate`: ``(tallies, corpus, meta)`` before any row is
    chosen, so a shard in which no unit reaches ``min_count`` still merges."""
    cap = max_contexts_per_cell
    _check_args(
        perturb, unit, rank, n_buckets, min_count, top_k, batch_size, cap, mask_token, replacement
    )
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got a single str; wrap it in a list: [text]")
    with placed_module(classifier, device, dtype):
        setup = _setup(classifier, tokenizer, labels, batch_size, unit, perturb, mask_token)
        setup.fill = replacement if perturb != "mask" else setup.fill
        target = _resolve_target(target_class, setup.labels)
        opts = dict(
            unit=unit, perturb=perturb, normalize=normalize, batch_size=batch_size,
            n_buckets=n_buckets, cap=cap,
        )  # fmt: skip
        tally, corpus, counts = _count(setup, texts, opts, target, progress)
    fill = setup.fill
    meta = {
        "analysis": "flip_rate",
        "perturb": perturb,
        "unit": unit,
        "normalize": bool(normalize) if unit == "word" else False,
        "fill": fill if isinstance(fill, str) else (None if fill is None else "callable"),
        "n_buckets": n_buckets,
        "min_count": min_count,
        "rank": rank,
        "target_class": None if target is None else setup.labels[target],
        "labels": setup.labels,
        **counts,
        "max_contexts_per_cell": cap,
        "model": setup.name,
        "top_k": top_k,
    }
    texts_kept = texts if isinstance(texts, list) else None
    return tally_state(tally), Corpus(*corpus, texts=texts_kept), meta


def flip_rate_shard(
    model: Any, tokenizer: Any, texts: list[str], options: dict[str, Any], first: int | None = None
) -> Any:
    """One shard of a distributed :func:`flip_rate`: its tallies, before any ranking."""
    from tokenheat.analyses._shards import ShardResult

    opts = {k: v for k, v in options.items() if k != "title"}
    state, corpus, meta = flip_shard(model, texts, tokenizer=tokenizer, progress=False, **opts)
    return ShardResult({**meta, "tallies": state}, corpus, title=options.get("title"))


@dataclass
class _Setup:
    clf: Any
    labels: list[str]
    tok: Any
    fill: Any
    name: str


def _setup(
    classifier: Any,
    tokenizer: Any,
    labels: Any,
    batch_size: int,
    unit: str,
    perturb: str,
    mask_token: Any,
) -> _Setup:
    from tokenheat.models._classifier import as_classifier

    is_model = hasattr(classifier, "config") and not hasattr(classifier, "predict_proba")
    clf = as_classifier(
        classifier, tokenizer, labels=labels, **({"batch_size": batch_size} if is_model else {})
    )
    tok = tokenizer if tokenizer is not None else getattr(clf, "tokenizer", None)
    if unit == "token" and tok is None:
        raise ValueError("unit='token' needs a tokenizer: pass tokenizer=... or use unit='word'")
    fill: Any = None
    if perturb == "mask":
        fill = (
            mask_token or getattr(tok, "mask_token", None) or getattr(clf, "mask_string", "[MASK]")
        )
    return _Setup(clf, [str(label) for label in clf.labels], tok, fill, model_name(classifier))


def _count(
    setup: _Setup,
    texts: Iterable[str],
    opts: dict[str, Any],
    target: int | None,
    progress: bool,
) -> tuple[Tally, tuple[list[str], np.ndarray, np.ndarray], dict[str, int]]:
    """Classify every text and its perturbations, counting flips per (unit, bucket)."""
    clf, k, batch_size, unit = setup.clf, len(setup.labels), opts["batch_size"], opts["unit"]
    predict = checked_predict(clf, k)
    sharing = prefix_sharing(clf, k)
    tally = Tally(opts["n_buckets"], opts["cap"])
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
            if unit == "token":
                units = token_units(text, setup.tok)
            else:
                units = word_units(text, opts["normalize"])
            ids.extend(vocab.setdefault(s, len(vocab)) for s in units.surface)
            offsets.append(len(ids))
            orig = int(p.argmax())
            if (target is not None and orig != target) or not len(units):
                tally.skip(example)
                continue
            n_used += 1
            _queue(pool, text, units, example, orig, p, state, k, opts["perturb"], setup.fill, unit)
    pool.flush()
    counts = {
        "n_texts": n_texts,
        "n_texts_used": n_used,
        "n_perturbations": tally.n_perturbations,
        "n_classified": pool.n_classified + n_texts,
    }
    corpus = (list(vocab), np.frombuffer(ids, np.int32), np.frombuffer(offsets, np.int64))
    return tally, corpus, counts


def _queue(
    pool: PerturbationPool,
    text: str,
    units: Any,
    example: int,
    orig: int,
    p: np.ndarray,
    state: Any,
    k: int,
    perturb: str,
    fill: Any,
    unit: str,
) -> None:
    """Send each distinct perturbation of one text to the pool."""
    variants: dict[str, int] = {}
    slot = [
        variants.setdefault(
            perturb_text(text, span, perturb, fill, tidy_space=unit == "word"), len(variants)
        )
        for span in units.spans
    ]
    rec = Record(
        example, units, orig, p, slot, np.zeros((len(variants), k), np.float32), len(variants),
        state,
    )  # fmt: skip
    for variant, s in variants.items():
        pool.add(variant, rec, s)


def model_name(model: Any) -> str:
    """A name for what produced a result, compared by :func:`tokenheat.merge`."""
    inner = getattr(model, "model", model)
    config = getattr(inner, "config", None)
    name = getattr(config, "_name_or_path", "") or getattr(config, "name_or_path", "")
    if name:
        return str(name)
    fn = getattr(model, "fn", None) or model
    qual = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', '') or ''}.{qual}"
