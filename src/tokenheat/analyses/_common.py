"""Small pieces shared by the analyses: progress bars, layer selection, cell aggregation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from tokenheat.core._checks import check_bool, check_type, fail
from tokenheat.core._checks import check_positive_int as check_positive_int
from tokenheat.errors import ArgumentTypeError

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


#: The analyses' name for the one bool check; ``check_positive_int`` above is the one int
#: check. Both live in :mod:`tokenheat.core._checks`.
check_flag = check_bool


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
    tokenheat.errors.ArgumentError
        For an index out of range, a duplicate, or an empty selection (a ``ValueError``).
    tokenheat.errors.ArgumentTypeError
        For an entry that is not a block index (a ``TypeError``).
    """
    if layers is None:
        return (["emb"] if allow_emb else []) + list(range(n_layers))
    items = [layers] if isinstance(layers, int | str) else list(layers)
    if not items:
        fail("layers", "None (all layers) or a non-empty list of block indices", layers)
    out: list[int | str] = []
    for item in items:
        if item == "emb" and allow_emb:
            key: int | str = "emb"
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -n_layers <= item < n_layers:
                fail(
                    "layers entries",
                    f"block indices in {-n_layers}..{n_layers - 1} "
                    f"(the model has {n_layers} blocks; negative ones count from the last)",
                    item,
                )
            key = int(item) % n_layers
        else:
            extra = ' or "emb"' if allow_emb else ""
            fail("layers entries", f"block indices (ints){extra}", item, kind=ArgumentTypeError)
        if key in out:
            fail("layers", "a list of distinct blocks", layers, f"block {key!r} is listed twice")
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
        fail(
            "model",
            "a torch model (or a classifier holding one as .model) to use device= or dtype=",
            model,
            "move the model yourself or leave device= and dtype= None",
            kind=ArgumentTypeError,
        )
    check_type("dtype", dtype, torch.dtype, "a torch.dtype such as torch.bfloat16", allow_none=True)
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
