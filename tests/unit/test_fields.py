"""The one field table (core/_fields.py) is what the widget spec, the .th file and the
TypeScript types follow: each is checked against it here."""

from __future__ import annotations

import json
import pathlib
import re
import zipfile

import numpy as np

import tokenheat as th
from tokenheat.core import _fields
from tokenheat.core._spec import build_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ts_interfaces() -> dict[str, dict[str, str]]:
    text = (ROOT / "js" / "types.ts").read_text(encoding="utf-8")
    out = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", text, re.S):
        props = dict(re.findall(r"^\s+(\w+): (.+);$", body, re.M))
        out[name] = props
    return out


def _full_matrix() -> th.TokenMatrix:
    corpus = th.Corpus.from_tokens([["a", "b"], ["c"]], names=["x", "y"])
    ctx = th.Contexts(
        row=[0],
        col=[1],
        example=[0],
        start=[0],
        end=[1],
        start2=[1],
        end2=[2],
        scores=[np.ones(2)],
        numeric={"p": [0.5]},
        labels={"l": ["a"]},
    )
    return th.TokenMatrix(
        np.ones((2, 2), np.float32),
        rows=["a", "b"],
        cols=["c", "d"],
        row_kind="token",
        cell_text=[["x", None], ["y", "z"]],
        counts=np.ones((2, 2)),
        extras={"lo": np.zeros((2, 2))},
        scale=th.ColorScale.diverging(),
        row_examples=[0, 1],
        corpus=corpus,
        contexts=ctx,
        meta={"k": 1},
        display={"row_groups": [{"label": "g", "start": 0, "end": 1}]},
    )


def test_typescript_types_are_the_table():
    declared = _ts_interfaces()
    for name, props in _fields.ts_interfaces().items():
        assert name in declared, f"js/types.ts lacks interface {name}"
        assert declared[name] == props, f"js/types.ts {name} differs from core/_fields.py"


def test_codec_reads_every_wire_field():
    codec = (ROOT / "js" / "codec.ts").read_text(encoding="utf-8")
    for table, fields in _fields.TABLES.items():
        for field in fields:
            if field.wire is not None:
                assert re.search(rf"\.{field.wire}\b", codec), (
                    f"codec.ts never reads {table}.{field.wire}"
                )


def test_the_widget_spec_has_exactly_the_table_fields():
    spec = build_spec([_full_matrix()])
    assert list(spec) == _fields.wire_keys("Spec")
    assert list(spec["layout"]) == _fields.wire_keys("Layout")
    m = spec["matrices"][0]
    assert list(m) == _fields.wire_keys("Matrix")
    for part in ("rows", "cols"):
        assert list(m[part]) == _fields.wire_keys("Axis")
    assert list(m["cell_text"]) == _fields.wire_keys("CellText")
    assert set(m["scale"]) == set(_fields.wire_keys("Scale"))
    assert list(m["display"]) == _fields.wire_keys("Display")
    assert list(m["display"]["row_groups"][0]) == _fields.wire_keys("Group")
    assert list(m["extras"][0]) == _fields.wire_keys("NumericColumn")
    assert list(m["contexts"]) == _fields.wire_keys("Contexts")
    assert list(m["contexts"]["labels"][0]) == _fields.wire_keys("LabelColumn")
    assert list(spec["corpora"][0]) == _fields.wire_keys("Corpus")
    assert spec["version"] == _fields.SPEC_VERSION


def test_the_results_file_has_exactly_the_table_fields(tmp_path):
    th.save(_full_matrix(), tmp_path / "r.th")
    with zipfile.ZipFile(tmp_path / "r.th") as zf:
        manifest = json.loads(zf.read("manifest.json"))
    m = manifest["matrices"][0]
    assert set(m) == set(_fields.th_keys("Matrix"))
    assert set(m["rows"]) == set(_fields.th_keys("Axis"))
    assert set(m["cell_text"]) == set(_fields.th_keys("CellText"))
    assert set(m["scale"]) == set(_fields.th_keys("Scale"))
    assert set(m["display"]) == set(_fields.th_keys("Display"))
    assert set(m["extras"][0]) == set(_fields.th_keys("NumericColumn"))
    assert set(m["contexts"]) == set(_fields.th_keys("Contexts"))
    assert set(m["contexts"]["labels"][0]) == set(_fields.th_keys("LabelColumn"))
    assert set(manifest["corpora"][0]) == set(_fields.th_keys("Corpus"))


def test_values_stay_float32_bit_for_bit_to_the_bytes():
    raw = np.array([[-0.0, np.float32(1e-45), np.finfo(np.float32).max, np.nan]], np.float32)
    m = th.TokenMatrix(raw, rows=["r"], cols=list("abcd"))
    assert m.values.dtype == np.float32 and m.values.tobytes() == raw.tobytes()
    spec = build_spec([m])
    assert bytes(spec["matrices"][0]["values"]) == raw.astype("<f4").tobytes()
