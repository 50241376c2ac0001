"""to_altair: Vega-Lite heatmaps with the widget's colours, order, tooltips and linking."""

from __future__ import annotations

import json
import re
import warnings

import altair as alt
import numpy as np
import pytest

import tokenheat as th
from tokenheat.errors import ArgumentError, ArgumentTypeError, PayloadTooLargeError
from tokenheat.export._altair import (
    LINK_PARAM,
    MISSING_COLOR,
    VEGA_SCHEMES,
    display_token,
    link_key,
    to_altair,
)

HOSTILE = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(1)</script>"


def _records(chart: alt.TopLevelMixin) -> list[dict]:
    spec = chart.to_dict()
    (values,) = spec["datasets"].values()
    return json.loads(values)


def _unit(spec: dict) -> dict:
    """The rect unit of a single chart spec (plain or layered)."""
    return spec["layer"][0] if "layer" in spec else spec


def _svg(chart: alt.TopLevelMixin) -> str:
    vlc = pytest.importorskip("vl_convert")
    return vlc.vegalite_to_svg(chart.to_dict())


def _cell_fills(svg: str) -> list[tuple[int, int, int] | str]:
    out: list[tuple[int, int, int] | str] = []
    for tag in re.findall(r"<path[^>]*rect mark[^>]*>", svg):
        fill = re.search(r'fill="([^"]+)"', tag).group(1)
        rgb = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", fill)
        out.append(tuple(int(x) for x in rgb.groups()) if rgb else fill)
    return out


@pytest.fixture
def tokens_matrix() -> th.TokenMatrix:
    return th.TokenMatrix(
        np.array([[0.1, np.nan, 0.5], [0.9, 0.2, 0.3]]),
        rows=["Ġthe", HOSTILE],
        cols=["b0", "b1", "b2"],
        row_kind="token",
        col_kind="bucket",
        row_title="token",
        col_title="position bucket",
        title="flip rate",
        value_label="flip rate",
        counts=[[1, 2, 3], [4, 5, 6]],
        extras={"ci_low": np.zeros((2, 3)), "ci_high": np.ones((2, 3))},
    )


@pytest.fixture
def lens_matrix() -> th.TokenMatrix:
    return th.TokenMatrix(
        np.array([[1.0, -1.0], [0.0, 0.5]]),
        rows=["L0", "L1"],
        cols=["the", "the"],
        row_kind="layer",
        col_kind="position",
        cell_text=[["Ġthe", HOSTILE], [None, "x"]],
        scale="RdBu",
    )


def test_one_matrix_gives_a_chart_and_cell_text_a_layer(tokens_matrix, lens_matrix):
    assert isinstance(to_altair(tokens_matrix), alt.Chart)
    assert isinstance(to_altair(lens_matrix), alt.LayerChart)
    assert isinstance(to_altair(lens_matrix, cell_text=False), alt.Chart)


def test_several_matrices_give_a_concat_chart(tokens_matrix, lens_matrix):
    chart = to_altair([tokens_matrix, lens_matrix], columns=1)
    assert isinstance(chart, alt.ConcatChart)
    spec = chart.to_dict()
    assert spec["columns"] == 1
    assert len(spec["concat"]) == 2
    assert spec["resolve"]["scale"]["color"] == "independent"


def test_a_dashboard_is_drawn_like_its_list(tokens_matrix, lens_matrix):
    dash = th.Dashboard([tokens_matrix, lens_matrix])
    assert (
        to_altair(dash).to_dict()["concat"]
        == to_altair([tokens_matrix, lens_matrix]).to_dict()["concat"]
    )


@pytest.mark.parametrize("palette", sorted(VEGA_SCHEMES))
def test_palette_maps_to_its_vega_scheme(palette):
    m = th.TokenMatrix([[1.0, 3.0]], rows=["a"], cols=["x", "y"], scale=palette)
    scale = _unit(to_altair(m).to_dict())["encoding"]["color"]["scale"]
    assert scale["scheme"] == VEGA_SCHEMES[palette]
    assert scale["domain"] == list(m.scale.resolve(m.values))
    assert scale["reverse"] is False


