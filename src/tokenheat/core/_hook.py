"""The one documented way up from the data model: display and export of a matrix.

``TokenMatrix._repr_mimebundle_`` (Jupyter's display hook), ``TokenMatrix.to_html`` and
``TokenMatrix.to_altair`` — and the same methods of the widget classes — are conveniences
that live in a lower layer but are carried out by a higher one (``tokenheat.widget``,
``tokenheat.export``). They reach it through :func:`upper`, at call time, so that importing
the data model never imports the widget or the exports, and the layers stay acyclic. Every
other module imports only from the layers below it (``tests/unit/test_layers.py`` checks).
"""

from __future__ import annotations

import importlib
from typing import Any

#: The attributes a lower layer may take from a higher one, and where they live.
UPPER: dict[str, str] = {
    "Heatmap": "tokenheat.widget",
    "to_html": "tokenheat.export",
    "to_altair": "tokenheat.export",
}


def upper(name: str) -> Any:
    """The display or export function ``name`` of a higher layer, imported on first use."""
    return getattr(importlib.import_module(UPPER[name]), name)
