"""Debian's Chromium as every browser test launches it (bench/_common.py keeps the same flags).

Imported by ``tests/conftest.py`` and ``tests/jupyter/jupyter_harness.py``; pytest puts
``tests/`` on ``sys.path`` when it loads the top-level conftest.
"""

from __future__ import annotations

#: Headless, no GPU, no background traffic (the tests also check that pages make no request).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
