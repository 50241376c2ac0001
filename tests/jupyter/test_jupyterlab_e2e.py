"""The widget in a real JupyterLab: it renders, a click reaches the kernel, Python drives it.

One JupyterLab server and one notebook page serve the whole module: the page runs a notebook
that builds a two-matrix ``th.Dashboard`` and logs every ``selected`` change the kernel sees
to a file, so the kernel side of a click is checked directly.
"""

from __future__ import annotations

import json
import pathlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_harness import (
    CLICK_COL,
    CLICK_EXAMPLES,
    CLICK_MATRIX,
    CLICK_ROW,
    LabServer,
    dashboard_source,
    jupyter_env,
    labextensions,
    screenshot_on_failure,
    write_notebook,
)

pytestmark = pytest.mark.jupyter

TIMEOUT_MS = 90_000  # first render: JupyterLab boot + kernel start on a busy 2-core machine
STEP_MS = 30_000
PRINT_CELL = 'print("SELECTED", json.dumps(dash.selected, sort_keys=True))'


@dataclass
class NotebookPage:
    """The open notebook: its page, the selection log file and the server."""

    page: Any
    log: pathlib.Path
    server: LabServer
    shots: pathlib.Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def own_errors(self) -> list[str]:
        """Uncaught page errors, less those thrown wholly inside the frontend's own bundles
        (Notebook 7.6 throws one while loading settings, with or without any widget)."""
        core = re.compile(r"/static/(lab|notebook)/")

        def foreign(error: str) -> bool:
            frames = re.findall(r"\bat .*?(\w+://\S+)", error)
            return bool(frames) and all(core.search(f) for f in frames)

        return [e for e in self.errors if not foreign(e)]

    def guard(self, name: str) -> Any:
        return screenshot_on_failure(self.page, self.shots / f"{name}.png", self.server)

    def kernel_selections(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for_selection(self, want: Callable[[dict[str, Any]], bool], what: str) -> dict:
        deadline = time.monotonic() + STEP_MS / 1000
        while time.monotonic() < deadline:
            hits = [s for s in self.kernel_selections() if want(s)]
            if hits:
                return hits[-1]
            time.sleep(0.2)
        raise AssertionError(
            f"the kernel never saw {what} within {STEP_MS / 1000:.0f}s; "
            f"it saw: {self.kernel_selections()}"
        )

    def root(self) -> Any:
        """Handle on the widget root element that carries the ``__tokenheat`` debug handle."""
        handle = self.page.evaluate_handle(
            """() => [...document.querySelectorAll('.jp-OutputArea-output *')]
                   .find((el) => el.__tokenheat !== undefined) || null"""
        )
        assert handle.as_element() is not None, "no element carries the __tokenheat debug handle"
        return handle

    def click_cell(self, matrix: int, row: int, col: int) -> None:
        self.page.locator(f'[data-testid="th-heatmap-{matrix}"]').scroll_into_view_if_needed()
        rect = self.root().evaluate(
            """(el, [m, r, c]) => { el.__tokenheat.reveal(m, r, c);
                                    return el.__tokenheat.cellRect(m, r, c); }""",
            [matrix, row, col],
        )
        assert rect, f"cellRect({matrix}, {row}, {col}) returned {rect!r}"
        self.page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)

    def run_in_kernel(self, code: str) -> None:
        """Execute code in the notebook's kernel through JupyterLab (no cell is added)."""
        self.page.evaluate(
            """async (code) => {
                 const panel = window.jupyterapp.shell.currentWidget;
                 const kernel = panel.sessionContext.session.kernel;
                 const reply = await kernel.requestExecute({ code }).done;
                 if (reply.content.status !== 'ok') {
                   throw new Error(`${reply.content.ename}: ${reply.content.evalue}`);
                 }
               }""",
            code,
        )

    def rerun_cell(self, index: int) -> str:
        """Re-execute one cell through JupyterLab's command and return its output text."""
        return str(
            self.page.evaluate(
                """async (index) => {
                     const app = window.jupyterapp;
                     const panel = app.shell.currentWidget;
                     panel.content.activeCellIndex = index;
                     await app.commands.execute('notebook:run-cell');
                     const cell = panel.content.widgets[index];
                     const deadline = Date.now() + 30000;
                     while (Date.now() < deadline) {
                       const text = cell.node.querySelector('.jp-OutputArea-output')?.textContent;
                       if (text && cell.model.executionCount !== null && !cell.node
                           .classList.contains('jp-mod-executing')) return text;
                       await new Promise((r) => setTimeout(r, 100));
                     }
                     return '';
                   }""",
                index,
            )
        )


