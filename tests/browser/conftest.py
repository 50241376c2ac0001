"""Fixtures for the browser tests: Debian's Chromium driven by Playwright on offline pages.

Chromium is launched from /usr/bin/chromium (never downloaded); without it every test here is
skipped with the reason. The front-end bundle is built with npm when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser_helpers import Widget
from _page import ROOT, STATIC, write_page


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built front end; built with `npm run build` if missing and npm is available."""
    if not (STATIC / "standalone.js").exists() or not (STATIC / "widget.css").exists():
        npm = shutil.which("npm")
        if npm is None or not (ROOT / "node_modules").exists():
            pytest.skip(
                "front-end bundle missing and no npm/node_modules to build it (run `npm ci && npm run build`)"
            )
        subprocess.run([npm, "run", "build"], cwd=ROOT, check=True, capture_output=True)
    return STATIC


@pytest.fixture(scope="session")
def browser(bundle: Path, chromium_browser: Any) -> Any:
    """The session's shared Chromium (tests/conftest.py), once the bundle is built."""
    return chromium_browser


@pytest.fixture
def open_widget(browser: Any, tmp_path: Path) -> Iterator[Callable[..., Widget]]:
    """Open a page for a spec (or an HTML file) and return a `Widget` driver for it."""
    contexts: list[Any] = []

    def _open(
        spec: dict[str, Any] | None = None,
        *,
        html_file: Path | None = None,
        width: int = 1280,
        height: int = 900,
        scale: float = 1,
        color_scheme: str = "light",
        name: str = "page.html",
        **page_kwargs: Any,
    ) -> Widget:
        path = (
            html_file
            if html_file is not None
            else write_page(tmp_path / name, spec or {}, **page_kwargs)
        )
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            color_scheme=color_scheme,
        )
        contexts.append(context)
        page = context.new_page()
        widget = Widget(page, path.resolve().as_uri())
        widget.load()
        return widget

    yield _open
    for context in contexts:
        context.close()
