"""The members of a results file: how each Corpus, Contexts and TokenMatrix maps to manifest
entries and ``.npy`` arrays in the zip (see :mod:`tokenheat.store._archive` for the format)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd

from tokenheat.core._checks import a_type, error
from tokenheat.core._contexts import Contexts
from tokenheat.core._corpus import Corpus
from tokenheat.core._display import Display
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._scale import ColorScale
from tokenheat.errors import ArgumentTypeError


class Damaged(Exception):
    """Raised inside the reader; turned into one DamagedFileError naming the file."""


class Budget:
    """The bytes a load may still allocate; every array is charged *before* it is read."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.left = int(limit)

    def charge(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise Damaged(
                f"{what} declares {nbytes:,} bytes, beyond the load budget of {self.limit:,} "
                "bytes (load(..., max_bytes=...) raises it for a file you trust)"
            )
        self.left -= nbytes


#: The .npy header readers of the format versions a results file may hold.
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)``: numpy scalars and arrays as plain numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise ArgumentTypeError(f"{a_type(value)}, which is not JSON-able")


def _plain(value: Any) -> Any:
    """A corpus-meta cell as JSON: str, bool, int, float or None (anything else as str)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value if isinstance(value, (str, bool, int, float)) else str(value)


class Writer:
    """Writes matrices, contexts and corpora into an open zip; returns manifest entries."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def array(self, name: str, arr: np.ndarray, dtype: str) -> str:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr, dtype=np.dtype(dtype)), allow_pickle=False)
        self.zf.writestr(name, buf.getvalue())
        return name

    def optional(self, name: str, arr: np.ndarray | None, dtype: str) -> str | None:
        return None if arr is None else self.array(name, arr, dtype)

    def corpus(self, c: Corpus, base: str) -> dict[str, Any]:
        meta = None
        if c.meta is not None:
            meta = []
            for k, (name, column) in enumerate(c.meta.items()):
                entry: dict[str, Any] = {"name": str(name)}
                dtype = column.dtype
                if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
                    kind = {"b": "?", "i": "<i8", "u": "<u8", "f": "<f8"}[dtype.kind]
                    entry["array"] = self.array(f"{base}/meta/{k}.npy", column.to_numpy(), kind)
                else:
                    entry["values"] = [_plain(v) for v in column.tolist()]
                meta.append(entry)
        return {
            "vocab": c.vocab,
            "ids": self.array(f"{base}/ids.npy", c.ids, "<i4"),
            "offsets": self.array(f"{base}/offsets.npy", c.offsets, "<i4"),
            "texts": c.texts,
            "names": c.names,
            "meta": meta,
        }

    def contexts(self, ctx: Contexts, base: str) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(ctx)}
        for col in ("row", "col", "example", "start", "end"):
            out[col] = self.array(f"{base}/{col}.npy", getattr(ctx, col), "<i4")
        for col in ("start2", "end2", "score_start", "score_end"):
            out[col] = self.optional(f"{base}/{col}.npy", getattr(ctx, col), "<i4")
        out["scores"] = self.optional(f"{base}/scores.npy", ctx.scores, "<f4")
        out["numeric"] = [
            {"name": k, "array": self.array(f"{base}/numeric/{i}.npy", v, "<f4")}
            for i, (k, v) in enumerate(ctx.numeric.items())
        ]
        out["labels"] = [
            {
                "name": k,
                "categories": cats,
                "codes": self.array(f"{base}/labels/{i}.npy", codes, "<i4"),
            }
            for i, (k, (cats, codes)) in enumerate(ctx.labels.items())
        ]
        return out

    def matrix(
        self, m: TokenMatrix, base: str, corpus: int | None, index: int, display: Display
    ) -> dict[str, Any]:
        """The manifest entry of ``m``; ``display`` is the one to save (``m.display`` or, for
        a dashboard, the display as its reader left it)."""
        try:
            json.dumps(m.meta, default=json_default)
        except (TypeError, ValueError) as err:
            raise error(
                f"meta of matrix {index}",
                "JSON-able (str, numbers, lists and dicts)",
                given=str(err),
                kind=ArgumentTypeError,
            ) from None

        def axis(name: str) -> dict[str, Any]:
            examples = getattr(m, f"{name}_examples")
            return {
                "labels": getattr(m, f"{name}s"),
                "kind": getattr(m, f"{name}_kind"),
                "title": getattr(m, f"{name}_title"),
                "tokens": getattr(m, f"{name}_tokens"),
                "examples": self.optional(f"{base}/{name}_examples.npy", examples, "<i4"),
            }

        return {
            "shape": list(m.shape),
            "title": m.title,
            "value_label": m.value_label,
            "rows": axis("row"),
            "cols": axis("col"),
            "values": self.array(f"{base}/values.npy", m.values, "<f4"),
            "counts": self.optional(f"{base}/counts.npy", m.counts, "<f4"),
            "cell_text": None
            if m.cell_text is None
            else {
                "vocab": m.cell_text[0],
                "codes": self.array(f"{base}/cell_text.npy", m.cell_text[1], "<i4"),
            },
            "extras": [
                {"name": k, "array": self.array(f"{base}/extras/{i}.npy", v, "<f4")}
                for i, (k, v) in enumerate(m.extras.items())
            ],
            "scale": m.scale.to_dict(),
            "display": display.to_dict(),
            "meta": m.meta,
            "corpus": corpus,
            "contexts": None
            if m.contexts is None
            else self.contexts(m.contexts, f"{base}/contexts"),
        }


