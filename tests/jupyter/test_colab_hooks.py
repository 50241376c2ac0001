"""Colab: our widgets keep anywidget's hooks that switch on Colab's custom widget manager.

Colab itself cannot run here; a stand-in ``google.colab.output`` module records what
anywidget asks of it, which is everything Colab needs from the Python side.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import anywidget._util
import numpy as np
import pytest

import tokenheat as th

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MANAGER_URL = "https://colab.invalid/custom-widget-manager.js"


@pytest.fixture
def fake_colab(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: calls.append("enable")  # type: ignore[attr-defined]
    output._widgets = types.SimpleNamespace(_installed_url=MANAGER_URL)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    anywidget._util.enable_custom_widget_manager_once.cache_clear()
    try:
        yield calls
    finally:
        anywidget._util.enable_custom_widget_manager_once.cache_clear()


def _matrix() -> th.TokenMatrix:
    return th.TokenMatrix(np.eye(2), rows=["a", "b"], cols=["x", "y"], row_kind="token")


def test_dashboard_enables_colab_custom_widget_manager(fake_colab: list[str]) -> None:
    th.Dashboard([_matrix(), _matrix()])
    th.Heatmap(_matrix())
    assert fake_colab == ["enable"]  # once per session, as anywidget intends


def test_matrix_display_carries_colab_widget_manager_metadata(fake_colab: list[str]) -> None:
    data, metadata = _matrix()._repr_mimebundle_()
    assert data[WIDGET_MIME]["model_id"]
    assert metadata == {WIDGET_MIME: {"colab": {"custom_widget_manager": {"url": MANAGER_URL}}}}
    assert fake_colab == ["enable"]


def test_outside_colab_no_widget_manager_metadata() -> None:
    assert "google.colab.output" not in sys.modules
    data, metadata = _matrix()._repr_mimebundle_()
    assert WIDGET_MIME in data and metadata == {}
