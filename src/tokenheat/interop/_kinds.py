"""What a foreign result object is, read from its class (the packages are never imported),
and the error that names the converter that fits it."""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenheat.core._checks import as_array
from tokenheat.errors import ArgumentTypeError

#: class name (as defined in the package) -> (package, what it is, what to call)
KNOWN: dict[str, tuple[str, str, str]] = {
    "LLMAttributionResult": ("captum", "a captum LLMAttributionResult", "th.from_captum(result)"),
    "FeatureAttributionOutput": (
        "inseq",
        "an inseq FeatureAttributionOutput",
        "th.from_inseq(output)",
    ),
    "FeatureAttributionSequenceOutput": (
        "inseq",
        "an inseq FeatureAttributionSequenceOutput",
        "th.from_inseq(output)",
    ),
    "ActivationCache": (
        "transformer_lens",
        "a TransformerLens ActivationCache",
        "th.lens(cache, None, prompts) or th.anchor_similarity(cache, None, texts)",
    ),
    "LLMAttribution": (
        "captum",
        "a captum LLMAttribution (the attribution method, not its result)",
        "th.from_captum(llm_attr.attribute(inp, target=...))",
    ),
    "LLMGradientAttribution": (
        "captum",
        "a captum LLMGradientAttribution (the attribution method, not its result)",
        "th.from_captum(llm_attr.attribute(inp, target=...))",
    ),
    "AttributionModel": (
        "inseq",
        "an inseq model (the attribution method, not its result)",
        "th.from_inseq(model.attribute(...))",
    ),
}


def class_from(obj: Any, package: str) -> str | None:
    """The name of the first class of ``obj`` defined in ``package`` (e.g. ``"captum"``)."""
    for cls in type(obj).__mro__:
        if cls.__module__.split(".")[0] == package:
            return cls.__name__
    return None


def kind_of(obj: Any) -> tuple[str, str, str] | None:
    """``(package, description, call)`` for a result tokenheat knows, else None."""
    for cls in type(obj).__mro__:
        hit = KNOWN.get(cls.__name__)
        if hit is not None and cls.__module__.split(".")[0] == hit[0]:
            return hit
    return None


def wrong_kind(argument: str, obj: Any, wanted: str) -> ArgumentTypeError:
    """The error for ``obj`` passed where ``wanted`` was expected, naming what fits it."""
    known = kind_of(obj)
    got = known[1] if known else f"a {type(obj).__module__}.{type(obj).__name__}"
    hint = f"; for {known[1].split(' (')[0]} use {known[2]}" if known else ""
    if known is None and hasattr(obj, "shape"):
        hint = (
            "; for a plain array of scores use th.TokenMatrix(values, rows=..., cols=...) or, "
            "for one score per token, th.TokenMatrix.from_scores(tokens, scores)"
        )
    return ArgumentTypeError(f"{argument} must be {wanted}, got {got}{hint}")


def as_numpy(name: str, value: Any) -> np.ndarray:
    """Another tool's tensor or array as float64 numpy, read by tokenheat's one converter
    (``core._checks.as_array``: detached, on the CPU, bfloat16/float16 cast), named ``name``
    in any error."""
    return as_array(name, value).astype(np.float64)


def package_version(package: str) -> str:
    """The installed version of ``package``, or ``"?"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
