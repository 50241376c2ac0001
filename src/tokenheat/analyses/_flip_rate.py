"""Flip rate: how often removing or masking a word changes a classifier's prediction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from tokenheat.analyses._common import placed_module, progress_bar
from tokenheat.analyses._flip_collect import Collector
from tokenheat.analyses._flip_tally import build_flip_matrix, tally_state
from tokenheat.core import Corpus, TokenMatrix
from tokenheat.core._checks import check_choice, check_given, check_positive_int, fail
from tokenheat.core._tokens import link_key, normalize_word
from tokenheat.errors import ArgumentError, ArgumentTypeError
from tokenheat.models._state import preserves_model_state

__all__ = ["flip_rate", "flip_rate_shard", "flip_shard"]

_PERTURB = ("delete", "mask", "replace")
_UNITS = ("word", "token")
_RANKS = ("rate", "count")
#: Bucket labels are whole percents ("10–20%"): beyond 100 buckets two would share one.
_MAX_BUCKETS = 100


def _resolve_target(target_class: Any, labels: list[str]) -> int | None:
    if target_class is None:
        return None
    if isinstance(target_class, (int, np.integer)) and not isinstance(target_class, bool):
        if 0 <= int(target_class) < len(labels):
            return int(target_class)
    elif isinstance(target_class, str) and target_class in labels:
        return labels.index(target_class)
    fail(
        "target_class",
        f"a label of the classifier ({', '.join(map(repr, labels))}) or an index "
        f"0..{len(labels) - 1}",
        target_class,
    )


def _check_args(
    perturb: str,
    unit: str,
    rank: str,
    ints: dict[str, Any],
    mask_token: Any,
    replacement: Any,
) -> None:
    check_choice("perturb", perturb, _PERTURB)
    check_choice("unit", unit, _UNITS)
    check_choice("rank", rank, _RANKS)
    for name, value in ints.items():
        check_positive_int(name, value, minimum=0 if name == "max_contexts_per_cell" else 1)
    if ints["n_buckets"] > _MAX_BUCKETS:
        fail(
            "n_buckets",
            f"at most {_MAX_BUCKETS}",
            ints["n_buckets"],
            "columns are labelled in whole percent of the text, so more buckets would share "
            "a label",
        )
    if perturb == "replace" and not (isinstance(replacement, str) or callable(replacement)):
        fail(
            "replacement",
            "a str, or a callable word -> str, with perturb='replace'",
            replacement,
            kind=ArgumentTypeError,
        )
    if perturb != "replace" and replacement is not None:
        fail("replacement", f"None with perturb={perturb!r} (it is for 'replace')", replacement)
    if perturb != "mask" and mask_token is not None:
        fail("mask_token", f"None with perturb={perturb!r} (it is for 'mask')", mask_token)
    if mask_token is not None and not isinstance(mask_token, str):
        fail("mask_token", "a str or None", mask_token, kind=ArgumentTypeError)


def _word_filter(words: Any, unit: str, normalize: bool) -> Callable[[str], bool] | None:
    """``words=`` as a test on a unit's row key (None: every unit is perturbed)."""
    if words is None:
        return None
    if isinstance(words, str) or not isinstance(words, Iterable):
        fail(
            "words",
            "a list of str (the words or tokens to perturb)",
            words,
            "e.g. words=['sadly', 'gloomy']",
            kind=ArgumentTypeError,
        )
    given = list(words)
    if not given:
        fail("words", "a non-empty list of str", given)
    for k, w in enumerate(given):
        if not isinstance(w, str) or not w.strip():
            kind = ArgumentTypeError if not isinstance(w, str) else ArgumentError
            fail(f"words[{k}]", "a non-blank str", w, kind=kind)
    if unit == "word":
        keys = {normalize_word(w.strip()) if normalize else w for w in given}
        return keys.__contains__
    raw, linked = set(given), {link_key(w) for w in given}
    return lambda token: token in raw or link_key(token) in linked


def _not_found(asked: list[str], unit: str, normalize: bool, seen: set[str]) -> list[str]:
    """The entries of ``words=`` that matched no unit of the texts used."""
    out = []
    for w in asked:
        match = _word_filter([w], unit, normalize)
        if match is not None and not any(match(key) for key in seen):
            out.append(w)
    return out