class Reader:
    """Rebuilds corpora and matrices from manifest entries, checking every array it reads."""

    def __init__(self, zf: zipfile.ZipFile, budget: Budget) -> None:
        self.zf = zf
        self.budget = budget

    def array(self, name: Any, kinds: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """One ``.npy`` member, its header checked against the expected dtype kind and shape,
        the zip's declared size and the memory budget before its data is read."""
        if not isinstance(name, str):
            raise Damaged(f"an array reference is {name!r}, not a member name")
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise Damaged(f"the member {name} is missing") from None
        with self.zf.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read_header = _NPY_HEADERS.get(version)
                header = read_header(fh) if read_header is not None else None
            except (ValueError, OSError, EOFError, SyntaxError) as err:
                raise Damaged(f"{name} is not a plain .npy array ({err})") from None
            if header is None:
                raise Damaged(f"{name} is not a plain .npy array (.npy version {version})")
            found, fortran, dtype = header
            if dtype.hasobject or dtype.kind not in kinds or fortran:
                raise Damaged(f"{name} holds {dtype}, expected a plain array of kind {kinds!r}")
            if shape is not None and tuple(found) != shape:
                raise Damaged(f"{name} has shape {tuple(found)}, expected {shape}")
            if shape is None and len(found) != 1:
                raise Damaged(f"{name} has shape {tuple(found)}, expected one dimension")
            nbytes = int(np.prod(found, dtype=object)) * dtype.itemsize
            if info.file_size != fh.tell() + nbytes:
                raise Damaged(
                    f"{name} declares {nbytes:,} bytes of data but the archive holds "
                    f"{info.file_size - fh.tell():,}"
                )
            self.budget.charge(nbytes, name)
            data = bytearray(nbytes)
            got = fh.readinto(data)  # type: ignore[attr-defined]  # a ZipExtFile
        if got != nbytes:
            raise Damaged(f"{name} is cut short")
        return np.frombuffer(data, dtype=dtype).reshape(found)

    def optional(self, name: Any, kinds: str, shape: tuple[int, ...] | None = None) -> Any:
        return None if name is None else self.array(name, kinds, shape)

    def corpus(self, entry: dict[str, Any]) -> Corpus:
        meta = None
        if entry.get("meta") is not None:
            meta = pd.DataFrame(
                {
                    str(col["name"]): self.array(col["array"], "biuf")
                    if "array" in col
                    else pd.Series(col["values"], dtype=object)
                    for col in entry["meta"]
                }
            )
        return Corpus(
            entry["vocab"],
            self.array(entry["ids"], "iu", None),
            self.array(entry["offsets"], "iu", None),
            texts=entry.get("texts"),
            names=entry.get("names"),
            meta=meta,
        )

    def contexts(self, entry: dict[str, Any]) -> Contexts:
        n = (int(entry["n"]),)
        col = {c: self.array(entry[c], "iu", n) for c in ("row", "col", "example", "start", "end")}
        scores = None
        if entry.get("scores") is not None:
            starts = self.array(entry["score_start"], "iu", n).astype(np.int64)
            ends = self.array(entry["score_end"], "iu", n).astype(np.int64)
            flat = self.array(entry["scores"], "f")
            if np.any(starts < 0) or np.any(ends < starts) or np.any(ends > flat.size):
                raise Damaged("score_start/score_end fall outside the scores")
            # One array object per distinct range, so shared score vectors stay shared.
            views: dict[tuple[int, int], np.ndarray] = {}
            scores = [
                views.setdefault((a, b), flat[a:b])
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
            ]
        labels = {}
        for lab in entry["labels"]:
            codes = self.array(lab["codes"], "iu", n)
            cats = np.asarray([*(str(c) for c in lab["categories"]), None], dtype=object)
            if codes.size and (codes.min() < -1 or codes.max() >= len(cats) - 1):
                raise Damaged(f"codes of label column {lab['name']!r} fall outside its categories")
            # -1 marks a missing label (None), kept missing.
            labels[str(lab["name"])] = cats[np.where(codes >= 0, codes, len(cats) - 1)].tolist()
        return Contexts(
            *col.values(),
            start2=self.optional(entry.get("start2"), "iu", n),
            end2=self.optional(entry.get("end2"), "iu", n),
            scores=scores,
            numeric={str(x["name"]): self.array(x["array"], "f", n) for x in entry["numeric"]},
            labels=labels,
        )

    def matrix(self, entry: dict[str, Any], corpora: list[Corpus]) -> TokenMatrix:
        shape = tuple(int(s) for s in entry["shape"])
        if len(shape) != 2:
            raise Damaged(f"shape {entry['shape']!r} is not two numbers")
        labelled = (len(entry["rows"]["labels"]), len(entry["cols"]["labels"]))
        if shape != labelled:
            raise Damaged(f"shape {list(shape)} does not match the {labelled} axis labels")
        cell_text = None
        if entry.get("cell_text") is not None:
            codes = self.array(entry["cell_text"]["codes"], "iu", shape)
            table = np.asarray([*map(str, entry["cell_text"]["vocab"]), None], dtype=object)
            if codes.size and (codes.min() < -1 or codes.max() >= len(table) - 1):
                raise Damaged("cell_text codes fall outside its vocabulary")
            cell_text = table[np.where(codes >= 0, codes, len(table) - 1)]
        corpus = entry.get("corpus")
        if corpus is not None and not (isinstance(corpus, int) and 0 <= corpus < len(corpora)):
            raise Damaged(f"corpus index {corpus!r} does not name one of {len(corpora)} corpora")
        rows, cols = entry["rows"], entry["cols"]
        # Like bench/lens_memory.py's LlamaConfig call only in shape: a file's fields, not a config.
        return TokenMatrix(
            self.array(entry["values"], "f", shape),
            rows["labels"],
            cols["labels"],
            row_kind=rows["kind"],
            col_kind=cols["kind"],
            row_title=rows["title"],
            col_title=cols["title"],
            title=entry["title"],
            value_label=entry["value_label"],
            cell_text=cell_text,
            counts=self.optional(entry.get("counts"), "f", shape),
            extras={str(x["name"]): self.array(x["array"], "f", shape) for x in entry["extras"]},
            scale=ColorScale(**entry["scale"]),
            row_tokens=rows.get("tokens"),
            col_tokens=cols.get("tokens"),
            row_examples=self.optional(rows.get("examples"), "iu", (shape[0],)),
            col_examples=self.optional(cols.get("examples"), "iu", (shape[1],)),
            corpus=None if corpus is None else corpora[corpus],
            contexts=None if entry.get("contexts") is None else self.contexts(entry["contexts"]),
            meta=entry.get("meta") or {},
            display=entry.get("display"),
        )
