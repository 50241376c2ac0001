"""Small pieces shared by the analyses: progress bars, layer selection, cell aggregation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def progress_bar(
    iterable: Iterable[T], *, total: int | None = None, desc: str = "", enabled: bool = True
) -> Iterator[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar when ``enabled`` and tqdm is installed.

    Parameters
    ----------
    iterable : iterable
    total : int, optional
        Number of items, for the bar's length.
    desc : str
        Label shown before the bar.
    enabled : bool
        ``False`` (the analyses' ``progress=False``) returns the items without a bar.
    """
    if not enabled:
        yield from iterable
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm comes with transformers; a bar is a nicety
        yield from iterable
        return
    with tqdm(iterable, total=total, desc=desc, leave=False) as bar:
        yield from bar


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise a TypeError naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def select_layers(layers: Any, n_layers: int, *, allow_emb: bool = False) -> list[int | str]:
    """Normalise a ``layers=`` argument to a sorted list of block indices (and ``"emb"``).

    Parameters
    ----------
    layers : None, int, or sequence of int (and ``"emb"`` where allowed)
        Block indices; negative ones count from the last block. ``None`` selects all
        blocks (and ``"emb"`` first where allowed).
    n_layers : int
        Number of blocks in the model.
    allow_emb : bool
        Whether ``"emb"`` (the embedding output) is a valid entry.

    Raises
    ------
    ValueError
        For an index out of range, a duplicate, or an empty selection.
    """
    if layers is None:
        return (["emb"] if allow_emb else []) + list(range(n_layers))
    items = [layers] if isinstance(layers, int | str) else list(layers)
    if not items:
        raise ValueError("layers is empty; pass None for all layers or a list of block indices")
    out: list[int | str] = []
    for item in items:
        if item == "emb" and allow_emb:
            key: int | str = "emb"
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -n_layers <= item < n_layers:
                raise ValueError(
                    f"layers has {item!r}, out of range for a model with {n_layers} blocks "
                    f"(valid: 0..{n_layers - 1} or negative indices)"
                )
            key = int(item) % n_layers
        else:
            extra = ' or "emb"' if allow_emb else ""
            raise ValueError(f"layers entries must be block indices{extra}, got {item!r}")
        if key in out:
            raise ValueError(f"layers lists block {key!r} twice")
        out.append(key)
    return sorted(out, key=lambda k: -1 if k == "emb" else int(k))


def layer_label(key: int | str) -> str:
    """Row label of a layer key: ``"emb"`` or ``"L{i}"``."""
    return "emb" if key == "emb" else f"L{key}"


def mean_with_counts(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``sums / counts`` with NaN where ``counts`` is 0 (no warning)."""
    out = np.full(sums.shape, np.nan, dtype=np.float64)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def mode_text(values: Sequence[str]) -> str | None:
    """Most frequent string (first seen wins ties), ``None`` for no values."""
    if not values:
        return None
    seen: dict[str, int] = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    return max(seen, key=lambda v: seen[v])


@contextlib.contextmanager
def placed_module(model: Any, device: Any = None, dtype: Any = None) -> Iterator[Any]:
    """Run with ``model`` (a torch module, or an object holding one as ``.model``) on
    ``device``/``dtype``; its device, dtype and train/eval mode are restored on exit, also
    when the run is interrupted. Nothing happens when both are ``None``."""
    if device is None and dtype is None:
        yield model
        return
    import torch

    module = model if isinstance(model, torch.nn.Module) else getattr(model, "model", None)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"device=/dtype= need a torch model (or a classifier holding one as .model), "
            f"got {type(model).__name__}; move the model yourself or leave them None"
        )
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.bfloat16, got {dtype!r}")
    first = next(module.parameters())
    old_device, old_dtype, was_training = first.device, first.dtype, module.training
    # a cast is lossy (float32 -> bfloat16 -> float32): keep the weights to put back exactly
    saved = None if dtype in (None, old_dtype) else snapshot(module)
    module.to(device=device, dtype=dtype)
    try:
        yield model
    finally:
        module.to(device=old_device, dtype=old_dtype)
        if saved is not None:
            module.load_state_dict(saved)
        module.train(was_training)


def snapshot(module: Any) -> dict[str, Any]:
    """A copy of ``module``'s parameters and buffers (on their devices), to restore them."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def contexts_cap(value: int, deprecated: int | None) -> int:
    """The ``max_contexts_per_cell=`` value, taking the deprecated ``contexts_per_cell=``
    (with a ``DeprecationWarning``) when it is given; checked to be an int >= 0."""
    if deprecated is not None:
        import warnings

        warnings.warn(
            "contexts_per_cell= is renamed max_contexts_per_cell= (one name in all four "
            "analyses); the old name will be removed",
            DeprecationWarning,
            stacklevel=3,
        )
        value = deprecated
    return check_positive_int("max_contexts_per_cell", value, minimum=0)
