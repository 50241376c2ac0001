"""``from_captum``: a captum ``LLMAttributionResult`` as an attribution :class:`TokenMatrix`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._attr_jobs import Column
from tokenheat.analyses._attribution_matrix import attribution_matrix
from tokenheat.core._checks import check_choice, check_type, fail
from tokenheat.core._tokens import _token_text as token_text  # the text a token stands for
from tokenheat.errors import ArgumentTypeError
from tokenheat.interop._kinds import as_numpy, class_from, package_version, wrong_kind

__all__ = ["from_captum"]

COLUMNS = ("both", "sequence", "tokens")


@dataclass
class Text:
    """One attributed input: its token strings and its text (what the corpus keeps)."""

    tokens: list[str]
    text: str


def _check_result(result: Any) -> None:
    if class_from(result, "captum") != "LLMAttributionResult":
        raise wrong_kind("result", result, "a captum LLMAttributionResult")
    missing = [
        name
        for name in ("seq_attr", "token_attr", "input_tokens", "output_tokens")
        if not hasattr(result, name)
    ]
    if missing:
        fail(
            "result",
            "a captum >= 0.7 LLMAttributionResult (with seq_attr, token_attr, input_tokens and "
            "output_tokens)",
            given=f"one without {', '.join(missing)} (captum {package_version('captum')})",
            hint="from_captum supports captum >= 0.7",
            kind=ArgumentTypeError,
        )


def _input_text(result: Any, tokens: list[str]) -> str:
    """The prompt's text: decoded from a TextTokenInput's ids, else the features joined."""
    inp = getattr(result, "inp", None)
    tokenizer, ids = getattr(inp, "tokenizer", None), getattr(inp, "inp_tensor", None)
    if tokenizer is not None and ids is not None:
        try:
            return str(tokenizer.decode(ids[0].tolist()))
        except Exception:  # a tokenizer that cannot decode: fall back to the tokens
            pass
    return "".join(token_text(t) for t in tokens)


def from_captum(
    result: Any,
    *,
    columns: Literal["both", "sequence", "tokens"] = "both",
    method: str | None = None,
    title: str | None = None,
) -> Any:
    """A captum ``LLMAttributionResult`` as the matrix :func:`tokenheat.attribution` draws.

    Rows are the attributed input features (``result.input_tokens``: the prompt's tokens
    for a ``TextTokenInput``, the template's features for a ``TextTemplateInput``), kind
    ``"position"``, each carrying its token for linking. Columns are targets: the whole
    answer (``result.seq_attr``) and/or each output token (``result.token_attr``). Each
    cell has one context: the input coloured by its column's attributions, the cell's
    position highlighted and the last input position (where the answer is read) marked.

    Parameters
    ----------
    result : captum.attr.LLMAttributionResult
        What ``LLMAttribution.attribute`` or ``LLMGradientAttribution.attribute`` returns.
    columns : {"both", "sequence", "tokens"}
        ``"sequence"``: one column for the whole answer (captum's ``seq_attr``);
        ``"tokens"``: one per output token (``token_attr``, each teacher-forced after the
        earlier ones); ``"both"`` (default): the answer first, then its tokens, or only
        the answer when it is a single token or captum computed no ``token_attr``.
    method : str, optional
        The attribution method's name for the title and ``meta["method"]`` (the result does
        not record it), e.g. ``"integrated_gradients"``. Default ``"captum"``.
    title : str, optional
        Heatmap title.

    Returns
    -------
    TokenMatrix
        Diverging RdBu scale centred at 0. ``score`` (in the contexts and
        ``meta["scores"]``) is the target's log-probability where captum reports output
        probabilities (perturbation methods), else NaN. ``meta["source"] = "captum"``.

    Raises
    ------
    ArgumentTypeError
        If ``result`` is not an ``LLMAttributionResult`` (the message names the converter
        that fits what was passed, e.g. :func:`from_inseq`), or comes from a captum without
        ``seq_attr``/``token_attr``.
    ArgumentError
        For an unknown ``columns``, or ``columns="tokens"`` on a result without
        ``token_attr``.

    Examples
    --------
    >>> llm_attr = LLMGradientAttribution(LayerIntegratedGradients(model, emb), tok)  # doctest: +SKIP
    >>> res = llm_attr.attribute(TextTokenInput(prompt, tok), target=" Paris")  # doctest: +SKIP
    >>> m = th.from_captum(res, method="integrated_gradients")  # doctest: +SKIP
    """
    _check_result(result)
    check_choice("columns", columns, COLUMNS)
    check_type("method", method, str, "a string such as 'integrated_gradients'", allow_none=True)
    tokens = [str(t) for t in result.input_tokens]
    outputs = [str(t) for t in result.output_tokens]
    seq = as_numpy("result.seq_attr", result.seq_attr).reshape(-1)
    per_token = (
        None if result.token_attr is None else as_numpy("result.token_attr", result.token_attr)
    )
    if columns == "tokens" and per_token is None:
        fail(
            "columns",
            "'sequence' for a captum result without token_attr",
            columns,
            "captum computes result.token_attr for gradient methods and for LLMAttribution "
            "with per-token targets",
        )
    probs = getattr(result, "output_probs", None)
    logp = np.log(as_numpy("result.output_probs", probs).reshape(-1)) if probs is not None else None
    last = len(tokens) - 1
    answer = "".join(outputs)
    attr: list[np.ndarray] = []
    cols: list[Column] = []
    scores: list[float] = []
    if columns != "tokens":  # the whole answer
        attr.append(seq)
        cols.append(Column(answer, 0, answer, answer, last))
        scores.append(float(logp.sum()) if logp is not None else np.nan)
    if per_token is not None and (columns == "tokens" or (columns == "both" and len(outputs) > 1)):
        for j, tok in enumerate(outputs):
            attr.append(per_token[j])
            cols.append(Column(tok, 0, tok, tok, last))
            scores.append(float(logp[j]) if logp is not None and j < logp.size else np.nan)
    meta = {
        "analysis": "attribution",
        "source": "captum",
        "source_version": package_version("captum"),
        "method": method or "captum",
        "function": "log-probability of the target (captum's LLMAttribution)",
        "normalize": None,
        "output_tokens": outputs,
        "scores": [None if np.isnan(s) else s for s in scores],
    }
    text = Text(tokens, _input_text(result, tokens))
    return attribution_matrix(attr, cols, [text], np.array(scores), None, meta, title)
