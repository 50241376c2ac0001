"""TokenMatrix → the ``_spec`` dict the front end draws (see ``js/PROTOCOL.md``).

Numbers travel as little-endian float32/int32 ``memoryview``s, never JSON lists; the HTML
export turns each buffer into ``{"$b64": ...}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix

PROTOCOL_VERSION = 1

#: Default payload limit; above it building the spec raises instead of freezing a browser.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _buf(arr: np.ndarray, dtype: str) -> memoryview:
    return memoryview(np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes())


def _f32(arr: np.ndarray) -> memoryview:
    return _buf(arr.reshape(-1), "f4")


def _i32(arr: np.ndarray) -> memoryview:
    return _buf(np.asarray(arr).reshape(-1), "i4")


def _corpus_spec(corpus: Corpus) -> dict[str, Any]:
    return {
        "vocab": corpus.vocab,
        "ids": _i32(corpus.ids),
        "offsets": _i32(corpus.offsets),
        "names": corpus.names,
    }


def _axis_spec(m: TokenMatrix, axis: str) -> dict[str, Any]:
    examples = m.row_examples if axis == "row" else m.col_examples
    return {
        "labels": m.rows if axis == "row" else m.cols,
        "kind": m.row_kind if axis == "row" else m.col_kind,
        "title": m.row_title if axis == "row" else m.col_title,
        "tokens": m.row_tokens if axis == "row" else m.col_tokens,
        "examples": None if examples is None else _i32(examples),
    }


#: Options by which the analyses cap the contexts they keep, as recorded in ``meta``.
CONTEXT_LIMITS = ("max_contexts_per_cell", "contexts_per_cell")


def _context_limit(m: TokenMatrix) -> dict[str, Any] | None:
    """The option that capped the contexts, so a shortened list can say what to raise."""
    for option in CONTEXT_LIMITS:
        value = m.meta.get(option)
        if isinstance(value, int) and not isinstance(value, bool):
            return {"option": option, "value": value}
    return None


def _contexts_spec(m: TokenMatrix) -> dict[str, Any] | None:
    ctx = m.contexts
    if ctx is None:
        return None
    return {
        "limit": _context_limit(m),
        "n": len(ctx),
        "row": _i32(ctx.row),
        "col": _i32(ctx.col),
        "example": _i32(ctx.example),
        "start": _i32(ctx.start),
        "end": _i32(ctx.end),
        "start2": None if ctx.start2 is None else _i32(ctx.start2),
        "end2": None if ctx.end2 is None else _i32(ctx.end2),
        "score_start": None if ctx.score_start is None else _i32(ctx.score_start),
        "score_end": None if ctx.score_end is None else _i32(ctx.score_end),
        "scores": None if ctx.scores is None else _f32(ctx.scores),
        "numeric": [{"name": k, "values": _f32(v)} for k, v in ctx.numeric.items()],
        "labels": [
            {"name": k, "categories": cats, "codes": _i32(codes)}
            for k, (cats, codes) in ctx.labels.items()
        ],
    }


def matrix_spec(m: TokenMatrix, corpus_index: int | None) -> dict[str, Any]:
    """The front end's description of one matrix."""
    lo, hi = m.scale.resolve(m.values)
    scale = m.scale.to_dict()
    scale.update(domain=[lo, hi], kind=m.scale.kind)
    return {
        "title": m.title,
        "value_label": m.value_label,
        "shape": list(m.shape),
        "values": _f32(m.values),
        "rows": _axis_spec(m, "row"),
        "cols": _axis_spec(m, "col"),
        "cell_text": None
        if m.cell_text is None
        else {"vocab": m.cell_text[0], "codes": _i32(m.cell_text[1])},
        "counts": None if m.counts is None else _f32(m.counts),
        "extras": [{"name": k, "values": _f32(v)} for k, v in m.extras.items()],
        "scale": scale,
        "display": m.display.to_dict(),
        "corpus": corpus_index,
        "contexts": _contexts_spec(m),
    }


def build_spec(
    matrices: Sequence[TokenMatrix],
    *,
    columns: int | None = None,
    cell_size: int = 14,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """The ``_spec`` trait for a list of matrices; corpora shared by identity are sent once.

    Raises
    ------
    ValueError
        When the payload exceeds ``max_bytes`` (names the remedies).
    """
    if not matrices:
        raise ValueError("matrices is empty; pass at least one TokenMatrix")
    corpora: list[Corpus] = []
    specs = []
    for i, m in enumerate(matrices):
        if not isinstance(m, TokenMatrix):
            raise TypeError(f"matrices[{i}] is a {type(m).__name__}, not a tokenheat.TokenMatrix")
        index = None
        if m.corpus is not None:
            for j, c in enumerate(corpora):
                if c is m.corpus:
                    index = j
            if index is None:
                corpora.append(m.corpus)
                index = len(corpora) - 1
        specs.append(matrix_spec(m, index))
    spec = {
        "version": PROTOCOL_VERSION,
        "corpora": [_corpus_spec(c) for c in corpora],
        "matrices": specs,
        "layout": {"columns": columns or min(len(matrices), 2), "cell_size": int(cell_size)},
    }
    if max_bytes is not None:
        size = payload_bytes(spec)
        if size > max_bytes:
            raise ValueError(
                f"the widget payload would be {size / 2**20:.1f} MiB, above max_bytes="
                f"{max_bytes / 2**20:.0f} MiB; keep fewer rows (top_k=...), aggregate "
                "(e.g. mean over prompts), cap contexts (max_contexts_per_cell=...), or raise "
                "max_bytes if the browser can take it"
            )
    return spec


def payload_bytes(obj: Any) -> int:
    """Approximate size of a spec: buffer bytes plus JSON text."""
    if isinstance(obj, memoryview):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(payload_bytes(v) + len(k) + 4 for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return sum(payload_bytes(v) + 1 for v in obj)
    if isinstance(obj, str):
        return len(obj) + 2
    return 8


def to_jsonable(obj: Any) -> Any:
    """Replace each buffer by ``{"$b64": base64}`` (the export's encoding)."""
    if isinstance(obj, memoryview):
        return {"$b64": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def dumps_for_html(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    are escaped so no token string can close the script element."""
    text = json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
