"""The _spec the front end draws: binary buffers, shared corpora, size guard, safe JSON."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import tokenheat as th
from tokenheat.core._spec import build_spec, dumps_for_html


def matrix(values=None, corpus=None, **kw):
    values = np.arange(6, dtype=float).reshape(2, 3) if values is None else values
    return th.TokenMatrix(
        values,
        rows=[f"r{i}" for i in range(values.shape[0])],
        cols=[f"c{j}" for j in range(values.shape[1])],
        corpus=corpus,
        **kw,
    )


def test_values_travel_as_float32_little_endian_bytes():
    spec = build_spec([matrix()])
    buf = spec["matrices"][0]["values"]
    assert isinstance(buf, memoryview)
    np.testing.assert_array_equal(np.frombuffer(buf, "<f4"), np.arange(6, dtype=np.float32))


def test_no_number_lists_in_the_spec():
    def walk(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            assert not (len(obj) > 2 and all(isinstance(x, (int, float)) for x in obj)), obj
            for v in obj:
                walk(v)

    corpus = th.Corpus.from_tokens([["a", "b", "c"]])
    ctx = th.Contexts(
        row=[0, 1], col=[0, 2], example=[0, 0], start=[0, 1], end=[1, 2], numeric={"p": [0.5, 0.25]}
    )
    walk(build_spec([matrix(corpus=corpus, contexts=ctx, counts=np.ones((2, 3)))]))


def test_a_corpus_shared_by_two_matrices_is_sent_once():
    corpus = th.Corpus.from_tokens([["a"]])
    spec = build_spec([matrix(corpus=corpus), matrix(corpus=corpus)])
    assert len(spec["corpora"]) == 1
    assert [m["corpus"] for m in spec["matrices"]] == [0, 0]


def test_scale_domain_is_resolved_for_the_front_end():
    spec = build_spec([matrix(values=np.array([[-2.0, 1.0]]), scale="RdBu")])
    assert spec["matrices"][0]["scale"]["domain"] == [-2.0, 2.0]
    assert spec["matrices"][0]["scale"]["kind"] == "diverging"


def test_size_guard_names_the_remedies():
    with pytest.raises(
        ValueError,
        match=r"max_bytes must be at least the page.s payload, got max_bytes=100,000.*slice the matrix",
    ):
        build_spec([matrix(values=np.zeros((200, 200)))], max_bytes=100_000)


def test_html_json_cannot_close_its_script_element():
    hostile = "</script><script>alert(1)</script>"
    text = dumps_for_html(
        build_spec([th.TokenMatrix([[1.0]], rows=[hostile], cols=["<img src=x onerror=alert(1)>"])])
    )
    assert "<" not in text and ">" not in text
    leaf = json.loads(text)["matrices"][0]["rows"]["labels"]["$json"]["$b64"]
    assert json.loads(base64.b64decode(leaf).decode("utf-8")) == [hostile]


def test_spec_rejects_non_matrices():
    with pytest.raises(
        TypeError, match=r"matrices\[0\] must be a tokenheat.TokenMatrix, got a list"
    ):
        build_spec([[1, 2]])


def test_a_dashboard_keeps_its_layout_in_the_html_export():
    pytest.importorskip("anywidget")
    from tokenheat.widget import STATIC

    if not (STATIC / "standalone.js").exists():
        pytest.skip("front-end bundle not built")
    dash = th.Dashboard([matrix(), matrix()], columns=1, cell_size=20)
    text = dash.to_html()
    assert '"layout":{"columns":1,"cell_size":20}' in text
