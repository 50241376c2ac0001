"""Which adapter a model gets: the Hugging Face one or the TransformerLens one.

Kept apart from both adapters so that neither imports the other (``_tlens`` builds on
``_adapter``; this module sits above both).
"""

from __future__ import annotations

from typing import Any

try:
    from torch import nn
except ModuleNotFoundError as _err:  # a base install: say what to install
    raise ModuleNotFoundError(
        "running a model needs PyTorch and transformers, which are not installed; install "
        "them with pip install 'tokenheat[torch]'",
        name=_err.name,
    ) from _err

from tokenheat.models._adapter import ModelAdapter
from tokenheat.models._tlens import TLensAdapter, is_hooked_transformer, is_transformer_bridge


def adapter_for(model: Any, tokenizer: Any) -> ModelAdapter:
    """The adapter for ``model``: :class:`ModelAdapter`, or ``TLensAdapter`` for TransformerLens.

    Parameters
    ----------
    model : transformers causal LM or transformer_lens.HookedTransformer
    tokenizer : transformers tokenizer or None
        ``None`` is allowed for a HookedTransformer that has its own ``model.tokenizer``.

    Raises
    ------
    TypeError
        For any other model object (naming what works), or a missing tokenizer.

    Examples
    --------
    >>> adapter = adapter_for(hooked_transformer, None)  # doctest: +SKIP
    """
    if is_hooked_transformer(model):
        return TLensAdapter(model, tokenizer)
    if is_transformer_bridge(model):
        raise TypeError(
            "model is a TransformerLens TransformerBridge; pass the Hugging Face model it "
            "wraps (model.original_model) and its tokenizer, or a HookedTransformer"
        )
    if tokenizer is None and isinstance(model, nn.Module):
        raise TypeError(
            f"tokenizer is None; pass the Hugging Face tokenizer of {type(model).__name__} "
            "(only a transformer_lens.HookedTransformer can bring its own)"
        )
    return ModelAdapter(model, tokenizer)