@pytest.fixture(scope="module")
def notebook(lab: LabServer, browser: Any, artifacts: pathlib.Path) -> Iterator[NotebookPage]:
    """The dashboard notebook opened in JupyterLab with all cells run."""
    log = lab.root / "selected.jsonl"
    write_notebook(lab.notebooks / "dashboard.ipynb", [dashboard_source(log), PRINT_CELL])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    nb = NotebookPage(page=page, log=log, server=lab, shots=artifacts / lab.frontend)
    page.on("pageerror", lambda exc: nb.errors.append(f"{exc}\n{exc.stack}"))
    page.on(
        "console",
        lambda msg: msg.type == "error" and "tokenheat" in msg.text and nb.errors.append(msg.text),
    )
    page.on(
        "console", lambda msg: msg.text.startswith("[anywidget]") and nb.warnings.append(msg.text)
    )
    nb.shots.mkdir(exist_ok=True)
    with nb.guard("open-notebook"):
        page.goto(lab.notebook_url("dashboard.ipynb"), timeout=TIMEOUT_MS)
        page.wait_for_function(
            """() => { const w = window.jupyterapp?.shell?.currentWidget;
                       return w && w.context && w.context.path === 'dashboard.ipynb'; }""",
            timeout=TIMEOUT_MS,
        )
        page.evaluate(
            """async () => {
                 const app = window.jupyterapp;
                 const panel = app.shell.currentWidget;
                 await panel.sessionContext.ready;
                 await app.commands.execute('notebook:run-all-cells');
               }"""
        )
        page.locator('[data-testid="th-canvas-1"]').wait_for(state="visible", timeout=TIMEOUT_MS)
    try:
        yield nb
    finally:
        context.close()


def test_anywidget_labextension_is_found_with_temp_jupyter_dirs(tmp_path: pathlib.Path) -> None:
    """The prebuilt extensions in ``sys.prefix/share/jupyter`` stay on the data path."""
    listing = re.sub(r"\x1b\[[0-9;]*m", "", labextensions(jupyter_env(tmp_path)))
    lines = {line.split()[0]: line for line in listing.splitlines() if " v" in line}
    for name in ("anywidget", "@jupyter-widgets/jupyterlab-manager"):
        assert name in lines, f"{name} missing from `jupyter labextension list`:\n{listing}"
        assert "enabled" in lines[name] and "OK" in lines[name], lines[name]


def test_dashboard_renders_both_heatmaps(notebook: NotebookPage) -> None:
    page = notebook.page
    with notebook.guard("render"):
        for i in (0, 1):
            canvas = page.locator(f'[data-testid="th-canvas-{i}"]')
            box = canvas.bounding_box()
            assert box and box["width"] > 20 and box["height"] > 10, f"canvas {i} box {box}"
        colours = notebook.root().evaluate(
            """(el) => {
                 const h = el.__tokenheat;
                 const canvas = el.querySelector('[data-testid="th-canvas-0"]');
                 const ctx = canvas.getContext('2d');
                 const box = canvas.getBoundingClientRect();
                 const sx = canvas.width / box.width, sy = canvas.height / box.height;
                 const at = (r, c) => {
                   const q = h.cellRect(0, r, c);
                   const x = (q.x + q.w / 2 - box.left) * sx;
                   const y = (q.y + q.h / 2 - box.top) * sy;
                   return Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data);
                 };
                 return [at(0, 0), at(0, 1)];
               }"""
        )
        low, high = colours
        assert low[3] > 0 and high[3] > 0, f"cells not painted: {colours}"
        assert low[:3] != high[:3], f"values 0.1 and 0.9 drew the same colour {low}"
    page.screenshot(path=str(notebook.shots / "dashboard.png"))


