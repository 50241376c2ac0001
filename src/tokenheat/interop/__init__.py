"""Converters from other interpretability tools' results to :class:`tokenheat.TokenMatrix`.

``from_captum`` reads captum's ``LLMAttributionResult``; ``from_inseq`` reads inseq's
``FeatureAttributionOutput``. Each gives the matrix :func:`tokenheat.attribution` would:
rows = input token positions, columns = targets, linked by token, one context per cell
(the input coloured by the column's attributions). Neither captum nor inseq is imported
here: results are recognised by their class, so ``import tokenheat`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenheat._lazy import lazy_attributes

_LAZY: dict[str, str] = {
    "from_captum": "tokenheat.interop._captum",
    "from_inseq": "tokenheat.interop._inseq",
}

__all__ = ["from_captum", "from_inseq"]

if TYPE_CHECKING:
    from tokenheat.interop._captum import from_captum
    from tokenheat.interop._inseq import from_inseq

__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