def test_diverging_scale_keeps_centre_domain_and_reverse():
    scale = th.ColorScale("RdYlGn", domain=(-2.0, 4.0), center=1.0, reverse=True)
    m = th.TokenMatrix([[0.0, 3.0]], rows=["a"], cols=["x", "y"], scale=scale)
    enc = _unit(to_altair(m).to_dict())["encoding"]["color"]
    assert enc["scale"]["domain"] == [-2.0, 4.0]
    assert enc["scale"]["domainMid"] == 1.0
    assert enc["scale"]["reverse"] is True


def test_rdbu_draws_low_red_and_high_blue_like_the_widget():
    m = th.TokenMatrix([[-1.0, 0.0, 1.0]], rows=["a"], cols=["x", "y", "z"], scale="RdBu")
    low, _, high = _cell_fills(_svg(to_altair(m, link_on=None)))
    assert low[0] > low[2] + 50  # red
    assert high[2] > high[0] + 50  # blue


def test_rdylgn_runs_red_to_green_and_reverse_flips_it():
    m = th.TokenMatrix([[-1.0, 1.0]], rows=["a"], cols=["x", "y"], scale="RdYlGn")
    low, high = _cell_fills(_svg(to_altair(m)))
    assert low[0] > low[1] and high[1] > high[0]
    rev = th.TokenMatrix(
        m.values, rows=["a"], cols=["x", "y"], scale=th.ColorScale("RdYlGn", reverse=True)
    )
    low_r, high_r = _cell_fills(_svg(to_altair(rev)))
    assert low_r[1] > low_r[0] and high_r[0] > high_r[1]


def test_viridis_ends_match_the_widget_palette():
    m = th.TokenMatrix([[0.0, 1.0]], rows=["a"], cols=["x", "y"])
    low, high = _cell_fills(_svg(to_altair(m)))
    # viridis runs from #440154 to #fde725 (js/palettes.ts)
    assert low == (0x44, 0x01, 0x54)
    assert high == (0xFD, 0xE7, 0x25)


def test_missing_cells_are_kept_and_drawn_grey(tokens_matrix):
    records = _records(to_altair(tokens_matrix))
    assert len(records) == 6
    missing = [r for r in records if r["value"] is None]
    assert [(r["r"], r["c"], r["vt"]) for r in missing] == [(0, 1, "missing")]
    fills = _cell_fills(_svg(to_altair(tokens_matrix)))
    assert len(fills) == 6
    assert fills[1] == MISSING_COLOR
    assert fills.count(MISSING_COLOR) == 1


def test_row_and_column_order_are_kept_even_with_repeated_labels():
    m = th.TokenMatrix(
        np.arange(6.0).reshape(2, 3),
        rows=["zeta", "alpha"],
        cols=["the", "cat", "the"],
        col_kind="position",
    )
    spec = to_altair(m).to_dict()
    enc = spec["encoding"]
    assert enc["x"]["scale"]["domain"] == [0, 1, 2]
    assert enc["y"]["scale"]["domain"] == [0, 1]
    assert enc["x"]["axis"]["labelExpr"] == '["the","cat","the"][datum.value]'
    svg = _svg(to_altair(m))
    labels = re.findall(r'aria-roledescription="axis"[^>]*', svg)
    assert labels  # both axes drawn
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert [t for t in texts if t in {"the", "cat"}] == ["the", "cat", "the"]
    assert [t for t in texts if t in {"zeta", "alpha"}] == ["zeta", "alpha"]


def test_tooltip_has_row_col_value_count_text_and_extras(tokens_matrix, lens_matrix):
    tips = _unit(to_altair(tokens_matrix).to_dict())["encoding"]["tooltip"]
    assert [(t["field"], t["title"]) for t in tips] == [
        ("row", "token"),
        ("col", "position bucket"),
        ("vt", "flip rate"),
        ("n", "n"),
        ("e0", "ci_low"),
        ("e1", "ci_high"),
    ]
    rec = _records(to_altair(tokens_matrix))[5]
    assert (rec["row"], rec["col"], rec["vt"], rec["n"], rec["e0"], rec["e1"]) == (
        "<img src=x onerror=alert(1)>",
        "b2",
        "0.3",
        "6",
        "0",
        "1",
    )
    lens_tips = _unit(to_altair(lens_matrix).to_dict())["encoding"]["tooltip"]
    assert ("text", "text") in [(t["field"], t["title"]) for t in lens_tips]


