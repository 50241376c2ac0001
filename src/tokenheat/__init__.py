"""tokenheat: linked token-level heatmaps for reading language models.

The data model (:class:`TokenMatrix`, :class:`Corpus`, :class:`Contexts`,
:class:`ColorScale`) is pure numpy/pandas; the analyses and model adapters need the
``[torch]`` extra and are imported on first use, so ``import tokenheat`` never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from tokenheat._version import __version__
from tokenheat.core import ColorScale, Contexts, Corpus, Display, Group, TokenMatrix

_LAZY = {
    "Heatmap": "tokenheat.widget",
    "Dashboard": "tokenheat.widget",
    "to_html": "tokenheat.export",
    "to_altair": "tokenheat.export",
    "save": "tokenheat.store",
    "load": "tokenheat.store",
    "flip_rate": "tokenheat.analyses",
    "lens": "tokenheat.analyses",
    "attribution": "tokenheat.analyses",
    "anchor_similarity": "tokenheat.analyses",
    "merge": "tokenheat.analyses",
    "models": "tokenheat.models",
    "analyses": "tokenheat.analyses",
    "datasets": "tokenheat.demo.datasets",
    "data": "tokenheat.demo.datasets",  # the name before 0.2; th.datasets is the same module
}

_MODULES = {"models", "analyses", "datasets", "data"}

__all__ = [
    "ColorScale",
    "Contexts",
    "Corpus",
    "Display",
    "Group",
    "TokenMatrix",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenheat' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if name in _MODULES else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
