"""Batching helpers shared by the classifier wrappers: padding, limits, placement.

Every function imports torch lazily; tokenizers are used as they are, never modified.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any


def check_texts(texts: object) -> list[str]:
    """Return ``texts`` as a list of str, or raise a TypeError naming the bad item."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"texts must be a list of str; item {bad[0]} is {type(texts[bad[0]]).__name__}"
        )
    return list(texts)


def check_batch_size(batch_size: object) -> int:
    """Return ``batch_size`` if it is a positive int, else raise a ValueError."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return batch_size


def model_max_length(model: Any, tokenizer: Any) -> int | None:
    """The model's context size (config, else the tokenizer's ``model_max_length``)."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 1_000_000 else None


def pad_id(tokenizer: Any) -> int:
    """A token id to pad with (masked out, so any id works): pad, else EOS, else UNK, else 0."""
    for name in ("pad_token_id", "eos_token_id", "unk_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    return 0


def nonempty(seq: list[int], tokenizer: Any) -> list[int]:
    """An empty encoding (an empty text without special tokens) becomes one special token."""
    if seq:
        return seq
    for name in ("cls_token_id", "bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return [value]
    raise ValueError(
        "an empty text encodes to no tokens and the tokenizer has no special token to stand in"
    )


def prepare_model(model: Any, device: Any, dtype: Any) -> Any:
    """Check ``model`` is a torch module, move/cast it if asked, and switch it to eval mode."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    model.eval()
    return model


def model_device(model: Any) -> Any:
    """The device of the model's first parameter."""
    return next(model.parameters()).device


def pad(seqs: Sequence[Sequence[int]], pad_id: int, side: str, device: Any) -> tuple[Any, Any]:
    """Pad id lists into ``(input_ids, attention_mask)`` tensors on ``device``."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if not s:
            continue
        sl = slice(width - len(s), width) if side == "left" else slice(0, len(s))
        ids[i, sl] = torch.tensor(list(s), dtype=torch.long)
        mask[i, sl] = 1
    return ids.to(device), mask.to(device)


def position_ids(mask: Any) -> Any:
    """Position ids that ignore (left) padding: 0 at each sequence's first real token."""
    return (mask.cumsum(-1) - 1).clamp(min=0)


def accepts(model: Any, name: str) -> bool:
    """Whether ``model.forward`` takes a parameter called ``name``."""
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def length_batches(
    lengths: Sequence[int], max_rows: int, max_tokens: int, min_tokens: int = 0
) -> list[list[int]]:
    """Cut items into batches of similar length, so little padding is computed.

    Items are taken shortest first. A batch closes when the next item would push it past
    ``max_rows`` rows or ``max_tokens`` padded tokens, or when the next item is longer than
    every item in the batch and the batch already holds ``min_tokens`` tokens (adding it
    would pad every row; a new batch costs less).

    Parameters
    ----------
    lengths
        Length of each item (e.g. tokens computed for each prompt).
    max_rows, max_tokens
        Limits of one batch (a single item longer than ``max_tokens`` gets a batch alone).
    min_tokens
        Below this many tokens a batch still takes longer items (a forward pass has a fixed
        cost, and small ones use the CPU poorly).

    Returns
    -------
    list of list of int
        Item indices per batch.

    Examples
    --------
    >>> length_batches([3, 1, 3, 2, 3], max_rows=4, max_tokens=100, min_tokens=2)
    [[1, 3], [0, 2, 4]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    width = 0
    for i in order:
        n = lengths[i]
        if batch and (
            len(batch) + 1 > max_rows
            or (len(batch) + 1) * max(width, n) > max_tokens
            or (n > width and len(batch) * width >= min_tokens)
        ):
            batches.append(batch)
            batch, width = [], 0
        batch.append(i)
        width = max(width, n)
    if batch:
        batches.append(batch)
    return batches