def test_click_reaches_kernel_and_fills_context_panel(notebook: NotebookPage) -> None:
    page = notebook.page
    want = {
        "matrix": CLICK_MATRIX,
        "row": CLICK_ROW,
        "col": CLICK_COL,
        "token": "dog",
        "example": None,
    }
    with notebook.guard("click"):
        notebook.click_cell(CLICK_MATRIX, CLICK_ROW, CLICK_COL)
        seen = notebook.wait_for_selection(
            lambda s: s.get("row") == CLICK_ROW and s.get("col") == CLICK_COL, "the click"
        )
        assert seen == want
        rows = page.locator('[data-testid="th-contexts"] [data-testid="th-context-row"]')
        rows.first.wait_for(state="visible")
        texts = rows.all_text_contents()
        assert len(texts) == len(CLICK_EXAMPLES), texts
        for text, tokens in zip(texts, CLICK_EXAMPLES.values(), strict=True):
            missing = [t for t in tokens if t not in text]
            assert not missing, f"context row {text!r} lacks tokens {missing}"
        page.screenshot(path=str(notebook.shots / "clicked.png"))
        output = notebook.rerun_cell(1)
        assert output.startswith("SELECTED"), output
        assert json.loads(output.removeprefix("SELECTED").strip()) == want


def test_python_selection_reaches_page(notebook: NotebookPage) -> None:
    with notebook.guard("python-select"):
        notebook.run_in_kernel("dash.select(matrix=1, row=1, col=2)")
        notebook.page.wait_for_function(
            """() => { const el = [...document.querySelectorAll('.jp-OutputArea-output *')]
                         .find((e) => e.__tokenheat !== undefined);
                       const s = el && el.__tokenheat.state().selected;
                       return s && s.matrix === 1 && s.row === 1 && s.col === 2; }"""
        )
        notebook.run_in_kernel("dash.clear_selection()")
        notebook.page.wait_for_function(
            """() => { const el = [...document.querySelectorAll('.jp-OutputArea-output *')]
                         .find((e) => e.__tokenheat !== undefined);
                       const s = el && el.__tokenheat.state().selected;
                       return s && s.matrix === null && s.row === null; }"""
        )


def test_a_sort_chosen_in_the_page_reaches_the_kernel(notebook: NotebookPage) -> None:
    out = notebook.server.root / "orders.json"
    write = f"import json, pathlib; pathlib.Path({str(out)!r}).write_text(json.dumps(dash.orders))"
    with notebook.guard("sort"):
        notebook.page.locator('[data-testid="th-heatmap-0"]').scroll_into_view_if_needed()
        notebook.page.select_option('[data-testid="th-sort-0"]', "mean")
        deadline = time.monotonic() + STEP_MS / 1000
        orders: Any = None
        while time.monotonic() < deadline:
            notebook.run_in_kernel(write)
            orders = json.loads(out.read_text())
            if orders and orders[0]["row"] == "mean":
                break
            time.sleep(0.3)
        assert orders and orders[0] == {"row": "mean", "col": "original"}, orders
        # What to_html writes next is that order (the kernel side of "the choice survives export").
        notebook.run_in_kernel(
            f"pathlib.Path({str(out)!r}).write_text("
            "json.dumps([m['display']['row_order'] for m in json.loads(dash.to_html()"
            ".split('id=\"tokenheat-data-0\">')[1].split('</script>')[0])['spec']['matrices']]))"
        )
        assert json.loads(out.read_text())[0] == "mean"


def test_no_uncaught_errors_from_the_widget(notebook: NotebookPage) -> None:
    assert not notebook.own_errors(), f"uncaught errors in the page: {notebook.own_errors()}"


def test_anywidget_logs_no_warning_about_the_bundle(notebook: NotebookPage) -> None:
    # e.g. its deprecation warning for a bundle that exports `render` beside `default`
    assert notebook.warnings == []
