"""Hostile and careless input, class by class (issue 14): each case asserts the clear error
(naming the argument, what was given and what would work) or the exact round trip."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tokenheat as th
from tokenheat.core import _tokens
from tokenheat.core._spec import build_spec
from tokenheat.errors import (
    ArgumentError,
    ArgumentTypeError,
    PayloadTooLargeError,
    TokenheatWarning,
)

SRC = pathlib.Path(th.__file__).resolve().parents[1]

#: The 18 hostile strings: markup, script, comment and CDATA openers, bidi and invisible
#: characters, a lone surrogate, control characters, JSON and template breakers.
HOSTILE = [
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<img src=x onerror=alert(3)>",
    '"><svg onload=alert(4)>',
    "&lt;&amp;&#x3c;",
    "\u202eevil\u202c",
    "\u2066x",
    "a\u200b\u200c\u200d\u2060\ufeffb",
    "\ud800",
    "\x00\x01\x1b[31m",
    "\u2028\u2029",
    '{"$b64": "AAAA"}',
    '{"$json": "x"}',
    "${alert(5)}{{7*7}}",
    "\\u003c/script\\u003e",
]


def _m(**kw) -> th.TokenMatrix:
    base = {"values": np.ones((2, 2)), "rows": ["a", "b"], "cols": ["x", "y"]}
    base.update(kw)
    return th.TokenMatrix(**base)


def _hostile_matrix() -> th.TokenMatrix:
    labels = [s.replace("\ud800", "\ufffd") for s in HOSTILE]
    corpus = th.Corpus.from_tokens([labels], names=labels[:1])
    n = len(labels)
    return th.TokenMatrix(
        np.arange(n * 2, dtype=np.float32).reshape(n, 2),
        rows=labels,
        cols=labels[:2],
        row_kind="token",
        title=labels[2] + labels[0],
        value_label=labels[8],
        cell_text=np.array(labels * 2, dtype=object).reshape(n, 2),
        corpus=corpus,
        contexts=th.Contexts(
            row=list(range(n)),
            col=[0] * n,
            example=[0] * n,
            start=list(range(n)),
            end=[i + 1 for i in range(n)],
            labels={labels[1]: labels},
        ),
    )


# ------------------------------------------------------------------ 1. saved files that load
# A Contexts spelled out like those of the other tests on purpose: its values are the test.
def test_missing_context_labels_save_load_and_show_as_missing(tmp_path):
    corpus = th.Corpus.from_tokens([["a", "b"]])
    ctx = th.Contexts(
        row=[0, 0, 0],
        col=[0, 0, 0],
        example=[0, 0, 0],
        start=[0, 1, 0],
        end=[1, 2, 2],
        labels={"label": ["joy", None, float("nan")]},
    )
    m = th.TokenMatrix([[1.0]], rows=["a"], cols=["x"], corpus=corpus, contexts=ctx)
    assert m.contexts.labels["label"][0] == ["joy"]
    assert m.contexts.labels["label"][1].tolist() == [0, -1, -1]
    back = th.load(th.save(m, tmp_path / "r.th"))
    assert back.contexts.to_pandas()["label"].tolist() == ["joy", None, None]
    dash = th.Dashboard(back)
    dash.select(0, row=0, col=0)
    assert dash.selected_contexts()["label"].tolist() == ["joy", None, None]


@pytest.mark.parametrize("field", ["values", "counts", "extras"])
def test_values_beyond_float32_are_refused_not_stored_as_inf(field):
    big = np.array([[1.0, 1e39]])
    kw = {"values": np.ones((1, 2)), "rows": ["a"], "cols": ["x", "y"]}
    kw.update({"extras": {"hi": big}} if field == "extras" else {field: big})
    with pytest.raises(ArgumentError, match=r"beyond float32's range.*at row 0, col 1"):
        th.TokenMatrix(**kw)


# ------------------------------------------------------------------ 3. no silently wrong result
@pytest.mark.parametrize("name", ["value", "row", "col", "count", "text"])
def test_extras_may_not_shadow_the_frame_columns(name):
    with pytest.raises(ArgumentError, match=rf"extras must be named other than .*got '{name}'"):
        _m(extras={name: np.zeros((2, 2))})


def test_extras_keys_that_collide_as_str_are_refused():
    with pytest.raises(
        ArgumentError, match=r"extras must be keys that stay distinct.*collides with '3'"
    ):
        _m(extras={3: np.zeros((2, 2)), "3": np.ones((2, 2))})


@pytest.mark.parametrize(
    "values, match",
    [
        (np.ones((2, 2)) * 1j, r"values must be real numbers, got .*complex.*take .real"),
        (
            np.array([["2020-01-01"] * 2] * 2, dtype="datetime64[D]"),
            r"values must be real numbers.*datetime",
        ),
        (np.array([["1", "2"], ["3", "4"]]), r"values must be numbers, got .*<U1.*pd.to_numeric"),
        ([[1.0, 2.0], [3.0]], r"values must be a rectangular array of numbers"),
    ],
)
def test_values_that_would_lose_meaning_are_refused(values, match):
    with pytest.raises((ArgumentError, ArgumentTypeError), match=match):
        _m(values=values)


def test_masked_cells_become_nan():
    masked = np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[False, True], [False, False]])
    m = _m(values=masked)
    assert np.isnan(m.values[0, 1]) and m.values[1, 1] == 4.0


def test_a_string_count_column_is_refused_not_concatenated():
    df = pd.DataFrame({"r": ["a", "a"], "c": ["x", "x"], "v": [1.0, 2.0], "n": ["1", "2"]})
    with pytest.raises(ArgumentTypeError, match=r"count \(column 'n'\) must be numbers"):
        th.TokenMatrix.from_dataframe(df, "r", "c", "v", count="n")


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"reverse": "no"}, r"reverse must be True or False, got 'no'"),
        ({"palette": "RdBu", "center": "0"}, r"center must be a number or None, got '0'"),
        ({"domain": "01"}, r"domain must be two numbers \(low, high\), got '01'"),
        ({"domain": (0, float("inf"))}, r"domain\[1\] must be a finite number"),
    ],
)
def test_colour_scale_options_have_their_types(kw, match):
    with pytest.raises((ArgumentError, ArgumentTypeError), match=match):
        th.ColorScale(**kw)


def test_out_of_range_examples_and_spans_are_refused():
    corpus = th.Corpus.from_tokens([["a", "b"]])
    with pytest.raises(ArgumentError, match=r"row_examples must be indices in -1..0.*entry 1 is 5"):
        _m(row_examples=[0, 5], corpus=corpus)
    with pytest.raises(ArgumentError, match=r"start2/end2 must be a span.*start2=2, end2=1"):
        th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1], start2=[2], end2=[1])
    ctx = th.Contexts(row=[0], col=[0], example=[0], start=[0], end=[1], start2=[0], end2=[9])
    with pytest.raises(ArgumentError, match=r"start2/end2 \[0, 9\) of example 0, which has 2"):
        _m(corpus=corpus, contexts=ctx)


class _BadClassifier:
    labels = ("neg", "pos")

    def __init__(self, probs):
        self.probs = probs

    def predict_proba(self, texts):
        return np.tile(self.probs, (len(texts), 1))


@pytest.mark.parametrize(
    "probs, match",
    [
        ([np.nan, 1.0], "finite, non-negative probabilities"),
        ([-0.5, 1.5], "finite, non-negative probabilities"),
        ([3.0, 4.0], "rows that sum to 1.*softmax"),
    ],
)
def test_a_classifier_object_is_checked_like_a_callable(probs, match):
    with pytest.raises(ArgumentError, match=match):
        th.flip_rate(_BadClassifier(probs), ["a good film", "a bad one"], progress=False)


# ------------------------------------------------------------------ 4. widget state and pages
def test_widget_state_holds_no_markup_an_html_parser_could_misread():
    embed = pytest.importorskip("ipywidgets.embed")
    dash = th.Dashboard(_hostile_matrix())
    state = json.dumps(embed.embed_data(views=[dash], drop_defaults=False)["manager_state"])
    lowered = state.lower()
    assert "<!--" not in lowered and "<script" not in lowered and "</script" not in lowered
    spec = build_spec([_hostile_matrix()])
    labels = spec["matrices"][0]["rows"]["labels"]
    assert json.loads(bytes(labels["$json"]).decode()) == _hostile_matrix().rows


def test_a_selected_token_holding_markup_is_shielded_in_the_widget_state():
    embed = pytest.importorskip("ipywidgets.embed")
    dash = th.Dashboard(_m(rows=["<!--", "<script>"], row_kind="token"))
    dash.select(0, row=1, col=0, token="<!--<script>")
    state = json.dumps(embed.embed_data(views=[dash], drop_defaults=False)["manager_state"])
    assert "<!--" not in state and "<script" not in state
    synced = dash.get_state()["selected"]
    assert set(synced["token"]) == {"$json"}
    dash.set_state({"selected": synced})  # as the page sends it back
    assert dash.selected["token"] == "<!--<script>"
    dash.set_state({"selected": {**synced, "token": "plain"}})
    assert dash.selected["token"] == "plain"


def test_hostile_strings_through_to_html_and_altair(tmp_path):
    m = _hostile_matrix()
    written = m.to_html(tmp_path / "p.html")
    assert written == tmp_path / "p.html"
    text = written.read_text(encoding="utf-8")
    body = text.split('id="tokenheat-data-0">', 1)[1].split("</script>", 1)[0]
    assert "<" not in body
    assert m.to_html() == text
    chart = m.to_altair()
    data = json.dumps(json.loads(chart.to_json()), ensure_ascii=False)
    assert "<\u2060script>" in data  # the label arrived, defused
    page = chart.to_html()
    assert "</script><script>alert(2)" not in page and "<img src=x" not in page


# ------------------------------------------------------------------ 5. round trips
def test_a_lens_like_frame_round_trips_through_pandas_bit_for_bit():
    values = np.array([[-0.0, 1.0, np.nan], [2.5, -0.0, 3.0]], np.float32)
    m = th.TokenMatrix(
        values, rows=["l0", "l1"], cols=["the", "cat", "the"], col_kind="position", row_kind="layer"
    )
    back = th.TokenMatrix.from_dataframe(m.to_pandas(), "row", "col", "value")
    assert back.cols == m.cols and back.values.tobytes() == m.values.tobytes()


def test_minus_zero_keeps_its_sign_through_a_plain_frame():
    df = pd.DataFrame({"r": ["a", "b"], "c": ["x", "x"], "v": [-0.0, 1.0]})
    m = th.TokenMatrix.from_dataframe(df, "r", "c", "v")
    assert np.signbit(m.values[0, 0])


def test_a_lone_surrogate_is_replaced_once_with_a_warning_everywhere(tmp_path):
    with pytest.warns(TokenheatWarning, match=r"rows holds a lone surrogate.*U\+FFFD"):
        m = _m(rows=["a\ud800", "b"])
    assert m.rows[0] == "a\ufffd"
    csv = io.StringIO()
    m.to_pandas().to_csv(csv)
    assert "a\ufffd" in csv.getvalue()
    m.to_html(tmp_path / "p.html")
    assert (tmp_path / "p.html").read_bytes().decode("utf-8")
    th.save(m, tmp_path / "r.th")
    assert th.load(tmp_path / "r.th").rows == ["a\ufffd", "b"]
    from tokenheat.__main__ import main

    assert main(["render", str(tmp_path / "r.th"), "--out", str(tmp_path / "q.html")]) == 0
    assert (tmp_path / "q.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------ 6. the page
def test_selected_contexts_are_those_of_the_cell_among_a_million():
    n = 1_000_000
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 50, n)
    cols = rng.integers(0, 20, n)
    corpus = th.Corpus.from_tokens([["a", "b", "c"]])
    ctx = th.Contexts(
        row=rows, col=cols, example=np.zeros(n, int), start=np.zeros(n, int), end=np.ones(n, int)
    )
    m = th.TokenMatrix(
        np.zeros((50, 20)),
        rows=[str(i) for i in range(50)],
        cols=[str(i) for i in range(20)],
        corpus=corpus,
        contexts=ctx,
    )
    dash = th.Dashboard(m, max_bytes=None)
    dash.select(0, row=7, col=3)
    frame = dash.selected_contexts()
    assert len(frame) == int(((rows == 7) & (cols == 3)).sum()) > 0
    assert set(frame["row"]) == {7} and set(frame["col"]) == {3}
    assert frame["token"].tolist() == ["a"] * len(frame)


@pytest.mark.parametrize(
    "token, shown",
    [
        ("a\u200bb", "a·b"),
        ("a\u200cb", "a·b"),
        ("a\u200db", "a·b"),
        ("a\u2060b", "a·b"),
        ("\ufeffx", "·x"),
        ("abc\u202edef", "abc⇄def"),
        ("\u2066x\u2069", "⇄x⇄"),
        ("\u200e\u200f\u061c", "⇄⇄⇄"),
    ],
)
def test_invisible_characters_match_the_front_end(token, shown):
    # the same cases as "invisible characters" in js/tests/tokens.test.ts
    assert _tokens.display_token(token) == shown


# ------------------------------------------------------------------ 8. huge inputs
def test_the_size_guard_refuses_before_building(monkeypatch):
    from tokenheat.core import _spec

    def boom(*a, **k):
        raise AssertionError("the spec was built before the guard")

    monkeypatch.setattr(_spec, "matrix_spec", boom)
    m = th.TokenMatrix(
        np.zeros((600, 600), np.float32),
        rows=list(map(str, range(600))),
        cols=list(map(str, range(600))),
    )
    with pytest.raises(
        PayloadTooLargeError, match=r"max_bytes must be at least .*raise max_bytes="
    ):
        th.Dashboard(m, max_bytes=1_000_000)
    with pytest.raises(PayloadTooLargeError, match=r"max_bytes="):
        m.to_html(max_bytes=1_000_000)


# ------------------------------------------------------------------ 10. clear errors
@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: th.Dashboard(None),
            ArgumentTypeError,
            r"matrices must be a TokenMatrix .*got None",
        ),
        (
            lambda: th.Corpus.from_tokens(None),
            ArgumentTypeError,
            r"examples must be a list of token lists.*got None",
        ),
        (lambda: _m(values=[[1.0, 2.0], [3.0]]), ArgumentError, r"values must be a rectangular"),
        (
            lambda: th.to_html(_m(), title=5),
            ArgumentTypeError,
            r"title must be a str or None, got 5",
        ),
        (
            lambda: th.Dashboard(_m()).select(matrix="x"),
            ArgumentTypeError,
            r"matrix must be an int from 0 to 0, got 'x'; one index per matrix",
        ),
        (
            lambda: th.Dashboard(_m()).select(0, row=9),
            ArgumentError,
            r"row must be an int from 0 to 1, got 9$",
        ),
        (
            lambda: th.Corpus.from_tokens([["a"]]).length(5),
            IndexError,
            r"i must be an example index in -1..0, got 5",
        ),
        (
            lambda: th.ColorScale("jet"),
            ArgumentError,
            r"palette must be one of 'viridis'.*got 'jet'",
        ),
    ],
)
def test_obscure_errors_are_clear(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_torch_tensors_are_detached_and_float32():
    torch = pytest.importorskip("torch")
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) * 2
    m = _m(values=t)
    assert m.values.dtype == np.float32 and m.values.tolist() == [[2.0, 4.0], [6.0, 8.0]]
    b = torch.tensor([[0.5, 1.5]], dtype=torch.bfloat16)
    m = th.TokenMatrix(b, rows=["a"], cols=["x", "y"])
    assert m.values.tolist() == [[0.5, 1.5]]
    with pytest.raises(ArgumentError, match="values must be real numbers"):
        _m(values=torch.ones((2, 2), dtype=torch.complex64))


def test_lens_without_torch_says_what_to_install():
    code = (
        f"import sys; sys.path.insert(0, {str(SRC)!r}); sys.modules['torch'] = None\n"
        "import tokenheat as th\n"
        "try:\n    th.lens(object(), object(), 'x', progress=False)\n"
        "except ModuleNotFoundError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'tokenheat[torch]'" in out.stdout, out.stderr


@pytest.mark.parametrize("damage", [b"PK\x03\x04garbage", b"not a zip", b""])
def test_render_of_a_damaged_file_is_one_line(tmp_path, damage):
    bad = tmp_path / "bad.th"
    bad.write_bytes(damage)
    out = subprocess.run(
        [sys.executable, "-m", "tokenheat", "render", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("tokenheat render: ")
        and "Traceback" not in out.stderr
    )
    assert not (tmp_path / "bad.html").exists()
