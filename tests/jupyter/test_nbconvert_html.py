"""A notebook that displays a Dashboard, executed and converted to HTML with nbconvert.

What is checked:

- executing the notebook stores the complete widget state, binary buffers included, in the
  notebook metadata, and ``nbconvert --to html`` embeds that state and the widget view;
- ``ipywidgets.embed.embed_minimal_html(..., drop_defaults=False)`` embeds the same state;
- offline, nbconvert's default HTML cannot draw the widget: it loads RequireJS from cdnjs and
  ``@jupyter-widgets/html-manager`` from unpkg, which then loads ``anywidget`` from jsDelivr
  (our ``_esm`` bundle itself is inside the embedded state, so nothing of ours is fetched);
- what a reader with internet sees: the unmodified HTML, with exactly those CDN requests
  answered from the same packages' files, draws the dashboard and a click lists the contexts,
  with no kernel;
- the offline recipe: with ``--HTMLExporter.require_js_url`` / ``widget_renderer_url`` and an
  ``anywidget.js`` next to the file, the page needs no network at all.

``@jupyter-widgets/html-manager`` and ``requirejs`` come from ``node_modules`` (or
``$TOKENHEAT_NODE_MODULES``), anywidget's AMD module from its Python wheel; without them the
drawing tests are skipped.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import nbformat
import numpy as np
import pytest
from jupyter_core.paths import jupyter_path
from jupyter_harness import (
    CLICK_COL,
    CLICK_EXAMPLES,
    CLICK_MATRIX,
    CLICK_ROW,
    dashboard_source,
    install_kernelspec,
    jupyter_env,
    screenshot_on_failure,
    write_notebook,
)
from nbconvert import HTMLExporter

import tokenheat as th

pytestmark = pytest.mark.jupyter

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
REPO = pathlib.Path(__file__).resolve().parents[2]
#: the files a page asks for by these names (next to it) -> where they live in node_modules
NPM_FILES = {
    "require.js": "requirejs/require.js",
    "embed-amd.js": "@jupyter-widgets/html-manager/dist/embed-amd.js",
}
FLIPS = np.array([[0.1, 0.9, 0.3], [0.5, 0.2, 0.7]], dtype=np.float32)


def _jupyter(env: dict[str, str], *args: str, cwd: pathlib.Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, f"jupyter {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"


def _scripts(html: str, mime: str) -> list[Any]:
    pattern = rf'<script type="{re.escape(mime)}">(.*?)</script>'
    return [json.loads(m) for m in re.findall(pattern, html, flags=re.DOTALL)]


def _anywidget_models(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in state["state"].items() if v["model_module"] == "anywidget"}


def widget_assets_or_skip() -> dict[str, pathlib.Path]:
    """``require.js``, ``embed-amd.js`` (html-manager) and ``anywidget.js`` on this machine.

    The first two come from ``node_modules`` (or ``$TOKENHEAT_NODE_MODULES``); anywidget's
    AMD module is the one its Python wheel installs as a classic-notebook extension
    (``share/jupyter/nbextensions/anywidget/index.js``), so its version always matches.
    """
    nm = pathlib.Path(os.environ.get("TOKENHEAT_NODE_MODULES", REPO / "node_modules"))
    found = {name: nm / rel for name, rel in NPM_FILES.items()}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        pytest.skip(
            f"{missing} missing: add @jupyter-widgets/html-manager@^1 and requirejs to the "
            "npm devDependencies, or point TOKENHEAT_NODE_MODULES at a node_modules with them"
        )
    amd = [pathlib.Path(d) / "nbextensions" / "anywidget" / "index.js" for d in jupyter_path()]
    existing = [path for path in amd if path.is_file()]
    if not existing:
        pytest.skip(f"anywidget's AMD module is not installed (looked in {amd})")
    found["anywidget.js"] = existing[0]
    return found


def _copy_local_assets(dest: pathlib.Path) -> None:
    """Put the three files next to an HTML file, under the names its page asks for.

    RequireJS resolves the module id ``anywidget`` to ``./anywidget.js`` before any CDN.
    """
    for name, path in widget_assets_or_skip().items():
        shutil.copyfile(path, dest / name)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Execute the dashboard notebook, then convert it to HTML twice (CDN and local assets)."""
    from jupyter_harness import bundle_or_fail

    bundle_or_fail()
    root = tmp_path_factory.mktemp("nbconvert")
    env = jupyter_env(root)
    install_kernelspec(env)
    work = root / "work"
    work.mkdir()
    nb_path = write_notebook(work / "dash.ipynb", [dashboard_source()])
    _jupyter(env, "nbconvert", "--to", "notebook", "--execute", "--inplace", nb_path.name, cwd=work)
    _jupyter(env, "nbconvert", "--to", "html", nb_path.name, "--output", "cdn.html", cwd=work)
    # The offline recipe, same as `jupyter nbconvert --to html
    # --HTMLExporter.require_js_url=require.js --HTMLExporter.widget_renderer_url=embed-amd.js`.
    local = work / "local"
    local.mkdir()
    exporter = HTMLExporter(require_js_url="require.js", widget_renderer_url="embed-amd.js")
    body, _ = exporter.from_filename(str(nb_path))
    (local / "dash.html").write_text(body, encoding="utf-8")
    return {
        "nb": nbformat.read(str(nb_path), as_version=4),
        "cdn": work / "cdn.html",
        "local": local / "dash.html",
    }


