"""The limits of one page, measured in headless Chromium: how large a matrix and how many
contexts in one cell stay responsive, and how long a page of a million contexts takes to load.

For each size the script builds a matrix, exports it with ``to_html(max_bytes=None)`` (the
size guard off) and opens it from a file in Chromium:

- matrices of S × S cells: page ready (navigation → the front end's root handle exists) and
  hover → tooltip updated (median of 5 hovers);
- one cell holding N contexts: page ready, click → first context row shown, and whether the
  *last* context is reachable by scrolling the list to its end (the list's spacer is capped
  below the browser's maximum element height, js/contexts.ts); plus
  ``Dashboard.selected_contexts()`` in Python for that cell.

Prints Markdown tables and the load average (the machine is shared). Nothing is asserted
about time; the reachability of the last context is checked (exit status 1 if not).

Usage::

    python bench/limits.py            # S = 1,000 / 2,000 / 3,000; N = 100k / 1M / 1.5M
    python bench/limits.py --smoke    # S = 50, N = 2,000 (checks that it runs)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import chromium, ensure_bundle, machine_info, median, table

import tokenheat as th

ROOT_SELECTOR = "[data-testid=th-root]"
READY_JS = f"() => document.querySelector('{ROOT_SELECTOR}')?.__tokenheat !== undefined"


def _open(browser: Any, path: Path) -> tuple[Any, Any, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(600_000)
    t0 = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function(READY_JS, polling=20)
    return context, page, time.perf_counter() - t0


def _cell_center(page: Any, row: int, col: int) -> tuple[float, float]:
    rect = page.evaluate(
        f"([r, c]) => document.querySelector('{ROOT_SELECTOR}').__tokenheat.cellRect(0, r, c)",
        [row, col],
    )
    return rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2


def matrix_row(browser: Any, size: int, folder: Path) -> list[Any]:
    rng = np.random.default_rng(0)
    values = rng.random((size, size), dtype=np.float32)
    labels = [f"t{i}" for i in range(size)]
    m = th.TokenMatrix(values, rows=labels, cols=labels)
    path = folder / f"m{size}.html"
    t0 = time.perf_counter()
    m.to_html(path, max_bytes=None)
    export_s = time.perf_counter() - t0
    context, page, ready_s = _open(browser, path)
    hovers = []
    for k in range(5):
        r, c = (k * 7) % min(size, 30), (k * 11) % min(size, 30)
        x, y = _cell_center(page, r, c)
        t0 = time.perf_counter()
        page.mouse.move(x, y)
        page.wait_for_function(
            "(label) => (document.querySelector('[data-testid=th-tooltip]')?.textContent ?? '')"
            ".includes(label)",
            arg=labels[r],
            polling=5,
        )
        hovers.append((time.perf_counter() - t0) * 1000)
    context.close()
    mib = path.stat().st_size / 2**20
    # One row of the matrix table; contexts_row's has the same shape, other columns.
    return [
        f"{size:,} × {size:,}",
        f"{mib:.1f}",
        f"{export_s:.2f}",
        f"{ready_s:.2f}",
        f"{median(hovers):.0f}",
    ]


def contexts_row(browser: Any, n: int, folder: Path) -> tuple[list[Any], bool]:
    corpus = th.Corpus.from_tokens([["Ġthe", "Ġcat", "Ġsat", "Ċ"]])
    zeros = np.zeros(n, np.int32)
    ctx = th.Contexts(row=zeros, col=zeros, example=zeros, start=zeros, end=zeros + 1)
    m = th.TokenMatrix(
        np.ones((2, 2), np.float32), rows=["a", "b"], cols=["x", "y"], corpus=corpus, contexts=ctx
    )
    dash = th.Dashboard(m, max_bytes=None)
    dash.select(0, row=0, col=0)
    t0 = time.perf_counter()
    frame = dash.selected_contexts()
    py_s = time.perf_counter() - t0
    assert len(frame) == n
    path = folder / f"c{n}.html"
    t0 = time.perf_counter()
    m.to_html(path, max_bytes=None)
    export_s = time.perf_counter() - t0
    context, page, ready_s = _open(browser, path)
    x, y = _cell_center(page, 0, 0)
    t0 = time.perf_counter()
    page.mouse.click(x, y)
    page.locator("[data-testid=th-context-row]").first.wait_for(state="visible")
    click_ms = (time.perf_counter() - t0) * 1000
    last = page.evaluate(
        """async () => {
            const list = document.querySelector('[data-testid=th-context-row]').parentElement;
            list.scrollTop = list.scrollHeight;
            list.dispatchEvent(new Event('scroll'));
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            const ks = [...list.querySelectorAll('[data-testid=th-context-row]')]
                .map((e) => Number(e.dataset.k));
            const spacer = list.querySelector('.th-context-spacer');
            return { maxK: Math.max(...ks), spacer: spacer.getBoundingClientRect().height };
        }"""
    )
    context.close()
    reached = last["maxK"] == n - 1
    mib = path.stat().st_size / 2**20
    # One row of the contexts table; matrix_row's has the same shape, other columns.
    return [
        f"{n:,}",
        f"{mib:.1f}",
        f"{export_s:.2f}",
        f"{ready_s:.2f}",
        f"{click_ms:.0f}",
        f"{'yes' if reached else 'NO'} (k={last['maxK']:,}, spacer {last['spacer'] / 1e6:.1f}M px)",
        f"{py_s * 1000:.0f}",
    ], reached


def spread_row(n: int) -> list[Any]:
    """``selected_contexts()`` when ``n`` contexts are spread over 50 × 20 cells."""
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 50, n), rng.integers(0, 20, n)
    corpus = th.Corpus.from_tokens([["Ġthe", "Ġcat", "Ġsat", "Ċ"]] * 10)
    ex = rng.integers(0, 10, n)
    start = rng.integers(0, 3, n)
    ctx = th.Contexts(row=rows, col=cols, example=ex, start=start, end=start + 1)
    labels = [str(i) for i in range(50)]
    m = th.TokenMatrix(
        np.ones((50, 20)), rows=labels, cols=labels[:20], corpus=corpus, contexts=ctx
    )
    dash = th.Dashboard(m, max_bytes=None)
    dash.select(0, row=7, col=3)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        frame = dash.selected_contexts()
        times.append((time.perf_counter() - t0) * 1000)
    assert len(frame) == int(((rows == 7) & (cols == 3)).sum())
    return [f"{n:,}", f"{len(frame):,}", f"{median(times):.1f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; checks that it runs")
    args = parser.parse_args()
    sizes = [50] if args.smoke else [1000, 2000, 3000]
    counts = [2000] if args.smoke else [100_000, 1_000_000, 1_500_000]
    ensure_bundle()
    ok = True
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        folder = Path(tmp)
        rows = [matrix_row(browser, s, folder) for s in sizes]
        print("\n### Matrices\n")
        print(table(["cells", "page MiB", "to_html s", "page ready s", "hover → tooltip ms"], rows))
        crow = []
        for n in counts:
            row, reached = contexts_row(browser, n, folder)
            crow.append(row)
            ok &= reached
        print("\n### Contexts in one cell\n")
        print(
            table(
                [
                    "contexts",
                    "page MiB",
                    "to_html s",
                    "page ready s",
                    "click → first row ms",
                    "last context reachable",
                    "selected_contexts() ms",
                ],
                crow,
            )
        )
    print("\n### Dashboard.selected_contexts(), contexts spread over 1,000 cells\n")
    spread = [spread_row(n) for n in counts]
    print(table(["contexts", "in the selected cell", "selected_contexts() ms"], spread))
    print(f"\nload average (1, 5, 15 min): {os.getloadavg()}")
    print(machine_info())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
