"""The lens's statistics kernel: entropy, KL to the final layer, top-k and the next token's
probability of every row of normed states, chunk by chunk, in place.

A chunk's logits, log-probabilities and probabilities live in three float32 buffers that
the caller allocates once and reuses (``matmul(..., out=)``, in-place log-softmax and
products), so memory does not depend on how the allocator recycles freed blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def batch_stats(
    unembed: Any,
    states: list[Any],
    flat_final: Any,
    nxt: Any,
    k: int,
    chunk: int,
    buffers: list[Any],
    vocab: int,
) -> tuple[np.ndarray, ...]:
    """``(entropy, kl, top1, p_next, top_ids, top_probs)`` of one batch, ``(rows, tokens[, k])``,
    chunk by chunk in ``buffers`` (three float32 ``(step, vocab)``; reallocated when short)."""
    import torch

    n, rows = flat_final.shape[0], len(states) + 1
    step = -(-n // -(-n // chunk))  # equal chunks: 512 positions → 4 × 128, not 3 × 170 + 2
    ent = np.empty((rows, n), np.float32)
    kl, top1, p_next = np.empty_like(ent), np.empty_like(ent), np.empty_like(ent)
    top_ids, top_probs = np.empty((rows, n, k), np.int64), np.empty((rows, n, k), np.float32)
    with torch.inference_mode():
        if not buffers or buffers[0].shape[0] < step:
            buffers.clear()  # free the old ones first
            shape = (step, vocab)
            buffers.extend(
                torch.empty(shape, dtype=torch.float32, device=flat_final.device) for _ in range(3)
            )
        for s in range(0, n, step):
            sl = slice(s, min(s + step, n))
            m = sl.stop - sl.start
            zf, z, e = (buf[:m] for buf in buffers)
            has_next = nxt[sl] >= 0
            next_ids = nxt[sl].clamp(min=0)
            final_stats = _row_stats(unembed, flat_final[sl], zf, e, k, next_ids)
            for r in range(rows):
                if r < len(states):
                    st = _row_stats(unembed, states[r][sl], z, e, k, next_ids, zf)
                else:
                    st = final_stats
                ent[r, sl] = st.entropy.cpu().numpy()
                kl[r, sl] = st.kl.cpu().numpy() if st.kl is not None else 0.0
                top_ids[r, sl] = st.top_ids.cpu().numpy()
                top_probs[r, sl] = st.top_probs.cpu().numpy()
                top1[r, sl] = top_probs[r, sl, 0]
                p_next[r, sl] = torch.where(has_next, st.p_next, torch.nan).cpu().numpy()
    return ent, kl, top1, p_next, top_ids, top_probs


@dataclass
class _RowStats:
    """Per-row statistics of one chunk of one layer (torch tensors)."""

    entropy: Any
    kl: Any  # None for the final layer itself
    top_ids: Any
    top_probs: Any
    p_next: Any


def unembedder(adapter: Any) -> Any:
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