#: CDN address pattern -> the asset (see ``widget_assets_or_skip``) a CDN serves there
CDN_FILES = {
    r"^https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^/]+/require(\.min)?\.js": (
        "require.js"
    ),
    r"^https://(unpkg\.com|cdn\.jsdelivr\.net/npm)/@jupyter-widgets/html-manager@[^/]+/"
    r"dist/embed-amd\.js$": "embed-amd.js",
    r"^https://cdn\.jsdelivr\.net/npm/anywidget@[^/]+/dist/index\.js$": "anywidget.js",
}


class Network:
    """Every request a page makes beyond ``file:``: refused, or, where ``cdn`` holds the
    assets, answered from them as if that CDN were reachable."""

    def __init__(self, cdn: dict[str, pathlib.Path] | None = None) -> None:
        self.cdn = cdn
        self.refused: list[str] = []
        self.served: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
            return
        for pattern, name in CDN_FILES.items():
            if self.cdn is not None and re.match(pattern, url):
                self.served.append(url)
                route.fulfill(
                    path=str(self.cdn[name]),
                    content_type="application/javascript",
                    headers={"Access-Control-Allow-Origin": "*"},
                )
                return
        self.refused.append(url)
        route.abort()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[Network], Any]]:
    """Open pages whose network goes through a :class:`Network`."""
    contexts: list[Any] = []

    def make(network: Network) -> Any:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        contexts.append(context)
        context.route("**/*", network)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


def _check_state(state: dict[str, Any], model_id: str | None = None) -> dict[str, Any]:
    """The dashboard's model (the only one, or ``model_id``) is complete: ESM, CSS, spec with
    its buffers, selection."""
    models = _anywidget_models(state)
    if model_id is None:
        assert len(models) == 1, f"expected one anywidget model, got {list(models)}"
        model_id = next(iter(models))
    assert model_id in models, f"model {model_id} not embedded; got {list(models)}"
    model = models[model_id]
    s = model["state"]
    static = pathlib.Path(th.__file__).parent / "static"
    assert s["_esm"] == (static / "widget.js").read_text(), "_esm is not the built bundle"
    assert s["_css"] == (static / "widget.css").read_text(), "_css is not the built stylesheet"
    assert [m["title"] for m in s["_spec"]["matrices"]] == ["flip rate", "entropy"]
    assert s["selected"] == {
        "matrix": None,
        "row": None,
        "col": None,
        "token": None,
        "example": None,
    }
    buffers = {tuple(b["path"]): b for b in model.get("buffers", [])}
    values = buffers.get(("_spec", "matrices", 0, "values"))
    assert values is not None, f"no values buffer; buffer paths: {sorted(buffers)}"
    assert values["encoding"] == "base64"
    got = np.frombuffer(base64.b64decode(values["data"]), dtype="<f4").reshape(FLIPS.shape)
    np.testing.assert_array_equal(got, FLIPS)
    assert ("_spec", "corpora", 0, "ids") in buffers, sorted(buffers)
    assert ("_spec", "matrices", 0, "contexts", "example") in buffers, sorted(buffers)
    return model


def test_executed_notebook_stores_complete_widget_state(converted: dict[str, Any]) -> None:
    state = converted["nb"].metadata["widgets"][STATE_MIME]
    _check_state(state)


def test_nbconvert_html_embeds_state_and_view(converted: dict[str, Any]) -> None:
    html = converted["cdn"].read_text()
    (state,) = _scripts(html, STATE_MIME)
    assert state == converted["nb"].metadata["widgets"][STATE_MIME]
    model_id = next(iter(_anywidget_models(state)))
    views = _scripts(html, VIEW_MIME)
    assert [v["model_id"] for v in views] == [model_id]
    assert "@jupyter-widgets/html-manager@*/dist/embed-amd.js" in html


