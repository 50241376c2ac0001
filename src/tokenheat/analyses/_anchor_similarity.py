"""Anchor similarity: how alike the hidden state at an anchor token is to the states before it.

For each occurrence of the anchor and each layer ``l``: ``cos(h_l[m], h_l[f - T])`` for
``T = 1..max_distance``, averaged over occurrences, where ``m`` is the anchor's last token
(the first position that has read the whole anchor) and ``f`` its first. A multi-token anchor
counts as one unit: its own pieces are not past tokens, so ``T = 1`` is the token just
before the anchor (SmolLM2 splits ``_PAUSE_`` into ``Ġ_ PA USE _``; comparing ``_`` with
``Ġ_`` would only measure the anchor against itself).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._anchor_tally import AnchorTally, HiddenMeans, build_anchor_matrix
from tokenheat.analyses._anchors import Occurrence, find_anchors
from tokenheat.analyses._common import (
    check_flag,
    check_positive_int,
    contexts_cap,
    layer_label,
    progress_bar,
    select_layers,
)
from tokenheat.analyses._hidden_means import hidden_means, hidden_means_shard, layer_sums
from tokenheat.analyses._shards import tokenizer_name
from tokenheat.core._checks import check_int_range, fail
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._state import preserves_model_state

__all__ = [
    "HiddenMeans",
    "Occurrence",
    "anchor_arrays",
    "anchor_similarity",
    "find_anchors",
    "hidden_means",
    "iter_anchor",
]


# Same signature as iter_anchor on purpose: the eager (array) form of it, for tests and benchmarks.
def anchor_arrays(
    adapter: Any,
    encoded: Sequence[Any],
    occurrences: Sequence[Occurrence],
    keys: Sequence[int | str],
    *,
    max_distance: int,
    means: dict[int | str, Any] | None = None,
    batch_size: int = 8,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numeric core of :func:`anchor_similarity`, every occurrence's arrays at once.

    Returns
    -------
    cosine : (n_occ, R, D) float64, ``cos(h[m], h[f - T])``, NaN where ``f - T < 0``
    norm_anchor : (n_occ, R) float64
    norm_past : (n_occ, R, D) float64, NaN where ``f - T < 0``
    """
    n, rows, dist = len(occurrences), len(keys), max_distance
    cos = np.full((n, rows, dist), np.nan)
    norm_a, norm_p = np.full((n, rows), np.nan), np.full((n, rows, dist), np.nan)
    for k, c, na, npast in iter_anchor(
        adapter, encoded, occurrences, keys, max_distance=max_distance, means=means,
        batch_size=batch_size, progress=progress,
    ):  # fmt: skip
        cos[k], norm_a[k], norm_p[k] = c, na, npast
    return cos, norm_a, norm_p


