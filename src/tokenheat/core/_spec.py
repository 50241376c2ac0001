"""TokenMatrix → the ``_spec`` dict the front end draws (see ``js/PROTOCOL.md``); its fields
are those of :mod:`tokenheat.core._fields`.

Numbers travel as little-endian float32/int32 ``memoryview``s, never JSON lists; the HTML
export turns each buffer into ``{"$b64": ...}``.

No HTML parser may misread the state: a string (or a list of strings) holding ``<`` travels
as ``{"$json": <UTF-8 JSON bytes>}`` instead, so the widget state a notebook stores (which
nbconvert embeds in a ``<script>`` escaping only ``/``) holds no ``<`` from the data —
labels such as ``<!--`` and ``<script>`` cannot end or reopen the script element.
``js/codec.ts`` turns each ``$json`` leaf back into its value.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.core._checks import check_positive_int, check_type, fail
from tokenheat.core._corpus import Corpus, distinct_corpora
from tokenheat.core._fields import SPEC_VERSION
from tokenheat.core._matrix import TokenMatrix
from tokenheat.errors import ArgumentTypeError, PayloadTooLargeError

PROTOCOL_VERSION = SPEC_VERSION

#: Default payload limit; above it building the spec raises instead of freezing a browser.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _buf(arr: np.ndarray, dtype: str) -> memoryview:
    return memoryview(np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes())


def _f32(arr: np.ndarray) -> memoryview:
    return _buf(arr.reshape(-1), "f4")


def _i32(arr: np.ndarray) -> memoryview:
    return _buf(np.asarray(arr).reshape(-1), "i4")


def _corpus_spec(corpus: Corpus, used: np.ndarray) -> dict[str, Any]:
    """The examples ``used`` (sorted indices) of ``corpus``, renumbered ``0..len(used)-1``;
    each keeps its name (``#i`` with its index in the full corpus)."""
    if used.size == len(corpus):
        ids, offsets, names = corpus.ids, corpus.offsets, corpus.names
    else:
        starts, ends = corpus.offsets[used], corpus.offsets[used + 1]
        lengths = ends - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        take = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))
        ids = corpus.ids[take] if take.size else np.zeros(0, np.int32)
        names = [corpus.name(int(i)) for i in used]
    kept, ids = np.unique(ids, return_inverse=True) if ids.size else (np.zeros(0, int), ids)
    return {
        "vocab": [corpus.vocab[int(i)] for i in kept],
        "ids": _i32(ids),
        "offsets": _i32(offsets),
        "names": names,
    }


def used_examples(matrices: Sequence[TokenMatrix], n: int) -> np.ndarray:
    """Sorted indices of the examples (of a corpus of ``n``) that ``matrices`` point at:
    through their contexts or an ``"example"`` axis. The page carries only these."""
    parts = [np.zeros(0, np.int64)]
    for m in matrices:
        if m.contexts is not None:
            parts.append(m.contexts.example.astype(np.int64))
        for axis in (m.row_examples, m.col_examples):
            if axis is not None:
                parts.append(axis[axis >= 0].astype(np.int64))
    used = np.unique(np.concatenate(parts))
    return used[used < n]


def _axis_spec(m: TokenMatrix, axis: str, remap: np.ndarray | None) -> dict[str, Any]:
    examples = m.row_examples if axis == "row" else m.col_examples
    if examples is not None and remap is not None:
        examples = np.where(examples >= 0, remap[np.clip(examples, 0, None)], -1)
    return {
        "labels": m.rows if axis == "row" else m.cols,
        "kind": m.row_kind if axis == "row" else m.col_kind,
        "title": m.row_title if axis == "row" else m.col_title,
        "tokens": m.row_tokens if axis == "row" else m.col_tokens,
        "examples": None if examples is None else _i32(examples),
    }


#: Options by which the analyses cap the contexts they keep, as recorded in ``meta``
#: (``contexts_per_cell``: the lens's and anchor similarity's name in results saved before
#: all four took ``max_contexts_per_cell``).
CONTEXT_LIMITS = ("max_contexts_per_cell", "contexts_per_cell")


def _context_limit(m: TokenMatrix) -> dict[str, Any] | None:
    """The option that capped the contexts, so a shortened list can say what to raise."""
    for option in CONTEXT_LIMITS:
        value = m.meta.get(option)
        if isinstance(value, int) and not isinstance(value, bool):
            return {"option": option, "value": value}
    return None


