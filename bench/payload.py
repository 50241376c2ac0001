"""Bytes per cell of a 1,000 × 1,000 matrix: tokenheat's HTML export, the Altair (Vega-Lite)
spec, and plain JSON number lists, with and without cell text and counts.

Target: the exported HTML carries at most 6 bytes per cell (values only). "data" columns
subtract what the same export of a 1 × 1 matrix weighs (the inlined front end, CSS and
page), so they show what each extra cell costs; "total" is the whole file over all cells.

Usage::

    python bench/payload.py              # 1,000 × 1,000
    python bench/payload.py --size 300   # 300 × 300
    python bench/payload.py --smoke      # 20 × 20, seconds (checks the script runs)
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import machine_info, table

TARGET = 6.0
VOCAB = 500  # distinct cell-text tokens


def make_matrix(n: int, *, text: bool, counts: bool, seed: int = 0) -> Any:
    """An n × n position × position matrix: uniform random values, ~1 % NaN, and optionally
    a top-1-token-like cell text (``VOCAB`` distinct strings) and integer counts."""
    import tokenheat as th

    rng = np.random.default_rng(seed)
    values = rng.random((n, n), dtype=np.float32)
    values[rng.random((n, n)) < 0.01] = np.nan
    kwargs: dict[str, Any] = {}
    if text:
        vocab = np.array([f"Ġtok{k}" for k in range(VOCAB)], dtype=object)
        cell = vocab[rng.integers(0, VOCAB, size=(n, n))]
        cell[np.isnan(values)] = None
        kwargs["cell_text"] = cell
    if counts:
        kwargs["counts"] = rng.integers(1, 60, size=(n, n)).astype(np.float32)
    return th.TokenMatrix(
        values,
        rows=[str(i) for i in range(n)],
        cols=[str(i) for i in range(n)],
        row_kind="position",
        col_kind="position",
        title=f"{n} × {n}",
        **kwargs,
    )


def html_bytes(m: Any) -> bytes:
    """The offline HTML export (``to_html``) as UTF-8 bytes."""
    from tokenheat.export import to_html

    return to_html(m, max_bytes=None).encode("utf-8")


def altair_bytes(m: Any) -> bytes:
    """The Vega-Lite spec (``to_altair(..., max_rows=None).to_json()``) as UTF-8 bytes."""
    from tokenheat.export import to_altair

    return to_altair(m, max_rows=None).to_json(indent=None).encode("utf-8")


def json_bytes(m: Any) -> bytes:
    """Plain JSON lists: values (NaN → null), cell text and counts as nested lists."""
    obj: dict[str, Any] = {"values": np.where(np.isnan(m.values), None, m.values).tolist()}
    text = m.cell_text_array()
    if text is not None:
        obj["cell_text"] = text.tolist()
    if m.counts is not None:
        obj["counts"] = m.counts.astype(np.int64).tolist()
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


FORMATS: dict[str, Callable[[Any], bytes]] = {
    "tokenheat HTML (to_html)": html_bytes,
    "Altair / Vega-Lite spec (to_json)": altair_bytes,
    "JSON lists (json.dumps(values.tolist()))": json_bytes,
}
CONTENTS = {
    "values": {"text": False, "counts": False},
    "values + counts": {"text": False, "counts": True},
    "values + cell text": {"text": True, "counts": False},
    "values + cell text + counts": {"text": True, "counts": True},
}


def measure(n: int, formats: list[str], gzip_level: int) -> list[dict[str, Any]]:
    """One row per (format, contents) with raw and gzip sizes."""
    cells = n * n
    empty = {name: FORMATS[name](make_matrix(1, text=True, counts=True)) for name in formats}
    out = []
    for name in formats:
        base = len(empty[name])
        base_gz = len(gzip.compress(empty[name], gzip_level))
        for label, kw in CONTENTS.items():
            m = make_matrix(n, **kw)
            t0 = time.perf_counter()
            data = FORMATS[name](m)
            seconds = time.perf_counter() - t0
            gz = len(gzip.compress(data, gzip_level))
            out.append(
                {
                    "format": name,
                    "contents": label,
                    "bytes": len(data),
                    "total_per_cell": len(data) / cells,
                    "data_per_cell": (len(data) - base) / cells,
                    "gzip_data_per_cell": (gz - base_gz) / cells,
                    "seconds": seconds,
                }
            )
            del data, m
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="rows = columns (default 1000)")
    parser.add_argument("--smoke", action="store_true", help="20 × 20 (checks the script runs)")
    parser.add_argument("--no-altair", action="store_true", help="skip the (slow) Altair spec")
    parser.add_argument("--gzip-level", type=int, default=6)
    args = parser.parse_args(argv)
    n = 20 if args.smoke else args.size
    if n < 1:
        parser.error(f"--size must be at least 1, got {n}")
    formats = [f for f in FORMATS if not (args.no_altair and f.startswith("Altair"))]
    print(machine_info())
    print(f"# {n:,} × {n:,} = {n * n:,} cells; float32 values (4 B raw, 5.33 B as base64)\n")
    rows = measure(n, formats, args.gzip_level)
    print(
        table(
            [
                "format",
                "contents",
                "file (MB)",
                "total B/cell",
                "data B/cell",
                "gzip data B/cell",
                "build (s)",
            ],
            [
                [
                    r["format"],
                    r["contents"],
                    r["bytes"] / 1e6,
                    f"{r['total_per_cell']:.2f}",
                    f"{r['data_per_cell']:.2f}",
                    f"{r['gzip_data_per_cell']:.2f}",
                    r["seconds"],
                ]
                for r in rows
            ],
        )
    )
    by = {(r["format"], r["contents"]): r for r in rows}
    ours = "tokenheat HTML (to_html)"
    print()
    for label in CONTENTS:
        line = f"# {label}: tokenheat {by[ours, label]['data_per_cell']:.2f} B/cell"
        for other in formats:
            if other != ours:
                ratio = by[other, label]["data_per_cell"] / by[ours, label]["data_per_cell"]
                line += f"; {other.split(' (')[0]} {ratio:.1f}× larger"
        print(line)
    if args.smoke:
        return
    got = by[ours, "values"]["total_per_cell"]
    verdict = "met" if got <= TARGET else "NOT met"
    print(f"# target ≤ {TARGET:g} B/cell (whole HTML file, values only): {got:.2f} → {verdict}")


if __name__ == "__main__":
    main()
