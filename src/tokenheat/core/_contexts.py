"""Contexts: the token occurrences behind each matrix cell, as a columnar table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tokenheat.core._checks import (
    as_array,
    as_float_grid,
    as_int_array,
    check_given,
    clean_text,
    clean_texts,
    fail,
)
from tokenheat.errors import ArgumentError


class Contexts:
    """What a click on a cell lists: one entry per occurrence behind that cell.

    Entries are stored column by column and kept sorted by ``(row, col)`` (stable), so the
    entries of one cell are contiguous.

    Parameters
    ----------
    row, col : array of int
        The matrix cell each entry belongs to.
    example : array of int
        Index of the entry's example in the matrix's :class:`Corpus`.
    start, end : array of int
        The highlighted token span ``[start, end)`` within that example.
    start2, end2 : array of int, optional
        A second marked span (``-1`` for none), e.g. the past token of an anchor pair.
    scores : sequence of arrays, optional
        Per entry, one float per token of its example (or an empty array): drawn as token
        colours, e.g. attributions. Passing the very same array object for several entries
        stores it once (e.g. one attribution vector shared by every cell of a column).
    numeric : mapping of str to array, optional
        Extra numeric columns, e.g. ``{"p_orig": ..., "p_new": ...}``.
    labels : mapping of str to sequence of str, optional
        Extra categorical columns, e.g. ``{"orig_label": [...], "new_label": [...]}``.
        ``None`` and ``NaN`` mark a missing label: stored as code ``-1``, given back as
        ``None`` by :meth:`to_pandas`, saved and loaded as missing, drawn as ``—``. Other
        values are kept as their ``str``.

    Examples
    --------
    >>> ctx = Contexts(row=[0], col=[1], example=[0], start=[2], end=[3],
    ...                labels={"label": ["joy"]})
    >>> len(ctx)
    1
    """

    def __init__(
        self,
        row: Any,
        col: Any,
        example: Any,
        start: Any,
        end: Any,
        *,
        start2: Any = None,
        end2: Any = None,
        scores: Sequence[Any] | None = None,
        numeric: Mapping[str, Any] | None = None,
        labels: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        row = as_int_array("row", row)
        n = row.shape[0]
        col = as_int_array("col", col, n)
        example = as_int_array("example", example, n)
        start = as_int_array("start", start, n)
        end = as_int_array("end", end, n)
        if (start2 is None) != (end2 is None):
            fail(
                "start2 and end2",
                "given together",
                given="start2 only" if end2 is None else "end2 only",
            )
        if start2 is not None:
            start2 = as_int_array("start2", start2, n)
            end2 = as_int_array("end2", end2, n)
            none2 = (start2 == -1) & (end2 == -1)
            bad = ~none2 & ((start2 < 0) | (end2 < start2))
            if bad.any():
                k = int(np.argmax(bad))
                fail(
                    "start2/end2",
                    "a span 0 <= start2 <= end2, or -1, -1 for none",
                    given=f"start2={int(start2[k])}, end2={int(end2[k])} at entry {k}",
                )
        for name, arr in (("row", row), ("col", col), ("example", example), ("start", start)):
            if n and arr.min() < 0:
                k = int(np.argmin(arr))
                fail(name, "non-negative indices", arr, f"entry {k} is {int(arr[k])}")
        if np.any(end < start):
            k = int(np.argmax(end < start))
            fail("end", ">= start", end, f"entry {k}: start={start[k]}, end={end[k]}")
        order = np.lexsort((col, row))
        self.row, self.col, self.example = row[order], col[order], example[order]
        self.start, self.end = start[order], end[order]
        self.start2 = start2[order] if start2 is not None else None
        self.end2 = end2[order] if end2 is not None else None

        self.score_start: np.ndarray | None = None
        self.score_end: np.ndarray | None = None
        self.scores: np.ndarray | None = None
        if scores is not None:
            self._store_scores(scores, order, n)

        self.numeric: dict[str, np.ndarray] = {}
        for name, values in (numeric or {}).items():
            key = clean_text("numeric", str(name))
            self.numeric[key] = as_float_grid(f"numeric[{key!r}]", values, (n,))[order]

        self.labels: dict[str, tuple[list[str], np.ndarray]] = {}
        for name, values in (labels or {}).items():
            key = clean_text("labels", str(name))
            cats, codes = _categorical(f"labels[{key!r}]", values, n)
            self.labels[key] = (cats, codes[order])

    def _store_scores(self, scores: Sequence[Any], order: np.ndarray, n: int) -> None:
        if isinstance(scores, np.ndarray) or len(scores) != n:
            fail("scores", f"a list with one array per context ({n})", scores)
        parts: list[np.ndarray] = []
        slot_of: dict[int, int] = {}
        slots = np.empty(n, dtype=np.int64)
        for k, j in enumerate(order):
            item = scores[j]
            slot = slot_of.get(id(item))
            if slot is None:
                slot = slot_of[id(item)] = len(parts)
                parts.append(_score_vector(j, item))
            slots[k] = slot
        lengths = np.array([p.size for p in parts], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if parts else np.zeros(0, np.int64)
        if starts.size and int(lengths.sum()) > np.iinfo(np.int32).max:
            raise ArgumentError(
                f"scores must hold at most 2**31 values in all, got {int(lengths.sum()):,}; "
                "keep fewer contexts"
            )
        self.scores = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        self.score_start = starts[slots].astype(np.int32) if n else np.zeros(0, np.int32)
        self.score_end = (
            (starts[slots] + lengths[slots]).astype(np.int32) if n else np.zeros(0, np.int32)
        )

    def __len__(self) -> int:
        return int(self.row.shape[0])

    def __repr__(self) -> str:
        cols = list(self.numeric) + list(self.labels)
        return f"Contexts({len(self)} entries{', columns ' + ', '.join(cols) if cols else ''})"

    def cell(self, row: int, col: int) -> np.ndarray:
        """Indices of the entries of one cell (contiguous, in stored order)."""
        key = self.row.astype(np.int64) * (2**31) + self.col
        target = row * (2**31) + col
        lo = int(np.searchsorted(key, target, "left"))
        hi = int(np.searchsorted(key, target, "right"))
        return np.arange(lo, hi)

    def scores_of(self, k: int) -> np.ndarray | None:
        """Per-token scores of entry ``k`` (``None`` when the table has none)."""
        if self.scores is None or self.score_start is None or self.score_end is None:
            return None
        return self.scores[self.score_start[k] : self.score_end[k]]

    def check_against(self, shape: tuple[int, int], corpus: Any) -> None:
        """Raise when entries point outside the matrix or the corpus."""
        self._check_against(shape, corpus)

    def _check_against(self, shape: tuple[int, int], corpus: Any) -> None:
        """Raise when entries point outside the matrix or the corpus."""
        n = len(self)
        if not n:
            return
        if self.row.max() >= shape[0] or self.col.max() >= shape[1]:
            raise ArgumentError(
                f"contexts must point at cells inside the matrix of shape {shape}, got max row "
                f"{self.row.max()}, max col {self.col.max()}"
            )
        if corpus is None:
            check_given("corpus", corpus, "given with contexts", "pass corpus=")
        if self.example.max() >= len(corpus):
            raise ArgumentError(
                f"contexts must point at examples of the corpus (0..{len(corpus) - 1}), got "
                f"example {self.example.max()}"
            )
        lengths = np.diff(corpus.offsets)[self.example]
        if np.any(self.end > lengths) or np.any(self.start < 0):
            k = int(np.argmax((self.end > lengths) | (self.start < 0)))
            raise ArgumentError(
                f"contexts must mark spans inside their example, got context {k} marking "
                f"tokens [{self.start[k]}, {self.end[k]}) of example {self.example[k]}, which "
                f"has {lengths[k]} tokens"
            )
        if self.end2 is not None and np.any(self.end2 > lengths):
            k = int(np.argmax(self.end2 > lengths))
            raise ArgumentError(
                f"contexts must mark spans inside their example, got context {k} marking "
                f"start2/end2 [{self.start2[k] if self.start2 is not None else -1}, "
                f"{self.end2[k]}) of example {self.example[k]}, which has {lengths[k]} tokens"
            )
        if self.score_start is not None and self.score_end is not None:
            sizes = self.score_end - self.score_start
            bad = (sizes != 0) & (sizes != lengths)
            if bad.any():
                k = int(np.argmax(bad))
                raise ArgumentError(
                    f"scores must hold one value per token of their example, or none, got "
                    f"{sizes[k]} values for context {k}, whose example has {lengths[k]} tokens"
                )

    def to_pandas(self, corpus: Any = None, *, entries: Any = None) -> pd.DataFrame:
        """A tidy frame, one row per entry; with ``corpus``, also the highlighted text.

        ``entries`` (indices, e.g. from :meth:`cell`) limits the frame to those entries,
        built from them alone (fast for one cell of millions of contexts).
        """
        pick = slice(None) if entries is None else np.asarray(entries, dtype=np.int64)
        data: dict[str, Any] = {
            "row": self.row[pick],
            "col": self.col[pick],
            "example": self.example[pick],
            "start": self.start[pick],
            "end": self.end[pick],
        }
        if self.start2 is not None and self.end2 is not None:
            data["start2"], data["end2"] = self.start2[pick], self.end2[pick]
        for name, (cats, codes) in self.labels.items():
            sub = codes[pick]
            data[name] = np.asarray([*cats, None], dtype=object)[np.where(sub >= 0, sub, len(cats))]
        data.update({k: v[pick] for k, v in self.numeric.items()})
        ks = range(len(self)) if entries is None else pick.tolist()  # type: ignore[union-attr]
        if self.scores is not None:
            data["scores"] = [self.scores_of(k) for k in ks]
        frame = _object_frame(data)
        if corpus is not None and len(frame):
            texts = _span_texts(corpus, data["example"], data["start"], data["end"])
            frame["token"] = pd.Series(texts, dtype=object)
        return frame

    @classmethod
    def from_pandas(cls, frame: pd.DataFrame) -> Contexts:
        """Rebuild contexts from :meth:`to_pandas` output (the ``token`` column is ignored)."""
        required = ["row", "col", "example", "start", "end"]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise ArgumentError(
                f"frame must have the columns {required}, got one without {missing}"
            )
        fixed = set(required) | {"start2", "end2", "scores", "token"}
        numeric, labels = {}, {}
        for name in frame.columns:
            if name in fixed:
                continue
            if pd.api.types.is_numeric_dtype(frame[name]):
                numeric[name] = frame[name].to_numpy()
            else:
                labels[name] = frame[name].tolist()
        return cls(
            *(frame[c].to_numpy() for c in required),
            start2=frame["start2"].to_numpy() if "start2" in frame else None,
            end2=frame["end2"].to_numpy() if "end2" in frame else None,
            scores=list(frame["scores"]) if "scores" in frame else None,
            numeric=numeric,
            labels=labels,
        )


def _span_texts(corpus: Any, example: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The text of each span ``[start, end)`` of its example: a single-token span is a lookup,
    a longer one is joined once per distinct span, so a million entries take well under a
    second."""
    vocab = np.asarray(corpus.vocab, dtype=object)
    first = corpus.offsets[example].astype(np.int64) + start
    length = (end - start).astype(np.int64)
    out = np.empty(first.shape[0], dtype=object)
    one = length == 1
    out[one] = vocab[corpus.ids[first[one]]]
    many = ~one
    if many.any():
        key = first[many] * 2**31 + length[many]
        uniq, inverse = np.unique(key, return_inverse=True)
        texts = np.empty(uniq.shape[0], dtype=object)
        for i, k in enumerate(uniq.tolist()):
            lo, n = k >> 31, k & (2**31 - 1)
            texts[i] = "".join(vocab[corpus.ids[lo : lo + n]])
        out[many] = texts[inverse.reshape(-1)]
    return out


