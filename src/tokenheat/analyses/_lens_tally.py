"""The lens's running totals: sums and counts per cell, top-1 tallies, the first prompts' contexts.

:func:`tokenheat.lens` folds each prompt's :class:`~tokenheat.analyses._lens.LensResult` into a
:class:`LensTally` as its batch comes back and drops it, so memory is O(rows x positions) plus
the capped contexts, whatever the number of prompts. The tally's state (``meta["tallies"]``)
is what :func:`tokenheat.merge` adds up across shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tokenheat.analyses._common import mean_with_counts
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale

STATS = ("entropy", "kl_final", "top1_prob")
_VALUE_LABELS = {
    "entropy": "entropy (nats)",
    "kl_final": "KL(layer‖final) (nats)",
    "top1_prob": "top-1 prob",
}
_TITLES = {
    "entropy": "Logit lens: next-token entropy",
    "kl_final": "Logit lens: KL divergence to the final output",
    "top1_prob": "Logit lens: top-1 probability",
}
_SCALES = {
    "entropy": ColorScale("viridis"),
    "kl_final": ColorScale("magma"),
    "top1_prob": ColorScale("viridis", domain=(0.0, 1.0)),
}


class LensTally:
    """Running sums of one lens run; :meth:`add` one prompt's result at a time, any order.

    Columns grow as longer prompts arrive; they are counted from the first token
    (``align="left"``) or from the last one (``"right"``) and laid out at :meth:`state`.

    Parameters
    ----------
    n_rows : int
        Layers shown plus the output row.
    align : {"left", "right"}
    cap : int
        Prompts ``0 .. cap - 1`` keep their full results (and tokens), for the contexts.
    """

    def __init__(self, n_rows: int, align: str, cap: int) -> None:
        self.n_rows, self.align, self.cap = n_rows, align, cap
        self.sums = {s: np.zeros((n_rows, 0)) for s in STATS}
        self.count = np.zeros(0, np.int64)
        self.top1: dict[tuple[int, int, int], list[int]] = {}  # (row, k, id) -> [count, first]
        self.col_token: list[Any] = []  # Ellipsis: not seen yet; None: prompts disagree
        self.kept: dict[int, tuple[Any, Any]] = {}  # prompt -> (encoded, result)

    def _grow(self, n: int) -> None:
        extra = n - self.count.size
        if extra > 0:
            for s in STATS:
                self.sums[s] = np.pad(self.sums[s], ((0, 0), (0, extra)))
            self.count = np.pad(self.count, (0, extra))
            self.col_token += [Ellipsis] * extra

    def add(self, i: int, encoded: Any, res: Any) -> None:
        """Fold prompt ``i`` (its encoding and result) in."""
        n = res.entropy.shape[1]
        self._grow(n)
        order = slice(None) if self.align == "left" else slice(None, None, -1)
        for s in STATS:
            self.sums[s][:, :n] += getattr(res, s)[:, order]
        self.count[:n] += 1
        ks = np.arange(n) if self.align == "left" else n - 1 - np.arange(n)
        rows = np.repeat(np.arange(self.n_rows), n)
        top = res.top_ids[:, :, 0].ravel().tolist()
        for key in zip(rows.tolist(), np.tile(ks, self.n_rows).tolist(), top, strict=True):
            entry = self.top1.get(key)
            if entry is None:
                self.top1[key] = [1, i]
            else:
                entry[0] += 1
                entry[1] = min(entry[1], i)
        for k, tok in zip(ks.tolist(), encoded.tokens, strict=True):
            seen = self.col_token[k]
            self.col_token[k] = tok if seen is Ellipsis else (seen if seen == tok else None)
        if i < self.cap:
            self.kept[i] = (encoded, res)

    def column(self, k: np.ndarray | int) -> Any:
        """The matrix column of counted column ``k``."""
        return k if self.align == "left" else self.count.size - 1 - k

    def state(self, tokenizer: Any) -> dict[str, Any]:
        """The totals laid out as matrix columns, as plain arrays and lists."""
        keys = np.asarray(list(self.top1), np.int64).reshape(-1, 3)
        vals = np.asarray(list(self.top1.values()), np.int64).reshape(-1, 2)
        order = slice(None) if self.align == "left" else slice(None, None, -1)
        tokens = [None if t is Ellipsis else t for t in self.col_token[order]]
        return {
            **{f"sums_{s}": self.sums[s][:, order] for s in STATS},
            "count": self.count[order],
            "top1_cell": keys[:, 0] * self.count.size + self.column(keys[:, 1]),
            "top1_token": token_strings(tokenizer, keys[:, 2]),
            "top1_count": vals[:, 0],
            "top1_first": vals[:, 1],
            "col_token": tokens,
        }

    def contexts(self, tokenizer: Any, top_k: int) -> Contexts | None:
        """Contexts of the kept prompts, at their final columns."""
        if self.cap == 0:
            return None
        width = self.count.size
        shift = {
            i: 0 if self.align == "left" else width - len(e) for i, (e, _) in self.kept.items()
        }
        encoded = {i: e for i, (e, _) in self.kept.items()}
        results = {i: r for i, (_, r) in self.kept.items()}
        return prompt_contexts(encoded, results, shift, tokenizer, top_k)


def token_strings(tokenizer: Any, ids: Any) -> list[str]:
    """The tokenizer's strings of ``ids`` (each distinct id converted once)."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    uniq, inv = np.unique(ids, return_inverse=True)
    table = [str(t) for t in tokenizer.convert_ids_to_tokens([int(u) for u in uniq])]
    return [table[j] for j in inv.tolist()]


