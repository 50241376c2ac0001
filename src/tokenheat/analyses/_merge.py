"""``th.merge``: results of one analysis on disjoint shards of the inputs → the whole run.

Each analysis keeps in ``meta["tallies"]`` the full running totals its matrix is computed
from (every unit's flip counts, the lens's sums and top-1 tallies, the cosine sums, the raw
attributions), whatever it shows; merging adds them up and builds the matrix again, so
rankings (``top_k``, ``min_count``), Wilson intervals and cell texts are computed on the
merged totals. Contexts follow one rule in every analysis (the first ones in input order),
so a merged result keeps exactly the contexts the whole run keeps, with example ids
remapped into the concatenated corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.analyses._anchor_tally import merge_anchor, merge_means
from tokenheat.analyses._flip_tally import merge_flip
from tokenheat.analyses._lens_tally import merge_lens
from tokenheat.analyses._shards import check_same, concat_corpora, corpora_of
from tokenheat.core._checks import fail
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._tokens import display_token
from tokenheat.errors import ArgumentTypeError, MergeError

__all__ = ["merge"]

#: meta entries (and axes) that must agree for results to merge, per analysis.
SAME: dict[str, tuple[str, ...]] = {
    "flip_rate": (
        "perturb", "unit", "normalize", "fill", "n_buckets", "min_count", "rank",
        "target_class", "labels", "max_contexts_per_cell", "model", "top_k",
    ),
    "lens": (
        "stat", "model", "tokenizer", "align", "top_k", "rows", "max_contexts_per_cell",
        "appended_tokens",
    ),
    "anchor_similarity": (
        "anchor", "center", "center_positions", "model", "tokenizer", "rows", "cols",
        "max_contexts_per_cell",
    ),
    "hidden_means": ("model", "tokenizer", "keys"),
    "attribution": (
        "method", "function", "baseline", "normalize", "target_position", "model",
        "tokenizer", "model_kind", "integration", "baseline_keep", "steps_option",
        "max_contexts_per_cell",
    ),
}  # fmt: skip


def merge(results: Sequence[Any]) -> Any:
    """Merge results of one analysis run on disjoint shards of the inputs.

    Parameters
    ----------
    results : sequence of TokenMatrix (or of :class:`~tokenheat.analyses.HiddenMeans`)
        Results of the same analysis with the same arguments, model and tokenizer, on
        shards of the inputs, **in input order** (shard 0 holds the first inputs). They
        may come from :func:`tokenheat.load`.

    Returns
    -------
    TokenMatrix
        What the analysis gives on all inputs at once: flip counts and rates exactly; means
        (lens statistics, cosines) up to float rounding (1e-6 relative); ``top_k``,
        ``min_count``, Wilson intervals and cell texts from the merged totals; the contexts
        the whole run keeps (the first ones in input order) with example ids remapped into
        the concatenated corpus. Counters in ``meta`` (``n_texts`` ...) are summed.

    Raises
    ------
    MergeError
        When the results come from different analyses, arguments, models or tokenizers
        (the message names what differs), or lack the tallies to merge.
    tokenheat.errors.ArgumentTypeError
        When ``results`` is not a sequence of results (a ``TypeError``).
    tokenheat.errors.ArgumentError
        When ``results`` is empty (a ``ValueError``).

    Examples
    --------
    >>> a = th.flip_rate(clf, texts[:500], progress=False)  # doctest: +SKIP
    >>> b = th.flip_rate(clf, texts[500:], progress=False)  # doctest: +SKIP
    >>> th.merge([a, b]).equals(th.flip_rate(clf, texts, progress=False))  # doctest: +SKIP
    True
    """
    results = _checked(results)
    analysis = results[0].meta["analysis"]
    check_same(results, ("analysis",), "analysis")
    check_same(results, SAME[analysis], analysis)
    if analysis == "hidden_means":
        return merge_means(results)
    if len(results) == 1 and isinstance(results[0], TokenMatrix):
        return results[0]
    return _MERGERS[analysis](results)


def _checked(results: Any) -> list[Any]:
    hint = "pass e.g. th.merge([result_a, result_b])"
    if isinstance(results, (TokenMatrix, str, bytes)) or not isinstance(results, Sequence):
        fail("results", "a non-empty list of results", results, hint, kind=ArgumentTypeError)
    if not results:
        fail("results", "a non-empty list of results", results, hint)
    for i, r in enumerate(results):
        meta = getattr(r, "meta", None)
        if not isinstance(meta, dict) or "analysis" not in meta:
            fail(f"results[{i}]", "a result of a tokenheat analysis", r, kind=ArgumentTypeError)
        if meta["analysis"] not in SAME:
            raise MergeError(f"results[{i}] is a {meta['analysis']!r} result, which cannot merge")
        if "tallies" not in meta:
            raise MergeError(
                f"results[{i}] has no meta['tallies'] (made by an older tokenheat, or the "
                "tallies were removed); run the analysis again to merge it"
            )
    return list(results)


def _merge_attribution(results: Sequence[TokenMatrix]) -> TokenMatrix:
    from types import SimpleNamespace

    from tokenheat.analyses._attr_jobs import Column
    from tokenheat.analyses._attribution_matrix import attribution_matrix, attribution_tallies

    corpus, starts = concat_corpora(corpora_of(results))
    states = [r.meta["tallies"] for r in results]
    attr = [np.asarray(a, np.float64) for s in states for a in s["attr"]]
    examples = [
        int(e) + int(st) for s, st in zip(states, starts, strict=True) for e in s["examples"]
    ]
    names = [n for s in states for n in s["names"]]
    many = len(corpus) > 1
    columns = [
        Column(f"#{e}: {n}" if many else n, e, n, t, int(p))
        for e, n, t, p in zip(
            examples, names, [t for s in states for t in s["tokens"]],
            [p for s in states for p in s["positions"]], strict=True,
        )
    ]  # fmt: skip
    encoded = [
        SimpleNamespace(tokens=corpus.tokens(i), text=(corpus.texts or [""] * len(corpus))[i])
        for i in range(len(corpus))
    ]
    f_x = np.concatenate([np.asarray(s["f_x"], np.float64) for s in states])
    comp = None
    if states[0]["err"] is not None:
        err, rel = (
            np.concatenate([np.asarray(s[k], np.float64) for s in states]) for k in ("err", "rel")
        )
        comp = (err, rel)
    meta = _attribution_meta(results, starts, columns, many)
    meta["tallies"] = attribution_tallies(attr, columns, f_x, comp)
    meta["merged_from"] = len(results)
    contexts = meta.get("max_contexts_per_cell") != 0
    return attribution_matrix(
        attr, columns, encoded, f_x, comp, meta, results[0].title, contexts=contexts
    )


def _attribution_meta(
    results: Sequence[TokenMatrix], starts: np.ndarray, columns: list[Any], many: bool
) -> dict[str, Any]:
    """The first shard's meta with the per-input entries of every shard, renumbered by the
    shards' first input (``starts``) and relabelled as the merged columns are."""
    meta = {k: v for k, v in results[0].meta.items() if k not in ("columns", "targets")}
    if "completeness" in meta:
        entries = [dict(e) for r in results for e in r.meta["completeness"]]
        for e, c in zip(entries, columns, strict=True):
            name = display_token(c.target) if c.token is not None else c.target
            e["column"] = f"#{c.example}: {name}" if many else name
        meta["completeness"] = entries
    if meta.get("sink"):
        inputs = [
            int(e) + int(st)
            for r, st in zip(results, starts, strict=True)
            for e in (r.meta.get("sink") or {}).get("inputs", [])
        ]
        meta["sink"] = {**meta["sink"], "inputs": inputs}
    if "baseline_kept" in meta:
        meta["baseline_kept"] = {
            str(int(k) + int(st)): v
            for r, st in zip(results, starts, strict=True)
            for k, v in r.meta["baseline_kept"].items()
        }
    if "steps" in meta:
        meta["steps"] = [s for r in results for s in r.meta["steps"]]
    return meta


_MERGERS: dict[str, Any] = {
    "attribution": _merge_attribution,
    "flip_rate": merge_flip,
    "lens": merge_lens,
    "anchor_similarity": merge_anchor,
}
