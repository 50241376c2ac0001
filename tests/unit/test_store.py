"""tokenheat.save / tokenheat.load: the open, pickle-free results format."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import _roundtrip
import numpy as np
import pandas as pd
import pytest

import tokenheat as th
from tokenheat.__main__ import render
from tokenheat.store import _archive as _store


@pytest.fixture
def corpus() -> th.Corpus:
    return th.Corpus.from_tokens(
        [["Ġthe", "Ġcat", "<b>"], ["Ċ", "x"], ["a", "b", "c", "d"]],
        texts=["the cat <b>", "\nx", "abcd"],
        names=["first", "second", "third"],
        meta=pd.DataFrame(
            {
                "label": ["pos", None, "neg"],
                "score": [0.5, np.nan, -1.0],
                "n": np.array([1, 2, 3], dtype=np.int64),
                "ok": [True, False, True],
                "cat": pd.Categorical(["u", "v", "u"]),
            }
        ),
    )


@pytest.fixture
def matrix(corpus: th.Corpus) -> th.TokenMatrix:
    return _roundtrip.full_matrix(
        rows=["Ġthe", "<img src=x onerror=alert(1)>"],
        cols=["0", "1", "2"],
        col_kind="example",
        col_title="example",
        col_examples=[0, 1, 2],
        corpus=corpus,
        contexts=_roundtrip.full_contexts(),
        meta={"method": "delete", "model": "tiny", "warnings": ["w"], "err": np.float32(0.25)},
    )


@pytest.fixture
def other(corpus: th.Corpus) -> th.TokenMatrix:
    return th.TokenMatrix(
        np.arange(4.0).reshape(2, 2),
        rows=["L0", "L1"],
        cols=["the", "the"],
        row_kind="layer",
        col_kind="position",
        col_tokens=["Ġthe", None],
        corpus=corpus,
        contexts=th.Contexts(row=[0], col=[1], example=[1], start=[0], end=[2]),
        scale=th.ColorScale("magma", reverse=True),
    )


def _manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def _rewrite(path: Path, out: Path, edit) -> Path:
    """Copy a results file, passing each member's bytes through ``edit(name, data)``."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = edit(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


