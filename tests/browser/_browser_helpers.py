"""A small driver for one tokenheat widget in a Playwright page, and the colour scale in Python.

The expected cell colours are computed here from the same 256-entry tables the front end
draws with (parsed from ``js/palettes.ts``) and an independent Python version of the
value → table index rule, so a pixel test fails if either side changes.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from _page import ROOT

ROOT_SELECTOR = "[data-testid=th-root]"
LIGHT_MISSING = (0xE9, 0xEC, 0xEF)
DARK_MISSING = (0x30, 0x35, 0x3B)
LIGHT_LINK = (0xD6, 0x16, 0x7A)


@cache
def palette(name: str) -> list[tuple[int, int, int]]:
    """The 256 colours of a palette, read from js/palettes.ts."""
    text = (ROOT / "js" / "palettes.ts").read_text(encoding="utf-8")
    block = re.search(rf"\b{name}:\s*((?:\"[0-9a-f]+\"\s*\+?\s*)+)", text)
    assert block, f"palette {name} not found in js/palettes.ts"
    hexes = "".join(re.findall(r'"([0-9a-f]+)"', block.group(1)))
    assert len(hexes) == 256 * 6
    return [
        tuple(int(hexes[i + j : i + j + 2], 16) for j in (0, 2, 4)) for i in range(0, len(hexes), 6)
    ]


def expected_color(scale: dict[str, Any], value: float) -> tuple[int, int, int] | None:
    """Colour of `value` on a spec scale (None for NaN: drawn in the theme's missing colour)."""
    if math.isnan(value):
        return None
    lo, hi = scale["domain"]
    if scale["kind"] == "diverging":
        c = scale["center"] if scale["center"] is not None else (lo + hi) / 2
        if value == c:
            t = 0.5
        elif value < c:
            t = 0.5 - 0.5 * (c - value) / (c - lo) if c > lo else 0.0
        else:
            t = 0.5 + 0.5 * (value - c) / (hi - c) if hi > c else 1.0
    else:
        t = (value - lo) / (hi - lo) if hi > lo else 0.5
    t = min(1.0, max(0.0, t))
    if scale.get("reverse"):
        t = 1 - t
    return palette(scale["palette"])[math.floor(t * 255 + 0.5)]


def close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 2) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=False))


class Widget:
    """Drives the widget on one page: geometry from `root.__tokenheat`, pixels from canvases."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def load(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector(ROOT_SELECTOR)
        self.page.wait_for_function(
            f"() => {{ const root = document.querySelector('{ROOT_SELECTOR}');"
            " return root.__tokenheat !== undefined || root.querySelector('.th-error') !== null; }"
        )

    # ---- reading ----------------------------------------------------------------------

    def call(self, method: str, *args: Any) -> Any:
        return self.page.evaluate(
            f"(args) => document.querySelector('{ROOT_SELECTOR}').__tokenheat.{method}(...args)",
            list(args),
        )

    def state(self) -> dict[str, Any]:
        return self.call("state")

    def selected(self) -> dict[str, Any]:
        return self.state()["selected"]

    def cell_center(self, m: int, row: int, col: int) -> tuple[float, float]:
        rect = self.call("cellRect", m, row, col)
        assert rect is not None, f"cell ({row}, {col}) of matrix {m} is not shown"
        return rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2

    def pixel(self, m: int, x: float, y: float, layer: str = "canvas") -> tuple[int, int, int, int]:
        """RGBA of the canvas pixel under client point (x, y); layer "canvas" or "overlay"."""
        return tuple(
            self.page.evaluate(
                """([m, x, y, layer]) => {
                    const c = document.querySelector(`[data-testid=th-${layer}-${m}]`);
                    const r = c.getBoundingClientRect();
                    const px = Math.floor((x - r.left) * c.width / r.width);
                    const py = Math.floor((y - r.top) * c.height / r.height);
                    return Array.from(c.getContext("2d").getImageData(px, py, 1, 1).data);
                }""",
                [m, x, y, layer],
            )
        )

    def cell_pixel(self, m: int, row: int, col: int) -> tuple[int, int, int, int]:
        """The cell's colour, read near its bottom-left corner (clear of cell text and hatching)."""
        rect = self.call("cellRect", m, row, col)
        assert rect is not None, f"cell ({row}, {col}) of matrix {m} is not shown"
        inset = min(1.5, rect["w"] / 4, rect["h"] / 4)
        return self.pixel(m, rect["x"] + inset, rect["y"] + rect["h"] - inset)

    def tooltip_lines(self) -> dict[str, str]:
        tip = self.page.locator("[data-testid=th-tooltip]")
        assert tip.is_visible(), "the tooltip is not shown"
        keys = tip.locator("dt").all_text_contents()
        values = tip.locator("dd").all_text_contents()
        return dict(zip(keys, values, strict=True))

    def context_rows(self) -> Any:
        return self.page.locator("[data-testid=th-context-row]")

    # ---- acting -------------------------------------------------------------------------

    def hover_cell(self, m: int, row: int, col: int) -> None:
        self.page.mouse.move(*self.cell_center(m, row, col))

    def click_cell(self, m: int, row: int, col: int) -> None:
        self.page.mouse.click(*self.cell_center(m, row, col))

    def click_row_label(self, m: int, row: int) -> None:
        rect = self.call("rowLabelRect", m, row)
        self.page.mouse.click(rect["x"] + rect["w"] - 6, rect["y"] + rect["h"] / 2)

    def model_call(self, code: str) -> Any:
        """Run `code` with `model` bound to the page's model shim (the export's stand-in)."""
        return self.page.evaluate(
            f"() => {{ const model = window.tokenheat.instances[0].model; {code} }}"
        )
