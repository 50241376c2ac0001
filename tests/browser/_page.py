"""Hand-built ``_spec`` payloads and offline HTML pages for the browser tests.

The pages follow the export contract written at the top of ``js/standalone.ts`` (the same one
``tokenheat.export._html`` writes), built here without the Python data model so the front end
can be tested on its own: exact values, hostile token strings, NaN cells, 1,000 × 1,000 cells
and 1,000 contexts in one cell.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "tokenheat" / "static"

SCRIPT_CLOSE = "</script><script>alert(1)</script>"
IMG_TAG = "<img src=x onerror=alert(1)>"
BUCKETS = [f"{10 * i}–{10 * (i + 1)}%" for i in range(10)]
EMPTY = {"matrix": None, "row": None, "col": None, "token": None, "example": None}

EXAMPLES = [
    ["The", "Ġmovie", "Ġwas", "Ġwonderful", "Ġand", "Ġjoy", "ful", ".", "Ċ"],
    ["I", "Ġfelt", "Ġsad", "Ġafter", "Ġthe", "Ġmovie", "."],
    [SCRIPT_CLOSE, "Ġhi", "Ġthe", "Ġmovie", "Ġwas", "Ġsad"],
    [IMG_TAG, "Ġthe", "Ġmovie", "Ġwas", "Ġjoy", "ful"],
    ["Ġthe", "Ġend", "\t", "âĢĻ", "s", "Ġthe", "Ġmovie", "Ċ", "Ġsad"],
    ["Ġa", "Ġsad", "Ġand", "Ġwonderful", "Ġthe", "Ġfilm"],
]
ROW_TOKENS = ["Ġthe", "Ġmovie", "Ġsad", "Ġjoy", SCRIPT_CLOSE, IMG_TAG, "Ċ", "Ġwonderful"]


def b64(arr: Any, dtype: str) -> dict[str, str]:
    """A buffer leaf as the export writes it: little-endian bytes, base64."""
    data = np.ascontiguousarray(np.asarray(arr, dtype=np.dtype(dtype).newbyteorder("<")))
    return {"$b64": base64.b64encode(data.tobytes()).decode("ascii")}


def corpus_spec(examples: list[list[str]], names: list[str] | None = None) -> dict[str, Any]:
    vocab: list[str] = []
    index: dict[str, int] = {}
    ids: list[int] = []
    offsets = [0]
    for tokens in examples:
        for t in tokens:
            if t not in index:
                index[t] = len(vocab)
                vocab.append(t)
            ids.append(index[t])
        offsets.append(len(ids))
    return {"vocab": vocab, "ids": b64(ids, "i4"), "offsets": b64(offsets, "i4"), "names": names}


def axis(labels, kind, title=None, tokens=None, examples=None) -> dict[str, Any]:
    return {
        "labels": list(labels),
        "kind": kind,
        "title": title or kind,
        "tokens": tokens,
        "examples": None if examples is None else b64(examples, "i4"),
    }


def contexts_spec(rows, cols, example, start, end, **extra) -> dict[str, Any]:
    order = np.lexsort((np.asarray(cols), np.asarray(rows)))
    n = len(order)

    def pick(values, dtype):
        return b64(np.asarray(values)[order], dtype)

    out: dict[str, Any] = {
        "n": n,
        "row": pick(rows, "i4"),
        "col": pick(cols, "i4"),
        "example": pick(example, "i4"),
        "start": pick(start, "i4"),
        "end": pick(end, "i4"),
        "start2": None,
        "end2": None,
        "score_start": None,
        "score_end": None,
        "scores": None,
        "numeric": [],
        "labels": [],
    }
    if "start2" in extra:
        out["start2"] = pick(extra["start2"], "i4")
        out["end2"] = pick(extra["end2"], "i4")
    if "scores" in extra:
        scores = [extra["scores"][k] for k in order]
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in scores])])
        out["score_start"] = b64(offsets[:-1], "i4")
        out["score_end"] = b64(offsets[1:], "i4")
        out["scores"] = b64(np.concatenate(scores) if scores else [], "f4")
    for name, values in extra.get("numeric", {}).items():
        out["numeric"].append({"name": name, "values": pick(values, "f4")})
    for name, values in extra.get("labels", {}).items():
        cats = sorted(set(values))
        codes = [cats.index(v) for v in values]
        out["labels"].append({"name": name, "categories": cats, "codes": pick(codes, "i4")})
    return out


def scale(palette="viridis", domain=(0.0, 1.0), center=None, reverse=False) -> dict[str, Any]:
    kind = "diverging" if palette in ("RdBu", "RdYlGn") else "sequential"
    return {
        "palette": palette,
        "kind": kind,
        "domain": list(domain),
        "center": center,
        "reverse": reverse,
    }


def flip_matrix(rng: np.random.Generator) -> tuple[dict[str, Any], np.ndarray]:
    """Token × position bucket; contexts are the real occurrences of each row token."""
    crow, ccol, cex, cstart, flipped, p_orig, p_new, orig, new = ([] for _ in range(9))
    for e, tokens in enumerate(EXAMPLES):
        for pos, tok in enumerate(tokens):
            if tok in ROW_TOKENS:
                crow.append(ROW_TOKENS.index(tok))
                ccol.append(min(9, (10 * pos) // len(tokens)))
                cex.append(e)
                cstart.append(pos)
                f = int(rng.random() < 0.5)
                flipped.append(f)
                p_orig.append(round(float(rng.uniform(0.6, 0.99)), 2))
                p_new.append(round(float(rng.uniform(0.2, 0.6)), 2))
                orig.append("joy")
                new.append("sadness" if f else "joy")
    values = np.full((len(ROW_TOKENS), 10), np.nan, dtype=np.float32)
    counts = np.zeros_like(values)
    for r, c in zip(crow, ccol, strict=True):
        counts[r, c] += 1
    for r, c, f in zip(crow, ccol, flipped, strict=True):
        values[r, c] = (0 if np.isnan(values[r, c]) else values[r, c]) + f / counts[r, c]
    # The wire format's keys, like the other *_matrix builders' specs: same shape, other data.
    spec = {
        "title": "Flip rate by token and position",
        "value_label": "flip rate",
        "shape": [len(ROW_TOKENS), 10],
        "values": b64(values, "f4"),
        "rows": axis(ROW_TOKENS, "token", "token", tokens=ROW_TOKENS),
        "cols": axis(BUCKETS, "bucket", "relative position"),
        "cell_text": None,
        "counts": b64(counts, "f4"),
        "extras": [
            {"name": "ci_low", "values": b64(np.clip(values - 0.2, 0, 1), "f4")},
            {"name": "ci_high", "values": b64(np.clip(values + 0.2, 0, 1), "f4")},
        ],
        "scale": scale("viridis", (0.0, 1.0)),
        "corpus": 0,
        "contexts": contexts_spec(
            crow,
            ccol,
            cex,
            cstart,
            [s + 1 for s in cstart],
            numeric={"p_orig": p_orig, "p_new": p_new, "flipped": flipped},
            labels={"orig_label": orig, "new_label": new},
        ),
    }
    return spec, values


def lens_matrix(rng: np.random.Generator) -> tuple[dict[str, Any], np.ndarray]:
    """Layer × position over example 0, with a top-1 token as cell text."""
    tokens = EXAMPLES[0]
    n_layers = 6
    values = rng.uniform(0.0, 5.0, size=(n_layers, len(tokens))).astype(np.float32)
    values[2, 3] = np.nan
    top_vocab = ["Ġthe", "Ġmovie", "Ġgood", SCRIPT_CLOSE, "Ċ"]
    codes = rng.integers(0, len(top_vocab), size=values.shape).astype(np.int32)
    codes[0, 0] = 0  # a known "Ġthe" cell for the linking test
    codes[1, 1] = 3  # the hostile string as cell text
    codes[4, 4] = -1
    rows, cols = np.meshgrid(np.arange(n_layers), np.arange(len(tokens)), indexing="ij")
    # The wire format's keys, like the other *_matrix builders' specs: same shape, other data.
    spec = {
        "title": "Logit lens: next-token entropy",
        "value_label": "entropy (nats)",
        "shape": [n_layers, len(tokens)],
        "values": b64(values, "f4"),
        "rows": axis([f"L{i}" for i in range(n_layers)], "layer", "layer"),
        "cols": axis(tokens, "position", "input position", tokens=tokens),
        "cell_text": {"vocab": top_vocab, "codes": b64(codes, "i4")},
        "counts": None,
        "extras": [],
        "scale": scale("magma", (0.0, 5.0)),
        "corpus": 0,
        "contexts": contexts_spec(
            rows.ravel(),
            cols.ravel(),
            np.zeros(rows.size, dtype=int),
            cols.ravel(),
            cols.ravel() + 1,
            start2=np.where(cols.ravel() > 2, 0, -1),
            end2=np.where(cols.ravel() > 2, 1, -1),
        ),
    }
    return spec, values


def attribution_matrix(rng: np.random.Generator) -> tuple[dict[str, Any], np.ndarray]:
    """Position × target over example 1, diverging around 0, with per-token scores."""
    tokens = EXAMPLES[1]
    targets = ["joy", "sadness", "anger"]
    values = rng.uniform(-1.0, 1.0, size=(len(tokens), len(targets))).astype(np.float32)
    values[0, 0] = 0.0
    rows, cols = np.meshgrid(np.arange(len(tokens)), np.arange(len(targets)), indexing="ij")
    # The wire format's keys, like the other *_matrix builders' specs: same shape, other data.
    spec = {
        "title": "Integrated gradients",
        "value_label": "attribution",
        "shape": [len(tokens), len(targets)],
        "values": b64(values, "f4"),
        "rows": axis(
            [f"{i}:{t}" for i, t in enumerate(tokens)], "position", "position", tokens=tokens
        ),
        "cols": axis(targets, "target", "target"),
        "cell_text": None,
        "counts": None,
        "extras": [],
        "scale": scale("RdBu", (-1.0, 1.0), center=0.0),
        "corpus": 0,
        "contexts": contexts_spec(
            rows.ravel(),
            cols.ravel(),
            np.ones(rows.size, dtype=int),
            rows.ravel(),
            rows.ravel() + 1,
            scores=[values[:, c] for c in cols.ravel()],
            numeric={"score": values.ravel()},
        ),
    }
    return spec, values


def demo_spec(seed: int = 0) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Three linked matrices over one small corpus with hostile tokens; also their values."""
    rng = np.random.default_rng(seed)
    specs, values = zip(
        *(f(rng) for f in (flip_matrix, lens_matrix, attribution_matrix)), strict=True
    )
    names = [f"ex{e}" for e in range(len(EXAMPLES))]
    spec = {
        "version": 1,
        "corpora": [corpus_spec(EXAMPLES, names)],
        "matrices": list(specs),
        "layout": {"columns": 2, "cell_size": 14},
    }
    return spec, list(values)


