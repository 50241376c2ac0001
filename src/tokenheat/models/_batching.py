"""Batching helpers shared by the model adapters and the classifier wrappers: padding,
the pad id, the context length, placement.

The one place each of these rules is written. Every function imports torch lazily;
tokenizers are used as they are, never modified.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tokenheat.core._checks import check_positive_int, check_str_list, check_type, fail


def check_texts(texts: object) -> list[str]:
    """Return ``texts`` as a list of str, or raise an ArgumentTypeError naming the bad item."""
    return check_str_list("texts", texts)


def check_batch_size(batch_size: object) -> int:
    """Return ``batch_size`` if it is a positive int (the one int check of core/_checks)."""
    return check_positive_int("batch_size", batch_size)


#: Config attributes that hold a model's context size, in the order they are tried.
CONTEXT_SIZE_FIELDS = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length")


def model_max_length(model: Any, tokenizer: Any = None) -> int | None:
    """The model's context size: the first of :data:`CONTEXT_SIZE_FIELDS` in its config, else
    the tokenizer's ``model_max_length`` (when it is not transformers' "unlimited" sentinel),
    else ``None`` (no limit known)."""
    config = getattr(model, "config", None)
    for name in CONTEXT_SIZE_FIELDS:
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
    fail(
        "texts",
        "texts that encode to at least one token, or the tokenizer must have a special token "
        "to stand in for an empty one",
        given="an empty text, and a tokenizer with no cls/bos/eos/pad token",
    )


def prepare_model(model: Any, device: Any, dtype: Any) -> Any:
    """Check ``model`` is a torch module, move/cast it if asked, and switch it to eval mode."""
    import torch

    check_type("model", model, torch.nn.Module, "a torch.nn.Module")
    if device is not None or dtype is not None:
        model.to(device=device, dtype=dtype)
    model.eval()
    return model


@contextlib.contextmanager
def placed_model(
    model: Any, device: Any, dtype: Any, move: Callable[[Any, Any], object]
) -> Iterator[None]:
    """Put ``model`` on ``device``/``dtype`` in eval mode for the block; undo all of it after.

    Parameters
    ----------
    model
        A torch module; its first parameter tells where it is now.
    device, dtype
        Where to put it (``None``: where it is). ``dtype`` must be a ``torch.dtype``.
    move
        ``move(device, dtype)`` moves the model (each adapter knows how: a Hugging Face
        model in one ``.to``, a HookedTransformer keeping its ``cfg`` in step).
    """
    import torch

    params = next(model.parameters())
    old_device, old_dtype, was_training = params.device, params.dtype, model.training
    check_type("dtype", dtype, torch.dtype, "a torch.dtype such as torch.float32", allow_none=True)
    new_device = torch.device(device) if device is not None else old_device
    new_dtype = dtype or old_dtype
    moved = (new_device, new_dtype) != (old_device, old_dtype)
    # a cast is lossy (float32 -> bfloat16 -> float32): keep the weights to put back exactly
    saved = None
    if new_dtype != old_dtype:
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if moved:
        move(new_device, new_dtype)
    model.eval()
    try:
        yield
    finally:
        if moved:
            move(old_device, old_dtype)
        if saved is not None:
            model.load_state_dict(saved)
        model.train(was_training)


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


#: The fixed cost of one forward pass, in tokens: what a CPU forward of a small model costs
#: beyond its tokens (measured on SmolLM2, 2 threads: ~48 tokens' worth).
FORWARD_COST_TOKENS = 48


def length_batches(
    lengths: Sequence[int],
    max_rows: int,
    max_tokens: int,
    forward_cost: int = FORWARD_COST_TOKENS,
) -> list[list[int]]:
    """Cut items into batches of similar length, computing as few padded tokens as possible.

    Items are sorted by length and cut into contiguous runs, chosen by dynamic programming
    to minimise ``sum(rows * longest + forward_cost)`` over the batches: padding costs its
    tokens, and each extra forward pass costs ``forward_cost`` tokens (small batches use the
    CPU poorly), so equal lengths go together and nearby lengths merge when that is cheaper.

    Parameters
    ----------
    lengths
        Length of each item (e.g. tokens computed for each prompt).
    max_rows, max_tokens
        Limits of one batch (an item longer than ``max_tokens`` gets a batch alone).
    forward_cost
        Fixed cost of a forward pass, in tokens.

    Returns
    -------
    list of list of int
        Item indices per batch, shortest items first.

    Examples
    --------
    >>> length_batches([5, 1, 5, 1], max_rows=4, max_tokens=100, forward_cost=1)
    [[1, 3], [0, 2]]
    >>> length_batches([5, 4, 5, 4], max_rows=4, max_tokens=100, forward_cost=8)
    [[1, 3, 0, 2]]
    """
    import numpy as np

    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    width = np.array([lengths[i] for i in order], dtype=np.int64)
    n = len(order)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        lo = max(0, i - max_rows, i - max(1, max_tokens // max(1, int(width[i - 1]))))
        starts = np.arange(lo, i)
        costs = best[lo:i] + (i - starts) * width[i - 1] + forward_cost
        k = int(np.argmin(costs))
        best[i], cut[i] = costs[k], lo + k
    batches: list[list[int]] = []
    i = n
    while i > 0:
        batches.append(order[cut[i] : i])
        i = int(cut[i])
    return batches[::-1]
