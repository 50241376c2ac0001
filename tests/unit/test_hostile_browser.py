"""Hostile strings and arbitrary matrices in real Chromium: tokenheat's own HTML page and a
real nbconvert page (the widget state a notebook stores, converted by nbconvert's
HTMLExporter) draw, run no script from the data and keep the rest of the page."""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tokenheat as th

pytestmark = pytest.mark.browser

REPO = pathlib.Path(__file__).resolve().parents[2]
STATIC = pathlib.Path(th.__file__).parent / "static"
ROOT = "[data-testid=th-root]"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
END = "END-OF-NOTEBOOK-MARKER"


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    if not (STATIC / "standalone.js").exists():
        pytest.skip("front-end bundle not built (npm run build)")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
    )
    p = context.new_page()
    p.set_default_timeout(60_000)
    p.dialogs, p.errors = [], []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    try:
        yield p
    finally:
        context.close()


def _hostile() -> th.TokenMatrix:
    from test_hostile import _hostile_matrix

    return _hostile_matrix()


def _painted(page: Any, m: int = 0) -> int:
    """How many pixels of matrix ``m``'s canvas are not transparent."""
    return page.evaluate(
        """(m) => {
            const c = document.querySelector(`[data-testid=th-canvas-${m}]`);
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }""",
        m,
    )


def _open(page: Any, path: pathlib.Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_function(
        f"() => {{ const r = document.querySelector('{ROOT}');"
        " return r && (r.__tokenheat !== undefined || r.querySelector('.th-error') !== null); }"
    )
    assert page.locator(".th-error").count() == 0, page.locator(".th-error").all_text_contents()


def test_the_18_hostile_strings_draw_in_to_html_and_run_nothing(page, tmp_path):
    m = _hostile()
    path = tmp_path / "hostile.html"
    m.to_html(path)
    _open(page, path)
    assert _painted(page) > 0
    assert page.dialogs == [] and page.errors == []
    root = page.locator(ROOT)
    assert root.locator("script, img, svg[onload]").count() == 0
    n = page.evaluate(
        "() => document.querySelector('[data-testid=th-root]').__tokenheat.cellRect(0, 17, 1)"
    )
    assert n is not None  # the last of the 18 rows is there


def _widget_assets() -> dict[str, pathlib.Path]:
    from jupyter_core.paths import jupyter_path

    nm = pathlib.Path(os.environ.get("TOKENHEAT_NODE_MODULES", REPO / "node_modules"))
    found = {
        "require.js": nm / "requirejs" / "require.js",
        "embed-amd.js": nm / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
    }
    amd = [pathlib.Path(d) / "nbextensions" / "anywidget" / "index.js" for d in jupyter_path()]
    found["anywidget.js"] = next((p for p in amd if p.is_file()), amd[0])
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        pytest.skip(f"widget assets missing: {missing}")
    return found


def _nbconvert_page(dash: Any, folder: pathlib.Path) -> pathlib.Path:
    """The page nbconvert makes of a notebook holding ``dash``'s saved widget state."""
    nbformat = pytest.importorskip("nbformat")
    exporter_mod = pytest.importorskip("nbconvert")
    embed = pytest.importorskip("ipywidgets.embed")
    data = embed.embed_data(views=[dash], drop_defaults=False)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("dash")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={VIEW_MIME: data["view_specs"][0], "text/plain": "Dashboard"}
        )
    ]
    nb.cells = [cell, nbformat.v4.new_markdown_cell(END)]
    nb.metadata["widgets"] = {STATE_MIME: data["manager_state"]}
    exporter = exporter_mod.HTMLExporter(
        require_js_url="require.js", widget_renderer_url="embed-amd.js"
    )
    body, _ = exporter.from_notebook_node(nb)
    path = folder / "nb.html"
    path.write_text(body, encoding="utf-8")
    for name, src in _widget_assets().items():
        shutil.copyfile(src, folder / name)
    return path


def _attack() -> th.TokenMatrix:
    # "<!--" then a later "<script>" (and no "-->") put an HTML parser into the "script data
    # double escaped" state, in which the state's closing </script> does not end it.
    return th.TokenMatrix(
        [[1.0, 2.0], [3.0, 4.0]], rows=["<!--", "b"], cols=["x", "<script>"], title="<!--"
    )


@pytest.mark.parametrize("make", [_attack, _hostile], ids=["comment-then-script", "hostile-18"])
def test_an_nbconvert_page_with_comment_and_script_labels_still_draws(page, tmp_path, make):
    dash = th.Dashboard([make(), _attack()])
    dash.select(1, row=0, col=1, token="<!--<script>")  # a selection saved with the state
    path = _nbconvert_page(dash, tmp_path)
    html = path.read_text(encoding="utf-8")
    state = html.split(f'<script type="{STATE_MIME}">', 1)[1].split("</script>", 1)[0]
    assert "<!--" not in state and "<script" not in state.lower()
    page.goto(path.as_uri())
    page.locator("[data-testid=th-canvas-1]").wait_for(state="visible")
    assert _painted(page, 0) > 0 and _painted(page, 1) > 0
    assert END in page.locator("body").inner_text()  # the rest of the page was not swallowed
    assert page.dialogs == []


def test_the_last_of_1_5_million_contexts_in_one_cell_is_reachable(page, tmp_path):
    # 1.5M rows of 28 px are 42M px, beyond Chromium's maximum element height (~33.5M):
    # the list's spacer is capped and its scroll scaled (js/contexts.ts).
    n = 1_500_000
    corpus = th.Corpus.from_tokens([["Ġthe", "Ġcat", "Ġsat"]])
    zeros = np.zeros(n, np.int32)
    example = zeros.copy()
    start = (np.arange(n) % 3).astype(np.int32)
    ctx = th.Contexts(row=zeros, col=zeros, example=example, start=start, end=start + 1)
    m = th.TokenMatrix([[1.0, 2.0]], rows=["a"], cols=["x", "y"], corpus=corpus, contexts=ctx)
    path = tmp_path / "many.html"
    m.to_html(path, max_bytes=None)
    _open(page, path)
    rect = page.evaluate(
        "() => document.querySelector('[data-testid=th-root]').__tokenheat.cellRect(0, 0, 0)"
    )
    page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)
    page.locator("[data-testid=th-context-row]").first.wait_for(state="visible")
    shown = page.evaluate(
        """async () => {
            const list = document.querySelector('[data-testid=th-context-list]');
            list.scrollTop = list.scrollHeight;
            list.dispatchEvent(new Event('scroll'));
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            const view = list.getBoundingClientRect();
            const rows = [...list.querySelectorAll('[data-testid=th-context-row]')];
            const inView = rows.filter((e) => {
                const r = e.getBoundingClientRect();
                return r.bottom > view.top && r.top < view.bottom;
            });
            return {
                last: Math.max(...inView.map((e) => Number(e.dataset.k))),
                spacer: list.querySelector('.th-context-spacer').getBoundingClientRect().height,
            };
        }"""
    )
    assert shown["last"] == n - 1  # the last context is rendered *in view*
    assert shown["spacer"] <= 10_000_000


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from test_hostile_properties import matrices  # noqa: E402


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(matrices())
def test_to_html_of_any_matrix_paints(page, tmp_path, m: th.TokenMatrix) -> None:
    path = tmp_path / "any.html"
    m.to_html(path)
    _open(page, path)
    finite = np.isfinite(m.values).any()
    assert _painted(page) > 0 or not finite
    assert page.errors == [] and page.dialogs == []
