"""Cache folders for converted models: where they live and how they are written.

A folder is filled under a temporary name next to its final place and renamed only when
complete, with a marker file written last, so a reader never sees half a conversion.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

MARKER = "tokenheat-cache.json"
# Temporary build folders older than this are left over from a killed process.
STALE_TEMP_SECONDS = 3600.0


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds tokenheat's converted models.

    Parameters
    ----------
    cache_dir
        An explicit folder; wins over every environment variable.

    Returns
    -------
    Path
        ``cache_dir``, else ``$TOKENHEAT_CACHE``, else the platform's user cache folder for
        tokenheat (platformdirs): ``$XDG_CACHE_HOME/tokenheat`` or ``~/.cache/tokenheat`` on
        Linux, ``~/Library/Caches/tokenheat`` on macOS, ``%LOCALAPPDATA%\\tokenheat\\Cache``
        on Windows. Empty variables count as unset. The folder is not created.

    Examples
    --------
    >>> cache_root("/tmp/th").as_posix()
    '/tmp/th'
    """
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            fail(
                "cache_dir",
                "a path (str or os.PathLike) or None",
                cache_dir,
                kind=ArgumentTypeError,
            )
        return Path(cache_dir).expanduser()
    if os.environ.get("TOKENHEAT_CACHE"):
        return Path(os.environ["TOKENHEAT_CACHE"]).expanduser()
    return platformdirs.user_cache_path("tokenheat", appauthor=False)


def build_atomically(
    final: Path, write: Callable[[Path], None], marker: dict[str, Any] | None = None
) -> Path:
    """Fill a fresh temporary folder with ``write`` and rename it to ``final`` when complete.

    Parameters
    ----------
    final
        The folder to create. Its parent is created if needed.
    write
        Called with the temporary folder; must write every file there.
    marker
        JSON-able facts saved as ``tokenheat-cache.json``, the last file written; a
        folder without it is never used.

    Returns
    -------
    Path
        ``final``. When another process finished the same folder first, its copy is kept.

    Raises
    ------
    BaseException
        Whatever ``write`` raised (including ``KeyboardInterrupt``); the temporary folder
        is removed first and ``final`` is left as it was.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(final.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        write(tmp)
        info = dict(marker or {}, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        (tmp / MARKER).write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a cache folder is readable
        if final.exists() and not (final / MARKER).is_file():
            shutil.rmtree(final)  # an incomplete folder from an older, non-atomic writer
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _remove_stale_temps(parent: Path) -> None:
    """Remove temporary build folders that a killed process left behind."""
    now = time.time()
    for tmp in parent.glob(".tmp-*"):
        try:
            if tmp.is_dir() and now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            continue
