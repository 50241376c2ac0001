"""Anchor similarity's running totals: cosine sums and counts per (layer, distance), and the
first occurrences' contexts; what :func:`tokenheat.merge` adds up across shards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenheat.analyses._common import mean_with_counts
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale


@dataclass
class HiddenMeans:
    """Per-layer sums of hidden states and how many positions they cover (mergeable).

    ``sums`` maps a layer key (block index or ``"emb"``) to a float64 vector; ``mean(key)``
    is ``sums[key] / count``. Made by :func:`hidden_means`, merged by :func:`tokenheat.merge`
    (sums and counts add), used by ``anchor_similarity(center=...)``.
    """

    sums: dict[int | str, np.ndarray]
    count: int
    meta: dict[str, Any]

    def means(self) -> dict[int | str, np.ndarray]:
        """The mean hidden state per layer."""
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}


def merge_means(results: Sequence[HiddenMeans]) -> HiddenMeans:
    """Sums and counts added (for :func:`tokenheat.merge`)."""
    sums = {k: np.sum([r.sums[k] for r in results], axis=0) for k in results[0].sums}
    return HiddenMeans(sums, int(sum(r.count for r in results)), dict(results[0].meta))


class AnchorTally:
    """Sums of ``cos(h[m], h[f - T])`` per cell (``m`` the anchor's last token, ``f`` its
    first), and the arrays of occurrences ``0 .. cap-1``."""

    def __init__(self, n_rows: int, max_distance: int, cap: int) -> None:
        self.sums = np.zeros((n_rows, max_distance))
        self.counts = np.zeros((n_rows, max_distance), np.int64)
        self.cap = cap
        self.kept: dict[int, tuple[Any, np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(
        self, k: int, occ: Any, cos: np.ndarray, norm_a: np.ndarray, norm_p: np.ndarray
    ) -> None:
        """Fold occurrence ``k`` in (NaN cosines are not counted)."""
        valid = ~np.isnan(cos)
        self.sums += np.where(valid, cos, 0.0)
        self.counts += valid
        if k < self.cap:
            self.kept[k] = (occ, cos, norm_a, norm_p)

    def state(self) -> dict[str, Any]:
        return {"sums": self.sums, "counts": self.counts}

    def contexts(self) -> Contexts | None:
        """One context per valid cell of each kept occurrence, in occurrence order."""
        if self.cap == 0:
            return None
        parts: dict[str, list[np.ndarray]] = {}
        for k in sorted(self.kept):
            occ, cos, norm_a, norm_p = self.kept[k]
            r, t = np.nonzero(~np.isnan(cos))
            past = occ.first - (t + 1)
            for name, v in (
                ("row", r), ("col", t), ("example", np.full(r.size, occ.example)),
                ("start", np.full(r.size, occ.first)), ("end", np.full(r.size, occ.last + 1)),
                ("start2", past), ("end2", past + 1), ("norm_anchor", norm_a[r]),
                ("norm_past", norm_p[r, t]), ("cosine", cos[r, t]),
            ):  # fmt: skip
                parts.setdefault(name, []).append(np.asarray(v))
        flat = {n: np.concatenate(v) if v else np.zeros(0) for n, v in parts.items()}
        if not flat:
            flat = {n: np.zeros(0, np.int64) for n in ("row", "col", "example", "start", "end")}
            flat.update(start2=np.zeros(0, np.int64), end2=np.zeros(0, np.int64))
        return Contexts(
            flat["row"], flat["col"], flat["example"], flat["start"], flat["end"],
            start2=flat["start2"], end2=flat["end2"],
            numeric={n: flat.get(n, np.zeros(0)) for n in ("norm_anchor", "norm_past", "cosine")},
        )  # fmt: skip


def build_anchor_matrix(
    state: dict[str, Any],
    *,
    rows: list[str],
    corpus: Corpus,
    contexts: Contexts | None,
    cell_text: np.ndarray | None,
    meta: dict[str, Any],
    cols: list[str] | None = None,
    col_kind: str = "distance",
    example: int | None = None,
) -> TokenMatrix:
    """The anchor-similarity matrix of a tally (one run's or merged shards').

    Distances count back from the anchor's first token ``f``; ``cols``/``col_kind``/
    ``example`` give the single-text view (one occurrence, its past tokens as columns). A
    centred matrix's colour scale is symmetric about 0 over its own values.
    """
    sums = np.asarray(state["sums"], np.float64)
    counts = np.asarray(state["counts"], np.float64)
    centred = meta.get("center") is not None
    where = "" if example is None else f", text {example}"
    return TokenMatrix(
        mean_with_counts(sums, counts),
        rows=rows,
        cols=cols if cols is not None else [str(t) for t in range(1, sums.shape[1] + 1)],
        row_kind="layer",
        col_kind=col_kind,
        col_title="distance T before the anchor"
        if example is None
        else f"past token (nearest first{where})",
        title="Anchor similarity: cos(h[m], h[f−T])"
        + (" (mean-centred)" if centred else "")
        + ("" if example is None else f": one occurrence{where}"),
        value_label="cosine similarity",
        cell_text=cell_text,
        counts=counts,
        scale=ColorScale.diverging("RdBu", center=0.0, domain=None if centred else (-1.0, 1.0)),
        corpus=corpus,
        contexts=contexts,
        meta={**meta, "tallies": state},
    )


def merge_anchor(results: Sequence[TokenMatrix]) -> TokenMatrix:
    """:func:`tokenheat.merge` for anchor-similarity results (already checked to be alike)."""
    from tokenheat.errors import MergeError

    if results[0].meta.get("occurrence") is not None:
        raise MergeError(
            "anchor-similarity results of the single-text view (occurrence=) cannot be merged; "
            "merge the runs without occurrence= (the mean over every occurrence)"
        )
    from tokenheat.analyses._lens_tally import concat_contexts
    from tokenheat.analyses._shards import concat_corpora, corpora_of

    corpus, starts = concat_corpora(corpora_of(results))
    sums = np.sum([np.asarray(r.meta["tallies"]["sums"], np.float64) for r in results], axis=0)
    counts = np.sum([np.asarray(r.meta["tallies"]["counts"], np.int64) for r in results], axis=0)
    budget = int(results[0].meta["max_contexts_per_cell"])
    parts = []
    for r, start in zip(results, starts, strict=True):
        if r.contexts is not None and budget > 0:
            ctx, used = _first_occurrences(r.contexts, budget)
            parts.append((ctx, int(start), 0))
            budget -= used
    n_occ = int(sum(r.meta["n_occurrences"] for r in results))
    single = [r for r in results if r.meta["n_occurrences"] == 1]
    cell_text = single[0].cell_text_array() if n_occ == 1 else None
    meta = {
        **results[0].meta,
        "n_occurrences": n_occ,
        "truncated_tokens": [t for r in results for t in r.meta["truncated_tokens"]],
        "merged_from": len(results),
    }
    contexts = concat_contexts(parts) if parts else None
    if contexts is None and results[0].contexts is not None:
        contexts = results[0].contexts  # none kept anywhere: the (empty) table of shard 0
    return build_anchor_matrix(
        {"sums": sums, "counts": counts}, rows=list(results[0].rows), corpus=corpus,
        contexts=contexts, cell_text=cell_text, meta=meta,
    )  # fmt: skip


def _first_occurrences(ctx: Contexts, limit: int) -> tuple[Contexts, int]:
    """Entries of the first ``limit`` occurrences (by example, then anchor end) and how
    many occurrences the table holds up to that limit."""
    frame = ctx.to_pandas()
    occ = frame["example"].to_numpy(np.int64) * (2**32) + frame["end"].to_numpy(np.int64)
    uniq, rank = np.unique(occ, return_inverse=True)
    keep = rank < limit
    return Contexts.from_pandas(frame[keep].reset_index(drop=True)), int(min(uniq.size, limit))