# Same signature as anchor_arrays on purpose: that is the eager (array) form of this one.
def iter_anchor(
    adapter: Any,
    encoded: Sequence[Any],
    occurrences: Sequence[Occurrence],
    keys: Sequence[int | str],
    *,
    max_distance: int,
    means: dict[int | str, Any] | None = None,
    batch_size: int = 8,
    progress: bool = False,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """``(occurrence index, cosine (R, D), norm_anchor (R,), norm_past (R, D))`` per
    occurrence, batch by batch (NaN where ``m - T < 0``); only the texts holding an
    occurrence run, and only their window ``[min m - D, max m]`` is read."""
    import torch

    rows, dist = len(keys), max_distance
    by_example: dict[int, list[int]] = {}
    for k, occ in enumerate(occurrences):
        by_example.setdefault(occ.example, []).append(k)
    wanted = [i for i in range(len(encoded)) if i in by_example]
    sub = [encoded[i] for i in wanted]
    blocks = [int(k) for k in keys if k != "emb"]
    centre = None
    batches = adapter.batches(sub, batch_size)
    total = -(-len(sub) // batch_size)
    for batch in progress_bar(batches, total=total, desc="anchor similarity", enabled=progress):
        with adapter.capture(blocks, embeddings="emb" in keys) as store:
            adapter.forward(batch)
        if means is not None and centre is None:
            centre = torch.stack([torch.as_tensor(means[key]) for key in keys])
            centre = centre.to(device=store[keys[0]].device, dtype=torch.float64)[:, None, :]
        for b, j in enumerate(batch.index):
            mine = by_example[wanted[j]]
            last = [occurrences[k].last for k in mine]
            firsts = [occurrences[k].first for k in mine]
            lo, hi = max(0, min(firsts) - dist), max(last) + 1  # only the window is needed
            real = batch.valid(b)
            h = torch.stack([store[key][b, real][lo:hi] for key in keys]).double()
            if centre is not None:
                h = h - centre
            norms = h.norm(dim=-1).cpu().numpy()  # (R, window)
            for k, m_abs, f_abs in zip(mine, last, firsts, strict=True):
                m, f = m_abs - lo, f_abs - lo
                t = np.arange(1, min(dist, f_abs) + 1)
                dots = torch.einsum("rtd,rd->rt", h[:, f - t], h[:, m]).cpu().numpy()
                na, npast = norms[:, m], norms[:, f - t]
                cos, norm_p = np.full((rows, dist), np.nan), np.full((rows, dist), np.nan)
                denom = na[:, None] * npast
                with np.errstate(invalid="ignore", divide="ignore"):
                    cos[:, : t.size] = np.where(denom > 0, dots / denom, np.nan)
                norm_p[:, : t.size] = npast
                yield k, cos, na.astype(np.float64), norm_p


# The parameter docs below repeat lens's on purpose: each public analysis documents itself.
@preserves_model_state
def anchor_similarity(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    anchor: str | Sequence[Sequence[int]] = "_PAUSE_",
    max_distance: int = 32,
    layers: Any = None,
    center: Literal[False, "mean"] | None = False,
    batch_size: int = 8,
    device: Any = None,
    dtype: Any = None,
    truncate: bool = False,
    max_contexts_per_cell: int = 50,
    occurrence: int | None = None,
    progress: bool = True,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
    contexts_per_cell: int | None = None,
) -> TokenMatrix:
    """Cosine similarity of the hidden state at an anchor token with the states before it.

    For each anchor occurrence and each layer: ``cos(h[m], h[f - T])`` for
    ``T = 1..max_distance`` (nearest first), NaN where ``f - T < 0``, averaged over
    occurrences. ``m`` is the anchor's last token (the first to have read all of it) and
    ``f`` its first: a multi-token anchor counts as one unit, so its own pieces are never
    "past tokens" and ``T = 1`` is the token just before the anchor.

    Parameters
    ----------
    model : transformers causal LM or transformer_lens.HookedTransformer
        For a HookedTransformer the rows are ``hook_resid_pre`` of block 0 and
        ``hook_resid_post`` of each block, after the model's weight processing
        (``center_writing_weights`` centres them; load with it off to match Hugging Face).
    tokenizer : transformers tokenizer, or None
        ``None`` uses a HookedTransformer's own ``model.tokenizer``.
    texts : str or list of str
    anchor : str or list of list of int
        The anchor text, found by character offsets (see :func:`find_anchors`), or the
        anchor positions ``m`` of each text.
    max_distance : int
        How far back to look (columns ``"1".."max_distance"``).
    layers : sequence of int or "emb", optional
        Rows: ``"emb"`` (the input of block 0) and block outputs (default all). Block rows
        are the raw residual stream after each block, the last one *before* the final norm
        (HF's ``hidden_states[-1]`` is after it).
    center : False, "mean" or HiddenMeans
        A :class:`HiddenMeans` (from :func:`hidden_means`, possibly merged) subtracts those
        means. ``"mean"`` subtracts each layer's mean hidden state over every position of every
        text but the first (an attention sink whose huge norm would dominate the mean)
        before the cosine (one extra forward pass over the texts).
    batch_size : int
        Texts per forward pass.
    device, dtype : optional
        Run the model there / in that dtype; it is moved back afterwards.
    truncate : bool
        Cut texts longer than the model's context instead of raising.
    max_contexts_per_cell : int
        At most this many occurrences contribute contexts to a cell (the first ones).
    occurrence : int, optional
        The single-text view: only this occurrence (index into all occurrences found, in
        text order; negative counts from the end), with the past tokens as column labels
        (kind ``"position"``, nearest first) and printed in the cells. Default: the mean
        over every occurrence, columns labelled by distance.
    progress : bool
        Show a progress bar.
    engine : {"local", "ray"}
        ``"ray"`` shards the texts (a list, or a ``ray.data.Dataset`` with a ``text``
        column) over a Ray actor pool and merges the shards (:func:`tokenheat.merge`);
        ``center="mean"`` then runs as two mergeable passes (:func:`hidden_means` first).
        ``model`` may be a loader (a local path, or a zero-argument callable returning
        ``(model, tokenizer)``, with ``tokenizer=None``).
    ray_options : dict, optional
        For ``engine="ray"``: ``concurrency``, ``num_gpus``, ``num_cpus``, ``batch_size``.
    contexts_per_cell : int, optional
        Deprecated name of ``max_contexts_per_cell``.

    Memory is O(layers x distances) plus the first ``max_contexts_per_cell`` occurrences'
    arrays: each occurrence is added to running sums as its batch comes back.

    Returns
    -------
    TokenMatrix
        Rows = layers (kind ``"layer"``), cols = distance (kind ``"distance"``; the past
        tokens with ``occurrence=``), values = mean cosine, ``counts`` = occurrences per cell,
        cell text = the token at ``f - T`` when there is one occurrence; contexts mark the
        anchor span and the past token, with ``norm_anchor``, ``norm_past``, ``cosine``. A
        centred matrix's colour scale is symmetric about 0 over its values' range.

    Raises
    ------
    tokenheat.errors.ArgumentError
        (a ``ValueError``) If the anchor occurs in none of the texts, or for a bad argument
        value.
    tokenheat.errors.ArgumentTypeError
        (a ``TypeError``) For a model that is neither a transformers causal LM nor a
        HookedTransformer, no tokenizer, or an argument of the wrong type.

    Examples
    --------
    >>> m = th.anchor_similarity(model, tok, ["a b _PAUSE_ c"], anchor="_PAUSE_")  # doctest: +SKIP
    >>> m.cols[:3]  # doctest: +SKIP
    ['1', '2', '3']
    """
    if engine != "local" or ray_options is not None:
        options = dict(
            anchor=anchor, max_distance=max_distance, layers=layers, center=center,
            batch_size=batch_size, device=device, dtype=dtype, truncate=truncate,
            max_contexts_per_cell=contexts_cap(max_contexts_per_cell, contexts_per_cell),
            occurrence=occurrence,
        )  # fmt: skip
        return _anchor_elsewhere(model, tokenizer, texts, engine, ray_options, options, progress)
    cap = contexts_cap(max_contexts_per_cell, contexts_per_cell)
    return anchor_shard(
        model, tokenizer, texts, anchor=anchor, max_distance=max_distance, layers=layers,
        center=center, batch_size=batch_size, device=device, dtype=dtype, truncate=truncate,
        max_contexts_per_cell=cap, occurrence=occurrence, progress=progress, allow_empty=False,
    )  # fmt: skip


def _anchor_elsewhere(
    model: Any,
    tokenizer: Any,
    texts: Any,
    engine: Any,
    ray_options: Any,
    options: dict[str, Any],
    progress: bool,
) -> TokenMatrix:
    """:func:`anchor_similarity` on an engine: ``center="mean"`` as a first pass of
    :func:`hidden_means` over the shards, merged, then the similarity pass."""
    from tokenheat.analyses._merge import merge
    from tokenheat.engines import run_engine

    def run(shard: Any, opts: dict[str, Any]) -> Any:
        return run_engine(
            "anchor_similarity", engine, ray_options, model, texts, tokenizer=tokenizer,
            shard=shard, options=opts, merge=merge, progress=progress,
        )  # fmt: skip

    if options["center"] == "mean":
        keys = ("layers", "batch_size", "device", "dtype", "truncate")
        options = {**options, "center": run(hidden_means_shard, {k: options[k] for k in keys})}
    result = run(anchor_similarity_shard, options)
    if not result.meta["n_occurrences"]:
        fail(
            "anchor",
            "a string that occurs in the texts",
            options["anchor"],
            f"it occurs in none of the {len(result.corpus)} texts",
        )
    return result


def anchor_similarity_shard(
    model: Any, tokenizer: Any, texts: list[str], options: dict[str, Any], first: int | None = None
) -> TokenMatrix:
    """One shard of a distributed :func:`anchor_similarity` (it may hold no anchor)."""
    return anchor_shard(model, tokenizer, texts, progress=False, allow_empty=True, **options)


def anchor_shard(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    anchor: Any,
    max_distance: int,
    layers: Any,
    center: Any,
    batch_size: int,
    device: Any,
    dtype: Any,
    truncate: bool,
    max_contexts_per_cell: int,
    progress: bool,
    allow_empty: bool,
    occurrence: int | None = None,
) -> TokenMatrix:
    """:func:`anchor_similarity` in process; ``allow_empty`` (a shard of a distributed run)
    gives an all-missing matrix instead of raising when the anchor does not occur."""
    from tokenheat.models._select import adapter_for

    max_distance = check_positive_int("max_distance", max_distance)
    check_positive_int("batch_size", batch_size)
    check_flag("progress", progress)
    if not (center in (False, None, "mean") or isinstance(center, HiddenMeans)):
        fail("center", "False, 'mean' or a HiddenMeans (th.analyses.hidden_means)", center)
    adapter = adapter_for(model, tokenizer)
    keys = select_layers(layers, adapter.n_layers, allow_emb=True)
    encoded = adapter.encode(texts, truncate=truncate)
    occurrences = _chosen(find_anchors(encoded, anchor, adapter.tokenizer), occurrence)
    if not occurrences and not allow_empty:
        fail(
            "anchor",
            "a string that occurs in the texts, or anchor positions per text",
            anchor,
            f"it occurs in none of the {len(encoded)} texts",
        )
    tally = AnchorTally(len(keys), max_distance, max_contexts_per_cell)
    with adapter.placed(device, dtype):
        means, n_centre = _centre(adapter, encoded, keys, center, batch_size, progress)
        for k, cos, na, npast in iter_anchor(
            adapter, encoded, occurrences, keys,
            max_distance=max_distance, means=means, batch_size=batch_size, progress=progress,
        ):  # fmt: skip
            tally.add(k, occurrences[k], cos, na, npast)
    cols, col_kind, cell_text = _columns(occurrences, encoded, len(keys), max_distance, occurrence)
    return build_anchor_matrix(
        tally.state(),
        rows=[layer_label(k) for k in keys],
        cols=cols,
        col_kind=col_kind,
        example=occurrences[0].example if occurrence is not None and occurrences else None,
        corpus=Corpus.from_tokens([e.tokens for e in encoded], texts=[e.text for e in encoded]),
        contexts=tally.contexts(),
        cell_text=cell_text,
        meta={
            "analysis": "anchor_similarity",
            "anchor": anchor if isinstance(anchor, str) else "positions",
            "n_occurrences": len(occurrences),
            "center": "mean" if means is not None else None,
            "center_positions": n_centre,
            "occurrence": occurrence,
            "distance_from": "first anchor token",
            "model": adapter.name,
            "tokenizer": tokenizer_name(adapter.tokenizer),
            "family": adapter.family,
            "max_contexts_per_cell": max_contexts_per_cell,
            "truncated_tokens": [e.truncated for e in encoded],
        },
    )


def _centre(
    adapter: Any, encoded: Any, keys: list[Any], center: Any, batch_size: int, progress: bool
) -> tuple[dict[Any, Any] | None, int | None]:
    """The per-layer means to subtract (and how many positions they cover), or None."""
    if isinstance(center, HiddenMeans):
        mine = [str(k) for k in keys]
        if center.meta.get("keys") != mine:
            fail(
                "center",
                f"the means of this run's layers {mine}",
                given=f"the means of the layers {center.meta.get('keys')}",
                hint="compute hidden_means with the same layers=",
            )
        return {k: center.sums[k] / center.count for k in keys}, int(center.count)
    if center != "mean":
        return None, None
    sums, count = layer_sums(adapter, encoded, keys, batch_size, progress)
    return {k: v / count for k, v in sums.items()}, count


def _chosen(found: list[Occurrence], occurrence: Any) -> list[Occurrence]:
    """Every occurrence, or only the one ``occurrence=`` names."""
    if occurrence is None:
        return found
    if isinstance(occurrence, bool) or not isinstance(occurrence, int | np.integer):
        fail("occurrence", "an int or None", occurrence, kind=ArgumentTypeError)
    if not found:
        return []
    hint = f"the anchor occurs {len(found)} times"
    check_int_range("occurrence", occurrence, -len(found), len(found) - 1, hint)
    return [found[occurrence]]


def _columns(
    occurrences: Sequence[Occurrence],
    encoded: Sequence[Any],
    n_rows: int,
    max_distance: int,
    occurrence: int | None,
) -> tuple[list[str], str, np.ndarray | None]:
    """Column labels, column kind and cell text: distances, or one text's past tokens."""
    distances = [str(t) for t in range(1, max_distance + 1)]
    if len(occurrences) != 1:
        return distances, "distance", None
    occ = occurrences[0]
    toks = encoded[occ.example].tokens
    row = [toks[occ.first - t] if occ.first - t >= 0 else None for t in range(1, max_distance + 1)]
    cell_text = np.array([row] * n_rows, dtype=object)
    if occurrence is None:
        return distances, "distance", cell_text
    cols = [tok if tok is not None else f"(T={t}: before the text)" for t, tok in enumerate(row, 1)]
    return cols, "position", cell_text
