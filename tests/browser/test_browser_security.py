"""Token strings are data: hostile ones show as text and run nothing; the page stays offline."""

from __future__ import annotations

import pytest
from _page import EXAMPLES, IMG_TAG, ROW_TOKENS, SCRIPT_CLOSE, demo_spec

pytestmark = pytest.mark.browser


def _touch_everything(widget) -> None:
    """Hover and click every place a hostile string is shown: labels, cells, contexts."""
    for token in (SCRIPT_CLOSE, IMG_TAG):
        row = ROW_TOKENS.index(token)
        rect = widget.call("rowLabelRect", 0, row)
        widget.page.mouse.move(rect["x"] + rect["w"] - 4, rect["y"] + rect["h"] / 2)
        widget.click_row_label(0, row)
        for col in range(10):
            if widget.call("cellRect", 0, row, col):
                widget.hover_cell(0, row, col)
                widget.click_cell(0, row, col)
                if widget.context_rows().count():
                    widget.context_rows().first.locator(".th-tok").first.click()
    widget.hover_cell(1, 1, 1)  # cell text is the </script> string
    widget.click_cell(1, 1, 1)


def test_hostile_tokens_show_as_text_and_run_nothing(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    _touch_everything(widget)
    page = widget.page
    assert widget.dialogs == []
    assert widget.errors == []
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    assert page.evaluate("() => document.querySelectorAll('script').length") == 2
    assert page.evaluate("() => document.querySelectorAll('[onerror]').length") == 0

    # The </script> string reached the page as text: in a context row and in the tooltip.
    widget.click_cell(0, ROW_TOKENS.index(SCRIPT_CLOSE), 0)
    assert widget.context_rows().first.locator(".th-ctx-kw").text_content() == SCRIPT_CLOSE
    widget.hover_cell(1, 1, 1)
    assert widget.tooltip_lines()["text"] == SCRIPT_CLOSE
    widget.click_row_label(0, ROW_TOKENS.index(IMG_TAG))
    assert page.locator("[data-testid=th-chip-token] .th-chip-value").text_content() == IMG_TAG
    row = ROW_TOKENS.index(IMG_TAG)
    widget.click_cell(0, row, 0)
    assert widget.context_rows().first.locator(".th-ctx-kw").text_content() == IMG_TAG


def test_export_json_cannot_close_its_script_element(open_widget, tmp_path):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    body = html[html.index('id="tokenheat-data">') : html.rindex("<script>")]
    assert "</script>" in body[-len("</script>") :]  # only the element's own end tag
    assert body.count("</script") == 1
    assert (
        widget.page.evaluate(
            "() => JSON.parse(document.getElementById('tokenheat-data').textContent).spec.corpora[0].vocab"
        )[: len(EXAMPLES[0])]
        == EXAMPLES[0]
    )


def test_the_page_makes_no_network_request(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    blocked: list[str] = []

    def block(route) -> None:
        if route.request.url != widget.url:
            blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    widget.page.route("**/*", block)
    widget.load()  # again, now under the route
    _touch_everything(widget)
    widget.page.keyboard.press("Escape")
    widget.page.click("[data-testid=th-zoom-in-0]")
    widget.page.wait_for_timeout(200)
    assert blocked == []
    assert set(widget.requests) == {widget.url}
