"""Model adapters: Hugging Face causal LMs, classifiers, the default model.

Importing this package is cheap: every name is loaded from its private module on first
access, so torch is imported only when an adapter is actually used. To export a new name,
add it to ``_LAZY`` (name -> private module) and to ``__all__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenheat._lazy import lazy_attributes

_LAZY: dict[str, str] = {
    # _adapter.py (imports torch)
    "ModelAdapter": "tokenheat.models._adapter",
    "FAMILIES": "tokenheat.models._adapter",
    # _text.py (no torch)
    "EncodedText": "tokenheat.models._text",
    "encode_prompts": "tokenheat.models._text",
    "tokenize_texts": "tokenheat.models._text",
    "render_prompt": "tokenheat.models._text",
    # _classifier.py
    "Classifier": "tokenheat.models._classifier",
    "HFClassifier": "tokenheat.models._classifier",
    "LMClassifier": "tokenheat.models._classifier",
    "CallableClassifier": "tokenheat.models._classifier",
    "as_classifier": "tokenheat.models._classifier",
    # _select.py (imports torch)
    "from_cache": "tokenheat.models._select",
    # _default.py (torch and transformers imported inside the functions)
    "load_default": "tokenheat.models._default",
    "load_model": "tokenheat.models._default",
    "load": "tokenheat.models._default",  # the 0.1 name of load_model
    "default_model_dir": "tokenheat.models._default",
    "DefaultModelNotFoundError": "tokenheat.models._default",
}

__all__ = [
    "FAMILIES",
    "CallableClassifier",
    "Classifier",
    "DefaultModelNotFoundError",
    "EncodedText",
    "HFClassifier",
    "LMClassifier",
    "ModelAdapter",
    "as_classifier",
    "default_model_dir",
    "encode_prompts",
    "from_cache",
    "load",
    "load_default",
    "load_model",
    "render_prompt",
    "tokenize_texts",
]

if TYPE_CHECKING:
    from tokenheat.models._adapter import FAMILIES, ModelAdapter
    from tokenheat.models._classifier import (
        CallableClassifier,
        Classifier,
        HFClassifier,
        LMClassifier,
        as_classifier,
    )
    from tokenheat.models._default import (
        DefaultModelNotFoundError,
        default_model_dir,
        load,
        load_default,
        load_model,
    )
    from tokenheat.models._select import from_cache
    from tokenheat.models._text import EncodedText, encode_prompts, render_prompt, tokenize_texts


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
