"""Flip rate's tallies: every unit's counts per bucket and every cell's first contexts, the
matrix drawn from them (``top_k``/``min_count`` applied here), and their merge across shards."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.analyses._perturb import Tally, bucket_labels, wilson_interval
from tokenheat.analyses._shards import concat_corpora, corpora_of, first_per_cell, summed
from tokenheat.core import ColorScale, Contexts, Corpus, Display, TokenMatrix
from tokenheat.core._checks import fail

__all__ = ["build_flip_matrix", "merge_flip", "tally_state"]

#: Cells backed by fewer occurrences than this are drawn faded (their rate is a guess).
THIN_CELL = 3


def tally_state(tally: Tally) -> dict[str, Any]:
    """Everything :func:`tokenheat.merge` needs of a flip-rate run: every unit's counts per
    bucket and the capped contexts of every cell (not only of the rows shown)."""
    n = len(tally.index)

    def grab(buf: array, dtype: Any) -> np.ndarray:
        return np.frombuffer(buf, dtype).copy() if len(buf) else np.zeros(0, dtype)

    return {
        "keys": list(tally.index),
        "n_buckets": tally.n_buckets,
        "occ": tally.occ[:n].copy(),
        "flips": tally.flips[:n].copy(),
        "ctx_cell": grab(tally.ctx_cell, np.int64),
        "ctx_example": grab(tally.ctx_example, np.int32).astype(np.int64),
        "ctx_start": grab(tally.ctx_start, np.int32).astype(np.int64),
        "ctx_orig": grab(tally.ctx_orig, np.int32).astype(np.int64),
        "ctx_new": grab(tally.ctx_new, np.int32).astype(np.int64),
        "ctx_p_orig": grab(tally.ctx_p_orig, np.float32).astype(np.float64),
        "ctx_p_new": grab(tally.ctx_p_new, np.float32).astype(np.float64),
    }


def _chosen_rows(state: dict[str, Any], meta: dict[str, Any], top_k: int) -> np.ndarray:
    """Rows shown: units with at least ``min_count`` occurrences, ranked, the first ``top_k``."""
    occ, flips, keys = state["occ"], state["flips"], state["keys"]
    total, total_flips = occ.sum(1), flips.sum(1)
    eligible = np.flatnonzero(total >= meta["min_count"])
    if not eligible.size:
        fail(
            "min_count",
            f"at most {int(total.max(initial=0))} (the most occurrences of any {meta['unit']} "
            f"in the {meta['n_texts_used']} texts used, of {meta['n_texts']})",
            meta["min_count"],
            "lower min_count or pass more texts",
        )
    rate = total_flips[eligible] / total[eligible]
    names = np.asarray([keys[i] for i in eligible], dtype=object)
    if meta["rank"] == "rate":
        order = np.lexsort((names, -total[eligible], -rate))
    else:
        order = np.lexsort((names, -rate, -total[eligible]))
    return eligible[order[:top_k]]


def _shown_contexts(state: dict[str, Any], chosen: np.ndarray, labels: list[str]) -> Any:

    n_buckets = state["n_buckets"]
    rank_of = np.full(len(state["keys"]), -1, np.int64)
    rank_of[chosen] = np.arange(chosen.size)
    cell = np.asarray(state["ctx_cell"], np.int64)
    keep = np.flatnonzero(rank_of[cell // n_buckets] >= 0) if cell.size else np.zeros(0, np.int64)
    start = np.asarray(state["ctx_start"], np.int64)[keep]
    orig = np.asarray(state["ctx_orig"], np.int64)[keep]
    new = np.asarray(state["ctx_new"], np.int64)[keep]
    label_arr = np.asarray(labels, dtype=object)
    return Contexts(
        row=rank_of[cell[keep] // n_buckets],
        col=cell[keep] % n_buckets,
        example=np.asarray(state["ctx_example"], np.int64)[keep],
        start=start,
        end=start + 1,
        numeric={
            "p_orig": np.asarray(state["ctx_p_orig"], np.float64)[keep],
            "p_new": np.asarray(state["ctx_p_new"], np.float64)[keep],
            "flipped": (orig != new).astype(np.float32),
        },
        labels={"orig_label": list(label_arr[orig]), "new_label": list(label_arr[new])},
    )


def build_flip_matrix(
    state: dict[str, Any],
    *,
    corpus: Corpus,
    top_k: int,
    title: str | None,
    meta: dict[str, Any],
) -> TokenMatrix:
    """The flip-rate matrix of a tally (one run's or merged shards'); ``top_k`` and
    ``min_count`` (in ``meta``) are applied here, so the full tally stays in the result's
    ``meta["tallies"]`` for :func:`tokenheat.merge`."""
    chosen = _chosen_rows(state, meta, top_k)
    occ, flips, keys = state["occ"], state["flips"], state["keys"]
    occ_c, flips_c = occ[chosen].astype(np.float64), flips[chosen].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(occ_c > 0, flips_c / occ_c, np.nan)
    ci_low, ci_high = wilson_interval(flips_c, occ_c)
    unit = meta["unit"]
    target = f" (predicted {meta['target_class']})" if meta["target_class"] is not None else ""
    meta = {
        **meta,
        "top_k": top_k,
        "n_flips": int(flips.sum()),
        "overall_flip_rate": float(flips.sum() / max(1, occ.sum())),
        "tallies": state,
    }
    return TokenMatrix(
        values,
        rows=[keys[i] for i in chosen],
        cols=bucket_labels(state["n_buckets"]),
        row_kind="token",
        col_kind="bucket",
        row_title=unit,
        col_title="relative position",
        title=title if title is not None else f"Flip rate ({meta['perturb']} {unit}){target}",
        value_label="flip rate",
        counts=occ_c,
        extras={"flips": flips_c, "ci_low": ci_low, "ci_high": ci_high},
        scale=ColorScale("magma", domain=(0.0, 1.0)),
        corpus=corpus,
        contexts=_shown_contexts(state, chosen, meta["labels"]),
        meta=meta,
        display=Display(min_count=THIN_CELL),
    )


def merge_flip(results: Sequence[Any]) -> TokenMatrix:
    """:func:`tokenheat.merge` for flip-rate results or shard tallies (checked to be alike)."""
    corpus, starts = concat_corpora(corpora_of(results))
    keys: dict[str, int] = {}
    states = [r.meta["tallies"] for r in results]
    remaps = [
        np.asarray([keys.setdefault(k, len(keys)) for k in s["keys"]], np.int64) for s in states
    ]
    n_buckets = int(states[0]["n_buckets"])
    occ = np.zeros((len(keys), n_buckets), np.int64)
    flips = np.zeros_like(occ)
    parts: dict[str, list[np.ndarray]] = {}
    for s, remap, start in zip(states, remaps, starts, strict=True):
        np.add.at(occ, remap, np.asarray(s["occ"], np.int64).reshape(-1, n_buckets))
        np.add.at(flips, remap, np.asarray(s["flips"], np.int64).reshape(-1, n_buckets))
        cell = np.asarray(s["ctx_cell"], np.int64)
        parts.setdefault("ctx_cell", []).append(
            remap[cell // n_buckets] * n_buckets + cell % n_buckets
        )
        parts.setdefault("ctx_example", []).append(np.asarray(s["ctx_example"], np.int64) + start)
        for name in ("ctx_start", "ctx_orig", "ctx_new", "ctx_p_orig", "ctx_p_new"):
            parts.setdefault(name, []).append(np.asarray(s[name]))
    ctx = {k: np.concatenate(v) for k, v in parts.items()}
    cap = int(results[0].meta["max_contexts_per_cell"])
    keep = first_per_cell(cap, ctx["ctx_cell"], ctx["ctx_example"], ctx["ctx_start"])
    state = {"keys": list(keys), "n_buckets": n_buckets, "occ": occ, "flips": flips}
    state.update({k: v[keep] for k, v in ctx.items()})
    meta = {
        **results[0].meta,
        **summed(results, ("n_texts", "n_texts_used", "n_perturbations", "n_classified")),
        "merged_from": len(results),
    }
    return build_flip_matrix(
        state, corpus=corpus, top_k=int(meta["top_k"]), title=results[0].title, meta=meta
    )
