"""The front end at a million cells, in headless Chromium: first paint, hover → tooltip,
scroll / zoom / sort redraws, and the same matrix as an Altair (Vega-Lite) heatmap.

A 1,000 × 1,000 matrix (uniform random values, ~1 % NaN) is exported with
``TokenMatrix.to_html``. The page is instrumented from outside the front end: a
``performance.mark("th-script-start")`` script is inserted just before the inlined front-end
script, and an init script wraps ``CanvasRenderingContext2D.drawImage`` to note when the cells
are first drawn onto a heatmap canvas (``th-canvas-*``), then the end of the next frame (rAF,
then a message). Times are ``performance.now()`` in the page (0 = navigation start).

Targets: script start → first cells drawn < 150 ms (median of ``--loads`` fresh pages);
hover → tooltip text updated < 16 ms.

Usage::

    python bench/frontend.py                     # 1,000 × 1,000, Altair at 100², 300², 1,000²
    python bench/frontend.py --no-altair         # tokenheat only
    python bench/frontend.py --smoke             # 60 × 60, 2 loads (checks the script runs)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    chromium,
    chromium_version,
    ensure_bundle,
    machine_info,
    median,
    table,
    timed,
)
from _page_probes import (
    ACTIONS_JS,
    HOVER_JS,
    INIT_SCRIPT,
    ROOT_SELECTOR,
    SCROLL_JS,
    VL_CALL,
    VL_INSTRUMENTED,
)
from payload import make_matrix

FIRST_PAINT_TARGET_MS = 150.0
HOVER_TARGET_MS = 16.0
VIEWPORT = {"width": 1280, "height": 900}


def export_tokenheat(n: int, path: Path) -> float:
    """Write the n × n matrix with ``to_html`` (plus the script-start mark); seconds taken."""
    from tokenheat.export import to_html

    m = make_matrix(n, text=False, counts=False)
    t0 = time.perf_counter()
    text = to_html(m, max_bytes=None)
    seconds = time.perf_counter() - t0
    cut = text.rfind("\n<script>")
    if cut < 0:
        raise RuntimeError("the exported page has no inline <script> to instrument")
    mark = "\n<script>performance.mark('th-script-start')</script>"
    path.write_text(text[:cut] + mark + text[cut:], encoding="utf-8")
    return seconds


def export_altair(n: int, path: Path) -> float:
    """Save the n × n matrix as an offline Altair page (vega inlined); seconds taken."""
    from tokenheat.export import to_altair

    m = make_matrix(n, text=False, counts=False)
    t0 = time.perf_counter()
    to_altair(m, max_rows=None).save(str(path), inline=True)
    seconds = time.perf_counter() - t0
    text = path.read_text(encoding="utf-8")
    if text.count(VL_CALL) != 1:
        raise RuntimeError("the Altair page does not end with the expected vegaEmbed call")
    path.write_text(text.replace(VL_CALL, VL_INSTRUMENTED), encoding="utf-8")
    return seconds


def first_paint(browser: Any, url: str) -> dict[str, float]:
    """One fresh page: script start, first cells drawn, next frame, FCP, build/draw times."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        page = context.new_page()
        page.add_init_script(INIT_SCRIPT)
        page.goto(url)
        page.wait_for_function("() => window.__thBench && window.__thBench.firstFrame")
        return page.evaluate(
            f"""() => {{
              const st = document.querySelector("{ROOT_SELECTOR}").__tokenheat.state();
              const b = window.__thBench;
              const script = performance.getEntriesByName("th-script-start")[0].startTime;
              const nav = performance.getEntriesByType("navigation")[0];
              const fcp = performance.getEntriesByName("first-contentful-paint")[0];
              return {{ script, draw: b.firstDraw, frame: b.firstFrame, defined: b.defined,
                        dcl: nav.domContentLoadedEventStart, parse: b.parseMs,
                        responseEnd: nav.responseEnd, fcp: fcp ? fcp.startTime : NaN,
                        build: st.matrices[0].buildMs, drawMs: st.matrices[0].drawMs }};
            }}"""
        )
    finally:
        context.close()


