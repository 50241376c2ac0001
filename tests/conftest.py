"""Fixtures shared by every test folder.

Playwright's sync API runs its own event loop, and a second `sync_playwright()` cannot start
while one is alive; so the whole session shares one, and one Debian Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no GPU, no background traffic (bench/_common.py launches with the same flags).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium (never a downloaded one), headless, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def quick_demo_matrices() -> list[Any]:
    """The quick demo's matrices on SmolLM2, built once per test run and shared by the
    integration and screenshot tests (the demo is the slowest thing the suite runs).

    ``TOKENHEAT_DEMO_RESULTS`` may name a results file of the quick demo
    (``tokenheat demo --quick --save demo.th``) to check instead of running it.
    """
    import os

    import torch

    import tokenheat as th
    from tokenheat.demo._run import build_demo

    saved = os.environ.get("TOKENHEAT_DEMO_RESULTS")
    if saved:
        return list(th.load(saved))
    torch.manual_seed(0)
    model, tokenizer = th.models.load_default()
    return build_demo(model, tokenizer, quick=True, progress=False, log=lambda _: None).matrices