def test_tooltip_titles_stay_unique():
    m = th.TokenMatrix(
        [[1.0]], rows=["a"], cols=["x"], row_title="n", col_title="n", value_label="n", counts=[[1]]
    )
    titles = [t["title"] for t in to_altair(m).to_dict()["encoding"]["tooltip"]]
    assert len(set(titles)) == len(titles) == 4


def test_missing_cell_text_is_a_dash_in_the_tooltip_and_not_drawn(lens_matrix):
    records = _records(to_altair(lens_matrix))
    assert [r["text"] for r in records] == ["␣the", "<img src=x onerror=alert(1)>", "—", "x"]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", _svg(to_altair(lens_matrix)))
    assert "null" not in texts and "—" not in texts and "x" in texts


def test_cell_text_layer_is_automatic_for_small_matrices_only():
    big = th.TokenMatrix(
        np.zeros((21, 20)),
        rows=[f"r{i}" for i in range(21)],
        cols=[f"c{i}" for i in range(20)],
        cell_text=np.full((21, 20), "a"),
    )
    assert isinstance(to_altair(big), alt.Chart)
    assert isinstance(to_altair(big, cell_text=True), alt.LayerChart)


def test_axis_titles_and_title_come_from_the_matrix(tokens_matrix):
    spec = to_altair(tokens_matrix).to_dict()
    assert spec["title"] == "flip rate"
    assert spec["encoding"]["y"]["title"] == "token"
    assert spec["encoding"]["x"]["title"] == "position bucket"
    assert spec["encoding"]["color"]["legend"]["title"] == "flip rate"


def test_token_labels_are_shown_with_visible_whitespace(tokens_matrix):
    expr = to_altair(tokens_matrix).to_dict()["encoding"]["y"]["axis"]["labelExpr"]
    assert expr.startswith('["\\u2423the",')


def test_no_raw_angle_bracket_from_tokens_reaches_the_spec(tokens_matrix, lens_matrix):
    m = th.TokenMatrix(
        [[1.0]],
        rows=[BREAKOUT],
        cols=[HOSTILE],
        row_kind="token",
        title=BREAKOUT,
        cell_text=[[BREAKOUT]],
    )
    for chart in (to_altair(m), to_altair([m, tokens_matrix, lens_matrix])):
        text = chart.to_json()
        assert "</script" not in text.lower()
        assert "<img" not in text
        assert "<script" not in text


def test_saved_html_cannot_be_broken_out_of(tmp_path):
    pytest.importorskip("vl_convert")
    m = th.TokenMatrix([[1.0]], rows=[BREAKOUT], cols=["x"], row_kind="token", title=BREAKOUT)
    path = tmp_path / "chart.html"
    to_altair(m).save(path, inline=True)
    html = path.read_text()
    assert BREAKOUT not in html
    assert "alert(1)" in html  # the token is there, escaped
    assert html.lower().count("<script") == html.lower().count("</script")


def test_records_carry_the_tokens_used_for_linking(tokens_matrix, lens_matrix):
    # link keys: "Ġthe", "the" and "The," link (as in the widget, js/tokens.ts linkKey)
    rec = _records(to_altair(tokens_matrix))[0]
    assert (rec["rt"], rec["token"]) == ("the", "the")
    lens = _records(to_altair(lens_matrix))
    assert [r["token"] for r in lens] == ["the", link_key(HOSTILE), None, "x"]
    assert [link_key(t) for t in ("Ġthe", "The,", "▁THE", "Ġ,", None)] == [
        "the", "the", "the", ",", None
    ]  # fmt: skip


def test_linking_selection_is_shared_by_every_chart(tokens_matrix, lens_matrix):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = to_altair([tokens_matrix, lens_matrix]).to_dict()
    (param,) = spec["params"]
    assert param["name"] == LINK_PARAM
    assert param["select"] == {
        "type": "point",
        "fields": ["token"],
        "on": "click",
        "clear": "dblclick",
        "toggle": False,
    }
    first, second = spec["concat"][0], spec["concat"][1]["layer"][0]
    assert {first["name"], second["name"]} <= set(param["views"])
    assert "datum.rt" in first["encoding"]["strokeWidth"]["condition"]["test"]
    assert "datum.tt" in second["encoding"]["strokeWidth"]["condition"]["test"]


