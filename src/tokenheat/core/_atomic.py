"""The one way tokenheat writes a file: atomically, beside the target, cleaning up after itself.

Used by ``th.save`` (``.th`` results) and ``to_html`` (pages):

- the bytes go to a short hidden temporary file in the target's folder
  (``.tokenheat-<8 hex>.tmp``, so a 250-character file name still fits the file system's
  limit), are flushed to disk and renamed over the target in one step: a crash or a kill
  leaves the old file or the new one, never half of one;
- a target that exists keeps its permission bits (a 0600 file stays 0600); a new one gets
  ``0666 & ~umask`` like any file the user creates;
- a symbolic link is followed: the file it points to is replaced, the link stays a link;
- SIGTERM during the write (in the main thread) removes the temporary file before the
  process ends; temporary files left by a SIGKILL or a power cut are removed by the next
  write into the same folder once they are older than :data:`STALE_AFTER_S`;
- ``""``, a directory, a missing or read-only folder raise an error naming the target,
  never the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

#: Prefix and suffix of the temporary files (what the stale-file sweep looks for).
TMP_PREFIX, TMP_SUFFIX = ".tokenheat-", ".tmp"
#: Temporary files older than this (seconds) are left-overs of a killed write.
STALE_AFTER_S = 15 * 60


def target_path(path: Any, *, name: str = "path") -> pathlib.Path:
    """``path`` as the file a write should replace: symlinks followed, bad paths refused."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        fail(name, "a file path (str or pathlib.Path)", path, kind=ArgumentTypeError)
    text = os.fspath(path)
    if not isinstance(text, str) or text.strip() == "":
        fail(name, "a file path", text)
    target = pathlib.Path(text)
    if target.is_symlink():
        target = pathlib.Path(os.path.realpath(target))
    if target.is_dir():
        fail(
            name,
            "a file path",
            given=f"the directory {str(path)!r}",
            hint=f"add a file name, e.g. {str(pathlib.Path(text) / 'results.th')!r}",
        )
    return target


def sweep_stale(folder: pathlib.Path, *, older_than_s: float = STALE_AFTER_S) -> list[pathlib.Path]:
    """Remove tokenheat temporary files in ``folder`` older than ``older_than_s``; return them."""
    removed: list[pathlib.Path] = []
    now = time.time()
    try:
        candidates = list(folder.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"))
    except OSError:
        return removed
    for tmp in candidates:
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    return removed


# The main-thread guard of _tuned_lens_train.py's _hold_interrupts; another signal, another job.
@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """In the main thread, turn SIGTERM into ``SystemExit`` so ``finally`` blocks run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not allowed here (an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _new_mode(target: pathlib.Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(
    path: Any,
    write: Callable[[IO[bytes]], object],
    *,
    name: str = "path",
    make_parents: bool = False,
) -> pathlib.Path:
    """Write a file through ``write(fh)`` atomically; return the path written (``path`` itself
    unless it is a symlink, whose target is written).

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For ``""``, a directory or something that is not a path.
    FileNotFoundError
        When the folder does not exist (and ``make_parents`` is false).
    PermissionError
        When the folder or the file cannot be written.
    """
    target = target_path(path, name=name)
    folder = target.parent
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {folder} does not exist")
    sweep_stale(folder)
    tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(4)}{TMP_SUFFIX}"
    with _sigterm_raises():
        try:
            try:
                fh = open(tmp, "xb")  # noqa: SIM115 - closed below, before the rename
            except PermissionError:
                raise PermissionError(
                    f"cannot write {target}: the folder {folder} is not writable"
                ) from None
            with fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, _new_mode(target))
            try:
                os.replace(tmp, target)
            except PermissionError:
                raise PermissionError(f"cannot write {target}: permission denied") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return target