def mode_grid(state: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    """Most frequent top-1 token per cell; ties go to the one seen in the earliest prompt."""
    out = np.full(shape, None, dtype=object)
    cell = np.asarray(state["top1_cell"], np.int64)
    if not cell.size:
        return out
    count = np.asarray(state["top1_count"], np.int64)
    first = np.asarray(state["top1_first"], np.int64)
    order = np.lexsort((first, -count, cell))
    lead = order[np.r_[True, np.diff(cell[order]) != 0]]
    tokens = np.asarray(state["top1_token"], dtype=object)
    out.reshape(-1)[cell[lead]] = tokens[lead]
    return out


def prompt_contexts(
    encoded: Any, kept: dict[int, Any], shift: Any, tokenizer: Any, top_k: int
) -> Contexts | None:
    """One context per (cell, prompt) of the prompts in ``kept``, in prompt order."""
    cols: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[Any]] = {}
    for ex in sorted(kept):
        res, e, sh = kept[ex], encoded[ex], shift[ex]
        n_rows, n = res.entropy.shape
        grid_r, grid_p = np.meshgrid(np.arange(n_rows), np.arange(n), indexing="ij")
        rr, pp = grid_r.ravel(), grid_p.ravel()
        has_next = pp + 1 < n
        part = {
            "row": rr, "col": pp + sh, "example": np.full(rr.size, ex), "start": pp, "end": pp + 1,
            "start2": np.where(has_next, pp + 1, -1), "end2": np.where(has_next, pp + 2, -1),
            "entropy": res.entropy.ravel(), "kl_final": res.kl_final.ravel(),
            "top1_prob": res.top1_prob.ravel(), "p_next": res.p_next.ravel(),
        }  # fmt: skip
        for j in range(min(top_k, res.top_ids.shape[2])):
            part[f"p{j + 1}"] = res.top_probs[:, :, j].ravel()
            names = token_strings(tokenizer, res.top_ids[:, :, j])
            labels.setdefault(f"top{j + 1}", []).extend(names)
        nxt = np.array([*e.tokens[1:], ""], dtype=object)
        labels.setdefault("next", []).extend(nxt[pp].tolist())
        for name, values in part.items():
            cols.setdefault(name, []).append(np.asarray(values))
    if not cols:
        return None
    flat = {name: np.concatenate(v) for name, v in cols.items()}
    index = ("row", "col", "example", "start", "end", "start2", "end2")
    return Contexts(
        *(flat[name] for name in index[:5]),
        start2=flat["start2"],
        end2=flat["end2"],
        numeric={name: v for name, v in flat.items() if name not in index},
        labels=labels,
    )


def build_lens_matrix(
    state: dict[str, Any],
    *,
    rows: list[str],
    corpus: Corpus,
    contexts: Contexts | None,
    meta: dict[str, Any],
) -> TokenMatrix:
    """The lens matrix of a tally (one run's or merged shards')."""
    stat, align = meta["stat"], meta["align"]
    count = np.asarray(state["count"], np.float64)
    n_cols = count.size
    counts = np.broadcast_to(count, (len(rows), n_cols))
    means = {s: mean_with_counts(np.asarray(state[f"sums_{s}"], np.float64), counts) for s in STATS}
    tokens = list(state["col_token"])
    labels = [
        t if t is not None else str(c if align == "left" else c - n_cols)
        for c, t in enumerate(tokens)
    ]
    if contexts is not None and "layer" not in contexts.labels:
        # What tells a column's contexts apart in the panel: the layer each one is read at.
        codes, cats = pd.factorize(np.asarray(rows, dtype=object)[contexts.row], sort=False)
        contexts.labels["layer"] = ([str(c) for c in cats], codes.astype(np.int32))
    return TokenMatrix(
        means[stat],
        rows=rows,
        cols=labels,
        row_kind="layer",
        col_kind="position",
        title=_TITLES[stat],
        value_label=_VALUE_LABELS[stat],
        cell_text=mode_grid(state, (len(rows), n_cols)),
        counts=counts,
        extras={s: means[s] for s in STATS if s != stat},
        scale=_SCALES[stat],
        col_tokens=tokens,
        corpus=corpus,
        contexts=contexts,
        meta={**meta, "tallies": state},
    )