def test_link_on_hover_and_off(tokens_matrix):
    hover = to_altair(tokens_matrix, link_on="pointerover").to_dict()["params"][0]["select"]
    assert (hover["on"], hover["clear"]) == ("pointerover", "pointerout")
    off = to_altair(tokens_matrix, link_on=None).to_dict()
    assert "params" not in off
    assert "opacity" not in off["encoding"]
    with pytest.raises(
        ValueError, match="link_on must be one of 'click', 'pointerover', None, got 'hover'"
    ):
        to_altair(tokens_matrix, link_on="hover")


def test_big_matrix_is_refused_with_a_remedy():
    m = th.TokenMatrix(
        np.zeros((101, 50)), rows=[str(i) for i in range(101)], cols=[str(i) for i in range(50)]
    )
    with pytest.raises(
        PayloadTooLargeError,
        match=r"obj must be at most max_rows=5000 cells .*, got 101 × 50 = 5050 cells; .*top_k.*max_rows=None",
    ):
        to_altair(m)
    chart = to_altair(m, max_rows=None)
    assert len(_records(chart)) == 5050  # Altair's own 5000-row check does not fire
    with pytest.raises(ValueError, match="max_rows must be a positive int or None, got 0"):
        to_altair(m, max_rows=0)
    with pytest.raises(TypeError, match=r"max_rows must be a positive int or None, got 1\.5"):
        to_altair(m, max_rows=1.5)


def test_big_matrix_in_a_list_is_named_by_index(tokens_matrix):
    m = th.TokenMatrix(np.zeros((3, 3)), rows=list("abc"), cols=list("xyz"), title="big")
    with pytest.raises(ValueError, match=r"obj\[1\] \('big'\) must be at most max_rows=8 cells"):
        to_altair([tokens_matrix, m], max_rows=8)


@pytest.mark.parametrize("bad", [None, "matrix", 3, [np.eye(2)]])
def test_wrong_input_raises_type_error(bad):
    with pytest.raises(TypeError, match="TokenMatrix"):
        to_altair(bad)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"cell_size": 0}, ArgumentError),
        ({"columns": -1}, ArgumentError),
        ({"cell_size": 2.5}, ArgumentTypeError),
    ],
)
def test_bad_sizes_raise_naming_the_argument(tokens_matrix, kwargs, error):
    ((name, value),) = kwargs.items()
    with pytest.raises(error, match=f"{name} must be a positive int or None, got {value}"):
        to_altair(tokens_matrix, **kwargs)


def test_cell_size_sets_the_step(tokens_matrix):
    spec = to_altair(tokens_matrix, cell_size=30).to_dict()
    assert spec["width"] == spec["height"] == {"step": 30}


def test_empty_list_raises_value_error():
    with pytest.raises(
        ValueError,
        match=r"obj must be a TokenMatrix, a non-empty list of them .*, got a list of length 0",
    ):
        to_altair([])