def _contexts_spec(m: TokenMatrix, remap: np.ndarray | None) -> dict[str, Any] | None:
    ctx = m.contexts
    if ctx is None:
        return None
    return {
        "n": len(ctx),
        "row": _i32(ctx.row),
        "col": _i32(ctx.col),
        "example": _i32(ctx.example if remap is None else remap[ctx.example]),
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
        "limit": _context_limit(m),
    }


def matrix_spec(
    m: TokenMatrix, corpus_index: int | None, remap: np.ndarray | None = None
) -> dict[str, Any]:
    """The front end's description of one matrix; ``remap`` renumbers its corpus examples
    (old index -> index in the trimmed corpus sent to the page)."""
    lo, hi = m.scale.resolve(m.values)
    scale = m.scale.to_dict()
    scale.update(domain=[lo, hi], kind=m.scale.kind)
    return {
        "title": m.title,
        "value_label": m.value_label,
        "shape": list(m.shape),
        "values": _f32(m.values),
        "rows": _axis_spec(m, "row", remap),
        "cols": _axis_spec(m, "col", remap),
        "cell_text": None
        if m.cell_text is None
        else {"vocab": m.cell_text[0], "codes": _i32(m.cell_text[1])},
        "counts": None if m.counts is None else _f32(m.counts),
        "extras": [{"name": k, "values": _f32(v)} for k, v in m.extras.items()],
        "scale": scale,
        "display": m.display.to_dict(),
        "corpus": corpus_index,
        "contexts": _contexts_spec(m, remap),
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
    tokenheat.errors.PayloadTooLargeError
        When the payload would exceed ``max_bytes`` (estimated before anything is built; the
        message names the knobs).
    """
    matrices = check_matrices(matrices)
    if columns is not None:
        check_positive_int("columns", columns)
    check_positive_int("cell_size", cell_size, minimum=2)
    corpora, index_of = distinct_corpora(matrices)
    # the page carries only the examples that contexts or example axes point at
    used = [
        used_examples([m for m, j in zip(matrices, index_of, strict=True) if j == k], len(c))
        for k, c in enumerate(corpora)
    ]
    if max_bytes is not None:
        check_positive_int("max_bytes", max_bytes)
        _guard(
            estimate_bytes(matrices, dict(zip(map(id, corpora), used, strict=True))),
            max_bytes,
            matrices,
        )
    remaps = []
    for c, u in zip(corpora, used, strict=True):
        remap = np.full(len(c), -1, np.int64)
        remap[u] = np.arange(u.size)
        remaps.append(remap)
    spec: dict[str, Any] = {
        "version": PROTOCOL_VERSION,
        "corpora": [_corpus_spec(c, u) for c, u in zip(corpora, used, strict=True)],
        "matrices": [
            matrix_spec(m, j, None if j is None else remaps[j])
            for m, j in zip(matrices, index_of, strict=True)
        ],
        "layout": {"columns": columns or min(len(matrices), 2), "cell_size": int(cell_size)},
    }
    if max_bytes is not None:
        _guard(payload_bytes(spec), max_bytes, matrices)
    shielded: dict[str, Any] = shield_strings(spec)
    return shielded


# Kept apart from to_altair._matrices: that one also takes a Dashboard; its errors name obj.
def check_matrices(matrices: Any) -> list[TokenMatrix]:
    """``matrices`` as a non-empty list of TokenMatrix (one matrix is wrapped in a list)."""
    if isinstance(matrices, TokenMatrix):
        return [matrices]
    if matrices is None or isinstance(matrices, (str, bytes)) or not hasattr(matrices, "__iter__"):
        fail(
            "matrices",
            "a TokenMatrix or a non-empty list of them",
            matrices,
            kind=ArgumentTypeError,
        )
    out = list(matrices)
    if not out:
        fail("matrices", "a TokenMatrix or a non-empty list of them", out)
    for i, m in enumerate(out):
        check_type(f"matrices[{i}]", m, TokenMatrix, "a tokenheat.TokenMatrix")
    return out


def estimate_bytes(
    matrices: Sequence[TokenMatrix], used: dict[int, np.ndarray] | None = None
) -> int:
    """The spec's size, estimated from the matrices without building anything; ``used``
    maps a corpus's ``id`` to the examples the page carries (default: all)."""
    total = 0
    seen: set[int] = set()
    for m in matrices:
        cells = m.values.size
        grids = 1 + (m.counts is not None) + len(m.extras) + (m.cell_text is not None)
        total += 4 * cells * grids
        total += sum(len(s) + 3 for s in m.rows) + sum(len(s) + 3 for s in m.cols)
        if m.cell_text is not None:
            total += sum(len(s) + 3 for s in m.cell_text[0])
        ctx = m.contexts
        if ctx is not None:
            total += 4 * len(ctx) * (5 + 2 * (ctx.start2 is not None) + len(ctx.numeric))
            total += 4 * len(ctx) * (len(ctx.labels) + 2 * (ctx.scores is not None))
            total += 4 * (ctx.scores.size if ctx.scores is not None else 0)
        if m.corpus is not None and id(m.corpus) not in seen:
            seen.add(id(m.corpus))
            c = m.corpus
            u = None if used is None else used.get(id(c))
            if u is None:
                total += 4 * (c.ids.size + c.offsets.size) + sum(len(v) + 3 for v in c.vocab)
            else:
                n_ids = int((c.offsets[u + 1] - c.offsets[u]).sum()) if u.size else 0
                total += 4 * (n_ids + u.size + 1) + 12 * u.size + sum(len(v) + 3 for v in c.vocab)
    return total


#: What shrinks each analysis's page, named in the payload guard's message.
KNOBS = {
    "flip_rate": "keep fewer rows (top_k=...) or fewer contexts (max_contexts_per_cell=...)",
    "lens": "keep fewer contexts (max_contexts_per_cell=..., prompts that keep theirs) or "
    "fewer predictions per context (top_k=...)",
    "anchor_similarity": "keep fewer contexts (max_contexts_per_cell=...) or distances "
    "(max_distance=...)",
    "attribution": "attribute fewer inputs per matrix or drop contexts (max_contexts_per_cell=0)",
}


def _guard(size: int, max_bytes: int, matrices: Sequence[TokenMatrix]) -> None:
    if size <= max_bytes:
        return
    n_ctx = sum(len(m.contexts) for m in matrices if m.contexts is not None)
    cells = sum(m.values.size for m in matrices)
    hints = [
        "show less: slice the matrix (e.g. keep the top rows) or aggregate before drawing",
    ]
    if n_ctx and n_ctx * 24 > size / 2:
        hints.append(
            f"the {n_ctx:,} contexts weigh most: build fewer (flip_rate(..., "
            "max_contexts_per_cell=...)) or drop them (TokenMatrix(..., contexts=None))"
        )
    kinds = dict.fromkeys(str(m.meta.get("analysis", "")) for m in matrices)
    hints += [f"for {k}: {KNOBS[k]}" for k in kinds if k in KNOBS]
    hints.append("or raise max_bytes= (None: no limit) if the browser can take it")
    raise PayloadTooLargeError(
        f"max_bytes must be at least the page's payload, got max_bytes={max_bytes:,} for about "
        f"{size / 2**20:.1f} MiB ({cells:,} cells, {n_ctx:,} contexts); " + "; ".join(hints)
    )


def shield_strings(obj: Any) -> Any:
    """Replace every string (or list of strings) holding ``<`` by ``{"$json": bytes}``."""
    if isinstance(obj, dict):
        return {k: shield_strings(v) for k, v in obj.items()}
    if isinstance(obj, str):
        return _as_json_leaf(obj) if "<" in obj else obj
    if isinstance(obj, list):
        if obj and all(x is None or isinstance(x, str) for x in obj):
            return _as_json_leaf(obj) if any(x is not None and "<" in x for x in obj) else obj
        return [shield_strings(v) for v in obj]
    return obj


def unshield(value: Any) -> Any:
    """Inverse of :func:`shield_strings` for one value: ``{"$json": bytes}`` → its value."""
    if isinstance(value, dict) and set(value) == {"$json"}:
        leaf = value["$json"]
        if isinstance(leaf, dict) and set(leaf) == {"$b64"}:
            data = base64.b64decode(leaf["$b64"])
        else:
            data = bytes(leaf)
        return json.loads(data.decode("utf-8"))
    return value


def _as_json_leaf(value: Any) -> dict[str, memoryview]:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return {"$json": memoryview(text.encode("utf-8"))}


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
