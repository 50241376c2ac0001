"""1,000 × 1,000 cells and 1,000 contexts in one cell stay quick and correct.

The time bounds are deliberately loose (a fillRect per cell takes seconds, the 1-px image
milliseconds); the numbers themselves are printed for the record, not compared.
"""

from __future__ import annotations

import time

import pytest
from _browser_helpers import LIGHT_MISSING, close, expected_color
from _page import big_spec

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def big():
    return big_spec(1000, 1000)


def test_a_million_cells_draw_from_one_image_quickly(open_widget, big):
    spec, values = big
    t0 = time.perf_counter()
    widget = open_widget(spec, name="big.html")
    load_s = time.perf_counter() - t0
    state = widget.state()["matrices"][0]
    print(
        f"\n1000x1000: page ready {load_s:.2f} s, image build {state['buildMs']:.1f} ms, draw {state['drawMs']:.1f} ms"
    )
    assert state["buildMs"] < 1500 and state["drawMs"] < 250
    scale = spec["matrices"][0]["scale"]
    assert close(widget.cell_pixel(0, 0, 0)[:3], LIGHT_MISSING)  # values[::97, ::89] are NaN
    for r, c in [(1, 1), (3, 5), (10, 20)]:
        assert close(widget.cell_pixel(0, r, c)[:3], expected_color(scale, float(values[r, c])))

    # Scrolling far away redraws quickly and shows the right colours there.
    assert widget.call("reveal", 0, 700, 900)
    state = widget.state()["matrices"][0]
    assert state["scrollX"] > 0 and state["scrollY"] > 0 and state["drawMs"] < 250
    for r, c in [(700, 900), (699, 899)]:
        assert close(widget.cell_pixel(0, r, c)[:3], expected_color(scale, float(values[r, c])))


def test_fit_shows_the_whole_matrix_and_ctrl_wheel_zooms_at_the_pointer(open_widget, big):
    spec, _ = big
    widget = open_widget(spec, name="big.html")
    widget.page.click("[data-testid=th-zoom-fit-0]")
    state = widget.state()["matrices"][0]
    assert (
        state["cellH"] * 1000 <= state["viewH"] + 1 and state["cellW"] * 1000 <= state["viewW"] + 1
    )
    last = widget.call("cellRect", 0, 999, 999)
    first = widget.call("cellRect", 0, 0, 0)
    assert last["y"] - first["y"] == pytest.approx(999 * state["cellH"])

    widget.page.click("[data-testid=th-zoom-in-0]")
    for _ in range(3):
        widget.page.click("[data-testid=th-zoom-in-0]")
    x, y = widget.cell_center(0, 300, 400)
    before = widget.state()["matrices"][0]["cellW"]
    widget.page.mouse.move(x, y)
    widget.page.keyboard.down("Control")
    widget.page.mouse.wheel(0, -120)
    widget.page.keyboard.up("Control")
    widget.page.wait_for_function(
        f"() => document.querySelector('[data-testid=th-root]').__tokenheat.state().matrices[0].cellW > {before}"
    )
    rect = widget.call("cellRect", 0, 300, 400)
    # The cell under the pointer stays under it (within a cell).
    assert rect["x"] - rect["w"] <= x <= rect["x"] + 2 * rect["w"]
    assert rect["y"] - rect["h"] <= y <= rect["y"] + 2 * rect["h"]


def test_labels_are_thinned_when_cells_are_small(open_widget, big):
    spec, _ = big
    widget = open_widget(spec, name="big.html")
    state = widget.state()["matrices"][0]
    # At 100 % (14 px rows) every visible row and column gets its label ...
    assert state["labelsDrawn"]["rowLabels"] == -(-state["viewH"] // state["cellH"])
    assert state["labelsDrawn"]["colLabels"] >= state["viewW"] // state["cellW"]
    widget.page.click("[data-testid=th-zoom-fit-0]")
    state = widget.state()["matrices"][0]
    # ... at < 1 px per row, only one label per ~12 px (font size) is drawn.
    assert state["cellH"] < 1
    assert 0 < state["labelsDrawn"]["rowLabels"] <= state["viewH"] / 12 + 1
    assert 0 < state["labelsDrawn"]["colLabels"] <= state["viewW"] / 12 + 1


def test_a_thousand_contexts_scroll_with_few_dom_rows(open_widget, big):
    spec, _ = big
    widget = open_widget(spec, name="big.html")
    widget.click_cell(0, 0, 0)
    assert widget.page.locator("[data-testid=th-contexts-count]").text_content() == "1,000 contexts"
    rows = widget.context_rows()
    assert 0 < rows.count() < 60
    timings = widget.page.evaluate(
        """async () => {
            const list = document.querySelector('[data-testid=th-context-list]');
            const times = [];
            for (let top = 0; top <= list.scrollHeight; top += 700) {
                const t0 = performance.now();
                list.scrollTop = top;
                list.dispatchEvent(new Event('scroll'));
                times.push(performance.now() - t0);
                await new Promise(requestAnimationFrame);
            }
            return times;
        }"""
    )
    print(f"\n1000 contexts: {len(timings)} scroll steps, worst {max(timings):.1f} ms")
    assert max(timings) < 100
    assert 0 < rows.count() < 60
    last = rows.last
    assert last.get_attribute("data-k") == "999"
    assert "rank 999" in last.text_content()
    last.locator(".th-ctx-name").click()
    assert widget.selected()["example"] == 999
