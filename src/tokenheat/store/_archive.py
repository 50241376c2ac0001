"""Saved results: ``tokenheat.save`` / ``tokenheat.load`` in an open, pickle-free format.

A results file (``.th`` by convention) is a zip archive (deflate) holding one
``manifest.json`` and NumPy ``.npy`` arrays. Anything that reads zip, JSON and ``.npy`` can
read it; tokenheat loads arrays with ``allow_pickle=False``, so opening an untrusted file
runs no code, and every part is checked by the data-model constructors.

``manifest.json``::

    {
      "format": "tokenheat",            # always this string
      "format_version": 1,              # bumped on any incompatible change
      "tokenheat_version": "0.1.0",     # the writer
      "created": "2025-01-31T12:00:00+00:00",
      "saved": "TokenMatrix" | "list" | "Dashboard",   # what was passed to save()
      "corpora": [Corpus, ...],         # each shared corpus once
      "matrices": [Matrix, ...]
    }
    Corpus = {"vocab": [str, ...], "ids": ARRAY i4, "offsets": ARRAY i4 (n + 1),
              "texts": [str, ...] | null, "names": [str, ...] | null,
              "meta": null | [{"name": str, "array": ARRAY} | {"name": str, "values": [...]}]}
    Matrix = {"shape": [R, C], "title": str, "value_label": str,
              "rows": Axis, "cols": Axis,
              "values": ARRAY f4 (R, C),  "counts": ARRAY f4 (R, C) | null,
              "cell_text": {"vocab": [str, ...], "codes": ARRAY i4 (R, C), -1 = none} | null,
              "extras": [{"name": str, "array": ARRAY f4 (R, C)}, ...],
              "scale": {"palette": str, "domain": [lo, hi] | null, "center": float | null,
                        "reverse": bool},
              "display": {...} | absent,    # reading defaults (tokenheat.Display.to_dict);
                                            # a dashboard's: as its reader left them
              "meta": {...},                # the matrix's free-form metadata
              "corpus": int | null,         # index into "corpora"
              "contexts": Contexts | null}
    Axis = {"labels": [str, ...], "kind": str, "title": str,
            "tokens": [str | null, ...] | null, "examples": ARRAY i4 | null}
    Contexts = {"n": int, "row", "col", "example", "start", "end": ARRAY i4 (n),
                "start2", "end2": ARRAY i4 (n) | null,
                "score_start": ARRAY i4 (n) | null, "score_end": ARRAY i4 (n) | null,
                "scores": ARRAY f4 | null,  (context k: scores[score_start[k]:score_end[k]])
                "numeric": [{"name": str, "array": ARRAY f4 (n)}, ...],
                "labels": [{"name": str, "categories": [str, ...], "codes": ARRAY i4 (n)}, ...]}

The fields follow the one table of :mod:`tokenheat.core._fields` (``th`` column).
``ARRAY`` is the path of an ``.npy`` member of the zip (little-endian; ``i4`` int32, ``f4``
float32; ``NaN`` = missing; label ``codes`` of ``-1`` = a missing label). Strings are kept in JSON, never in arrays. Corpus ``meta``
columns of a plain bool/int/float dtype are arrays; other columns are JSON lists (str,
numbers, null) and load back as object columns. Matrix ``meta`` is written with Python's
``json`` (numpy scalars and arrays become numbers and lists; ``NaN`` is kept as ``NaN``).

Files are written by :func:`tokenheat.core._atomic.write_atomic`: to a short temporary file
beside the target, renamed into place (a crash never leaves half a file), keeping the target's
permissions and following a symlink. Loading checks every size the file declares — each
``.npy`` header against the manifest's shapes and the zip's sizes — against a memory budget
before reading it, so a damaged or hostile file is refused quickly with
:class:`~tokenheat.errors.DamagedFileError`. A file with a newer ``format_version`` is refused with a message to
upgrade tokenheat; older versions are migrated (none exist yet).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import zipfile
from collections.abc import Callable
from typing import IO, Any, cast
from zlib import error as zlib_error

from tokenheat._version import __version__
from tokenheat.core._atomic import write_atomic
from tokenheat.core._checks import check_positive_int, fail
from tokenheat.core._corpus import distinct_corpora
from tokenheat.core._display import as_left
from tokenheat.core._matrix import TokenMatrix
from tokenheat.errors import ArgumentTypeError, DamagedFileError
from tokenheat.store._members import Budget, Damaged, Reader, Writer, json_default

FORMAT_NAME = "tokenheat"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Upgrades of older manifests, one version step each: ``{old_version: upgrade}``.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class _Refused(DamagedFileError):
    """A file that is readable but not one this tokenheat loads (its message is final)."""


def _matrices(obj: Any) -> tuple[list[TokenMatrix], str]:
    if isinstance(obj, TokenMatrix):
        return [obj], "TokenMatrix"
    saved = "list" if isinstance(obj, (list, tuple)) else type(obj).__name__
    matrices = obj if isinstance(obj, (list, tuple)) else getattr(obj, "matrices", None)
    works = "a TokenMatrix, a non-empty list of them or a tokenheat.Dashboard"
    if not isinstance(matrices, (list, tuple)) or not all(
        isinstance(m, TokenMatrix) for m in matrices
    ):
        fail("obj", works, obj, kind=ArgumentTypeError)
    if not matrices:
        fail("obj", works, obj)
    return list(matrices), "Dashboard" if saved != "list" else "list"


def save(obj: Any, path: str | os.PathLike[str]) -> pathlib.Path:
    """Save a matrix, a list of matrices or a dashboard's matrices to one results file.

    Parameters
    ----------
    obj : TokenMatrix, list of TokenMatrix or tokenheat.Dashboard
        What to save: values, labels, kinds, titles, cell text, counts, extras, scale,
        display, meta, contexts and corpora (a corpus shared by several matrices is stored
        once). A dashboard (or heatmap) is saved as its reader left it, as ``to_html`` does:
        the row and column orders chosen in its sort menus (its ``orders``) are saved as the
        matrices' ``display.row_order`` / ``col_order``, so ``load`` and ``tokenheat render``
        open in that order. The widget and its matrices are left unchanged.
    path : str or path-like
        The file to write (``.th`` by convention); replaced atomically if it exists.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        When ``obj`` is not a matrix, a list of matrices or a dashboard, or a matrix's
        ``meta`` is not JSON-able.
    FileNotFoundError
        When the folder of ``path`` does not exist.

    Examples
    --------
    >>> import tokenheat as th
    >>> th.save(matrix, "results.th")          # doctest: +SKIP
    >>> th.Dashboard(th.load("results.th"))    # doctest: +SKIP
    """
    matrices, saved = _matrices(obj)
    chosen = getattr(obj, "orders", None) if saved == "Dashboard" else None
    displays = as_left([m.display for m in matrices], chosen)

    def write(fh: IO[bytes]) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            writer = Writer(zf)
            corpora, index_of = distinct_corpora(matrices)
            entries = [
                writer.matrix(m, f"matrices/{j}", index_of[j], j, displays[j])
                for j, m in enumerate(matrices)
            ]
            manifest = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "tokenheat_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "saved": saved,
                "corpora": [writer.corpus(c, f"corpora/{i}") for i, c in enumerate(corpora)],
                "matrices": entries,
            }
            zf.writestr(MANIFEST, json.dumps(manifest, default=json_default, indent=1))

    write_atomic(path, write)
    return pathlib.Path(os.fspath(path))


def _manifest(zf: zipfile.ZipFile, path: pathlib.Path, budget: Budget) -> dict[str, Any]:
    not_ours = (
        f"{path} is a zip archive but not a tokenheat results file (no manifest.json "
        f"with format {FORMAT_NAME!r}); write one with tokenheat.save(...)"
    )
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise _Refused(not_ours) from None
    # Parsed JSON takes several times its text in memory: charge it 8 times over.
    budget.charge(8 * info.file_size, MANIFEST)
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except RecursionError:
        raise Damaged("manifest.json is nested too deeply to be a tokenheat manifest") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise Damaged(f"manifest.json is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _Refused(not_ours)
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise Damaged(f"format_version is {version!r}, not an integer")
    if version > FORMAT_VERSION:
        writer = manifest.get("tokenheat_version", "a newer tokenheat")
        raise _Refused(
            f"{path} uses tokenheat results format version {version} (written by tokenheat "
            f"{writer}); this tokenheat {__version__} reads format version {FORMAT_VERSION} at "
            "most. Upgrade tokenheat (pip install -U tokenheat) to load it"
        )
    while version < FORMAT_VERSION:
        if version not in MIGRATIONS:
            raise _Refused(
                f"{path} uses tokenheat results format version {version}, older than any this "
                f"tokenheat {__version__} can read (versions {min(MIGRATIONS, default=FORMAT_VERSION)}"
                f" to {FORMAT_VERSION})"
            )
        manifest = MIGRATIONS[version](manifest)
        version += 1
    return cast("dict[str, Any]", manifest)


def default_budget() -> int:
    """Bytes a load may allocate by default: half the machine's memory, at most 8 GiB."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 * 2**30
    return int(min(physical // 2, 8 * 2**30))


def load(
    path: str | os.PathLike[str], *, max_bytes: int | None = None
) -> TokenMatrix | list[TokenMatrix]:
    """Load a results file written by :func:`save`.

    No code in the file is run: arrays are read with ``allow_pickle=False`` and every part is
    checked as it is rebuilt.

    Parameters
    ----------
    path : str or path-like
        A ``.th`` file.
    max_bytes : int, optional
        The memory budget of the load: every size the file declares is checked against the
        archive and this budget *before* it is read (default: half the machine's memory, at
        most 8 GiB). A file over it is refused as damaged.

    Returns
    -------
    TokenMatrix or list of TokenMatrix
        A ``TokenMatrix`` when one matrix was saved, else a list in saved order (matrices
        that shared a corpus share it again). ``tokenheat.Dashboard(load(path))`` shows
        either.

    Raises
    ------
    tokenheat.errors.DamagedFileError
        (a ``ValueError``) When the file is not a tokenheat results file, is damaged, declares
        more than ``max_bytes``, or was written in a newer format version (the message says to
        upgrade tokenheat).
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> m = th.load("results.th")  # doctest: +SKIP
    """
    path = pathlib.Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}")
    if max_bytes is not None:
        check_positive_int("max_bytes", max_bytes)
    budget = Budget(default_budget() if max_bytes is None else max_bytes)
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = _manifest(zf, path, budget)
            reader = Reader(zf, budget)
            corpora = [reader.corpus(c) for c in manifest["corpora"]]
            matrices = [reader.matrix(m, corpora) for m in manifest["matrices"]]
    except zipfile.BadZipFile as err:
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":  # a zip, cut short or corrupted
                raise DamagedFileError(
                    f"{path} is a damaged tokenheat results file: {err}"
                ) from None
        raise DamagedFileError(
            f"{path} is not a tokenheat results file (not a zip archive); write one with "
            "tokenheat.save(...)"
        ) from None
    except _Refused:
        raise
    except Damaged as err:
        raise DamagedFileError(f"{path} is a damaged tokenheat results file: {err}") from None
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        zlib_error,
        EOFError,
        NotImplementedError,
        RecursionError,
        OverflowError,
        UnicodeDecodeError,
    ) as err:
        detail = f"missing entry {err}" if isinstance(err, KeyError) else str(err)
        raise DamagedFileError(f"{path} is a damaged tokenheat results file: {detail}") from None
    except MemoryError:
        raise DamagedFileError(
            f"{path} is too large to load within memory; free memory or pass a smaller file"
        ) from None
    if not matrices:
        raise DamagedFileError(f"{path} is a damaged tokenheat results file: it holds no matrices")
    return (
        matrices[0] if manifest.get("saved") == "TokenMatrix" and len(matrices) == 1 else matrices
    )