def compare_bundles(browser: Any, page: Path, bundle: Path, loads: int) -> list[list[Any]]:
    """First paint with the installed standalone.js (A) and with ``bundle`` (B), alternating."""
    installed = (ensure_bundle() / "standalone.js").read_text(encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    if text.count(installed) != 1:
        raise RuntimeError("the exported page does not inline the installed standalone.js")
    other = page.with_name(page.stem + "-b.html")
    other.write_text(text.replace(installed, bundle.read_text(encoding="utf-8")), "utf-8")
    runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    for _ in range(loads):
        runs["A"].append(first_paint(browser, page.as_uri()))
        runs["B"].append(first_paint(browser, other.as_uri()))
    other.unlink()
    rows = []
    for label, key, base in (
        ("script start → first cells drawn", "draw", "script"),
        ("1-px cell image build", "build", None),
        ("one draw", "drawMs", None),
        ("navigation start → first cells drawn", "draw", None),
    ):
        a, b = ([x[key] - (x[base] if base else 0) for x in runs[k]] for k in "AB")
        spread = [f"{min(x):.1f}–{max(x):.1f}" for x in (a, b)]
        rows.append([label, median(a), median(b), f"{median(b) / median(a):.2f}×", *spread])
    return rows


def interactions(browser: Any, url: str, hovers: int, steps: int, rounds: int) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(f"() => document.querySelector('{ROOT_SELECTOR}').__tokenheat")
        return {
            "hover": page.evaluate(HOVER_JS, hovers),
            "scroll": page.evaluate(SCROLL_JS, steps),
            "actions": page.evaluate(ACTIONS_JS, rounds),
        }
    finally:
        context.close()


def altair_render(browser: Any, url: str, timeout_s: float) -> dict[str, Any]:
    """Load the Altair page once; navigation start → Vega's first render, or why it did not."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    crashed: list[str] = []
    page.on("crash", lambda _: crashed.append("crash"))
    t0 = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        left = max(1.0, timeout_s - (time.perf_counter() - t0))
        page.wait_for_function(
            "() => window.__vl && (window.__vl.frame || window.__vl.error)",
            timeout=left * 1000,
            polling=100,
        )
        vl = page.evaluate("() => window.__vl")
        if vl.get("error"):
            return {"status": f"error: {vl['error'][:120]}"}
        return {"status": "drawn", "draw": vl["drawn"], "frame": vl["frame"]}
    except Exception as err:  # Playwright's TimeoutError / a crashed page
        if crashed:
            return {"status": f"page crashed after {time.perf_counter() - t0:.0f} s"}
        if "Timeout" in type(err).__name__:
            return {"status": f"not drawn within {timeout_s:.0f} s"}
        return {"status": f"failed: {type(err).__name__}: {str(err)[:120]}"}
    finally:
        context.close()


def _stats(values: list[float]) -> list[float]:
    s = sorted(values)
    return [median(s), s[max(0, -(-len(s) * 95 // 100) - 1)], s[-1]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="rows = columns (default 1000)")
    parser.add_argument("--loads", type=int, default=7, help="fresh page loads (default 7)")
    parser.add_argument("--hovers", type=int, default=60, help="hover samples (default 60)")
    parser.add_argument(
        "--altair-sizes",
        default="100,300,1000",
        help="comma-separated n for n × n Altair charts (default 100,300,1000)",
    )
    parser.add_argument("--altair-timeout", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--no-altair", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="60 × 60, 2 loads, Altair 20 × 20")
    parser.add_argument(
        "--alt-bundle",
        type=Path,
        default=None,
        help="another build of standalone.js: its first paint is measured in alternation with "
        "the installed bundle's (A/B of a front-end change)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.loads, args.hovers, args.altair_sizes = 60, 2, 5, "20"
    steps, rounds = (5, 1) if args.smoke else (30, 5)
    n = args.size
    alt_sizes = [] if args.no_altair else [int(s) for s in args.altair_sizes.split(",") if s]
    ensure_bundle()
    print(machine_info({"browser": f"{chromium_version()} (headless, --disable-gpu)"}))
    tmp = Path(tempfile.mkdtemp(prefix="tokenheat-bench-"))
    pages = {}
    export_s = {}
    export_tokenheat(2, tmp / "warm-up.html")  # imports are not part of the export time
    for size in sorted({n, *alt_sizes}):
        pages[size] = tmp / f"tokenheat-{size}.html"
        export_s[size] = export_tokenheat(size, pages[size])
    with chromium() as browser:
        url = pages[n].as_uri()
        loads = [first_paint(browser, url) for _ in range(args.loads)]
        if args.alt_bundle:
            ab = compare_bundles(browser, pages[n], args.alt_bundle, args.loads)
        act = interactions(browser, url, args.hovers, steps, rounds)
        th_nav = {
            size: median([first_paint(browser, pages[size].as_uri())["draw"] for _ in range(3)])
            if size != n
            else median([x["draw"] for x in loads])
            for size in alt_sizes
        }
        alt: dict[int, dict[str, Any]] = {}
        if alt_sizes:  # vl-convert builds its vega bundle once per process: not timed below
            import vl_convert

            bundle_s, _ = timed(vl_convert.javascript_bundle)
            export_altair(2, tmp / "warm-up-altair.html")  # Altair's imports and schema
        for size in alt_sizes:
            path = tmp / f"altair-{size}.html"
            seconds = export_altair(size, path)
            alt[size] = {"export": seconds, "mb": path.stat().st_size / 1e6}
            alt[size].update(altair_render(browser, path.as_uri(), args.altair_timeout))
            path.unlink()
    mb = pages[n].stat().st_size / 1e6
    print(
        f"# {n:,} × {n:,} = {n * n:,} cells, ~1 % NaN; tokenheat page {mb:.1f} MB, exported in "
        f"{export_s[n]:.2f} s; viewport {VIEWPORT['width']} × {VIEWPORT['height']}, dpr 1\n"
    )

    def col(key: str, base: str | None = None) -> list[float]:
        return _stats([x[key] - (x[base] if base else 0) for x in loads])

    print(f"## first paint ({len(loads)} fresh page loads; ms; median / p95 / max)\n")
    print(
        table(
            ["interval", "median", "p95", "max"],
            [
                ["script start → first cells drawn", *col("draw", "script")],
                ["script start → next frame", *col("frame", "script")],
                ["  script start → front end compiled and run", *col("defined", "script")],
                ["  script start → DOMContentLoaded (mount starts)", *col("dcl", "script")],
                ["  JSON.parse of the page data", *col("parse")],
                ["navigation start → script start (HTML parsed)", *col("script")],
                ["navigation start → first cells drawn", *col("draw")],
                ["navigation start → first contentful paint", *col("fcp")],
                ["1-px cell image build (state().buildMs)", *col("build")],
                ["one draw (state().drawMs)", *col("drawMs")],
            ],
        )
    )
    if args.alt_bundle:
        print(f"\n## A/B first paint: installed bundle (A) vs {args.alt_bundle} (B), alternating\n")
        headers = ["interval (median ms)", "A", "B", "B ÷ A", "A min–max", "B min–max"]
        print(table(headers, ab))
    hov = act["hover"]
    bad = sum(not h["ok"] for h in hov)
    print(f"\n## hover → tooltip ({len(hov)} cells; ms; {bad} wrong tooltips)\n")
    print(
        table(
            ["interval", "median", "p95", "max"],
            [
                ["pointermove → handler done", *_stats([h["sync"] for h in hov])],
                ["pointermove → tooltip text updated", *_stats([h["text"] for h in hov])],
                ["pointermove → next frame", *_stats([h["frame"] for h in hov])],
            ],
        )
    )
    print(f"\n## scroll and zoom redraws (ms; median / p95 / max over {rounds} rounds)\n")
    rows = [
        ["scroll (handler: redraw)", *_stats([s["sync"] for s in act["scroll"]])],
        ["scroll → next frame", *_stats([s["frame"] for s in act["scroll"]])],
    ]
    for name in dict.fromkeys(a["name"] for a in act["actions"]):
        done = [a for a in act["actions"] if a["name"] == name]
        rows.append([f"{name} (handler)", *_stats([a["sync"] for a in done])])
    print(table(["action", "median", "p95", "max"], rows))
    if alt_sizes:
        print(
            f"\n## the same matrix as an Altair / Vega-Lite heatmap (cap {args.altair_timeout:g} s)\n"
        )
        rows = []
        for size in alt_sizes:
            a = alt[size]
            drawn = a["status"] == "drawn"
            rows.append(
                [
                    f"{size:,} × {size:,}",
                    1000 * export_s[size],
                    1000 * a["export"],
                    f"{pages[size].stat().st_size / 1e6:.1f} / {a['mb']:.1f}",
                    th_nav[size],
                    a["draw"] if drawn else a["status"],
                    f"{a['draw'] / th_nav[size]:.0f}×" if drawn else "—",
                ]
            )
        headers = ["cells", "export ms: tokenheat", "Altair", "file MB: th / Altair"]
        headers += ["nav → drawn ms: tokenheat", "Altair", "Altair ÷ tokenheat"]
        print(table(headers, rows))
        print(f"# (not included: vl-convert's one-time build of the vega bundle, {bundle_s:.1f} s)")
    for path in tmp.iterdir():
        path.unlink()
    tmp.rmdir()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n# load average at the end of the run: {load} (1, 5, 15 min)")
    if args.smoke:
        return
    paint = median([x["draw"] - x["script"] for x in loads])
    hover = median([h["text"] for h in hov])
    print()
    for what, got, target in (
        ("first paint (script start → cells drawn)", paint, FIRST_PAINT_TARGET_MS),
        ("hover → tooltip updated", hover, HOVER_TARGET_MS),
    ):
        verdict = "met" if got < target else "NOT met"
        print(f"# target {what} < {target:g} ms: median {got:.1f} ms → {verdict}")


if __name__ == "__main__":
    main()
