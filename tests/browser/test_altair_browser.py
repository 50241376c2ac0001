"""to_altair in a real browser: an offline page saved by Altair (vega inlined by vl-convert),
driven in Debian's Chromium: tooltips show hostile tokens as text, linking highlights across
charts, and no token can run script.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenheat as th
from tokenheat.export._altair import MISSING_COLOR, to_altair

pytestmark = pytest.mark.browser

IMG = "<img src=x onerror=window.__th_img=1;alert(1)>"
BREAKOUT = "</script><script>window.__th_script=1;alert(2)</script>"


@pytest.fixture(scope="module")
def chromium(chromium_browser: Any) -> Any:
    pytest.importorskip("vl_convert", reason="vl-convert-python inlines vega for offline pages")
    return chromium_browser


@pytest.fixture(scope="module")
def chart_file(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two linked matrices with hostile tokens, saved as one offline page."""
    flips = th.TokenMatrix(
        np.array([[0.1, np.nan, 0.5], [0.9, 0.2, 0.3]]),
        rows=["Ġthe", IMG],
        cols=["b0", "b1", "b2"],
        row_kind="token",
        col_kind="bucket",
        title=BREAKOUT,
        counts=[[1, 2, 3], [4, 5, 6]],
    )
    lens = th.TokenMatrix(
        np.array([[1.0, -1.0], [0.0, 0.5]]),
        rows=["L0", "L1"],
        cols=[BREAKOUT, "p1"],
        row_kind="layer",
        col_kind="position",
        cell_text=[["Ġthe", IMG], [None, "x"]],
        scale="RdBu",
    )
    path = tmp_path_factory.mktemp("altair") / "chart.html"
    to_altair([flips, lens]).save(path, inline=True)
    return path


@pytest.fixture
def page(chromium: Any, chart_file: Path) -> Iterator[Any]:
    """The saved chart opened in a fresh context; dialogs are recorded, not shown."""
    context = chromium.new_context(viewport={"width": 1000, "height": 700})
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(chart_file.as_uri())
    pg.wait_for_selector("g.mark-rect.role-mark path", timeout=15000)
    yield pg
    context.close()


def _cells(pg: Any, chart: int) -> Any:
    return pg.locator("g.mark-rect.role-mark").nth(chart).locator("path")


def _centre(pg: Any, chart: int, k: int) -> tuple[float, float]:
    box = _cells(pg, chart).nth(k).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _tooltip(pg: Any, chart: int, k: int) -> Any:
    """Hover cell ``k`` of chart ``chart`` and wait for Vega's tooltip."""
    pg.mouse.move(*_centre(pg, chart, k))
    tip = pg.locator("#vg-tooltip-element")
    tip.wait_for(state="visible")
    return tip


def _state(pg: Any, chart: int) -> list[tuple[str, str]]:
    return [
        (p.get_attribute("stroke-width"), p.get_attribute("opacity"))
        for p in _cells(pg, chart).all()
    ]


def _no_script_ran(pg: Any) -> None:
    assert pg.evaluate("document.querySelectorAll('img').length") == 0
    assert pg.evaluate("[window.__th_img, window.__th_script]") == [None, None]
    assert pg.dialogs == []


def test_page_draws_every_cell_with_missing_cells_grey(page):
    assert _cells(page, 0).count() == 6
    assert _cells(page, 1).count() == 4
    assert _cells(page, 0).nth(1).get_attribute("fill") == MISSING_COLOR
    _no_script_ran(page)


def test_tooltip_shows_a_hostile_token_as_text(page):
    tip = _tooltip(page, 0, 3)
    text = tip.inner_text()
    assert "<img src=x onerror=window.__th_img=1;alert(1)>" in text
    assert "0.9" in text and "4" in text
    assert tip.locator("img").count() == 0
    _no_script_ran(page)


def test_tooltip_of_a_missing_cell_says_missing(page):
    tip = _tooltip(page, 0, 1)
    assert "missing" in tip.inner_text()


def test_clicking_a_token_cell_highlights_its_token_in_every_chart(page):
    page.mouse.click(*_centre(page, 0, 0))  # row "Ġthe"
    page.wait_for_function(
        "document.querySelector('g.mark-rect.role-mark path').getAttribute('stroke-width') === '2'"
    )
    assert _state(page, 0) == [("2", "1")] * 3 + [("0", "0.3")] * 3
    assert _state(page, 1) == [("2", "1"), ("0", "0.3"), ("0", "0.3"), ("0", "0.3")]


def test_clicking_cell_text_links_back_and_double_click_clears(page):
    page.mouse.click(*_centre(page, 1, 1))  # cell text IMG (clicked through its text label)
    page.wait_for_timeout(200)
    assert _state(page, 0) == [("0", "0.3")] * 3 + [("2", "1")] * 3
    assert _state(page, 1)[1] == ("2", "1")
    page.mouse.dblclick(*_centre(page, 1, 1))
    page.wait_for_timeout(200)
    assert set(_state(page, 0) + _state(page, 1)) == {("0", "1")}
    _no_script_ran(page)


def test_hostile_labels_and_titles_are_drawn_as_text(page):
    texts = page.evaluate(
        "Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)"
    )
    assert "<img…" in texts  # cell text, cut to the cell
    assert any(t.startswith("<img src=x onerror=") for t in texts)  # axis label
    assert any(t.startswith("</script><script>window.__th_script=1") for t in texts)
    assert not any("undefined" in t or t == "null" for t in texts)
    _no_script_ran(page)


def test_tooltip_of_a_cell_without_text_shows_a_dash(page):
    tip = _tooltip(page, 1, 2)
    text = tip.inner_text()
    assert "L1" in text
    assert "undefined" not in text and "null" not in text
    assert text.split()[-2:] == ["text", "—"]
