"""Models that wrap a Hugging Face model: a TransformerLens ``TransformerBridge`` (TL 3/4)
and an nnsight ``LanguageModel``. tokenheat reads the Hugging Face model inside.

That is the honest route for both: a bridge's forward *is* its Hugging Face model's forward
with hook points around the modules (``enable_compatibility_mode()`` folds and centres the
Hugging Face weights in place, so the model inside computes what the bridge computes), and
an nnsight model traces the Hugging Face model it holds. Neither package is imported here;
objects are recognised by their class.
"""

from __future__ import annotations

from typing import Any

from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

__all__ = ["is_nnsight_model", "is_transformer_bridge", "unwrap"]


def _classes(model: Any, package: str) -> set[str]:
    return {c.__name__ for c in type(model).__mro__ if c.__module__.split(".")[0] == package}


def is_transformer_bridge(model: Any) -> bool:
    """Whether ``model`` is a TransformerLens ``TransformerBridge`` (TL 3.x or 4.x)."""
    return "TransformerBridge" in _classes(model, "transformer_lens")


def is_nnsight_model(model: Any) -> bool:
    """Whether ``model`` is an nnsight model (``LanguageModel``, ``NNsight``, any ``Envoy``)."""
    return bool(_classes(model, "nnsight") & {"Envoy", "NNsight", "LanguageModel"})


def _inner_of_nnsight(model: Any) -> Any:
    state = vars(model)
    inner = state.get("_module", state.get("_model"))  # nnsight >= 0.5 / 0.3-0.4
    if inner is None:
        fail(
            "model",
            "an nnsight model whose wrapped module can be found (_module or _model)",
            given=f"an nnsight {type(model).__name__} with neither",
            hint="pass the Hugging Face model itself with its tokenizer",
            kind=ArgumentTypeError,
        )
    first = next(iter(inner.parameters()), None)
    if first is not None and getattr(first, "is_meta", False):
        fail(
            "model",
            "an nnsight LanguageModel with its weights loaded",
            given="one whose weights are not loaded yet (meta tensors)",
            hint="load it with dispatch=True, or pass a Hugging Face model object to "
            "LanguageModel(...)",
            kind=ArgumentTypeError,
        )
    return inner


def unwrap(model: Any, tokenizer: Any) -> tuple[Any, Any]:
    """The Hugging Face model and tokenizer behind a bridge or an nnsight model.

    Parameters
    ----------
    model : any model tokenheat takes
        A ``TransformerBridge`` gives ``model.original_model``, an nnsight model the module
        it wraps; anything else is returned as it is.
    tokenizer : tokenizer or None
        ``None`` takes the wrapper's own ``model.tokenizer``.

    Returns
    -------
    (model, tokenizer)

    Raises
    ------
    ArgumentTypeError
        For an nnsight model whose weights are still on the meta device.

    Examples
    --------
    >>> unwrap(bridge, None)  # doctest: +SKIP
    (GPT2LMHeadModel(...), GPT2TokenizerFast(...))
    """
    if is_transformer_bridge(model):
        inner = model.original_model
    elif is_nnsight_model(model):
        inner = _inner_of_nnsight(model)
    else:
        return model, tokenizer
    if tokenizer is None:
        tokenizer = getattr(model, "tokenizer", None)
    return inner, tokenizer
