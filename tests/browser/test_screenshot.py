"""The README screenshot: a four-heatmap dashboard exported with ``th.to_html``, one cell open.

Running this test rewrites ``docs/demo-dashboard.png``. The data are deterministic and the page
is drawn at a fixed size and scale, so git shows a change only when the front end draws
differently (or the system fonts change).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _dashboard import FLIP_WORDS, demo_dashboard
from _page import ROOT

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "demo-dashboard.png"
MAX_BYTES = 300_000


def test_readme_screenshot_of_the_demo_dashboard(open_widget, tmp_path: Path):
    th = pytest.importorskip("tokenheat")
    matrices = demo_dashboard(th)
    path = tmp_path / "demo.html"
    th.to_html(matrices, path, title="tokenheat: four analyses of one corpus, linked")
    widget = open_widget(html_file=path, width=1280, height=900)
    assert widget.errors == []
    assert len(widget.state()["matrices"]) == 4

    # Open the flip-rate cell of "not" with the most occurrences, as a reader would.
    row = FLIP_WORDS.index("Ġnot")
    col = int(np.argmax(matrices[0].counts[row]))
    widget.click_cell(0, row, col)
    assert widget.context_rows().count() == int(matrices[0].counts[row, col]) >= 2
    assert widget.selected()["token"] == "Ġnot"
    # The lens shows its top-1 tokens in the cells without zooming.
    assert widget.state()["matrices"][1]["cellTexts"] > 0
    # Park the pointer off the heatmaps so no hover mark or tooltip is in the picture.
    widget.page.mouse.move(2, 2)
    assert not widget.page.locator("[data-testid=th-tooltip]").is_visible()

    shot = widget.page.screenshot(full_page=True, scale="css", animations="disabled")
    again = widget.page.screenshot(full_page=True, scale="css", animations="disabled")
    assert shot == again, "two screenshots of the same page differ: the drawing is not stable"
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(shot) <= MAX_BYTES, f"the screenshot is {len(shot):,} bytes; keep it small"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if not SCREENSHOT.exists() or SCREENSHOT.read_bytes() != shot:
        SCREENSHOT.write_bytes(shot)
