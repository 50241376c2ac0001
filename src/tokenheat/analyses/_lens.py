"""The logit lens: what each layer would predict next, position by position.

Each block's residual output goes through the model's final norm and unembedding; the last
row is the model's own output. Logits are never held for all layers at once: per batch the
work loops over chunks of positions and, inside, over layers, keeping only the statistics
and the top-k of each. The chunk's logits, log-probabilities and probabilities live in three
buffers allocated once per call and reused (``matmul(..., out=)``, in-place log-softmax and
products), so memory does not depend on how the allocator recycles freed blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._common import (
    check_flag,
    check_positive_int,
    layer_label,
    mean_with_counts,
    mode_text,
    progress_bar,
    select_layers,
)
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale
from tokenheat.models._state import preserves_model_state

__all__ = ["LensResult", "lens", "lens_arrays"]

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
#: Logit elements (positions × vocab) of one chunk, at most (positions are split into equal
#: chunks). The lens holds three float32 buffers of this size (the final layer's
#: log-probabilities, the current layer's, their probabilities), allocated once per call
#: and reused for every chunk and layer.
CHUNK_ELEMENTS = 2**23


@dataclass
class LensResult:
    """Logit-lens numbers for one prompt: rows = selected layers then the output, cols = positions.

    ``entropy``, ``kl_final``, ``top1_prob``, ``p_next`` are float32 ``(R, L)`` (``p_next``,
    the probability of the true next token, is NaN at the last position); ``top_ids`` int64
    and ``top_probs`` float32 are ``(R, L, k)``, best first, ``k = min(max(top_k, 1), vocab)``.
    """

    entropy: np.ndarray
    kl_final: np.ndarray
    top1_prob: np.ndarray
    p_next: np.ndarray
    top_ids: np.ndarray
    top_probs: np.ndarray


def lens_arrays(
    adapter: Any,
    encoded: list[Any],
    layers: list[int],
    *,
    top_k: int = 10,
    batch_size: int = 8,
    progress: bool = False,
) -> list[LensResult]:
    """The numeric core of :func:`lens`: one :class:`LensResult` per encoded prompt.

    ``adapter`` is a :class:`tokenheat.models.ModelAdapter` (or the TransformerLens one) already
    placed on its device.

    Memory: besides the captured states, three float32 ``(chunk, vocab)`` buffers (see
    :data:`CHUNK_ELEMENTS`), allocated once per call and reused for every chunk and layer;
    the statistics are computed in place in them.
    """
    import torch

    vocab = adapter.vocab_size
    k = min(max(top_k, 1), vocab)
    chunk = max(1, CHUNK_ELEMENTS // vocab)
    unembed = _unembedder(adapter)
    buffers: Any = None
    results: list[LensResult | None] = [None] * len(encoded)
    n_batches = -(-len(encoded) // batch_size)
    batches = adapter.batches(encoded, batch_size)
    for batch in progress_bar(batches, total=n_batches, desc="lens", enabled=progress):
        with adapter.capture(layers) as store:
            final = adapter.forward(batch)
        mask = batch.attention_mask.bool()
        where = mask.reshape(-1).nonzero()[:, 0]  # real tokens
        where = None if where.shape[0] == mask.numel() else where  # no padding: no copies
        with torch.inference_mode():  # final norm once per layer, each state freed once normed
            normed = {i: adapter.final_norm(_rows(store.pop(i), where)) for i in layers}
        states = [normed[i] for i in layers]
        flat_final = _rows(final, where)
        del final, normed
        nxt = torch.tensor(
            [t for i in batch.index for t in (*encoded[i].ids[1:], -1)], device=flat_final.device
        )
        n, rows = flat_final.shape[0], len(layers) + 1
        step = -(-n // -(-n // chunk))  # equal chunks: 512 positions → 4 × 128, not 3 × 170 + 2
        ent = np.empty((rows, n), np.float32)
        kl, top1, p_next = np.empty_like(ent), np.empty_like(ent), np.empty_like(ent)
        top_ids, top_probs = np.empty((rows, n, k), np.int64), np.empty((rows, n, k), np.float32)
        with torch.inference_mode():
            if buffers is None or buffers[0].shape[0] < step:
                buffers = None  # free the old ones first
                shape = (step, vocab)
                buffers = [
                    torch.empty(shape, dtype=torch.float32, device=flat_final.device)
                    for _ in range(3)
                ]
            for s in range(0, n, step):
                sl = slice(s, min(s + step, n))
                m = sl.stop - sl.start
                zf, z, e = (buf[:m] for buf in buffers)
                has_next = nxt[sl] >= 0
                next_ids = nxt[sl].clamp(min=0)
                final_stats = _row_stats(unembed, flat_final[sl], zf, e, k, next_ids)
                for r in range(rows):
                    if r < len(layers):
                        st = _row_stats(unembed, states[r][sl], z, e, k, next_ids, zf)
                    else:
                        st = final_stats
                    ent[r, sl] = st.entropy.cpu().numpy()
                    kl[r, sl] = st.kl.cpu().numpy() if st.kl is not None else 0.0
                    top_ids[r, sl] = st.top_ids.cpu().numpy()
                    top_probs[r, sl] = st.top_probs.cpu().numpy()
                    top1[r, sl] = top_probs[r, sl, 0]
                    p_next[r, sl] = torch.where(has_next, st.p_next, torch.nan).cpu().numpy()
        del states, store, flat_final
        start = 0
        for b, i in enumerate(batch.index):
            part = slice(start, start + batch.lengths[b])
            start += batch.lengths[b]
            results[i] = LensResult(
                ent[:, part], kl[:, part], top1[:, part], p_next[:, part],
                top_ids[:, part], top_probs[:, part],
            )  # fmt: skip
    return [r for r in results if r is not None]


def _rows(x: Any, where: Any) -> Any:
    """``(B, T, d)`` states as ``(tokens, d)`` rows: all of them, or those at ``where``."""
    flat = x.reshape(-1, x.shape[-1])
    return flat if where is None else flat[where]


@dataclass
class _RowStats:
    """Per-row statistics of one chunk of one layer (torch tensors)."""

    entropy: Any
    kl: Any  # None for the final layer itself
    top_ids: Any
    top_probs: Any
    p_next: Any


def _unembedder(adapter: Any) -> Any:
    """``f(hidden, out)``: the lens logits of normed ``hidden`` written into float32 ``out``.

    For a plain float32 ``nn.Linear`` head without hooks or soft-capping (the usual HF
    causal LM) this is one ``matmul(..., out=out)`` (+ bias), so no
    ``(rows, vocab)`` temporary is allocated; anything else goes through
    ``adapter.logits`` and is copied into ``out``.
    """
    import torch

    from tokenheat.models._adapter import ModelAdapter

    head = _plain_linear_head(adapter)
    if head is None or type(adapter).logits is not ModelAdapter.logits:

        def generic(hidden: Any, out: Any) -> None:
            out.copy_(adapter.logits(hidden, normed=True))

        return generic
    weight, bias = head.weight, head.bias

    def fast(hidden: Any, out: Any) -> None:
        h = hidden if hidden.dtype == weight.dtype else hidden.to(weight.dtype)
        torch.matmul(h, weight.t(), out=out)
        if bias is not None:
            out.add_(bias)

    return fast


def _plain_linear_head(adapter: Any) -> Any:
    """The unembedding when it is exactly a float32 ``nn.Linear`` run as such, else None."""
    import torch
    from torch import nn

    try:
        head = adapter.unembedding
    except TypeError:
        return None
    plain = (
        type(head) is nn.Linear
        and head.weight.dtype == torch.float32
        and not head._forward_hooks
        and not head._forward_pre_hooks
        and "forward" not in vars(head)  # e.g. accelerate's offloading wrapper
        and not getattr(adapter.config, "final_logit_softcapping", None)
    )
    return head if plain else None


def _log_softmax_(z: Any) -> Any:
    """Row-wise log-softmax of float32 ``z`` in place (no ``(rows, vocab)`` temporary)."""
    import torch

    try:
        # Each row is read in full (max, log-sum-exp) before it is written, element by
        # element, so the kernels allow out=input; the result is bit-identical.
        return torch._log_softmax(z, -1, False, out=z)
    except (AttributeError, RuntimeError, TypeError):  # pragma: no cover - other torch builds
        return z.copy_(torch.log_softmax(z, dim=-1))


def _row_stats(
    unembed: Any,
    hidden: Any,
    z: Any,
    e: Any,
    k: int,
    next_ids: Any,
    logp_final: Any = None,
) -> _RowStats:
    """Entropy, KL to the final layer, top-k and the next token's probability per row.

    ``hidden`` went through the final norm already. ``z`` and ``e`` are float32
    ``(rows, vocab)`` buffers; all work is in place in them: logits then ``log p`` in ``z``,
    ``p`` in ``e``, then ``p · log p`` and ``p · log p_final`` (one in each), whose row sums
    give ``−entropy`` and ``KL = Σ p log p − Σ p log p_final``. The final layer's call
    (``logp_final`` None) leaves its ``log p`` in ``z`` for the other layers' KL.
    ``-inf`` logits (masked vocab entries) are redone clamped to very negative finite ones,
    so that ``p log p`` is 0 there instead of NaN.
    """
    import torch

    for clamp in (False, True):
        unembed(hidden, z)
        if clamp:  # only when needed: a pass over the logits
            z.clamp_(min=-1e30)
        logp = _log_softmax_(z)
        values, top_ids = logp.topk(k, dim=-1)
        p_next = logp.gather(-1, next_ids[:, None])[:, 0].exp()
        p = torch.exp(logp, out=e)
        neg_entropy = _neg_entropy_(logp, p, keep_logp=logp_final is None)
        if bool(neg_entropy.isfinite().all()):  # else 0 · -inf (masked entries): clamp, redo
            break
    kl = None
    if logp_final is not None:
        kl = neg_entropy - p.mul_(logp_final).sum(-1)
    return _RowStats(-neg_entropy, kl, top_ids, values.exp(), p_next)


def _neg_entropy_(logp: Any, p: Any, *, keep_logp: bool) -> Any:
    """``Σ p log p`` per row, the product taken in place in ``p`` (``keep_logp``: the final
    layer, whose log-probabilities the other layers need) or else in ``logp``."""
    return (p.mul_(logp) if keep_logp else logp.mul_(p)).sum(-1)


@preserves_model_state
def lens(
    model: Any,
    tokenizer: Any,
    prompts: Any,
    *,
    stat: Literal["entropy", "kl_final", "top1_prob"] = "entropy",
    top_k: int = 10,
    layers: Any = None,
    chat: bool = False,
    append: str | None = None,
    n_dummy: int | None = None,
    align: Literal["left", "right"] = "left",
    batch_size: int = 8,
    device: Any = None,
    dtype: Any = None,
    truncate: bool = False,
    contexts_per_cell: int = 100,
    progress: bool = True,
) -> TokenMatrix:
    """Logit lens over layers × input positions.

    Each block's residual output goes through the final norm and the unembedding; the last
    row (``"output"``) is the model's own next-token distribution.

    Parameters
    ----------
    model : transformers causal LM or transformer_lens.HookedTransformer
        GPT-2, Llama (SmolLM2), GPT-NeoX, Qwen2 and look-alikes; a HookedTransformer's
        rows read ``blocks.{i}.hook_resid_post`` through ``ln_final`` and ``unembed``.
    tokenizer : transformers tokenizer, or None
        Not modified; one without a pad token works. ``None`` uses a HookedTransformer's
        own ``model.tokenizer``.
    prompts : str, chat conversation, or list of them
        One prompt gives layer × position; several are averaged position by position.
    stat : {"entropy", "kl_final", "top1_prob"}
        The value drawn; the other two are stored as ``extras``.
    top_k : int
        Predictions stored per context (labels ``top1..``, probabilities ``p1..``).
    layers : int or sequence of int, optional
        Blocks to show (default all); the output row is always last.
    chat : bool
        Render plain-string prompts with the chat template (``add_generation_prompt=True``).
    append : str, optional
        Text appended as extra tokens (e.g. ``" ... ... ..."``).
    n_dummy : int, optional
        Repeat ``append`` (default ``" ..."``) this many times.
    align : {"left", "right"}
        How prompts of different lengths line up: by first token, or by last token (so
        chat-template endings and appended dummies line up).
    batch_size : int
        Prompts per forward pass (left-padded).
    device, dtype : optional
        Run the model there / in that dtype; it is moved back afterwards.
    truncate : bool
        Cut prompts longer than the model's context instead of raising.
    contexts_per_cell : int
        At most this many prompts contribute contexts to a cell (the first ones).
    progress : bool
        Show a progress bar.

    Returns
    -------
    TokenMatrix
        Rows ``L0..L{n-1}, output`` (kind ``"layer"``); columns = positions (kind
        ``"position"``, labelled with the input token where all prompts agree); cell text =
        the top-1 prediction (the most common one across prompts); ``counts`` = prompts per
        cell; contexts per (cell, prompt) with the position marked, the true next token
        marked second and listed as ``next``, ``top1..``/``p1..``, ``p_next``.

    Raises
    ------
    ValueError
        For an unknown ``stat``/``align``, a bad ``layers``/``top_k``/``batch_size``, or a
        prompt longer than the model's context with ``truncate=False``.
    TypeError
        For a model that is neither a transformers causal LM nor a HookedTransformer, or
        no tokenizer.

    Examples
    --------
    >>> m = th.lens(model, tokenizer, "The capital of France is", stat="entropy")  # doctest: +SKIP
    >>> m.rows[-1]  # doctest: +SKIP
    'output'
    """
    from tokenheat.models._select import adapter_for

    if stat not in STATS:
        raise ValueError(f"stat must be one of {', '.join(map(repr, STATS))}, got {stat!r}")
    if align not in ("left", "right"):
        raise ValueError(f"align must be 'left' or 'right', got {align!r}")
    top_k = check_positive_int("top_k", top_k, minimum=0)
    check_positive_int("batch_size", batch_size)
    check_positive_int("contexts_per_cell", contexts_per_cell, minimum=0)
    check_flag("progress", progress)
    adapter = adapter_for(model, tokenizer)
    keys = [int(i) for i in select_layers(layers, adapter.n_layers)]
    encoded = adapter.encode(prompts, chat=chat, append=append, n_dummy=n_dummy, truncate=truncate)
    with adapter.placed(device, dtype):
        results = lens_arrays(
            adapter, encoded, keys, top_k=top_k, batch_size=batch_size, progress=progress
        )
    return _to_matrix(adapter, encoded, results, keys, stat, align, top_k, contexts_per_cell)


def _to_matrix(
    adapter: Any,
    encoded: list[Any],
    results: list[LensResult],
    keys: list[int],
    stat: str,
    align: str,
    top_k: int,
    contexts_per_cell: int,
) -> TokenMatrix:
    tokenizer = adapter.tokenizer
    lengths = [len(e) for e in encoded]
    n_rows, n_cols = len(keys) + 1, max(lengths)
    shift = [0 if align == "left" else n_cols - n for n in lengths]
    sums = {s: np.zeros((n_rows, n_cols)) for s in STATS}
    count = np.zeros(n_cols)
    texts: list[list[list[str]]] = [[[] for _ in range(n_cols)] for _ in range(n_rows)]
    col_tokens: list[set[str]] = [set() for _ in range(n_cols)]
    ids = sorted({int(t) for r in results for t in r.top_ids[..., :1].ravel()})
    if contexts_per_cell:
        ids = sorted(
            {*ids, *(int(t) for r in results[:contexts_per_cell] for t in r.top_ids.ravel())}
        )
    strings = dict(zip(ids, (str(t) for t in tokenizer.convert_ids_to_tokens(ids)), strict=True))
    for e, res, sh in zip(encoded, results, shift, strict=True):
        cols = slice(sh, sh + len(e))
        for s in STATS:
            sums[s][:, cols] += getattr(res, s)
        count[cols] += 1
        for pos, tok in enumerate(e.tokens):
            col_tokens[pos + sh].add(tok)
            for r in range(n_rows):
                texts[r][pos + sh].append(strings[int(res.top_ids[r, pos, 0])])
    counts = np.broadcast_to(count, (n_rows, n_cols))
    means = {s: mean_with_counts(sums[s], counts) for s in STATS}
    cell_text = np.array([[mode_text(c) for c in row] for row in texts], dtype=object)
    labels, tokens = [], []
    for c, seen in enumerate(col_tokens):
        single = next(iter(seen)) if len(seen) == 1 else None
        tokens.append(single)
        labels.append(single if single is not None else str(c if align == "left" else c - n_cols))
    corpus = Corpus.from_tokens([e.tokens for e in encoded], texts=[e.text for e in encoded])
    rows = [layer_label(k) for k in keys] + ["output"]
    contexts = _contexts(encoded, results, shift, strings, top_k, contexts_per_cell, rows)
    return TokenMatrix(
        means[stat],
        rows=rows,
        cols=labels,
        row_kind="layer",
        col_kind="position",
        title=_TITLES[stat],
        value_label=_VALUE_LABELS[stat],
        cell_text=cell_text,
        counts=counts,
        extras={s: means[s] for s in STATS if s != stat},
        scale=_SCALES[stat],
        col_tokens=tokens,
        corpus=corpus,
        contexts=contexts,
        meta={
            "analysis": "lens",
            "stat": stat,
            "model": adapter.name,
            "family": adapter.family,
            "n_prompts": len(encoded),
            "align": align,
            "top_k": top_k,
            "contexts_per_cell": contexts_per_cell,
            "appended_tokens": encoded[0].n_appended,
            "truncated_tokens": [e.truncated for e in encoded],
        },
    )


def _contexts(
    encoded: list[Any],
    results: list[LensResult],
    shift: list[int],
    strings: dict[int, str],
    top_k: int,
    limit: int,
    rows: list[str],
) -> Contexts | None:
    if limit == 0:
        return None
    cols: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[np.ndarray]] = {}
    lookup = np.vectorize(strings.__getitem__, otypes=[object])
    for ex, (e, res, sh) in enumerate(zip(encoded[:limit], results, shift, strict=False)):
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
            labels.setdefault(f"top{j + 1}", []).append(lookup(res.top_ids[:, :, j].ravel()))
        nxt = np.array([*e.tokens[1:], ""], dtype=object)
        labels.setdefault("next", []).append(nxt[pp])
        # What tells a column's contexts apart in the panel: the layer each one is read at.
        labels.setdefault("layer", []).append(np.asarray(rows, dtype=object)[rr])
        for name, values in part.items():
            cols.setdefault(name, []).append(np.asarray(values))
    flat = {name: np.concatenate(v) for name, v in cols.items()}
    index = ("row", "col", "example", "start", "end", "start2", "end2")
    return Contexts(
        *(flat[name] for name in index[:5]),
        start2=flat["start2"],
        end2=flat["end2"],
        numeric={name: v for name, v in flat.items() if name not in index},
        labels={name: np.concatenate(v).tolist() for name, v in labels.items()},
    )