def big_spec(
    n: int = 1000, contexts_in_first_cell: int = 1000
) -> tuple[dict[str, Any], np.ndarray]:
    """An n × n position × example matrix (some NaN) with many contexts in cell (0, 0)."""
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    values = (np.sin(r / 37.0) * np.cos(c / 23.0)).astype(np.float32)
    values[::97, ::89] = np.nan
    examples = [
        [f"Ġw{(e * 7 + i) % 500}" for i in range(20)] for e in range(contexts_in_first_cell)
    ]
    k = np.arange(contexts_in_first_cell)
    spec = {
        "version": 1,
        "corpora": [corpus_spec(examples)],
        "matrices": [
            {
                "title": f"{n} × {n} cells",
                "value_label": "value",
                "shape": [n, n],
                "values": b64(values, "f4"),
                "rows": axis([str(i) for i in range(n)], "position", "position"),
                "cols": axis(
                    [f"#{i}" for i in range(n)],
                    "example",
                    "example",
                    examples=np.arange(n) % contexts_in_first_cell,
                ),
                "cell_text": None,
                "counts": None,
                "extras": [],
                "scale": scale("RdBu", (-1.0, 1.0), center=0.0),
                "corpus": 0,
                "contexts": contexts_spec(
                    np.zeros_like(k), np.zeros_like(k), k, k % 20, k % 20 + 1, numeric={"rank": k}
                ),
            }
        ],
        "layout": {"columns": 1, "cell_size": 14},
    }
    return spec, values


def script_json(obj: Any) -> str:
    """JSON safe inside <script type="application/json"> (the export contract's escaping)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def page_html(spec: dict[str, Any], selected: dict[str, Any] | None = None, height: int = 0) -> str:
    """One offline page per the export contract: CSS, a host element, the JSON, the script."""
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    js = (STATIC / "standalone.js").read_text(encoding="utf-8")
    data = script_json({"spec": spec, "selected": selected or EMPTY, "height": height})
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>tokenheat test page</title>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'\">"
        "<style>body{margin:16px;font-family:system-ui,sans-serif}</style>"
        f"<style>{css}</style></head><body>"
        '<div class="tokenheat-root" data-tokenheat="tokenheat-data"></div>'
        f'<script type="application/json" id="tokenheat-data">{data}</script>'
        f"<script>{js}</script></body></html>"
    )


def write_page(path: Path, spec: dict[str, Any], **kwargs: Any) -> Path:
    path.write_text(page_html(spec, **kwargs), encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tokenheat-test.html")
    write_page(out, demo_spec()[0])
    print(out)