@pytest.mark.parametrize("fmt, header", [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<svg")])
def test_png_and_svg_export_through_vl_convert(tmp_path, tokens_matrix, lens_matrix, fmt, header):
    pytest.importorskip("vl_convert")
    for i, chart in enumerate([to_altair(tokens_matrix), to_altair([tokens_matrix, lens_matrix])]):
        path = tmp_path / f"chart{i}.{fmt}"
        chart.save(path)
        assert path.read_bytes().startswith(header)


def test_svg_export_escapes_hostile_tokens(tokens_matrix):
    svg = _svg(to_altair(tokens_matrix))
    assert "<img" not in svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg


@pytest.mark.parametrize(
    "token, shown",
    [
        ("Ġthe", "␣the"),
        ("▁New", "␣New"),
        ("Ċ", "⏎"),
        ("âĢĻ", "’"),
        ("a\tb", "a⇥b"),
        ("\x01", "␁"),
        ("", "∅"),
        ("plain", "plain"),
        ("Ā", "␀"),
        ("ç¤º", "示"),
        ("Ġç¤º", "␣示"),
        ("café", "café"),
        ("naïve", "naïve"),
        ("8 x 48 = 384", "8 x 48 = 384"),
        ("the ", "the␣"),
        ("ĠĠa b", "␣␣a b"),
    ],
)
def test_display_token_matches_the_front_end(token, shown):
    assert display_token(token) == shown


def test_matrix_method_delegates_to_export(tokens_matrix):
    export = pytest.importorskip("tokenheat.export")
    if not hasattr(export, "to_altair"):
        pytest.skip("tokenheat.export does not re-export to_altair yet")
    assert tokens_matrix.to_altair().to_dict() == to_altair(tokens_matrix).to_dict()


def _domain(chart, channel):
    return _unit(chart.to_dict())["encoding"][channel]["scale"]["domain"]


def test_the_display_order_is_the_charts_order():
    m = th.TokenMatrix(
        [[0.1, 0.2], [0.9, 0.8], [0.5, 0.4]],
        rows=["a", "b", "c"],
        cols=["x", "y"],
        col_kind="example",
        display={"row_order": "mean", "col_order": "label"},
    )
    chart = to_altair(m, link_on=None)
    assert _domain(chart, "y") == [1, 2, 0]
    assert _domain(chart, "x") == [0, 1]


def test_a_dashboards_chosen_orders_reach_its_charts():
    pytest.importorskip("anywidget")
    m = th.TokenMatrix([[0.1], [0.9]], rows=["a", "b"], cols=["x"])
    dash = th.Dashboard([m, m])
    dash.orders = [{"row": "mean", "col": "original"}]
    charts = to_altair(dash, link_on=None).to_dict()["concat"]
    domains = [_unit(c)["encoding"]["y"]["scale"]["domain"] for c in charts]
    assert domains == [[1, 0], [0, 1]]


def test_printed_values_faded_thin_cells_and_outliers_follow_the_display():
    m = th.TokenMatrix(
        [[0.5, 1.4], [-0.25, np.nan]],
        rows=["a", "b"],
        cols=["x", "y"],
        counts=[[2, 5], [5, 0]],
        scale=th.ColorScale.diverging("RdYlGn", domain=(-1.0, 1.0)),
        display={"cell_text": "value", "digits": 2, "min_count": 3, "mark_outliers": True},
    )
    chart = to_altair(m, link_on=None)
    recs = {(r["r"], r["c"]): r for r in _records(chart)}
    assert recs[0, 0]["pv"] == "0.50" and recs[1, 0]["pv"] == "−0.25" and recs[1, 1]["pv"] == ""
    assert recs[0, 0]["n"] == "2 (below 3)" and recs[0, 0]["thin"] is True
    assert recs[0, 1]["thin"] is False
    assert recs[0, 1]["beyond"] == "▲" and "beyond the scale's end" in recs[0, 1]["vt"]
    layers = chart.to_dict()["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rect", "text", "text"]
    assert layers[0]["encoding"]["fillOpacity"]["condition"]["test"] == "datum.thin"


def test_groups_get_separators_and_names_while_the_order_keeps_them_together():
    groups = {
        "col_groups": [th.Group("dummy tokens", 2, 4)],
        "row_groups": [th.Group("late", 1, 3)],
    }
    m = th.TokenMatrix(
        np.arange(12.0).reshape(3, 4), rows=["L0", "L1", "out"], cols=list("abcd"), display=groups
    )
    chart = to_altair(m, link_on=None)
    recs = {(r["r"], r["c"]): r for r in _records(chart)}
    assert recs[0, 2]["cg"] == "dummy tokens" and recs[0, 3]["cge"] is True
    assert recs[1, 0]["rg"] == "late" and recs[2, 0]["rge"] is True
    marks = [(layer["mark"]["type"], layer["encoding"]) for layer in chart.to_dict()["layer"][1:]]
    rules = [enc for kind, enc in marks if kind == "rule"]
    assert sorted(next(iter(e.values()))["bandPosition"] for e in rules) == [0, 0, 1, 1]
    svg = _svg(chart)
    assert "dummy tokens" in svg and ">late<" in svg
    # An order that splits a group draws no bracket for it.
    split = th.TokenMatrix(
        [[0.0, 9.0, 1.0, 8.0]],
        rows=["x"],
        cols=list("abcd"),
        col_kind="example",
        display={"col_groups": [th.Group("pair", 1, 3)], "col_order": "mean"},
    )
    assert not any("cg" in rec for rec in _records(to_altair(split, link_on=None)))
