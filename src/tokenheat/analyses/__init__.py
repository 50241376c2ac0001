"""The built-in analyses; each returns a :class:`tokenheat.TokenMatrix`.

``lens``, ``anchor_similarity``, ``flip_rate`` and ``attribution`` live in private modules
(``_lens.py`` ...) and are loaded on first access, so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenheat._lazy import lazy_attributes

_LAZY: dict[str, str] = {
    "lens": "tokenheat.analyses._lens",
    "anchor_similarity": "tokenheat.analyses._anchor_similarity",
    "flip_rate": "tokenheat.analyses._flip_rate",
    "attribution": "tokenheat.analyses._attribution",
    "merge": "tokenheat.analyses._merge",
    "hidden_means": "tokenheat.analyses._hidden_means",
    "HiddenMeans": "tokenheat.analyses._anchor_tally",
}

__all__ = [
    "HiddenMeans",
    "anchor_similarity",
    "attribution",
    "flip_rate",
    "hidden_means",
    "lens",
    "merge",
]

if TYPE_CHECKING:
    from tokenheat.analyses._anchor_similarity import anchor_similarity
    from tokenheat.analyses._anchor_tally import HiddenMeans
    from tokenheat.analyses._attribution import attribution
    from tokenheat.analyses._flip_rate import flip_rate
    from tokenheat.analyses._hidden_means import hidden_means
    from tokenheat.analyses._lens import lens
    from tokenheat.analyses._merge import merge


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