# The options shared with the other analyses on purpose: one shape, the same names throughout.
@preserves_model_state
def flip_rate(
    classifier: Any,
    texts: Iterable[str],
    *,
    perturb: str = "delete",
    unit: str = "word",
    words: Sequence[str] | None = None,
    n_buckets: int = 10,
    min_count: int = 2,
    top_k: int | None = None,
    target_class: str | int | None = None,
    rank: str = "rate",
    mask_token: str | None = None,
    replacement: str | Callable[[str], str] | None = None,
    labels: Sequence[str] | None = None,
    tokenizer: Any = None,
    normalize: bool = True,
    max_contexts_per_cell: int = 200,
    batch_size: int = 32,
    device: Any = None,
    dtype: Any = None,
    progress: bool = True,
    title: str | None = None,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
) -> TokenMatrix:
    """Share of occurrences of each word (or token) whose removal flips the prediction.

    Every unit of every text (or, with ``words=``, every occurrence of those words) is
    perturbed once; a *flip* is a change of the predicted label (argmax) from the original
    text's. Results are aggregated per (unit, relative position bucket), where unit ``i`` of
    ``n`` falls in bucket ``min(B - 1, floor(B * i / n))`` (``n`` counts every unit of the
    text, asked about or not).

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
    words : list of str, optional
        Perturb only the occurrences of these words (tokens): a figure over 30 words in
        thousands of texts then costs one forward per occurrence, and texts holding none of
        them are not classified at all. For ``unit="word"`` a word matches a unit's row key
        (normalised like the units when ``normalize``); for ``unit="token"`` an entry matches
        a token by its raw string or its link key (``"sadly"`` matches ``"Ġsadly"``). The
        result equals the full run restricted to those rows. ``meta["words_not_found"]``
        lists the ones that never occurred.
    n_buckets : int
        Number of relative position buckets (columns), 1 to 100.
    min_count : int
        Rows need at least this many occurrences in total.
    top_k : int, optional
        Number of rows kept (default 30, or every word of ``words``).
    target_class : str or int, optional
        Only use texts whose original prediction is this label (name or index).
    rank : {"rate", "count"}
        Rank rows by overall flip rate (ties by count) or by number of occurrences.
    mask_token : str, optional
        The mask string (default: the tokenizer's mask token, ``"_"`` for a causal LM,
        else ``"[MASK]"``).
    replacement : str or callable, optional
        For ``perturb="replace"``: the new text, or a function of the removed unit.
    labels : list of str, optional
        Class names for a callable classifier, or label words for a causal LM.
    tokenizer : transformers tokenizer, optional
        For a transformers model, and for ``unit="token"`` with a callable classifier.
    normalize : bool
        For ``unit="word"``: lower-case words and strip surrounding punctuation to form rows.
    max_contexts_per_cell : int
        Keep at most this many contexts per cell: those of its first occurrences in (text,
        position) order, the same ones however the texts are split into shards.
    batch_size : int
        Texts per classifier call.
    progress : bool
        Show a progress bar over texts.
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
        Rows: units (kind ``"token"``) ranked by ``rank``, columns: buckets (kind
        ``"bucket"``); values: flip rate in [0, 1], NaN where a unit never occurs in a bucket;
        ``counts``: occurrences; extras ``flips``, ``ci_low``, ``ci_high`` (Wilson 95%).
        Contexts per occurrence with ``orig_label``, ``new_label``, ``p_orig``, ``p_new``
        (probability of the original label before and after) and ``flipped``. Its display
        fades cells with fewer than 3 occurrences. ``meta["tallies"]`` holds every
        unit's counts, so :func:`tokenheat.merge` ranks shards' rows after merging.

    Raises
    ------
    tokenheat.errors.ArgumentError
        (a ``ValueError``) For unknown options, a bad ``target_class`` or int, or when no
        unit occurs ``min_count`` times.
    tokenheat.errors.ArgumentTypeError
        (a ``TypeError``) For an argument of the wrong type (a lone str as ``texts``, a
        float as an int option), or ``unit='token'`` without a tokenizer.

    Examples
    --------
    >>> m = th.flip_rate(clf, texts, perturb="mask", words=["sadly", "gloomy"])  # doctest: +SKIP
    >>> m.to_pandas().sort_values("value").tail()  # doctest: +SKIP
    """
    if texts is None or isinstance(texts, str):
        fail("texts", "a list of str", texts, "wrap it in a list: [text]", kind=ArgumentTypeError)
    if _word_filter(words, unit, normalize) is not None:  # checks words= early
        words = sorted(set(words))  # type: ignore[arg-type]
    if top_k is None:
        top_k = 30 if words is None else len(words)
    options = dict(
        perturb=perturb, unit=unit, words=words, n_buckets=n_buckets, min_count=min_count,
        top_k=top_k, target_class=target_class, rank=rank, mask_token=mask_token,
        replacement=replacement, batch_size=batch_size, labels=labels, normalize=normalize,
        max_contexts_per_cell=max_contexts_per_cell, device=device, dtype=dtype,
    )  # fmt: skip
    if engine != "local" or ray_options is not None:
        from tokenheat.analyses._merge import merge
        from tokenheat.engines import run_engine

        return run_engine(
            "flip_rate", engine, ray_options, classifier, texts, tokenizer=tokenizer,
            shard=flip_rate_shard, merge=merge, options={**options, "title": title},
            progress=progress,
        )  # fmt: skip
    state, corpus, meta = flip_shard(
        classifier, texts, tokenizer=tokenizer, progress=progress, **options
    )
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
    words: Sequence[str] | None = None,
) -> tuple[dict[str, Any], Corpus, dict[str, Any]]:
    """The counting part of :func:`flip_rate`: ``(tallies, corpus, meta)`` before any row is
    chosen, so a shard in which no unit reaches ``min_count`` still merges."""
    cap = max_contexts_per_cell
    ints = {"n_buckets": n_buckets, "min_count": min_count, "top_k": top_k,
            "batch_size": batch_size, "max_contexts_per_cell": cap}  # fmt: skip
    _check_args(perturb, unit, rank, ints, mask_token, replacement)
    if isinstance(texts, str):
        fail("texts", "a list of str", texts, "wrap it in a list: [text]", kind=ArgumentTypeError)
    wanted = _word_filter(words, unit, normalize)
    with placed_module(classifier, device, dtype):
        setup = _setup(classifier, tokenizer, labels, batch_size, unit, perturb, mask_token)
        setup.fill = replacement if perturb != "mask" else setup.fill
        target = _resolve_target(target_class, setup.labels)
        run = Collector(
            setup.clf, len(setup.labels), unit=unit, tokenizer=setup.tok, normalize=normalize,
            wanted=wanted, target=target, perturbation=(perturb, setup.fill), n_buckets=n_buckets,
            cap=cap, batch_size=batch_size,
        )  # fmt: skip
        total = len(texts) if isinstance(texts, Sequence) else None
        iterator = iter(progress_bar(texts, total=total, desc="flip rate", enabled=bool(progress)))
        while chunk := list(islice(iterator, batch_size)):
            run.read(chunk)
        run.pool.flush()
    fill = setup.fill
    meta = {
        "analysis": "flip_rate",
        "perturb": perturb,
        "unit": unit,
        "normalize": bool(normalize) if unit == "word" else False,
        "fill": fill if isinstance(fill, str) else (None if fill is None else "callable"),
        "words": None if words is None else list(words),
        "words_not_found": None
        if words is None
        else _not_found(list(words), unit, normalize, run.seen),
        "n_buckets": n_buckets,
        "min_count": min_count,
        "rank": rank,
        "target_class": None if target is None else setup.labels[target],
        "labels": setup.labels,
        "n_texts": run.n_texts,
        "n_texts_used": run.n_used,
        "n_perturbations": run.tally.n_perturbations,
        "n_classified": run.pool.n_classified + run.n_originals,
        "max_contexts_per_cell": cap,
        "model": setup.name,
        "top_k": top_k,
    }
    corpus = run.corpus()
    texts_kept = texts if isinstance(texts, list) else None
    return tally_state(run.tally), Corpus(*corpus, texts=texts_kept), meta


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
    if unit == "token":
        check_given(
            "tokenizer",
            tok,
            "a tokenizer with unit='token'",
            "pass tokenizer=... or use unit='word'",
        )
    fill: Any = None
    if perturb == "mask":
        fill = (
            mask_token or getattr(tok, "mask_token", None) or getattr(clf, "mask_string", "[MASK]")
        )
    return _Setup(clf, [str(label) for label in clf.labels], tok, fill, model_name(classifier))


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
