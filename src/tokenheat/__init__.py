"""tokenheat: linked token-level heatmaps for reading language models.

The data model (:class:`TokenMatrix`, :class:`Corpus`, :class:`Contexts`,
:class:`ColorScale`) is pure numpy/pandas; the analyses and model adapters need the
``[torch]`` extra and are imported on first use, so ``import tokenheat`` never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenheat._lazy import lazy_attributes
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
    "train_tuned_lens": "tokenheat.analyses",
    "TunedLens": "tokenheat.analyses",
    "merge": "tokenheat.analyses",
    "from_captum": "tokenheat.interop",
    "from_inseq": "tokenheat.interop",
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
    "Dashboard",
    "Display",
    "Group",
    "Heatmap",
    "TokenMatrix",
    "TunedLens",
    "__version__",
    "analyses",
    "anchor_similarity",
    "attribution",
    "data",
    "datasets",
    "flip_rate",
    "from_captum",
    "from_inseq",
    "lens",
    "load",
    "merge",
    "models",
    "save",
    "to_altair",
    "to_html",
    "train_tuned_lens",
]

if TYPE_CHECKING:
    from tokenheat import analyses, models
    from tokenheat.analyses import (
        TunedLens,
        anchor_similarity,
        attribution,
        flip_rate,
        lens,
        merge,
        train_tuned_lens,
    )
    from tokenheat.demo import datasets
    from tokenheat.demo import datasets as data
    from tokenheat.export import to_altair, to_html
    from tokenheat.interop import from_captum, from_inseq
    from tokenheat.store import load, save
    from tokenheat.widget import Dashboard, Heatmap


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY, modules=_MODULES)
