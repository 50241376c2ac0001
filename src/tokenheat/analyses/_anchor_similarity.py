"""Anchor similarity: how alike the hidden state at an anchor token is to the states before it.

For each occurrence of the anchor at position ``m`` and each layer ``l``:
``cos(h_l[m], h_l[m - T])`` for ``T = 1..max_distance``, averaged over occurrences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._common import (
    check_flag,
    check_positive_int,
    layer_label,
    mean_with_counts,
    progress_bar,
    select_layers,
)
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale
from tokenheat.models._state import preserves_model_state

__all__ = ["Occurrence", "anchor_arrays", "anchor_similarity", "find_anchors"]


@dataclass(frozen=True)
class Occurrence:
    """One anchor occurrence: text ``example``, token span ``[first, last]``; ``last`` is ``m``."""

    example: int
    first: int
    last: int


def find_anchors(encoded: Sequence[Any], anchor: Any, tokenizer: Any = None) -> list[Occurrence]:
    """Locate the anchor in each encoded text.

    A string anchor is found by **character offsets**: each non-overlapping occurrence of
    the string in the text maps to the tokens whose character spans overlap it, and ``m`` is
    the last of them (so ``"_PAUSE_"`` split into ``"Ġ_" "PAUSE" "_"`` gives the ``"_"``).
    Texts without an offset mapping (slow tokenizers) fall back to matching the token ids of
    ``anchor`` (with and without a leading space, via ``tokenizer``) as a subsequence. An
    occurrence whose last token was cut by truncation is skipped. A list anchor gives the
    positions ``m`` of each text directly (negative ones count from the end).

    Raises
    ------
    ValueError
        If a list anchor's length or positions do not fit the texts.
    TypeError
        If ``anchor`` is neither a string nor a list of position lists.
    """
    out: list[Occurrence] = []
    if isinstance(anchor, str):
        if not anchor:
            raise ValueError("anchor is an empty string; pass the anchor text, e.g. '_PAUSE_'")
        for ex, e in enumerate(encoded):
            if e.offsets is not None:
                spans = _offset_spans(e.text, e.offsets, anchor)
            else:
                spans = _id_spans(e.ids, _anchor_ids(tokenizer, anchor))
            out.extend(Occurrence(ex, a, b) for a, b in spans)
        return out
    if not isinstance(anchor, Sequence) or not all(
        isinstance(p, Sequence) and not isinstance(p, str) for p in anchor
    ):
        raise TypeError(
            "anchor must be a string (e.g. '_PAUSE_') or a list with one list of token "
            f"positions per text, got {type(anchor).__name__}"
        )
    if len(anchor) != len(encoded):
        raise ValueError(
            f"anchor has {len(anchor)} position lists but there are {len(encoded)} texts; "
            "pass one list per text"
        )
    for ex, (positions, e) in enumerate(zip(anchor, encoded, strict=True)):
        for p in positions:
            if (
                isinstance(p, bool)
                or not isinstance(p, int | np.integer)
                or not -len(e) <= p < len(e)
            ):
                raise ValueError(
                    f"anchor[{ex}] has position {p!r}, outside text {ex} of {len(e)} tokens"
                )
            m = int(p) % len(e)
            out.append(Occurrence(ex, m, m))
    return out


def _offset_spans(
    text: str, offsets: Sequence[tuple[int, int]], anchor: str
) -> list[tuple[int, int]]:
    spans = []
    start = text.find(anchor)
    while start >= 0:
        end = start + len(anchor)
        hits = [j for j, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        if any(offsets[j][0] <= end - 1 < offsets[j][1] for j in hits):
            spans.append((min(hits), max(hits)))
        start = text.find(anchor, end)
    return spans


def _anchor_ids(tokenizer: Any, anchor: str) -> list[list[int]]:
    if tokenizer is None:
        raise ValueError(
            "the texts have no character offsets (slow tokenizer); pass tokenizer= so the "
            "anchor can be matched by token ids, or give anchor as positions per text"
        )
    variants = []
    for text in (anchor, " " + anchor):
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if ids and ids not in variants:
            variants.append(ids)
    return variants


def _id_spans(ids: Sequence[int], variants: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    spans, i = [], 0
    while i < len(ids):
        hit = next((v for v in variants if list(ids[i : i + len(v)]) == list(v)), None)
        if hit is None:
            i += 1
        else:
            spans.append((i, i + len(hit) - 1))
            i += len(hit)
    return spans


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
    """The numeric core of :func:`anchor_similarity`.

    Returns
    -------
    cosine : (n_occ, R, D) float64, NaN where ``m - T < 0``
    norm_anchor : (n_occ, R) float64
    norm_past : (n_occ, R, D) float64, NaN where ``m - T < 0``
    """
    import torch

    n, rows, dist = len(occurrences), len(keys), max_distance
    cos = np.full((n, rows, dist), np.nan)
    norm_a, norm_p = np.full((n, rows), np.nan), np.full((n, rows, dist), np.nan)
    by_example: dict[int, list[int]] = {}
    for k, occ in enumerate(occurrences):
        by_example.setdefault(occ.example, []).append(k)
    wanted = [i for i in range(len(encoded)) if i in by_example]
    sub = [encoded[i] for i in wanted]
    blocks = [int(k) for k in keys if k != "emb"]
    batches = adapter.batches(sub, batch_size)
    total = -(-len(sub) // batch_size)
    for batch in progress_bar(batches, total=total, desc="anchor similarity", enabled=progress):
        with adapter.capture(blocks, embeddings="emb" in keys) as store:
            adapter.forward(batch)
        for b, j in enumerate(batch.index):
            mine = by_example[wanted[j]]
            last = [occurrences[k].last for k in mine]
            lo, hi = max(0, min(last) - dist), max(last) + 1  # only the window is needed
            real = batch.valid(b)
            h = torch.stack([store[key][b, real][lo:hi] for key in keys]).double()
            if means is not None:
                h = h - torch.stack([means[key] for key in keys])[:, None, :]
            norms = h.norm(dim=-1).cpu().numpy()  # (R, window)
            for k, m_abs in zip(mine, last, strict=True):
                m = m_abs - lo
                t = np.arange(1, min(dist, m_abs) + 1)
                dots = torch.einsum("rtd,rd->rt", h[:, m - t], h[:, m]).cpu().numpy()
                na, npast = norms[:, m], norms[:, m - t]
                denom = na[:, None] * npast
                with np.errstate(invalid="ignore", divide="ignore"):
                    cos[k, :, : t.size] = np.where(denom > 0, dots / denom, np.nan)
                norm_a[k], norm_p[k, :, : t.size] = na, npast
    return cos, norm_a, norm_p


def _layer_means(
    adapter: Any, encoded: Sequence[Any], keys: Sequence[int | str], batch_size: int, progress: bool
) -> dict[int | str, Any]:
    """Per-layer mean hidden state over every real position but the first of every text
    (float64). The first position is an attention sink in most LMs, with an activation norm
    ~100x the others (SmolLM2: ~20,000 vs a median of 176 at L16), so including it would make
    the "mean" that one vector."""
    import torch

    sums: dict[int | str, Any] = {}
    count = 0
    blocks = [int(k) for k in keys if k != "emb"]
    total = -(-len(encoded) // batch_size)
    batches = adapter.batches(encoded, batch_size)
    for batch in progress_bar(batches, total=total, desc="mean hidden state", enabled=progress):
        with adapter.capture(blocks, embeddings="emb" in keys) as store:
            adapter.forward(batch)
        mask = batch.attention_mask.bool()
        first = mask.int().argmax(dim=1)  # first real position of each row (left padding)
        mask[torch.arange(mask.shape[0], device=mask.device), first] = False
        for k in keys:
            part = store[k][mask].double().sum(0)
            sums[k] = part if k not in sums else sums[k] + part
        count += int(mask.sum())
    return {k: v / count for k, v in sums.items()}


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
    contexts_per_cell: int = 50,
    progress: bool = True,
) -> TokenMatrix:
    """Cosine similarity of the hidden state at an anchor token with the states before it.

    For each anchor occurrence at position ``m`` (the last token of the anchor) and each
    layer: ``cos(h[m], h[m - T])`` for ``T = 1..max_distance`` (nearest first), NaN where
    ``m - T < 0``, averaged over occurrences.

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
    center : False or "mean"
        ``"mean"`` subtracts each layer's mean hidden state over every position of every
        text but the first (an attention sink whose huge norm would dominate the mean)
        before the cosine (one extra forward pass over the texts).
    batch_size : int
        Texts per forward pass.
    device, dtype : optional
        Run the model there / in that dtype; it is moved back afterwards.
    truncate : bool
        Cut texts longer than the model's context instead of raising.
    contexts_per_cell : int
        At most this many occurrences contribute contexts to a cell (the first ones).
    progress : bool
        Show a progress bar.

    Returns
    -------
    TokenMatrix
        Rows = layers (kind ``"layer"``), cols = distance (kind ``"distance"``), values = mean
        cosine, ``counts`` = occurrences per cell, cell text = the token at ``m - T`` when
        there is one occurrence; contexts mark the anchor span and the past token, with
        ``norm_anchor``, ``norm_past``, ``cosine``.

    Raises
    ------
    ValueError
        If the anchor occurs in none of the texts, or for a bad argument.
    TypeError
        For a model that is neither a transformers causal LM nor a HookedTransformer, or
        no tokenizer.

    Examples
    --------
    >>> m = th.anchor_similarity(model, tok, ["a b _PAUSE_ c"], anchor="_PAUSE_")  # doctest: +SKIP
    >>> m.cols[:3]  # doctest: +SKIP
    ['1', '2', '3']
    """
    from tokenheat.models._select import adapter_for

    max_distance = check_positive_int("max_distance", max_distance)
    check_positive_int("batch_size", batch_size)
    check_positive_int("contexts_per_cell", contexts_per_cell, minimum=0)
    check_flag("progress", progress)
    if center not in (False, None, "mean"):
        raise ValueError(f"center must be False or 'mean', got {center!r}")
    adapter = adapter_for(model, tokenizer)
    keys = select_layers(layers, adapter.n_layers, allow_emb=True)
    encoded = adapter.encode(texts, truncate=truncate)
    occurrences = find_anchors(encoded, anchor, adapter.tokenizer)
    if not occurrences:
        raise ValueError(
            f"anchor={anchor!r} was not found in any of the {len(encoded)} texts; pass a "
            "string that occurs in them, or anchor positions per text"
        )
    with adapter.placed(device, dtype):
        means = (
            _layer_means(adapter, encoded, keys, batch_size, progress) if center == "mean" else None
        )
        cos, norm_a, norm_p = anchor_arrays(
            adapter, encoded, occurrences, keys,
            max_distance=max_distance, means=means, batch_size=batch_size, progress=progress,
        )  # fmt: skip
    valid = ~np.isnan(cos)
    counts = valid.sum(0).astype(np.float64)
    values = mean_with_counts(np.where(valid, cos, 0.0).sum(0), counts)
    cell_text = None
    if len(occurrences) == 1:
        occ = occurrences[0]
        toks = encoded[occ.example].tokens
        row = [
            toks[occ.last - t] if occ.last - t >= 0 else None for t in range(1, max_distance + 1)
        ]
        cell_text = np.array([row] * len(keys), dtype=object)
    return TokenMatrix(
        values,
        rows=[layer_label(k) for k in keys],
        cols=[str(t) for t in range(1, max_distance + 1)],
        row_kind="layer",
        col_kind="distance",
        col_title="distance T before the anchor",
        title="Anchor similarity: cos(h[m], h[m−T])" + (" (mean-centred)" if means else ""),
        value_label="cosine similarity",
        cell_text=cell_text,
        counts=counts,
        scale=ColorScale.diverging("RdBu", center=0.0, domain=(-1.0, 1.0)),
        corpus=Corpus.from_tokens([e.tokens for e in encoded], texts=[e.text for e in encoded]),
        contexts=_contexts(occurrences, cos, norm_a, norm_p, contexts_per_cell),
        meta={
            "analysis": "anchor_similarity",
            "anchor": anchor if isinstance(anchor, str) else "positions",
            "n_occurrences": len(occurrences),
            "contexts_per_cell": contexts_per_cell,
            "center": "mean" if means else None,
            "model": adapter.name,
            "family": adapter.family,
            "truncated_tokens": [e.truncated for e in encoded],
        },
    )


def _contexts(
    occurrences: Sequence[Occurrence],
    cos: np.ndarray,
    norm_a: np.ndarray,
    norm_p: np.ndarray,
    limit: int,
) -> Contexts | None:
    if limit == 0:
        return None
    k, r, t = np.nonzero(~np.isnan(cos[:limit]))
    first = np.array([o.first for o in occurrences[:limit]], dtype=np.int64)[k]
    last = np.array([o.last for o in occurrences[:limit]], dtype=np.int64)[k]
    example = np.array([o.example for o in occurrences[:limit]], dtype=np.int64)[k]
    past = last - (t + 1)
    return Contexts(
        r, t, example, first, last + 1,
        start2=past, end2=past + 1,
        numeric={"norm_anchor": norm_a[k, r], "norm_past": norm_p[k, r, t], "cosine": cos[k, r, t]},
    )  # fmt: skip