def test_nbconvert_html_offline_draws_no_widget(
    converted: dict[str, Any], new_page: Callable[[Network], Any]
) -> None:
    """Documents the limitation: the default HTML needs cdnjs and unpkg to draw widgets."""
    network = Network()
    page = new_page(network)
    with page.expect_event("requestfailed", predicate=lambda r: "html-manager" in r.url):
        page.goto(converted["cdn"].as_uri())
    page.wait_for_load_state("load")
    assert any(
        u.startswith("https://unpkg.com/@jupyter-widgets/html-manager") for u in network.refused
    )
    assert any("cdnjs" in u and "require" in u for u in network.refused), network.refused
    assert page.locator('[data-testid^="th-canvas-"]').count() == 0


def _click_and_read_contexts(page: Any) -> list[str]:
    root = page.evaluate_handle(
        "() => [...document.querySelectorAll('*')].find((e) => e.__tokenheat !== undefined)"
    )
    rect = root.evaluate(
        "(el, [m, r, c]) => el.__tokenheat.cellRect(m, r, c)", [CLICK_MATRIX, CLICK_ROW, CLICK_COL]
    )
    page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)
    rows = page.locator('[data-testid="th-contexts"] [data-testid="th-context-row"]')
    rows.first.wait_for(state="visible")
    return rows.all_text_contents()


def _assert_draws_and_clicks(page: Any, url: str, shot: pathlib.Path) -> None:
    with screenshot_on_failure(page, shot):
        page.goto(url)
        page.locator('[data-testid="th-canvas-1"]').wait_for(state="visible")
        texts = _click_and_read_contexts(page)
        assert len(texts) == len(CLICK_EXAMPLES), texts
        for text, tokens in zip(texts, CLICK_EXAMPLES.values(), strict=True):
            assert all(t in text for t in tokens), (text, tokens)


def test_nbconvert_html_draws_when_its_cdns_answer(
    converted: dict[str, Any], new_page: Callable[[Network], Any], artifacts: pathlib.Path
) -> None:
    """The unmodified HTML as a reader with internet sees it (CDNs answered locally)."""
    network = Network(cdn=widget_assets_or_skip())
    page = new_page(network)
    _assert_draws_and_clicks(page, converted["cdn"].as_uri(), artifacts / "nbconvert-cdn.png")
    page.screenshot(path=str(artifacts / "nbconvert-cdn-ok.png"), full_page=True)
    served = {rel for url in network.served for p, rel in CDN_FILES.items() if re.match(p, url)}
    assert served == set(CDN_FILES.values()), network.served
    assert all("mathjax" in u for u in network.refused), network.refused


def test_nbconvert_html_draws_offline_with_local_widget_assets(
    converted: dict[str, Any], new_page: Callable[[Network], Any], artifacts: pathlib.Path
) -> None:
    html_path = converted["local"]
    _copy_local_assets(html_path.parent)
    network = Network()
    page = new_page(network)
    _assert_draws_and_clicks(page, html_path.as_uri(), artifacts / "nbconvert-local.png")
    # Only MathJax (unused here) is still asked of a CDN; nothing the widget needs.
    assert all("mathjax" in u for u in network.refused), network.refused


def test_embed_minimal_html_contains_state_and_draws_offline(
    tmp_path: pathlib.Path, new_page: Callable[[Network], Any], artifacts: pathlib.Path
) -> None:
    from ipywidgets.embed import dependency_state, embed_minimal_html

    ns: dict[str, Any] = {}
    exec(dashboard_source(), ns)  # the same dashboard, built in this process
    default = tmp_path / "default.html"
    # Without state=, the state of every widget alive in the process is embedded.
    embed_minimal_html(str(default), views=[ns["dash"]], drop_defaults=False, title="dash")
    (state,) = _scripts(default.read_text(), STATE_MIME)
    _check_state(state, ns["dash"].model_id)
    only = dependency_state([ns["dash"]], drop_defaults=False)
    assert len(_anywidget_models({"state": only})) == 1
    # The default page pins RequireJS by subresource integrity (cdnjs's minified 2.3.4), so
    # it is not re-served here; the offline recipe points at local copies instead.
    local = tmp_path / "local.html"
    template = (
        '<!DOCTYPE html><html><head><meta charset="UTF-8"><title>{title}</title>'
        '<script src="require.js"></script></head><body>{snippet}</body></html>'
    )
    embed_minimal_html(
        str(local),
        views=[ns["dash"]],
        state=only,
        drop_defaults=False,
        title="dash",
        template=template,
        embed_url="embed-amd.js",
        requirejs=False,
        cors=False,
    )
    _copy_local_assets(tmp_path)
    network = Network()
    page = new_page(network)
    _assert_draws_and_clicks(page, local.as_uri(), artifacts / "embed-minimal.png")
    assert network.refused == [], network.refused
