"""Shared-prefix key/value caches for :class:`~tokenheat.models.LMClassifier`.

A perturbed prompt (one word deleted, masked or replaced) shares its first tokens with the
prompt of its original text. In a causal LM the keys and values of those tokens are the
same in both, so they are computed once, with the original, and every perturbed prompt
runs only the tokens after the shared prefix.

The shared prefix is measured on token ids (the longest common prefix of the two
encodings), never assumed from character offsets, so a BPE merge across the edit point
simply makes the shared prefix shorter. A batch of continuations is laid out as::

    [cache padding][prefix of row r (cached)][input padding][suffix of row r (computed)]

with both paddings masked out and explicit position ids, so the last column holds every
row's last token (``logits_to_keep=1`` works) and absolute or rotary positions are those
of the unpadded prompt. torch and transformers are imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class PromptState:
    """One original prompt and the keys/values of its tokens in every layer.

    Attributes
    ----------
    ids : list of int
        The prompt's token ids.
    kv : torch.Tensor
        Shape ``(layers, 2, kv_heads, len(ids), head_dim)``: keys (``[:, 0]``) and values
        (``[:, 1]``) as the model caches them (after rotary embeddings).
    """

    ids: list[int]
    kv: Any


def shared_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two id lists.

    Examples
    --------
    >>> shared_length([5, 6, 7, 8], [5, 6, 9])
    2
    """
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def cache_layers(cache: Any) -> list[tuple[Any, Any]] | None:
    """Per-layer ``(keys, values)`` of a plain ``DynamicCache``; ``None`` for any other cache.

    Sliding-window, quantized, static or recurrent caches keep their states differently, so
    prompts of such models are always run in full.
    """
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer
    except ImportError:  # pragma: no cover - very old transformers
        return None
    if type(cache) is not DynamicCache:
        return None
    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        return None
    out = [(layer.keys, layer.values) for layer in layers]
    if any(k is None or k.dim() != 4 for k, _ in out):
        return None
    return out


def prompt_states(
    cache: Any, prompts: Sequence[Sequence[int]], width: int
) -> list[PromptState | None]:
    """Cut a left-padded batch's cache into one :class:`PromptState` per prompt.

    Parameters
    ----------
    cache
        The key/value cache of a forward over ``prompts``, left-padded to ``width``.
    prompts
        The unpadded id lists, in batch order.
    width
        The padded length.

    Returns
    -------
    list
        One state per prompt (copies, so the batch's cache can be freed), or ``None`` for
        every prompt when the cache is not a plain ``DynamicCache``.
    """
    import torch

    layers = cache_layers(cache)
    if layers is None or any(k.shape[2] != width for k, _ in layers):
        return [None] * len(prompts)
    stacked = torch.stack([torch.stack([k, v]) for k, v in layers])  # (L, 2, B, h, W, d)
    return [
        PromptState(list(ids), stacked[:, :, r, :, width - len(ids) :].clone())
        for r, ids in enumerate(prompts)
    ]


def continuation_batch(
    rows: Sequence[tuple[PromptState, int, Sequence[int]]], pad_id: int, device: Any
) -> tuple[Any, Any, Any, Any]:
    """Inputs for one forward that continues each row's cached prefix with its suffix.

    Parameters
    ----------
    rows
        ``(state, shared, suffix)``: the first ``shared`` (>= 1) tokens of ``state`` are
        reused and ``suffix`` (>= 1 ids) is computed from position ``shared`` on.
    pad_id
        Any token id (padding is masked out).
    device
        Where the tensors go.

    Returns
    -------
    input_ids, attention_mask, position_ids, cache
        Ready for the model's forward (pass the cache with :func:`cache_kwargs`); the last column of ``input_ids`` is every row's last
        token.
    """
    import torch

    n_layers, _, heads, _, dim = rows[0][0].kv.shape
    prefix = max(p for _, p, _ in rows)
    width = max(len(s) for _, _, s in rows)
    kv = rows[0][0].kv.new_zeros((n_layers, 2, len(rows), heads, prefix, dim))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), prefix + width), dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (state, p, suffix) in enumerate(rows):
        t = len(suffix)
        kv[:, :, r, :, prefix - p :] = state.kv[:, :, :, :p]
        mask[r, prefix - p : prefix] = 1
        mask[r, prefix + width - t :] = 1
        ids[r, width - t :] = torch.tensor(list(suffix), dtype=torch.long)
        pos[r, width - t :] = torch.arange(p, p + t)
        pos[r, : width - t] = p  # padding: any valid position (its outputs are unused)
    kv = kv.to(device)
    cache = make_cache([(kv[i, 0], kv[i, 1]) for i in range(n_layers)])
    return ids.to(device), mask.to(device), pos.to(device), cache


def cache_kwargs(model: Any, cache: Any) -> dict[str, Any]:
    """``{name: cache}`` for ``model.forward``: ``cache`` where the model takes it (current
    transformers, which warns about ``past_key_values``), else ``past_key_values``."""
    from tokenheat.models._batching import accepts

    return {"cache": cache} if accepts(model, "cache") else {"past_key_values": cache}


def output_cache(out: Any) -> Any:
    """The key/value cache a forward returned, under its current or its former name."""
    keys = out.keys() if hasattr(out, "keys") else ()
    if "cache" in keys:
        return out["cache"]
    return getattr(out, "past_key_values", None)


def make_cache(layers: Sequence[tuple[Any, Any]]) -> Any:
    """A ``DynamicCache`` holding ``layers`` (per-layer keys and values) without copying them.

    The tensors are not modified: the model's forward appends to copies. They may be part
    of an autograd graph (gradients flow through the cached keys and values).
    """
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache(ddp_cache_data=[(k[..., :0, :], v[..., :0, :]) for k, v in layers])
    for layer, (k, v) in zip(cache.layers, layers, strict=True):
        layer.keys, layer.values = k, v
    return cache
