"""Hostile and careless files (issue 14): a `.th` file the loader must refuse within its
memory budget, and saves that must never leave a half-written or misplaced file."""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tokenheat as th
from tokenheat.core._atomic import STALE_AFTER_S, TMP_PREFIX, TMP_SUFFIX
from tokenheat.errors import ArgumentError, ArgumentTypeError, DamagedFileError

SRC = pathlib.Path(th.__file__).resolve().parents[1]


def _m(**kw) -> th.TokenMatrix:
    base = {"values": np.ones((2, 2)), "rows": ["a", "b"], "cols": ["x", "y"]}
    base.update(kw)
    return th.TokenMatrix(**base)


# ------------------------------------------------------------------ 2. the loader's budget
def _rewrite(src: pathlib.Path, dst: pathlib.Path, change) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
        change(members)
        for name, data in members.items():
            zout.writestr(name, data)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _load_measured(path: pathlib.Path, **kw) -> tuple[Exception | None, int]:
    tracemalloc.start()
    err = None
    try:
        th.load(path, **kw)
    except DamagedFileError as e:
        err = e
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return err, peak


def test_a_zip_bomb_member_is_refused_before_it_is_inflated(tmp_path):
    good = th.save(_m(), tmp_path / "good.th")
    bomb = np.zeros((4096, 4096), np.float32)  # 64 MiB inflated, ~65 KB deflated

    def change(members):
        members["matrices/0/values.npy"] = _npy(bomb)

    _rewrite(good, tmp_path / "bomb.th", change)
    assert (tmp_path / "bomb.th").stat().st_size < 1_000_000
    err, peak = _load_measured(tmp_path / "bomb.th")
    assert err is not None and "has shape (4096, 4096), expected (2, 2)" in str(err)
    assert peak < 8 * 2**20


def test_a_member_over_the_memory_budget_is_refused_before_reading(tmp_path):
    m = _m(
        values=np.zeros((512, 512)),
        rows=[str(i) for i in range(512)],
        cols=list(map(str, range(512))),
    )
    path = th.save(m, tmp_path / "r.th")
    err, peak = _load_measured(path, max_bytes=100_000)
    assert err is not None and "beyond the load budget of 100,000 bytes" in str(err)
    assert peak < 4 * 2**20
    assert th.load(path).equals(m)


def test_declared_shapes_of_trillions_are_damage_not_memory_errors(tmp_path):
    good = th.save(_m(), tmp_path / "good.th")
    header = _npy(np.zeros((1, 1), np.float32)).replace(b"(1, 1)", b"(6000000000000, 1)")

    def change(members):
        manifest = json.loads(members["manifest.json"])
        manifest["matrices"][0]["shape"] = [6_000_000_000_000, 1]
        members["manifest.json"] = json.dumps(manifest).encode()
        members["matrices/0/values.npy"] = header

    _rewrite(good, tmp_path / "huge.th", change)
    with pytest.raises(DamagedFileError, match=r"shape \[6000000000000, 1\] does not match"):
        th.load(tmp_path / "huge.th")

    def change_npy_only(members):
        members["matrices/0/values.npy"] = header.replace(b"(6000000000000, 1)", b"(2, 6000000)")

    _rewrite(good, tmp_path / "huge2.th", change_npy_only)
    with pytest.raises(DamagedFileError, match=r"expected \(2, 2\)"):
        th.load(tmp_path / "huge2.th")


def test_a_deeply_nested_manifest_is_damage_not_recursion(tmp_path):
    good = th.save(_m(), tmp_path / "good.th")

    def change(members):
        manifest = json.loads(members["manifest.json"])
        text = json.dumps(manifest)
        members["manifest.json"] = (
            text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
        ).encode()

    _rewrite(good, tmp_path / "deep.th", change)
    with pytest.raises(DamagedFileError, match="nested too deeply"):
        th.load(tmp_path / "deep.th")


# ------------------------------------------------------------------ 7. saving
def test_saving_keeps_permissions_and_follows_symlinks(tmp_path):
    target = tmp_path / "real.th"
    th.save(_m(), target)
    os.chmod(target, 0o600)
    link = tmp_path / "link.th"
    link.symlink_to(target)
    th.save(_m(title="new"), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert th.load(target).title == "new"
    assert (target.stat().st_mode & 0o777) == 0o600
    th.save(_m(title="again"), target)
    assert (target.stat().st_mode & 0o777) == 0o600


def test_a_long_file_name_fits_because_the_temp_name_is_short(tmp_path):
    name = "x" * 245 + ".th"
    assert len(name) == 248
    th.save(_m(), tmp_path / name)
    th.load(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_stale_temp_files_are_swept_by_the_next_save(tmp_path):
    stale = tmp_path / f"{TMP_PREFIX}deadbeef{TMP_SUFFIX}"
    fresh = tmp_path / f"{TMP_PREFIX}0badf00d{TMP_SUFFIX}"
    stale.write_bytes(b"x" * 100)
    fresh.write_bytes(b"x")
    old = time.time() - STALE_AFTER_S - 60
    os.utime(stale, (old, old))
    th.save(_m(), tmp_path / "r.th")
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "path, error, match",
    [
        ("", ArgumentError, r"path must be a file path, got ''"),
        (".", ArgumentError, r"path must be a file path, got the directory '.'"),
        (
            "missing/r.th",
            FileNotFoundError,
            r"cannot write .*r.th: the folder .*missing does not exist",
        ),
        (3, ArgumentTypeError, r"path must be a file path \(str or pathlib.Path\), got 3"),
    ],
)
def test_bad_save_paths_name_the_target(tmp_path, monkeypatch, path, error, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        th.save(_m(), path)
    assert not list(tmp_path.glob(f"{TMP_PREFIX}*"))


def test_sigterm_mid_save_leaves_no_temp_file(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys, numpy as np
        sys.path.insert(0, {str(SRC)!r})
        import tokenheat as th
        m = th.TokenMatrix(np.random.default_rng(0).random((1500, 1500)),
                           rows=[str(i) for i in range(1500)], cols=[str(i) for i in range(1500)])
        print("ready", flush=True)
        while True:
            th.save(m, {str(tmp_path / "r.th")!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 30
        while not list(tmp_path.glob(f"{TMP_PREFIX}*")) and time.time() < deadline:
            time.sleep(0.005)  # wait until a save is under way
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert not list(tmp_path.glob(f"{TMP_PREFIX}*"))
