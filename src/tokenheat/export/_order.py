"""Row and column orders of a heatmap: the Python twin of ``js/order.ts``.

The Altair export draws a matrix in the order its :class:`~tokenheat.Display` (or a
dashboard's ``orders``) asks for, computed exactly as the widget computes it: by label
(natural order of the shown labels), by a statistic of each line's finite values (mean, max,
variance, count; high first, missing last), or clustered (a greedy nearest-neighbour chain).
Every sort is stable: ties keep their data order.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._tokens import display_token, is_byte_level

#: Profiles longer than this are averaged into this many bins before clustering (as in JS).
CLUSTER_DIMS = 64
#: Lines beyond this many are not clustered (the JS menu disables the option); kept as is.
MAX_CLUSTER = 2000

_LEADING_MARKS = re.compile(r"^[␣⏎⇥\s]+")


def line_stats(m: TokenMatrix, axis: str) -> dict[str, np.ndarray]:
    """Mean, max, variance (population) and count of each row (``axis="row"``) or column."""
    values = m.values.astype(np.float64)
    counts = None if m.counts is None else m.counts.astype(np.float64)
    if axis == "col":
        values = values.T
        counts = None if counts is None else counts.T
    finite = ~np.isnan(values)
    n = finite.sum(1)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(1) / np.maximum(n, 1), np.nan)
        sq = np.where(n > 0, (filled * filled).sum(1) / np.maximum(n, 1), np.nan)
    variance = np.where(n > 0, np.maximum(0.0, sq - mean * mean), np.nan)
    hi = np.where(finite, values, -np.inf).max(1) if values.shape[1] else np.full(len(n), -np.inf)
    obs = np.where(finite, counts if counts is not None else 1.0, 0.0).sum(1)
    return {
        "mean": mean,
        "max": np.where(n > 0, hi, np.nan),
        "variance": variance,
        "count": np.where(n > 0, obs, np.nan),
    }


def _profiles(m: TokenMatrix, axis: str, dims: int = CLUSTER_DIMS) -> np.ndarray:
    values = m.values.astype(np.float64)
    if axis == "col":
        values = values.T
    lines, length = values.shape
    finite = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(finite, values, 0.0).sum(0) / np.maximum(finite.sum(0), 1)
    filled = np.where(finite, values, fill[None, :])
    d = max(1, min(dims, length))
    bins = (np.arange(length) * d) // max(length, 1)
    out = np.zeros((lines, d))
    for b in range(d):
        out[:, b] = filled[:, bins == b].mean(1) if np.any(bins == b) else 0.0
    return out


def cluster_order(m: TokenMatrix, axis: str) -> np.ndarray:
    """Greedy nearest-neighbour chain over the lines' profiles, from the highest mean."""
    data = _profiles(m, axis)
    n = data.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sums = data.sum(1)
    # The first line whose sum is highest (JS keeps the first unless beaten by more than 1e-12).
    cur = 0
    for line in range(1, n):
        if sums[line] > sums[cur] + 1e-12:
            cur = line
    placed = np.zeros(n, dtype=bool)
    out: list[int] = []
    for _ in range(n):
        out.append(cur)
        placed[cur] = True
        best, nearest = -1, float("inf")
        d2 = ((data - data[cur]) ** 2).sum(1)
        for cand in np.flatnonzero(~placed):
            if d2[cand] < nearest - 1e-12:
                best, nearest = int(cand), float(d2[cand])
        if best < 0:
            break
        cur = best
    return np.asarray(out, dtype=np.int64)


def _natural_key(text: str) -> list[tuple[int, object]]:
    """A key like Intl.Collator(numeric, sensitivity "base"): "item9" before "item10"."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", plain) if p]


def axis_order(m: TokenMatrix, axis: str, mode: str) -> np.ndarray:
    """Data indices along ``axis`` ("row" or "col") in display order for ``mode``."""
    labels = m.rows if axis == "row" else m.cols
    n = len(labels)
    index = list(range(n))
    if mode == "label":
        byte_level = is_byte_level(labels)  # as the widget's shownLabels
        shown = [display_token(label, byte_level=byte_level) for label in labels]
        index.sort(key=lambda i: (_natural_key(_LEADING_MARKS.sub("", shown[i])), i))
    elif mode in ("mean", "max", "variance", "count"):
        key = line_stats(m, axis)[mode]
        index.sort(
            key=lambda i: (bool(np.isnan(key[i])), -key[i] if not np.isnan(key[i]) else 0, i)
        )
    elif mode == "cluster" and n <= MAX_CLUSTER:
        return cluster_order(m, axis)
    return np.asarray(index, dtype=np.int64)
