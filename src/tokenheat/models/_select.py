"""Which adapter a model gets: the Hugging Face one, the TransformerLens one, or hidden states
served from an ActivationCache (:func:`from_cache`).

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

from tokenheat.core._checks import check_choice, check_given, fail
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._adapter import ModelAdapter
from tokenheat.models._cache_adapter import CacheAdapter, is_activation_cache
from tokenheat.models._tlens import TLensAdapter, as_causal_lm, is_hooked_transformer
from tokenheat.models._wrapped import unwrap


def adapter_for(model: Any, tokenizer: Any) -> ModelAdapter:
    """The adapter for ``model``: :class:`ModelAdapter`, or ``TLensAdapter`` for TransformerLens.

    Parameters
    ----------
    model : transformers causal LM, transformer_lens.HookedTransformer or TransformerBridge, or an nnsight LanguageModel
        A bridge or an nnsight model is read through the Hugging Face model it wraps.
    tokenizer : transformers tokenizer or None
        ``None`` is allowed for a model that has its own ``model.tokenizer``.

    Raises
    ------
    TypeError
        For any other model object (naming what works), or a missing tokenizer.

    Examples
    --------
    >>> adapter = adapter_for(hooked_transformer, None)  # doctest: +SKIP
    """
    if isinstance(model, ModelAdapter):  # e.g. hidden states served from a cache
        return model
    if is_activation_cache(model):
        return from_cache(model, None, tokenizer)
    if is_hooked_transformer(model):
        return TLensAdapter(model, tokenizer)
    model, tokenizer = unwrap(model, tokenizer)
    if tokenizer is None and isinstance(model, nn.Module):
        check_given(
            "tokenizer",
            tokenizer,
            f"the Hugging Face tokenizer of the {type(model).__name__}",
            "only a transformer_lens.HookedTransformer can bring its own",
        )
    return ModelAdapter(model, tokenizer)


def causal_lm_for(model: Any, tokenizer: Any) -> tuple[Any, Any]:
    """The Hugging Face-style causal LM (and tokenizer) that ``attribution`` runs on.

    A HookedTransformer gets its causal-LM view; a TransformerBridge or an nnsight model
    gives the Hugging Face model it wraps; anything else is returned unchanged.
    """
    if is_hooked_transformer(model):
        return as_causal_lm(model, tokenizer)
    return unwrap(model, tokenizer)


def from_cache(
    cache: Any, model: Any = None, tokenizer: Any = None, *, padding_side: str | None = None
) -> CacheAdapter:
    """Serve ``lens``/``anchor_similarity`` hidden states from a TransformerLens cache.

    Parameters
    ----------
    cache : transformer_lens.ActivationCache
        From ``model.run_with_cache(prompts)`` with ``blocks.{i}.hook_resid_post`` (and
        ``blocks.0.hook_resid_pre`` for anchor similarity's ``"emb"`` row) kept.
    model : optional
        The model whose final norm and unembedding turn states into logits: default
        ``cache.model`` (a HookedTransformer or TransformerBridge). Any model tokenheat
        takes works (a Hugging Face causal LM with the same weights, an nnsight model).
    tokenizer : optional
        Default: the model's own ``model.tokenizer``.
    padding_side : {"left", "right"}, optional
        How TransformerLens padded a batch of prompts of different lengths; default the
        tokenizer's ``padding_side`` (TransformerLens pads on the right unless told).

    Returns
    -------
    CacheAdapter
        Pass it as the model: ``th.lens(adapter, None, prompts)``. The cache itself works
        too (``th.lens(cache, None, prompts)``) when it carries its model.

    Raises
    ------
    ArgumentTypeError
        If ``cache`` is not an ActivationCache, or neither it nor the call names a model.

    Examples
    --------
    >>> logits, cache = model.run_with_cache(prompt)  # doctest: +SKIP
    >>> m = th.lens(th.models.from_cache(cache), None, prompt)  # doctest: +SKIP
    """
    if not is_activation_cache(cache):
        fail(
            "cache",
            "a transformer_lens ActivationCache (from model.run_with_cache)",
            cache,
            kind=ArgumentTypeError,
        )
    model = model if model is not None else getattr(cache, "model", None)
    if model is None:
        check_given(
            "model",
            model,
            "the model the ActivationCache came from when cache.model is None",
            "from_cache(cache, model)",
        )
    inner = adapter_for(model, tokenizer)
    side = padding_side or getattr(inner.tokenizer, "padding_side", None) or "right"
    if side not in ("left", "right"):
        check_choice("padding_side", side, ("left", "right"))
    return CacheAdapter(cache, inner, side)
