"""Reading aids in a real browser: sorted rows and columns that survive export, printed values,
faded thin cells, outlier marks, labelled groups, the docked context panel, capped lists that
say so, and labels decoded on every axis. Pages are written by ``th.to_html`` from matrices
built with the public data model, as a user's would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _browser_helpers import close, expected_color

pytestmark = pytest.mark.browser

th = pytest.importorskip("tokenheat")

WORDS = ["Ġsadly", "Ġgloomy", "ç¤º", "Ġhope", "Ġjoy", "Ġdespair"]
# Row means 0.2, 0.5, 0.9, 0.1, 0.7, 0.3: by mean, high first, rows 2, 4, 1, 5, 0, 3.
WORD_MEANS = [0.2, 0.5, 0.9, 0.1, 0.7, 0.3]
BY_MEAN = [2, 4, 1, 5, 0, 3]
EXAMPLE_COLS = ["8 x 48 = 384", "3 x 4 = 12", "6 - 4 = 2"]
LAYERS = ["L0", "L1", "L2", "L3", "output"]
PROMPT = ["The", "Ġcapital", "Ġis", "ĠParis", "Ġ_", "PAUSE"]


def words_matrix(**display: Any) -> Any:
    """Token rows × 4 buckets; cell (0, 0) has n = 2; cell (1, 1) lists 2 of its 5 contexts."""
    values = np.array([[m] * 4 for m in WORD_MEANS], dtype=float)
    values[:, 0] -= 0.05
    values[:, 3] += 0.05
    counts = np.full(values.shape, 5.0)
    counts[0, 0] = 2
    corpus = th.Corpus.from_tokens(
        [["I", "Ġfelt", w, "."] for w in WORDS], names=[f"s{i}" for i in range(len(WORDS))]
    )
    # Two contexts kept for cell (1, 1), as a cap of 2 per cell would keep.
    contexts = th.Contexts(row=[1, 1], col=[1, 1], example=[1, 1], start=[2, 2], end=[3, 3])
    return th.TokenMatrix(
        values,
        rows=WORDS,
        cols=["b0", "b1", "b2", "b3"],
        row_kind="token",
        col_kind="bucket",
        title="flip rate",
        value_label="flip rate",
        counts=counts,
        corpus=corpus,
        contexts=contexts,
        meta={"max_contexts_per_cell": 2},
        display=th.Display(**display),
    )


def examples_matrix(**display: Any) -> Any:
    """Positions × three arithmetic examples on RdYlGn −1..1; one value (1.4) beyond the scale."""
    values = np.array([[0.1, 0.5, -0.2], [0.9, 1.4, -0.7], [-0.3, 0.2, 0.0], [0.4, 0.6, 0.8]])
    return th.TokenMatrix(
        values,
        rows=["Q", "Ġtimes", "Ġequals", "Ġmovie"],
        cols=EXAMPLE_COLS,
        row_kind="position",
        col_kind="example",
        title="attribution",
        value_label="attribution",
        scale=th.ColorScale.diverging("RdYlGn", domain=(-1.0, 1.0)),
        display=th.Display(**display),
    )


def lens_matrix(**display: Any) -> Any:
    """Layers × positions of one prompt, its last two tokens set apart as a group; one context
    per cell, labelled with its layer."""
    n_rows, n_cols = len(LAYERS), len(PROMPT)
    values = np.linspace(8, 1, n_rows * n_cols).reshape(n_rows, n_cols)
    rr, cc = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    contexts = th.Contexts(
        row=rr.ravel(),
        col=cc.ravel(),
        example=np.zeros(rr.size, dtype=int),
        start=cc.ravel(),
        end=cc.ravel() + 1,
        labels={"layer": [LAYERS[r] for r in rr.ravel()]},
    )
    return th.TokenMatrix(
        values,
        rows=LAYERS,
        cols=[str(i) for i in range(n_cols)],
        row_kind="layer",
        col_kind="position",
        title="entropy",
        value_label="entropy",
        col_tokens=PROMPT,
        corpus=th.Corpus.from_tokens([PROMPT]),
        contexts=contexts,
        display=th.Display(col_groups=[th.Group("dummy tokens", n_cols - 2, n_cols)], **display),
    )


def export(obj: Any, path: Path) -> Path:
    written = th.to_html(obj, path)
    assert written == path  # to_html(path) returns the path, not the page text
    return path


# ---- order --------------------------------------------------------------------------------


def test_a_display_order_is_the_first_view(open_widget, tmp_path):
    widget = open_widget(html_file=export(words_matrix(row_order="mean"), tmp_path / "a.html"))
    state = widget.state()["matrices"][0]
    assert state["sort"] == "mean" and state["order"] == BY_MEAN
    assert widget.page.locator("[data-testid=th-sort-0]").input_value() == "mean"


def sorted_in_page(open_widget, tmp_path):
    """A two-matrix dashboard exported and opened; rows of the first and columns of the
    second sorted by mean in the page. Returns the dashboard, the page and its state."""
    dash = th.Dashboard([words_matrix(), examples_matrix()])
    widget = open_widget(html_file=export(dash, tmp_path / "before.html"))
    widget.page.select_option("[data-testid=th-sort-0]", "mean")
    widget.page.select_option("[data-testid=th-colsort-1]", "mean")
    return dash, widget, widget.state()["matrices"]


def test_a_sort_chosen_in_the_page_is_written_back_and_exported(open_widget, tmp_path):
    dash, widget, state = sorted_in_page(open_widget, tmp_path)
    assert state[0]["order"] == BY_MEAN
    col_means = examples_matrix().values.mean(0)
    assert state[1]["colOrder"] == list(np.argsort(-col_means, kind="stable"))
    # What the page wrote to the model is what the kernel receives as dash.orders ...
    orders = widget.model_call("return model.get('orders');")
    assert orders == [{"row": "mean", "col": "original"}, {"row": "original", "col": "mean"}]
    dash.orders = orders
    # ... and an export made after the change opens sorted the same way.
    again = open_widget(html_file=export(dash, tmp_path / "after.html"))
    after = again.state()["matrices"]
    assert after[0]["order"] == state[0]["order"] and after[0]["sort"] == "mean"
    assert after[1]["colOrder"] == state[1]["colOrder"] and after[1]["colSort"] == "mean"
    assert again.page.locator("[data-testid=th-colsort-1]").input_value() == "mean"


def test_a_sort_chosen_in_the_page_survives_save_load_and_render(open_widget, tmp_path):
    from tokenheat.__main__ import render

    dash, widget, state = sorted_in_page(open_widget, tmp_path)
    dash.orders = widget.model_call("return model.get('orders');")
    back = th.load(th.save(dash, tmp_path / "r.th"))
    # A fresh dashboard of the loaded matrices, and the rendered file, open as the reader left it.
    for page in (
        export(th.Dashboard(back), tmp_path / "loaded.html"),
        render(tmp_path / "r.th", tmp_path / "rendered.html"),
    ):
        after = open_widget(html_file=page).state()["matrices"]
        assert after[0]["order"] == state[0]["order"] == BY_MEAN and after[0]["sort"] == "mean"
        assert after[1]["colOrder"] == state[1]["colOrder"] and after[1]["colSort"] == "mean"


def test_sorted_columns_keep_data_indices_in_the_selection_and_tooltip(open_widget, tmp_path):
    widget = open_widget(html_file=export(examples_matrix(col_order="label"), tmp_path / "e.html"))
    order = widget.state()["matrices"][0]["colOrder"]
    assert order == [1, 2, 0]  # "3 x 4", "6 - 4", "8 x 48" in natural order
    widget.hover_cell(0, 1, 0)  # data column 0 is drawn last
    lines = widget.tooltip_lines()
    assert lines["example"] == EXAMPLE_COLS[0] and lines["attribution"].startswith("0.9")
    widget.click_cell(0, 1, 0)
    assert widget.selected()["col"] == 0
    rect = widget.call("cellRect", 0, 1, 0)
    first = widget.call("cellRect", 0, 1, 1)
    assert rect["x"] > first["x"]  # drawn to the right of data column 1


def test_arrow_keys_walk_the_columns_in_their_display_order(open_widget, tmp_path):
    widget = open_widget(html_file=export(examples_matrix(col_order="label"), tmp_path / "k.html"))
    widget.page.locator("[data-testid=th-root]").focus()
    widget.page.keyboard.press("ArrowDown")
    cols = [widget.selected()["col"]]
    for _ in range(3):
        widget.page.keyboard.press("ArrowRight")
        cols.append(widget.selected()["col"])
    assert cols == [1, 2, 0, 0]  # display order 1, 2, 0; then the right edge


def test_column_sort_is_offered_only_where_columns_are_not_ordinal(open_widget, tmp_path):
    widget = open_widget(html_file=export([words_matrix(), examples_matrix()], tmp_path / "o.html"))
    assert widget.page.locator("[data-testid=th-colsort-0]").count() == 0  # buckets
    assert widget.page.locator("[data-testid=th-colsort-1]").count() == 1  # examples


def test_cluster_and_count_orders_are_stable_across_loads(open_widget, tmp_path):
    path = export(words_matrix(row_order="cluster"), tmp_path / "c.html")
    first = open_widget(html_file=path).state()["matrices"][0]["order"]
    second = open_widget(html_file=path).state()["matrices"][0]["order"]
    assert first == second and sorted(first) == list(range(len(WORDS)))
    widget = open_widget(html_file=export(words_matrix(row_order="count"), tmp_path / "n.html"))
    # Row 0 has one cell with n = 2 (18 in all); every other row 20, kept in data order.
    assert widget.state()["matrices"][0]["order"] == [1, 2, 3, 4, 5, 0]


# ---- cells --------------------------------------------------------------------------------


def test_thin_cells_are_faded_and_their_tooltip_says_so(open_widget, tmp_path):
    m = words_matrix(min_count=3)
    widget = open_widget(html_file=export(m, tmp_path / "t.html"))
    widget.hover_cell(0, 0, 0)
    assert widget.tooltip_lines()["n"] == "2 (below 3)"
    widget.hover_cell(0, 0, 1)
    assert widget.tooltip_lines()["n"] == "5"
    spec_scale = {"palette": "viridis", "kind": "sequential", "domain": m.scale.resolve(m.values)}
    spec_scale |= {"center": None, "reverse": False}
    full = expected_color(spec_scale, float(m.values[0, 0]))
    faded = tuple(round(c + (255 - c) * 0.6) for c in full)
    assert close(widget.cell_pixel(0, 0, 0)[:3], faded, tol=3)
    assert close(widget.cell_pixel(0, 1, 0)[:3], expected_color(spec_scale, float(m.values[1, 0])))
    assert widget.page.locator("[data-testid=th-legend-thin]").text_content() == (
        "faded: n below 3"
    )


def test_printed_values_and_outlier_marks(open_widget, tmp_path):
    m = examples_matrix(cell_text="value", digits=2, mark_outliers=True)
    widget = open_widget(html_file=export(m, tmp_path / "v.html"))
    state = widget.state()["matrices"][0]
    assert state["cellTexts"] == m.values.size
    widget.hover_cell(0, 1, 1)
    assert widget.tooltip_lines()["attribution"] == "1.4 (beyond the scale's end, 1)"
    widget.hover_cell(0, 0, 0)
    assert widget.tooltip_lines()["attribution"] == "0.1"
    # The outlier's top-right corner carries the mark; a cell inside the scale has none.
    for (r, c), marked in (((1, 1), True), ((0, 1), False)):
        rect = widget.call("cellRect", 0, r, c)
        corner = widget.pixel(0, rect["x"] + rect["w"] - 1.5, rect["y"] + 1.5)
        body = widget.cell_pixel(0, r, c)
        assert (not close(corner[:3], body[:3], tol=30)) == marked
    assert widget.page.locator("[data-testid=th-legend-beyond]").count() == 1


def test_a_group_is_bracketed_and_named(open_widget, tmp_path):
    widget = open_widget(html_file=export(lens_matrix(), tmp_path / "g.html"))
    groups = widget.state()["matrices"][0]["groups"]
    n = len(PROMPT)
    assert groups["cols"] == [{"label": "dummy tokens", "first": n - 2, "last": n - 1}]
    # The separator line between the prompt and the group is drawn across the cells.
    left = widget.call("cellRect", 0, 2, n - 2)
    line = widget.pixel(0, left["x"], left["y"] + left["h"] / 2, layer="overlay")
    assert line[3] > 0


def test_a_row_group_is_drawn_only_while_the_order_keeps_it_together(open_widget, tmp_path):
    groups = [th.Group("middle layers", 1, 3)]
    widget = open_widget(html_file=export(lens_matrix(row_groups=groups), tmp_path / "r.html"))
    assert widget.state()["matrices"][0]["groups"]["rows"] == [
        {"label": "middle layers", "first": 1, "last": 2}
    ]
    widget.page.select_option("[data-testid=th-sort-0]", "label")  # L0 L1 L2 L3 output: kept
    assert len(widget.state()["matrices"][0]["groups"]["rows"]) == 1
    widget.page.fill("[data-testid=th-filter-0]", "L2")  # only L2 shown: one member, together
    assert widget.state()["matrices"][0]["groups"]["rows"] == [
        {"label": "middle layers", "first": 0, "last": 0}
    ]
    widget.page.fill("[data-testid=th-filter-0]", "")
    widget.page.select_option("[data-testid=th-sort-0]", "cluster")
    order = widget.state()["matrices"][0]["order"]
    together = abs(order.index(1) - order.index(2)) == 1
    assert (len(widget.state()["matrices"][0]["groups"]["rows"]) == 1) == together


# ---- page ---------------------------------------------------------------------------------


def test_the_context_panel_docks_beside_wide_pages_and_below_narrow_ones(open_widget, tmp_path):
    matrices = [words_matrix(), lens_matrix(), examples_matrix(), words_matrix()]
    path = export(th.Dashboard(matrices, columns=1), tmp_path / "p.html")
    wide = open_widget(html_file=path, width=1400, height=700)
    box = wide.page.evaluate(
        """() => { const b = (s) => document.querySelector(s).getBoundingClientRect();
            const g = b('.th-grid'), p = b('[data-testid=th-contexts]');
            return {gRight: g.right, gTop: g.top, pLeft: p.left, pTop: p.top}; }"""
    )
    assert box["pLeft"] >= box["gRight"] - 1 and abs(box["pTop"] - box["gTop"]) < 4
    # It stays in view while the page scrolls down to the lower heatmaps.
    wide.page.evaluate("() => window.scrollTo(0, 400)")
    wide.page.wait_for_timeout(100)
    after = wide.page.evaluate(
        """() => ({scrolled: window.scrollY,
            top: document.querySelector('[data-testid=th-contexts]').getBoundingClientRect().top})"""
    )
    assert after["scrolled"] > 300 and 0 <= after["top"] < 40
    narrow = open_widget(html_file=path, width=800)
    box = narrow.page.evaluate(
        """() => { const b = (s) => document.querySelector(s).getBoundingClientRect();
            return {gBottom: b('.th-grid').bottom, pTop: b('[data-testid=th-contexts]').top}; }"""
    )
    assert box["pTop"] >= box["gBottom"] - 1


def test_a_capped_list_says_how_many_it_shows_and_what_to_raise(open_widget, tmp_path):
    widget = open_widget(html_file=export(words_matrix(), tmp_path / "cap.html"))
    widget.hover_cell(0, 1, 1)
    assert widget.tooltip_lines()["contexts"] == "2 of 5 (capped by max_contexts_per_cell=2)"
    widget.click_cell(0, 1, 1)
    assert widget.context_rows().count() == 2
    notice = widget.page.locator("[data-testid=th-contexts-capped]")
    assert notice.is_visible()
    assert notice.text_content() == (
        "showing 2 of 5 contexts; raise max_contexts_per_cell (now 2) to list more"
    )


def test_a_lens_column_lists_its_contexts_by_layer(open_widget, tmp_path):
    widget = open_widget(html_file=export(lens_matrix(), tmp_path / "l.html"))
    rect = widget.call("colLabelRect", 0, 3)
    widget.page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] - 6)
    names = widget.page.locator("[data-testid=th-context-row] .th-ctx-name").all_text_contents()
    assert names == LAYERS
    chips = widget.context_rows().first.locator(".th-ctx-col").all_text_contents()
    assert "layer L0" in chips


def test_labels_on_every_axis_are_decoded(open_widget, tmp_path):
    widget = open_widget(html_file=export(words_matrix(), tmp_path / "d.html"))
    widget.hover_cell(0, 2, 0)
    assert widget.tooltip_lines()["token"] == "示"  # byte-level "ç¤º"
    widget = open_widget(html_file=export(examples_matrix(), tmp_path / "x.html"))
    widget.hover_cell(0, 3, 0)  # a position axis, not a token axis
    assert widget.tooltip_lines()["position"] == "␣movie"


def test_a_character_split_over_tokens_reads_whole_in_the_contexts(open_widget, tmp_path):
    tokens = ["I", "Ġsaw", "Ġç¤", "º", "Ġtoday", "."]
    m = th.TokenMatrix(
        [[0.5]],
        rows=["Ġsaw"],
        cols=["all"],
        row_kind="token",
        corpus=th.Corpus.from_tokens([tokens]),
        contexts=th.Contexts(row=[0], col=[0], example=[0], start=[1], end=[2]),
    )
    widget = open_widget(html_file=export(m, tmp_path / "s.html"))
    widget.click_cell(0, 0, 0)
    right = widget.context_rows().first.locator(".th-ctx-right")
    assert right.text_content().startswith(" 示 today.")


def test_a_piece_of_a_split_character_shows_its_bytes(open_widget, tmp_path):
    # SmolLM2 writes " 示" as "Ġç" "¤" "º": no piece is a character on its own.
    prompt = ["I", "Ġsaw", "Ġç", "¤", "º", "Ġtoday"]
    m = th.TokenMatrix(
        np.linspace(0, 1, 2 * len(prompt)).reshape(2, len(prompt)),
        rows=["L0", "output"],
        cols=prompt,
        row_kind="layer",
        col_kind="position",
        col_tokens=prompt,
        cell_text=[prompt, ["¤"] * len(prompt)],
    )
    widget = open_widget(html_file=export(m, tmp_path / "p.html"))
    shown = []
    for col in (2, 3, 4):
        widget.hover_cell(0, 0, col)
        lines = widget.tooltip_lines()
        shown.append((lines["position"], lines["text"]))
    assert shown == [("␣<0xE7>", "␣<0xE7>"), ("<0xA4>", "<0xA4>"), ("<0xBA>", "<0xBA>")]
    widget.hover_cell(0, 1, 0)
    assert widget.tooltip_lines()["text"] == "<0xA4>"  # "¤" among byte-level tokens: a byte
