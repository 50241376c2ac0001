"""Argument checks shared by the data model: each failure names the argument, what was
given and what would work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """A short, safe description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_labels(name: str, labels: Any, expected: int | None = None) -> list[str]:
    """Turn ``labels`` into a list of ``str``, checking its length."""
    if labels is None:
        raise TypeError(f"{name} must be a sequence of labels, got None")
    if isinstance(labels, str):
        raise TypeError(
            f"{name} must be a sequence of labels, got the single string {describe(labels)}; "
            f"wrap it in a list: [{labels!r}]"
        )
    try:
        out = [str(x) for x in labels]
    except TypeError:
        raise TypeError(f"{name} must be a sequence of labels, got {describe(labels)}") from None
    if expected is not None and len(out) != expected:
        raise ValueError(
            f"{name} has {len(out)} labels but the matrix has {expected} along that axis; "
            f"pass exactly {expected} labels"
        )
    return out


def as_int_array(name: str, value: Any, length: int | None = None) -> np.ndarray:
    """Turn ``value`` into a 1-D int32 array of an optional ``length``."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got {describe(arr)}")
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and (not np.issubdtype(arr.dtype, np.floating) or not np.all(np.mod(arr, 1) == 0))
    ):
        raise TypeError(f"{name} must hold integers, got {describe(arr)}")
    if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
        raise ValueError(f"{name} holds values outside the int32 range")
    arr = arr.astype(np.int32, copy=False)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}; it must have length {length}")
    return arr


def as_float_grid(
    name: str, value: Any, shape: tuple[int, int], *, allow_nan: bool = True
) -> np.ndarray:
    """Turn ``value`` into a float32 array of ``shape`` with no ±inf."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric, got {describe(value)}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; it must match the matrix shape {shape}")
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise ValueError(
            f"{name} holds ±inf (first at row {r}, col {c}); use NaN for a missing cell "
            "or clip to a finite value"
        )
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} must not hold NaN")
    return arr.astype(np.float32)


def unique_or_raise(name: str, labels: Sequence[str], kind: str) -> None:
    """Reject duplicate labels on an axis where they would be ambiguous."""
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(
                f"{name} holds the label {label!r} more than once, which is ambiguous on an axis "
                f"of kind {kind!r}; aggregate duplicates first (from_dataframe(..., agg='mean')) "
                "or use kind 'position' / 'example' where repeats are expected"
            )
        seen.add(label)
