"""The first pass of ``anchor_similarity(center="mean")`` on its own: per-layer sums of hidden
states (mergeable :class:`~tokenheat.analyses.HiddenMeans`), for sharded runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenheat.analyses._anchor_tally import HiddenMeans
from tokenheat.analyses._common import progress_bar, select_layers
from tokenheat.analyses._shards import tokenizer_name

__all__ = ["hidden_means", "hidden_means_shard", "layer_sums"]


def hidden_means(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    layers: Any = None,
    batch_size: int = 8,
    device: Any = None,
    dtype: Any = None,
    truncate: bool = False,
    progress: bool = True,
) -> HiddenMeans:
    """The first pass of ``anchor_similarity(center="mean")`` on its own, for sharded runs.

    Sums each layer's hidden state over every real position but the first of every text
    (float64). Run it per shard, :func:`tokenheat.merge` the results, and pass the merged
    one as ``anchor_similarity(..., center=merged)`` on every shard: the shards' results
    then merge into the whole run's mean-centred result.

    Parameters
    ----------
    model, tokenizer, texts, layers, batch_size, device, dtype, truncate, progress
        As for :func:`anchor_similarity`.

    Returns
    -------
    HiddenMeans
    """
    from tokenheat.models._select import adapter_for

    adapter = adapter_for(model, tokenizer)
    keys = select_layers(layers, adapter.n_layers, allow_emb=True)
    encoded = adapter.encode(texts, truncate=truncate)
    with adapter.placed(device, dtype):
        sums, count = layer_sums(adapter, encoded, keys, batch_size, progress)
    return HiddenMeans(
        {k: v.cpu().numpy() for k, v in sums.items()},
        count,
        {
            "analysis": "hidden_means",
            "model": adapter.name,
            "tokenizer": tokenizer_name(adapter.tokenizer),
            "keys": [str(k) for k in keys],
            "tallies": True,
        },
    )


def layer_sums(
    adapter: Any, encoded: Sequence[Any], keys: Sequence[int | str], batch_size: int, progress: bool
) -> tuple[dict[int | str, Any], int]:
    """Per-layer sum of the hidden state over every real position but the first of every
    text (float64), and the number of positions. The first position is an attention sink
    in most LMs, with an activation norm ~100x the others (SmolLM2: ~20,000 vs a median of
    176 at L16), so including it would make the "mean" that one vector."""
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
    return sums, count


def hidden_means_shard(
    model: Any, tokenizer: Any, texts: list[str], options: dict[str, Any], first: int | None = None
) -> HiddenMeans:
    """One shard of the first pass of ``anchor_similarity(center="mean")``."""
    return hidden_means(model, tokenizer, texts, progress=False, **options)
