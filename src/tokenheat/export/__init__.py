"""Exports: one offline interactive HTML file, and Altair (Vega-Lite) charts."""

from __future__ import annotations

from typing import Any

from tokenheat.export._html import to_html


def to_altair(obj: Any, **kwargs: Any) -> Any:
    """A TokenMatrix as an Altair heatmap, or a dashboard / list as linked charts.

    See :func:`tokenheat.export._altair.to_altair` for the parameters.
    """
    from tokenheat.export._altair import to_altair as _to_altair

    return _to_altair(obj, **kwargs)


__all__ = ["to_altair", "to_html"]
