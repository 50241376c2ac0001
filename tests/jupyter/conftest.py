"""Fixtures for the notebook-frontend tests: one JupyterLab per module, one Chromium."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_harness import LabServer, bundle_or_fail, lab_server


@pytest.fixture(scope="module", params=["jupyterlab", "notebook7"])
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """A JupyterLab (then a Notebook 7) whose config, data, runtime and notebooks live in a
    temp dir; Notebook 7 is skipped when the ``notebook`` package is not installed."""
    frontend = request.param
    if frontend == "notebook7":
        pytest.importorskip("notebook", minversion="7", reason="Notebook 7 is not installed")
    bundle_or_fail()
    with lab_server(tmp_path_factory.mktemp(frontend), frontend) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    """Debian's Chromium, headless, driven by Playwright (no downloaded browsers)."""
    return chromium_browser


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Where screenshots go (on failure, and the ones a test keeps for people to look at)."""
    return tmp_path_factory.mktemp("screenshots")
