"""The built-in analyses; each returns a :class:`tokenheat.TokenMatrix`.

``lens``, ``anchor_similarity``, ``flip_rate`` and ``attribution`` live in private modules
(``_lens.py`` ...), as do the tuned lens (``TunedLens``, ``train_tuned_lens``, ``lens_kl``),
and are loaded on first access, so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenheat._lazy import lazy_attributes

_LAZY: dict[str, str] = {
    "lens": "tokenheat.analyses._lens",
    "anchor_similarity": "tokenheat.analyses._anchor_similarity",
    "flip_rate": "tokenheat.analyses._flip_rate",
    "attribution": "tokenheat.analyses._attribution",
    "TunedLens": "tokenheat.analyses._tuned_lens",
    "train_tuned_lens": "tokenheat.analyses._tuned_lens_train",
    "lens_kl": "tokenheat.analyses._tuned_lens_fit",
    "merge": "tokenheat.analyses._merge",
    "hidden_means": "tokenheat.analyses._hidden_means",
    "HiddenMeans": "tokenheat.analyses._anchor_tally",
}

__all__ = [
    "HiddenMeans",
    "TunedLens",
    "anchor_similarity",
    "attribution",
    "flip_rate",
    "hidden_means",
    "lens",
    "lens_kl",
    "merge",
    "train_tuned_lens",
]

if TYPE_CHECKING:
    from tokenheat.analyses._anchor_similarity import anchor_similarity
    from tokenheat.analyses._anchor_tally import HiddenMeans
    from tokenheat.analyses._attribution import attribution
    from tokenheat.analyses._flip_rate import flip_rate
    from tokenheat.analyses._hidden_means import hidden_means
    from tokenheat.analyses._lens import lens
    from tokenheat.analyses._merge import merge
    from tokenheat.analyses._tuned_lens import TunedLens
    from tokenheat.analyses._tuned_lens_fit import lens_kl
    from tokenheat.analyses._tuned_lens_train import train_tuned_lens


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
