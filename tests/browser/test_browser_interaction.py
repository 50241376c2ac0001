"""Hover, click, linking, keyboard, sorting and the `selected` trait, in a real browser."""

from __future__ import annotations

import numpy as np
import pytest
from _browser_helpers import LIGHT_LINK, LIGHT_MISSING, close, expected_color
from _page import BUCKETS, EXAMPLES, ROW_TOKENS, demo_spec

pytestmark = pytest.mark.browser


def _flip_contexts(row: int, col: int) -> list[tuple[int, int]]:
    """(example, position) of every occurrence of ROW_TOKENS[row] in bucket `col`."""
    out = []
    for e, tokens in enumerate(EXAMPLES):
        for pos, tok in enumerate(tokens):
            if tok == ROW_TOKENS[row] and min(9, (10 * pos) // len(tokens)) == col:
                out.append((e, pos))
    return out


def _a_cell_with(
    values: np.ndarray, counts_at_least: int = 1, nan: bool = False
) -> tuple[int, int]:
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            if np.isnan(values[r, c]) == nan and (
                nan or len(_flip_contexts(r, c)) >= counts_at_least
            ):
                return r, c
    raise AssertionError("no such cell")


def test_hover_shows_row_col_value_and_count(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    r, c = _a_cell_with(values[0], counts_at_least=2)
    widget.hover_cell(0, r, c)
    lines = widget.tooltip_lines()
    assert lines["token"] == ROW_TOKENS[r].replace("Ġ", "␣")
    assert lines["relative position"] == BUCKETS[c]
    assert float(lines["flip rate"]) == pytest.approx(float(values[0][r, c]), abs=1e-3)
    assert lines["n"] == str(len(_flip_contexts(r, c)))
    assert lines["contexts"] == str(len(_flip_contexts(r, c)))
    assert {"ci_low", "ci_high"} <= lines.keys()


def test_hover_on_a_missing_cell_says_missing(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    r, c = _a_cell_with(values[0], nan=True)
    widget.hover_cell(0, r, c)
    assert widget.tooltip_lines()["flip rate"] == "missing"
    widget.page.mouse.move(2, 2)
    assert not widget.page.locator("[data-testid=th-tooltip]").is_visible()


def test_hover_shows_cell_text_with_visible_whitespace(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.hover_cell(1, 0, 0)  # cell text "Ġthe"
    lines = widget.tooltip_lines()
    assert lines["text"] == "␣the"
    assert lines["input position"] == "The"


def test_click_lists_the_contexts_of_that_cell(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    r, c = _a_cell_with(values[0], counts_at_least=2)
    widget.click_cell(0, r, c)
    want = _flip_contexts(r, c)
    rows = widget.context_rows()
    assert rows.count() == len(want)
    examples = sorted(int(rows.nth(i).get_attribute("data-example")) for i in range(rows.count()))
    assert examples == sorted(e for e, _ in want)
    for i in range(rows.count()):
        assert rows.nth(i).locator(".th-ctx-kw").text_content() == ROW_TOKENS[r].replace("Ġ", "␣")
    count = widget.page.locator("[data-testid=th-contexts-count]").text_content()
    assert count == f"{len(want)} contexts"
    assert widget.selected() == {
        "matrix": 0,
        "row": r,
        "col": c,
        "token": ROW_TOKENS[r],
        "example": None,
    }


def test_context_row_shows_its_columns_as_before_and_after(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    r, c = _a_cell_with(values[0])
    widget.click_cell(0, r, c)
    text = widget.context_rows().first.locator(".th-ctx-cols").text_content()
    assert "joy → " in text and "p_" not in text and "p 0." in text


def test_token_row_label_outlines_the_token_in_other_heatmaps(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    movie_col = EXAMPLES[0].index("Ġmovie")
    rect = widget.call("cellRect", 1, 0, movie_col)
    edge = (rect["x"] + 1, rect["y"] + rect["h"] / 2)
    assert widget.pixel(1, *edge, layer="overlay")[3] == 0  # nothing drawn there yet

    widget.click_row_label(0, ROW_TOKENS.index("Ġmovie"))
    state = widget.state()
    assert state["selected"]["token"] == "Ġmovie"
    assert state["matrices"][1]["marked"]["cols"] == [movie_col]
    assert state["matrices"][2]["marked"]["rows"] == [EXAMPLES[1].index("Ġmovie")]
    assert state["matrices"][0]["marked"]["rows"] == [ROW_TOKENS.index("Ġmovie")]
    # Lens cells whose top-1 token is "Ġmovie" (cell text code 1) are outlined too.
    assert len(state["matrices"][1]["marked"]["cells"]) > 0
    got = widget.pixel(1, *edge, layer="overlay")
    assert got[3] == 255 and close(got[:3], LIGHT_LINK), got
    # Another token clears the first one's marks.
    widget.click_row_label(0, ROW_TOKENS.index("Ġsad"))
    assert widget.state()["matrices"][1]["marked"]["cols"] == []


def test_clicking_a_token_in_the_contexts_selects_that_token(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.click_cell(1, 0, 0)  # lens cell over example 0, highlight at position 0
    right = widget.context_rows().first.locator(".th-ctx-right")
    assert right.text_content().startswith(" movie was")  # the leading space stays in the text
    token = right.locator(".th-tok").first
    assert token.text_content() == "movie"  # ... outside the token's marks
    token.click()
    state = widget.state()
    assert state["selected"]["token"] == "Ġmovie"
    assert state["selected"]["matrix"] == 1  # the cell stays selected
    assert state["matrices"][0]["marked"]["rows"] == [ROW_TOKENS.index("Ġmovie")]
    assert (
        widget.page.locator("[data-testid=th-chip-token] .th-chip-value").text_content() == "␣movie"
    )


def test_clicking_a_context_row_selects_its_example(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    r, c = _a_cell_with(values[0])
    widget.click_cell(0, r, c)
    row = widget.context_rows().first
    row.locator(".th-ctx-name").click()
    assert widget.selected()["example"] == int(row.get_attribute("data-example"))
    assert "th-selected" in widget.context_rows().first.get_attribute("class")


def test_arrow_keys_move_the_cell_enter_opens_escape_clears(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.page.locator("[data-testid=th-root]").focus()
    widget.page.keyboard.press("ArrowDown")
    assert (
        widget.selected()["matrix"] == 0
        and widget.selected()["row"] == 0
        and widget.selected()["col"] == 0
    )
    widget.page.keyboard.press("ArrowRight")
    widget.page.keyboard.press("ArrowRight")
    widget.page.keyboard.press("ArrowDown")
    sel = widget.selected()
    assert (sel["row"], sel["col"], sel["token"]) == (1, 2, ROW_TOKENS[1])
    widget.page.keyboard.press("ArrowUp")
    widget.page.keyboard.press("ArrowLeft")
    assert (widget.selected()["row"], widget.selected()["col"]) == (0, 1)
    widget.page.keyboard.press("ArrowLeft")
    widget.page.keyboard.press("ArrowLeft")  # stops at the edge
    assert widget.selected()["col"] == 0
    widget.page.keyboard.press("Enter")
    active = widget.page.evaluate("() => document.activeElement.dataset.testid")
    assert active == "th-context-list"
    widget.page.keyboard.press("Escape")
    assert widget.selected() == {
        "matrix": None,
        "row": None,
        "col": None,
        "token": None,
        "example": None,
    }
    assert widget.context_rows().count() == 0


def test_keyboard_follows_the_sorted_order(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.page.select_option("[data-testid=th-sort-0]", "mean")
    order = widget.state()["matrices"][0]["order"]
    widget.page.locator("[data-testid=th-root]").focus()
    widget.page.keyboard.press("ArrowDown")
    widget.page.keyboard.press("ArrowDown")
    assert widget.selected()["row"] == order[1]


def test_sort_by_mean_and_max_and_label(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    v = values[0]
    with np.errstate(all="ignore"):
        mean = np.nanmean(v, axis=1)
        peak = np.nanmax(v, axis=1)
    for mode, key in (("mean", mean), ("max", peak)):
        widget.page.select_option("[data-testid=th-sort-0]", mode)
        want = sorted(range(len(key)), key=lambda i: (np.isnan(key[i]), -np.nan_to_num(key[i]), i))
        assert widget.state()["matrices"][0]["order"] == want
    widget.page.select_option("[data-testid=th-sort-0]", "original")
    assert widget.state()["matrices"][0]["order"] == list(range(len(ROW_TOKENS)))
    # Rows are drawn in that order, in the colours of their own values.
    widget.page.select_option("[data-testid=th-sort-0]", "max")
    order = widget.state()["matrices"][0]["order"]
    top = widget.call("cellRect", 0, order[0], 0)
    for shown, row in enumerate(order):
        rect = widget.call("cellRect", 0, row, 0)
        assert rect["y"] == pytest.approx(top["y"] + shown * top["h"])
        for col in range(v.shape[1]):
            want = expected_color(spec["matrices"][0]["scale"], float(v[row, col])) or LIGHT_MISSING
            assert close(widget.cell_pixel(0, row, col)[:3], want)


def test_filter_keeps_matching_row_labels(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.page.fill("[data-testid=th-filter-0]", "mov")
    state = widget.state()["matrices"][0]
    assert state["shownRows"] == 1 and state["order"] == [ROW_TOKENS.index("Ġmovie")]
    assert widget.call("cellRect", 0, 0, 0) is None  # filtered out: no rectangle
    widget.page.fill("[data-testid=th-filter-0]", "")
    assert widget.state()["matrices"][0]["shownRows"] == len(ROW_TOKENS)


def test_zoom_buttons_change_the_cell_size(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    before = widget.state()["matrices"][1]
    widget.page.click("[data-testid=th-zoom-in-1]")
    after = widget.state()["matrices"][1]
    assert after["cellH"] == pytest.approx(before["cellH"] * 1.25)
    assert after["cellW"] == pytest.approx(before["cellW"] * 1.25)
    assert widget.page.locator("[data-testid=th-heatmap-1] .th-zoom-text").text_content() == "125%"
    widget.page.click("[data-testid=th-zoom-out-1]")
    assert widget.state()["matrices"][1]["cellH"] == pytest.approx(before["cellH"])
    # Once the whole matrix fits, zooming out goes no further.
    widget.page.click("[data-testid=th-zoom-fit-0]")
    fitted = widget.state()["matrices"][0]
    widget.page.click("[data-testid=th-zoom-out-0]")
    assert widget.state()["matrices"][0]["cellH"] == pytest.approx(fitted["cellH"])


def test_click_writes_the_selected_trait(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.click_cell(2, 3, 1)
    model = widget.model_call("return [model.get('selected'), model.saves];")
    assert model[0] == {"matrix": 2, "row": 3, "col": 1, "token": EXAMPLES[1][3], "example": None}
    assert model[1] >= 1


def test_a_selection_set_from_python_is_followed(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.model_call(
        "model.set('selected', {matrix: 1, row: 2, col: 3, token: 'Ġmovie', example: null});"
    )
    state = widget.state()
    assert state["selected"] == {
        "matrix": 1,
        "row": 2,
        "col": 3,
        "token": "Ġmovie",
        "example": None,
    }
    assert widget.context_rows().count() == 1
    assert state["matrices"][0]["marked"]["rows"] == [ROW_TOKENS.index("Ġmovie")]
    # Out-of-range values from Python are dropped, not drawn.
    widget.model_call(
        "model.set('selected', {matrix: 7, row: 99, col: 0, token: null, example: null});"
    )
    assert widget.selected()["matrix"] is None


def test_initial_selection_from_the_page_is_shown(open_widget):
    spec, _ = demo_spec()
    selected = {"matrix": 2, "row": 2, "col": 0, "token": "Ġsad", "example": 1}
    widget = open_widget(spec, selected=selected)
    assert widget.selected() == selected
    assert widget.context_rows().count() == 1
    assert widget.state()["matrices"][0]["marked"]["rows"] == [ROW_TOKENS.index("Ġsad")]


def test_second_mark_and_scores_are_shown_in_contexts(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    widget.click_cell(1, 0, 5)  # lens contexts at position > 2 mark position 0 as well
    row = widget.context_rows().first
    assert row.locator(".th-mark2").first.text_content() == "The"
    widget.click_cell(2, 2, 1)  # attribution: every token coloured by its score
    toks = widget.context_rows().first.locator(".th-tok")
    assert toks.count() == len(EXAMPLES[1])
    styles = [toks.nth(i).get_attribute("style") or "" for i in range(toks.count())]
    assert all("background-color" in s for s in styles)
    assert len(set(styles)) > 1