def concat_contexts(parts: Sequence[tuple[Contexts, int, int]]) -> Contexts | None:
    """Contexts of several shards as one table: each part's examples moved by its first
    offset and its columns by the second."""
    frames = []
    for ctx, example_shift, col_shift in parts:
        if ctx is None or not len(ctx):
            continue
        frame = ctx.to_pandas()
        frame["example"] += example_shift
        frame["col"] += col_shift
        frames.append(frame)
    if not frames:
        return None
    return Contexts.from_pandas(pd.concat(frames, ignore_index=True))


def merge_lens(results: Sequence[TokenMatrix]) -> TokenMatrix:
    """:func:`tokenheat.merge` for lens results (already checked to be alike)."""
    from tokenheat.analyses._shards import concat_corpora, corpora_of

    cap = int(results[0].meta["max_contexts_per_cell"])
    starts = np.cumsum([0] + [int(r.meta["n_prompts"]) for r in results[:-1]])
    heads = [
        head(c, max(0, cap - int(st))) for c, st in zip(corpora_of(results), starts, strict=True)
    ]
    corpus, _ = concat_corpora(heads)  # the first ``cap`` prompts: those contexts point at
    align, n_rows = results[0].meta["align"], results[0].shape[0]
    n_cols = max(r.shape[1] for r in results)
    state: dict[str, Any] = {f"sums_{s}": np.zeros((n_rows, n_cols)) for s in STATS}
    state["count"] = np.zeros(n_cols, np.int64)
    col_token: list[Any] = [Ellipsis] * n_cols  # Ellipsis: no prompt seen yet
    top1: dict[tuple[int, str], list[int]] = {}
    ctx_parts = []
    for r, start in zip(results, starts, strict=True):
        s, w = r.meta["tallies"], r.shape[1]
        sh = 0 if align == "left" else n_cols - w
        for stat in STATS:
            state[f"sums_{stat}"][:, sh : sh + w] += np.asarray(s[f"sums_{stat}"], np.float64)
        state["count"][sh : sh + w] += np.asarray(s["count"], np.int64)
        for c, tok in enumerate(s["col_token"]):
            seen = col_token[c + sh]
            col_token[c + sh] = tok if seen is Ellipsis else (seen if seen == tok else None)
        _fold_top1(top1, s, w, n_cols, sh, int(start))
        if r.contexts is not None and start < cap:
            ctx_parts.append((_first_examples(r.contexts, cap - int(start)), int(start), sh))
    keys = list(top1)
    state.update(
        top1_cell=np.asarray([k[0] for k in keys], np.int64),
        top1_token=[k[1] for k in keys],
        top1_count=np.asarray([v[0] for v in top1.values()], np.int64),
        top1_first=np.asarray([v[1] for v in top1.values()], np.int64),
        col_token=col_token,
    )
    meta = {
        **results[0].meta,
        "n_prompts": int(sum(r.meta["n_prompts"] for r in results)),
        "truncated_tokens": [t for r in results for t in r.meta["truncated_tokens"]],
        "merged_from": len(results),
    }
    return build_lens_matrix(
        state, rows=list(results[0].rows), corpus=corpus, contexts=concat_contexts(ctx_parts),
        meta=meta,
    )  # fmt: skip


def _fold_top1(
    top1: dict[tuple[int, str], list[int]],
    s: dict[str, Any],
    w: int,
    n_cols: int,
    sh: int,
    start: int,
) -> None:
    cells = np.asarray(s["top1_cell"], np.int64)
    rows, cols = cells // w, cells % w + sh
    for cell, tok, n, first in zip(
        (rows * n_cols + cols).tolist(), s["top1_token"], s["top1_count"], s["top1_first"],
        strict=True,
    ):  # fmt: skip
        entry = top1.get((cell, tok))
        if entry is None:
            top1[(cell, tok)] = [int(n), int(first) + start]
        else:
            entry[0] += int(n)
            entry[1] = min(entry[1], int(first) + start)


def head(corpus: Corpus, k: int) -> Corpus:
    """The first ``k`` examples of ``corpus`` (all of them when it has fewer)."""
    k = min(k, len(corpus))
    if k == len(corpus):
        return corpus
    end = int(corpus.offsets[k])
    texts = None if corpus.texts is None else corpus.texts[:k]
    return Corpus(corpus.vocab, corpus.ids[:end], corpus.offsets[: k + 1], texts=texts)


def _first_examples(ctx: Contexts, limit: int) -> Contexts:
    """The entries of ``ctx`` whose example is below ``limit``."""
    frame = ctx.to_pandas()
    return Contexts.from_pandas(frame[frame["example"] < limit].reset_index(drop=True))