def _score_vector(j: int, item: Any) -> np.ndarray:
    arr = as_array(f"scores[{j}]", item).reshape(-1)
    return as_float_grid(f"scores[{j}]", arr, arr.shape)


def _categorical(name: str, values: Any, n: int) -> tuple[list[str], np.ndarray]:
    """Categories (``str``, in order of first appearance) and int32 codes, -1 = missing."""
    if isinstance(values, str) or not hasattr(values, "__len__") or len(values) != n:
        fail(name, f"a sequence of {n} values (one per context)", values)
    items = list(values)
    missing = np.fromiter(
        (v is None or v is pd.NA or (isinstance(v, float) and v != v) for v in items),
        dtype=bool,
        count=n,
    )
    texts = [v if isinstance(v, str) else str(v) for v in items]
    codes, cats = pd.factorize(pd.Series(texts, dtype=object), sort=False)
    codes = codes.astype(np.int32)
    if missing.any():
        codes[missing] = -1
        used = np.unique(codes[codes >= 0])
        remap = np.full(len(cats) + 1, -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        codes = np.where(codes >= 0, remap[codes], -1).astype(np.int32)
        cats = [cats[i] for i in used]
    return clean_texts(name, [str(c) for c in cats]), codes


def _object_frame(data: dict[str, Any]) -> pd.DataFrame:
    """A frame whose string columns and column names stay Python ``str`` (object dtype):
    pandas' Arrow-backed strings reject some valid ``str`` values, e.g. lone surrogates."""
    columns = [
        pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
        for v in data.values()
    ]
    frame = pd.DataFrame(dict(enumerate(columns)))
    frame.columns = pd.Index(list(data), dtype=object)
    return frame