def test_matrix_round_trip_keeps_every_field(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")
    assert path == tmp_path / "r.th"
    back = th.load(path)
    assert isinstance(back, th.TokenMatrix)
    _roundtrip.same_matrix(back, matrix)
    assert back.scale == matrix.scale
    assert back.meta == {"method": "delete", "model": "tiny", "warnings": ["w"], "err": 0.25}
    assert back.cell_text_array()[0, 1] is None and back.cell_text_array()[0, 2] == ""


def test_corpus_texts_names_and_meta_round_trip(tmp_path, matrix, corpus):
    back = th.load(th.save(matrix, tmp_path / "r.th")).corpus
    assert back.texts == corpus.texts and back.names == corpus.names
    meta = back.meta
    assert list(meta.columns) == ["label", "score", "n", "ok", "cat"]
    assert meta["label"].tolist() == ["pos", None, "neg"]
    np.testing.assert_array_equal(meta["score"], corpus.meta["score"])
    assert meta["n"].dtype == np.int64 and meta["n"].tolist() == [1, 2, 3]
    assert meta["ok"].dtype == bool and meta["ok"].tolist() == [True, False, True]
    assert meta["cat"].tolist() == ["u", "v", "u"]  # categorical comes back as object


def test_a_list_round_trips_as_a_list_sharing_its_corpus(tmp_path, matrix, other):
    path = th.save([matrix, other], tmp_path / "r.th")
    back = th.load(path)
    assert isinstance(back, list) and len(back) == 2
    _roundtrip.same_matrix(back[0], matrix)
    _roundtrip.same_matrix(back[1], other)
    assert back[0].corpus is back[1].corpus
    manifest = _manifest(path)
    assert len(manifest["corpora"]) == 1
    assert [m["corpus"] for m in manifest["matrices"]] == [0, 0]
    with zipfile.ZipFile(path) as zf:
        assert sum(n.endswith("ids.npy") for n in zf.namelist()) == 1


def test_distinct_corpora_are_stored_apart(tmp_path, matrix, other, corpus):
    copy = th.Corpus(corpus.vocab, corpus.ids, corpus.offsets)
    lone = th.TokenMatrix(
        other.values,
        other.rows,
        other.cols,
        col_kind="position",
        corpus=copy,
        contexts=other.contexts,
    )
    back = th.load(th.save([matrix, lone], tmp_path / "r.th"))
    assert back[0].corpus is not back[1].corpus
    assert back[1].corpus.texts is None


def test_a_one_item_list_loads_as_a_list(tmp_path, other):
    assert isinstance(th.load(th.save([other], tmp_path / "r.th")), list)


def test_a_dashboard_saves_its_matrices(tmp_path, matrix, other):
    path = th.save(th.Dashboard([matrix, other]), tmp_path / "r.th")
    assert _manifest(path)["saved"] == "Dashboard"
    back = th.load(path)
    _roundtrip.same_matrix(back[1], other)
    assert len(th.Dashboard(back).matrices) == 2


def test_manifest_describes_the_format(tmp_path, matrix):
    manifest = _manifest(th.save(matrix, tmp_path / "r.th"))
    assert manifest["format"] == "tokenheat"
    assert manifest["format_version"] == 1
    assert manifest["tokenheat_version"] == th.__version__
    assert manifest["created"].endswith("+00:00")
    entry = manifest["matrices"][0]
    assert entry["rows"]["labels"] == matrix.rows
    assert entry["rows"]["kind"] == "token"
    assert entry["scale"] == {
        "palette": "RdYlGn",
        "domain": [-2.0, 3.0],
        "center": 0.5,
        "reverse": False,
    }
    assert entry["cell_text"]["vocab"] == matrix.cell_text[0]
    assert [lab["name"] for lab in entry["contexts"]["labels"]] == ["orig", "new"]


def test_every_array_is_a_plain_npy_file(tmp_path, matrix, other):
    path = th.save([matrix, other], tmp_path / "r.th")
    with zipfile.ZipFile(path) as zf:
        arrays = [n for n in zf.namelist() if n.endswith(".npy")]
        assert arrays and set(zf.namelist()) == {"manifest.json", *arrays}
        for name in arrays:
            arr = np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
            assert arr.dtype.kind in "biuf", name
            assert arr.dtype.byteorder in "<|=", name


def test_save_replaces_atomically_and_leaves_no_temp_file(tmp_path, matrix, other):
    path = tmp_path / "r.th"
    th.save(matrix, path)
    th.save(other, path)
    _roundtrip.same_matrix(th.load(path), other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.th"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # like a plain open(), not 0600


def test_failed_save_keeps_the_old_file(tmp_path, matrix, other):
    path = th.save(other, tmp_path / "r.th")
    bad = th.TokenMatrix(
        matrix.values, matrix.rows, matrix.cols, row_kind="token", meta={"f": object()}
    )
    with pytest.raises(TypeError, match="meta of matrix 0 must be JSON-able"):
        th.save(bad, path)
    _roundtrip.same_matrix(th.load(path), other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.th"]


def test_save_rejects_wrong_objects_and_missing_folders(tmp_path, matrix):
    with pytest.raises(TypeError, match=r"obj must be a TokenMatrix, .*, got an array of shape"):
        th.save(np.eye(2), tmp_path / "r.th")
    with pytest.raises(
        ValueError,
        match=r"obj must be a TokenMatrix, a non-empty list of them .*, got a list of length 0",
    ):
        th.save([], tmp_path / "r.th")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        th.save(matrix, tmp_path / "nope" / "r.th")


def test_newer_format_version_asks_to_upgrade(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")

    def bump(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest.update(format_version=7, tokenheat_version="9.0.0")
        return json.dumps(manifest)

    newer = _rewrite(path, tmp_path / "newer.th", bump)
    with pytest.raises(
        ValueError,
        match=r"format version 7 \(written by tokenheat 9\.0\.0\).*"
        r"reads format version 1 at most.*[Uu]pgrade tokenheat",
    ):
        th.load(newer)


def test_older_format_version_is_migrated_or_refused(tmp_path, matrix, monkeypatch):
    path = th.save(matrix, tmp_path / "r.th")

    def to_v0(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["format_version"] = 0
        manifest["matrices"][0]["label"] = manifest["matrices"][0].pop("title")
        return json.dumps(manifest)

    old = _rewrite(path, tmp_path / "old.th", to_v0)
    with pytest.raises(ValueError, match="format version 0, older than any"):
        th.load(old)

    def upgrade(manifest):
        for m in manifest["matrices"]:
            m["title"] = m.pop("label")
        return manifest

    monkeypatch.setitem(_store.MIGRATIONS, 0, upgrade)
    _roundtrip.same_matrix(th.load(old), matrix)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "r.th"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a tokenheat results file \\(not a zip"):
        th.load(path)


def test_a_foreign_zip_is_refused(tmp_path):
    path = tmp_path / "r.th"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="zip archive but not a tokenheat results file"):
        th.load(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data.txt", "x")
    with pytest.raises(ValueError, match="zip archive but not a tokenheat results file"):
        th.load(path)


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results file"):
        th.load(tmp_path / "absent.th")


def test_flipped_bytes_are_reported_as_damage(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("matrices/0/values.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="damaged tokenheat results file"):
        th.load(path)


def test_a_truncated_file_is_refused(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="is a damaged tokenheat results file"):
        th.load(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["matrices"][0].pop("values"), "missing entry 'values'"),
        (lambda m: m["matrices"][0].update(values="nope.npy"), "nope.npy is missing"),
        (lambda m: m["matrices"][0].update(shape=[3, 3]), r"shape \[3, 3\] does not match"),
        (lambda m: m["matrices"][0].update(corpus=5), "corpus index 5"),
        (
            lambda m: m["matrices"][0]["scale"].update(palette="jet"),
            "palette must be one of .*got 'jet'",
        ),
        (lambda m: m.update(format_version="1"), "format_version is '1'"),
        (
            lambda m: m["matrices"][0]["contexts"]["labels"][0].update(categories=["x"]),
            "outside its categories",
        ),
        (lambda m: m["matrices"][0]["contexts"].update(n=9), "expected \\(9,\\)"),
    ],
)
def test_inconsistent_manifests_are_reported_as_damage(tmp_path, matrix, edit, message):
    path = th.save(matrix, tmp_path / "r.th")

    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        edit(manifest)
        return json.dumps(manifest)

    bad = _rewrite(path, tmp_path / "bad.th", change)
    with pytest.raises(ValueError, match=f"damaged tokenheat results file: .*{message}"):
        th.load(bad)


def test_contexts_pointing_outside_the_corpus_are_refused(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")

    def far(name, data):
        if name != "matrices/0/contexts/example.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.full(4, 99, dtype="<i4"))
        return buf.getvalue()

    with pytest.raises(ValueError, match=r"damaged.*example 99"):
        th.load(_rewrite(path, tmp_path / "bad.th", far))


def test_a_pickled_array_is_refused_without_running_it(tmp_path, matrix):
    path = th.save(matrix, tmp_path / "r.th")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    def evil(name, data):
        if name != "matrices/0/values.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.array([Payload()], dtype=object), allow_pickle=True)
        return buf.getvalue()

    bad = _rewrite(path, tmp_path / "bad.th", evil)
    with pytest.raises(
        ValueError, match=r"damaged.*values\.npy holds object, expected a plain array"
    ):
        th.load(bad)
    assert not marker.exists()


def test_load_works_without_torch(tmp_path, matrix, other):
    path = th.save([matrix, other], tmp_path / "r.th")
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import tokenheat as th
        back = th.load({str(path)!r})
        assert len(back) == 2 and back[0].contexts is not None
        th.save(back, {str(tmp_path / "again.th")!r})
        assert "transformers" not in sys.modules
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _page_or_skip(fn):
    try:
        return fn()
    except FileNotFoundError as err:  # the front-end bundle is not built here
        pytest.skip(str(err))


def test_render_writes_the_saved_matrices_as_a_page(tmp_path, matrix, other):
    path = th.save([matrix, other], tmp_path / "r.th")
    out = _page_or_skip(lambda: render(path, tmp_path / "page.html"))
    assert out == tmp_path / "page.html"
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "flip rate" in page
    assert "<img src=x" not in page  # the hostile row label is escaped in the page data


def test_render_defaults_to_the_input_name_with_html(tmp_path, other):
    path = th.save(other, tmp_path / "results.th")
    out = _page_or_skip(lambda: render(path))
    assert out == tmp_path / "results.html" and out.exists()


def test_render_of_a_bad_file_fails_before_writing(tmp_path):
    bad = tmp_path / "r.th"
    bad.write_text("nope")
    with pytest.raises(ValueError, match="not a tokenheat results file"):
        render(bad, tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


def test_unusual_strings_round_trip_exactly(tmp_path):
    odd = ["\x00", "\ufffd", "a\u2028b", "", " ", "\\", '"', "é\u0301", "🙂"]
    corpus = th.Corpus.from_tokens([odd], texts=["".join(odd)], names=["\x00name"])
    m = th.TokenMatrix(
        np.zeros((len(odd), 1)),
        rows=odd,
        cols=["\ufffd"],
        row_kind="token",
        title="\x00",
        cell_text=np.array(odd, dtype=object).reshape(-1, 1),
        corpus=corpus,
        contexts=th.Contexts(
            row=[0], col=[0], example=[0], start=[0], end=[1], labels={"\ufffd": ["\x00"]}
        ),
        meta={"\ud800": "\x00"},
    )
    back = th.load(th.save(m, tmp_path / "r.th"))
    _roundtrip.same_matrix(back, m)
    assert back.corpus.vocab == odd and back.title == "\x00" and back.meta == {"\ud800": "\x00"}
