"""The flip-rate matrix from the running counts: rows chosen and ranked, contexts kept."""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenheat.analyses._perturb import Tally, bucket_labels, wilson_interval
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._display import Display
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale
from tokenheat.errors import ArgumentError

#: Cells backed by fewer occurrences than this are drawn faded (their rate is a guess).
THIN_CELL = 3


def choose_rows(tally: Tally, *, min_count: int, top_k: int, rank: str, meta: dict) -> np.ndarray:
    """Row indices of the tally kept in the matrix, in display order (best first)."""
    n_keys = len(tally.index)
    total = tally.occ[:n_keys].sum(1)
    total_flips = tally.flips[:n_keys].sum(1)
    eligible = np.flatnonzero(total >= min_count)
    if not eligible.size:
        raise ArgumentError(
            f"no {meta['unit']} occurs at least min_count={min_count} times in the "
            f"{meta['n_texts_used']} texts used (of {meta['n_texts']}); lower min_count or "
            "pass more texts" + (" (or other words=)" if meta.get("words") else "")
        )
    keys = list(tally.index)
    rate = total_flips[eligible] / total[eligible]
    names = np.asarray([keys[i] for i in eligible], dtype=object)
    if rank == "rate":
        order = np.lexsort((names, -total[eligible], -rate))
    else:
        order = np.lexsort((names, -rate, -total[eligible]))
    return eligible[order[:top_k]]


def kept_contexts(tally: Tally, chosen: np.ndarray, labels: list[str]) -> Contexts:
    """The capped contexts of the chosen rows, re-indexed to matrix rows."""
    n_keys, n_buckets = len(tally.index), tally.n_buckets
    rank_of = np.full(n_keys, -1, np.int64)
    rank_of[chosen] = np.arange(chosen.size)
    cell = np.frombuffer(tally.ctx_cell, np.int64)
    keep = np.flatnonzero(rank_of[cell // n_buckets] >= 0) if cell.size else np.zeros(0, np.int64)
    start = np.frombuffer(tally.ctx_start, np.int32)[keep]
    orig = np.frombuffer(tally.ctx_orig, np.int32)[keep]
    new = np.frombuffer(tally.ctx_new, np.int32)[keep]
    label_arr = np.asarray(labels, dtype=object)
    return Contexts(
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


def build_matrix(
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
) -> TokenMatrix:
    """The :func:`~tokenheat.flip_rate` matrix of ``tally`` (see its Returns)."""
    chosen = choose_rows(tally, min_count=min_count, top_k=top_k, rank=rank, meta=meta)
    occ_c = tally.occ[chosen].astype(np.float64)
    flips_c = tally.flips[chosen].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(occ_c > 0, flips_c / occ_c, np.nan)
    ci_low, ci_high = wilson_interval(flips_c, occ_c)
    n_keys = len(tally.index)
    n_flips, n_occ = int(tally.flips[:n_keys].sum()), int(tally.occ[:n_keys].sum())
    meta = {**meta, "n_flips": n_flips, "overall_flip_rate": n_flips / max(1, n_occ)}
    unit, keys = meta["unit"], list(tally.index)
    target = f" (predicted {meta['target_class']})" if meta["target_class"] is not None else ""
    vocab, ids, offsets = corpus
    return TokenMatrix(
        values,
        rows=[keys[i] for i in chosen],
        cols=bucket_labels(tally.n_buckets),
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
        contexts=kept_contexts(tally, chosen, labels),
        display=Display(min_count=THIN_CELL),
        meta=meta,
    )
