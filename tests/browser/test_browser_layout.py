"""Layout details seen in screenshots: axis titles, labels, the tooltip, cell text, contexts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _page import EMPTY, axis, b64, contexts_spec, corpus_spec, scale

pytestmark = pytest.mark.browser

WORDS = ["start", "middle", "end"]


def one_matrix(values: np.ndarray, rows: Any, cols: Any, **over: Any) -> dict[str, Any]:
    r, c = values.shape
    matrix = {
        "title": "m",
        "value_label": "value",
        "shape": [r, c],
        "values": b64(values, "f4"),
        "rows": rows,
        "cols": cols,
        "cell_text": None,
        "counts": None,
        "extras": [],
        "scale": scale("viridis", (0.0, 1.0)),
        "corpus": None,
        "contexts": None,
    }
    matrix.update(over)
    return matrix


def dashboard(*matrices: dict[str, Any], columns: int = 1, corpora=()) -> dict[str, Any]:
    return {
        "version": 1,
        "corpora": list(corpora),
        "matrices": list(matrices),
        "layout": {"columns": columns, "cell_size": 14},
    }


def lens_like(n_layers: int = 31, n_pos: int = 40) -> dict[str, Any]:
    """A layer × position matrix with a top-1 token in every cell but one."""
    rng = np.random.default_rng(1)
    vocab = ["Ġthe", "ĠParis", ",", "Ġcapital", "Ġof"]
    codes = rng.integers(0, len(vocab), size=(n_layers, n_pos)).astype(np.int32)
    codes[0, 0] = -1
    codes[1, 1] = 0  # "the": short enough for any cell that shows text
    return one_matrix(
        rng.uniform(0, 1, (n_layers, n_pos)),
        axis([f"L{i}" for i in range(n_layers)], "layer"),
        axis([f"p{i}" for i in range(n_pos)], "position", "input position"),
        cell_text={"vocab": vocab, "codes": b64(codes, "i4")},
        title="lens",
    )


def matrix_state(widget, m: int = 0) -> dict[str, Any]:
    return widget.state()["matrices"][m]


def test_axis_titles_are_drawn_whole_on_a_one_cell_matrix(open_widget):
    spec = dashboard(
        one_matrix(
            np.array([[0.5]]),
            axis(["Ġnot"], "position", "input token", tokens=["Ġnot"]),
            axis(["negative"], "target", "target of the attribution"),
        )
    )
    widget = open_widget(spec)
    drawn = matrix_state(widget)["labelsDrawn"]
    assert drawn["rowTitle"] == "input token"
    assert drawn["colTitle"] == "target of the attribution"
    assert widget.errors == []


def test_row_title_stays_whole_when_a_filter_leaves_one_row(open_widget):
    spec = dashboard(
        one_matrix(
            np.random.default_rng(0).uniform(0, 1, (20, 4)),
            axis([f"word{i}" for i in range(20)], "token", "token"),
            axis(["a", "b", "c", "d"], "bucket", "bucket"),
        )
    )
    widget = open_widget(spec)
    widget.page.fill("[data-testid=th-filter-0]", "word17")
    state = matrix_state(widget)
    assert state["shownRows"] == 1
    assert state["labelsDrawn"]["rowTitle"] == "token"


def tooltip_box(widget) -> dict[str, Any]:
    return widget.page.evaluate(
        """() => {
            const tip = document.querySelector('[data-testid=th-tooltip]');
            const r = tip.getBoundingClientRect();
            const dds = [...tip.querySelectorAll('dd')].map((dd) => ({
                text: dd.textContent, h: dd.getBoundingClientRect().height,
                cut: dd.scrollWidth > dd.clientWidth,
            }));
            const dt = tip.querySelector('dt').getBoundingClientRect().height;
            return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
                    dds, dt, vw: document.documentElement.clientWidth,
                    vh: document.documentElement.clientHeight};
        }"""
    )


def test_tooltip_is_as_wide_as_its_words_even_at_the_right_edge(open_widget):
    long_token = "Ġ" + "supercalifragilistic" * 12
    spec = dashboard(
        one_matrix(
            np.array([[0.1, 0.5, 0.9]]),
            axis(["Ġmiddle"], "token", "word"),
            axis(["the start", "the middle of it", "the very end of the sentence"], "bucket"),
            cell_text={"vocab": [long_token], "codes": b64([-1, -1, 0], "i4")},
        )
    )
    widget = open_widget(spec, width=520)
    widget.hover_cell(0, 0, 2)
    box = tooltip_box(widget)
    assert box["left"] >= 0 and box["right"] <= box["vw"]
    assert box["width"] <= 380
    texts = {d["text"]: d for d in box["dds"]}
    for text in ("␣middle", "the very end of the sentence", "0.9"):
        assert texts[text]["h"] <= box["dt"] + 1, f"{text!r} wraps onto a second line"
        assert not texts[text]["cut"]
    long = next(d for d in box["dds"] if d["text"].startswith("␣supercal"))
    assert long["cut"] and long["h"] <= box["dt"] + 1  # one line ending in an ellipsis


def test_tooltip_hides_on_click_and_scroll_and_returns_on_the_next_cell(open_widget):
    spec = dashboard(
        one_matrix(
            np.random.default_rng(0).uniform(0, 1, (30, 6)),
            axis([f"r{i}" for i in range(30)], "layer"),
            axis(WORDS * 2, "position"),
        )
    )
    widget = open_widget(spec, height=300)
    tip = widget.page.locator("[data-testid=th-tooltip]")
    widget.hover_cell(0, 2, 1)
    assert tip.is_visible()
    widget.click_cell(0, 2, 1)
    assert not tip.is_visible()
    x, y = widget.cell_center(0, 2, 1)
    widget.page.mouse.move(x + 2, y + 1)
    assert not tip.is_visible(), "the tooltip came back over the clicked cell"
    widget.hover_cell(0, 3, 1)
    assert tip.is_visible()
    widget.page.evaluate("() => window.scrollBy(0, 40)")
    widget.page.wait_for_function(
        "() => document.querySelector('[data-testid=th-tooltip]').hidden === true"
    )


def test_tooltip_stays_inside_the_window_near_its_bottom_right_corner(open_widget):
    spec = dashboard(
        one_matrix(
            np.random.default_rng(0).uniform(0, 1, (8, 8)),
            axis([f"r{i}" for i in range(8)], "layer"),
            axis([f"col {i}" for i in range(8)], "position"),
        )
    )
    widget = open_widget(spec, width=420, height=260)
    widget.call("reveal", 0, 7, 7)
    widget.page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    widget.hover_cell(0, 7, 7)
    box = tooltip_box(widget)
    assert box["left"] >= 0 and box["right"] <= box["vw"]
    assert box["top"] >= 0 and box["bottom"] <= box["vh"]


def test_selected_and_hovered_column_labels_are_drawn_in_full(open_widget):
    spec = dashboard(
        one_matrix(
            np.random.default_rng(0).uniform(0, 1, (4, 3)),
            axis(["Ġa", "Ġb", "Ġc", "Ġd"], "token", "token"),
            axis(WORDS, "bucket", "position"),
        )
    )
    widget = open_widget(spec)
    widget.click_cell(0, 1, 1)
    widget.hover_cell(0, 2, 2)
    state = matrix_state(widget)
    assert not state["colRotated"]
    assert "middle" in state["labelsDrawn"]["featured"]
    assert "end" in state["labelsDrawn"]["featured"]
    assert "␣b" in state["labelsDrawn"]["featured"]


def test_lens_cell_text_is_there_at_first_sight_even_in_a_narrow_panel(open_widget):
    # Cells with text start wide enough for it (the panel scrolls; "fit" shows all of it).
    spec = dashboard(lens_like(), lens_like(), columns=2)
    widget = open_widget(spec, width=900)
    state = matrix_state(widget)
    assert state["zoom"] == 1 and state["cellW"] >= 34
    visible = (state["viewW"] / state["cellW"] + 1) * (state["viewH"] / state["cellH"] + 1)
    assert 0 < state["cellTexts"] <= visible  # only the cells in view get text
    # A cell with text has text pixels at its centre; the one cell without text is flat.
    assert widget.call("reveal", 0, 0, 0)
    with_text = widget.call("cellRect", 0, 1, 1)
    without = widget.call("cellRect", 0, 0, 0)

    def spread(rect):
        xs = [rect["x"] + rect["w"] * f for f in (0.3, 0.4, 0.5, 0.6, 0.7)]
        px = [widget.pixel(0, x, rect["y"] + rect["h"] / 2) for x in xs]
        return max(max(abs(a[i] - b[i]) for i in range(3)) for a in px for b in px)

    assert spread(with_text) > 60
    assert spread(without) <= 2


def test_a_lens_matrix_shows_its_cell_text_at_first_sight_when_there_is_room(open_widget):
    widget = open_widget(dashboard(lens_like()), width=1400)
    state = matrix_state(widget)
    assert state["zoom"] == 1 and state["cellW"] >= 24 and state["cellTexts"] > 0


def test_attribution_context_shows_the_whole_input_coloured_by_its_scores(open_widget, tmp_path):
    th = pytest.importorskip("tokenheat")
    from _dashboard import corpus_examples, demo_dashboard

    path = tmp_path / "dash.html"
    th.to_html(demo_dashboard(th), path)
    widget = open_widget(html_file=path)
    tokens = corpus_examples()[1]
    row = tokens.index("Ġnot")
    widget.click_cell(2, row, 0)
    rows = widget.context_rows()
    assert rows.count() == 1
    ctx = rows.first
    assert ctx.locator(".th-tok").count() == len(tokens)
    assert ctx.locator(".th-ctx-kw").text_content() == "␣not"
    colours = ctx.locator(".th-tok").evaluate_all(
        "(els) => els.map((e) => getComputedStyle(e).backgroundColor)"
    )
    assert len(set(colours)) > 4, "the tokens are not coloured by their scores"
    chips = ctx.locator(".th-ctx-col").all_text_contents()
    assert chips[:2] == ["target negative", "score 2.31"]
    fits = ctx.evaluate(
        """(row) => { const r = row.getBoundingClientRect();
            return [...row.querySelectorAll('.th-ctx-col')].every((c) => {
                const b = c.getBoundingClientRect(); return b.right <= r.right + 0.5; }); }"""
    )
    assert fits, "a column of the context is cut off"
    assert widget.selected() == {**EMPTY, "matrix": 2, "row": row, "col": 0, "token": "Ġnot"}


def test_ranked_predictions_read_as_one_list(open_widget, tmp_path):
    th = pytest.importorskip("tokenheat")
    from _dashboard import demo_dashboard

    path = tmp_path / "dash.html"
    th.to_html(demo_dashboard(th), path)
    widget = open_widget(html_file=path)
    widget.click_cell(1, 10, 4)
    chips = widget.context_rows().first.locator(".th-ctx-col").all_text_contents()
    assert chips[0].startswith("top ") and " · " in chips[0] and "%" in chips[0]
    assert "Ġ" not in " ".join(chips)


def test_a_long_scored_input_is_listed_whole_with_both_marks(open_widget):
    """Attribution over a 60-token prompt: every token coloured, the clicked and scored ones marked."""
    tokens = ["Q", ":"] + [f"Ġw{i}" for i in range(57)] + ["ĠA"]
    n = len(tokens)
    rng = np.random.default_rng(3)
    scores = [rng.normal(0, 1, n).astype(np.float32) for _ in range(2)]
    values = np.stack(scores, axis=1)
    rows, cols = np.meshgrid(np.arange(n), np.arange(2), indexing="ij")
    rr, cc = rows.ravel(), cols.ravel()
    matrix = one_matrix(
        values,
        axis(tokens, "position", "input token", tokens=tokens),
        axis(["Ġyes", "Ġno"], "target", "target"),
        scale=scale("RdBu", (-3.0, 3.0), center=0.0),
        corpus=0,
        contexts=contexts_spec(
            rr, cc, np.zeros(rr.size, dtype=int), rr, rr + 1,
            start2=np.full(rr.size, n - 1), end2=np.full(rr.size, n),
            scores=[scores[c] for c in cc], numeric={"attribution": values.ravel()},
        ),
    )  # fmt: skip
    widget = open_widget(dashboard(matrix, corpora=[corpus_spec([tokens])]))
    widget.click_cell(0, 5, 1)
    row = widget.context_rows().first
    assert row.locator(".th-tok").count() == n
    assert row.locator(".th-ctx-kw").text_content() == "␣w3"
    assert row.locator(".th-mark2").text_content() == "A"
    assert row.locator(".th-gap").count() == 0  # nothing left out
