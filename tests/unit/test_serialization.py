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


def test_the_spec_names_the_option_that_capped_the_contexts():
    ctx = th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1])
    corpus = th.Corpus.from_tokens([["a", "b"]])
    capped = matrix(corpus=corpus, contexts=ctx, meta={"max_contexts_per_cell": 50})
    older = matrix(corpus=corpus, contexts=ctx, meta={"contexts_per_cell": 7})  # saved before
    spec = build_spec([capped, older, matrix(corpus=corpus, contexts=ctx)])
    limits = [m["contexts"]["limit"] for m in spec["matrices"]]
    assert limits == [
        {"option": "max_contexts_per_cell", "value": 50},
        {"option": "contexts_per_cell", "value": 7},
        None,
    ]


def _bundle_or_skip():
    pytest.importorskip("anywidget")
    from tokenheat.widget import STATIC

    if not (STATIC / "standalone.js").exists():
        pytest.skip("front-end bundle not built")


def _exported_display(text):
    start = text.index('id="tokenheat-data-0">') + len('id="tokenheat-data-0">')
    data = json.loads(text[start : text.index("</script>", start)])
    return [m["display"] for m in data["spec"]["matrices"]]


def test_to_html_with_a_path_returns_the_path_and_without_one_the_text(tmp_path):
    _bundle_or_skip()
    target = tmp_path / "sub" / "page.html"
    written = matrix().to_html(target)
    assert written == target and target.exists()
    assert th.Dashboard([matrix()]).to_html(str(tmp_path / "d.html")) == tmp_path / "d.html"
    assert matrix().to_html().startswith("<!DOCTYPE html>")


def test_a_dashboard_exports_the_orders_its_reader_chose():
    _bundle_or_skip()
    dash = th.Dashboard([matrix(display={"row_order": "max"}), matrix()])
    assert [d["row_order"] for d in _exported_display(dash.to_html())] == ["max", "original"]
    dash.orders = [{"row": "mean", "col": "original"}, {"row": "cluster", "col": "label"}]
    shown = _exported_display(dash.to_html())
    assert [(d["row_order"], d["col_order"]) for d in shown] == [
        ("mean", "original"),
        ("cluster", "label"),
    ]
    # The matrices themselves are left as they were.
    assert dash.matrices[0].display.row_order == "max"


def test_the_orders_trait_refuses_what_the_page_cannot_draw():
    pytest.importorskip("anywidget")
    import traitlets

    dash = th.Dashboard([matrix()])
    with pytest.raises(traitlets.TraitError, match="must be one of original, label"):
        dash.orders = [{"row": "random", "col": "original"}]
    with pytest.raises(traitlets.TraitError, match="1 matrices"):
        dash.orders = [{"row": "mean"}, {"row": "mean"}]
    dash.orders = [{"row": "variance"}]
    assert dash.orders == [{"row": "variance", "col": "original"}]
