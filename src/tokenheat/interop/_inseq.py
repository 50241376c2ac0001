"""``from_inseq``: an inseq ``FeatureAttributionOutput`` as attribution :class:`TokenMatrix`\\ es."""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenheat.analyses._attr_jobs import Column
from tokenheat.analyses._attribution_matrix import attribution_matrix
from tokenheat.core._checks import check_int_range, fail
from tokenheat.core._tokens import _token_text as token_text  # the text a token stands for
from tokenheat.errors import ArgumentTypeError
from tokenheat.interop._captum import Text
from tokenheat.interop._kinds import as_numpy, package_version, wrong_kind

__all__ = ["from_inseq"]

_OUTPUT = "FeatureAttributionOutput"
_SEQUENCE = "FeatureAttributionSequenceOutput"


def _sequences(output: Any) -> tuple[list[Any], dict[str, Any]]:
    """The sequence outputs inside ``output`` and its ``info`` dict."""
    names = {c.__name__ for c in type(output).__mro__ if c.__module__.split(".")[0] == "inseq"}
    if _OUTPUT in names:
        seqs = getattr(output, "sequence_attributions", None)
        if not isinstance(seqs, list):
            fail(
                "output",
                "an inseq >= 0.6 FeatureAttributionOutput (with a sequence_attributions list)",
                given=f"one without it (inseq {package_version('inseq')})",
                hint="from_inseq supports inseq >= 0.6",
                kind=ArgumentTypeError,
            )
        return seqs, dict(getattr(output, "info", None) or {})
    if _SEQUENCE in names:
        return [output], {}
    raise wrong_kind("output", output, "an inseq FeatureAttributionOutput (model.attribute(...))")


def _main(seq: Any) -> Any:
    """The attributions that every output has: the source's (encoder-decoder) or the target's."""
    src = getattr(seq, "source_attributions", None)
    return src if src is not None else getattr(seq, "target_attributions", None)


def _two_d(seq: Any, i: int, aggregator: Any, kwargs: dict[str, Any]) -> Any:
    """``seq`` aggregated by inseq (its default aggregator unless one is given) to 2-D."""
    out = seq.aggregate(aggregator, **kwargs) if (aggregator is not None or kwargs) else seq
    if _main(out) is None or _main(out).dim() != 2:
        out = out.aggregate()
    parts = [getattr(out, name, None) for name in ("source_attributions", "target_attributions")]
    shapes = [None if a is None else tuple(a.shape) for a in parts]
    if _main(out) is None or any(a is not None and a.dim() != 2 for a in parts):
        fail(
            f"output.sequence_attributions[{i}]",
            "two-dimensional (tokens, generated) after aggregation",
            given=f"attributions of shapes {shapes} (source, target)",
            hint="pass an aggregator that reduces them, e.g. aggregator='scores', "
            "aggregate_fn='sum'",
        )
    return out


def _grid(out: Any) -> tuple[list[str], np.ndarray, int]:
    """Tokens, attributions ``(tokens, generated)`` and the target's first row.

    Decoder-only: the target (prompt and generation). Encoder-decoder: the source, then the
    target, whose rows are NaN unless inseq attributed the target too (``attribute_target``).
    """
    target = [str(t.token) for t in out.target]
    tgt = (
        None
        if out.target_attributions is None
        else as_numpy("target_attributions", out.target_attributions)
    )
    if out.source_attributions is None:
        assert tgt is not None  # _two_d checked it
        return target, tgt, 0
    src = as_numpy("source_attributions", out.source_attributions)
    if tgt is None:
        tgt = np.full((len(target), src.shape[1]), np.nan)
    source = [str(t.token) for t in out.source]
    return source + target, np.concatenate([src, tgt]), len(source)


def _one(
    seq: Any, i: int, info: dict[str, Any], aggregator: Any, kwargs: dict[str, Any], title: Any
) -> Any:
    out = _two_d(seq, i, aggregator, kwargs)
    tokens, values, offset = _grid(out)  # values: NaN where a token comes after the output
    start = offset + int(out.attr_pos_start)
    generated = tokens[start : start + values.shape[1]]
    cols = [Column(tok, 0, tok, tok, start + j - 1) for j, tok in enumerate(generated)]
    attr = [values[:, j] for j in range(values.shape[1])]
    steps = {
        k: as_numpy(f"step_scores[{k!r}]", v).reshape(-1)
        for k, v in (getattr(out, "step_scores", None) or {}).items()
    }
    prob = steps.get("probability")
    with np.errstate(divide="ignore"):
        score = np.log(prob) if prob is not None else np.full(len(cols), np.nan)
    meta = {
        "analysis": "attribution",
        "source": "inseq",
        "source_version": package_version("inseq"),
        "method": str(info.get("attribution_method", "inseq")),
        "function": str(info.get("attributed_fn", "probability_fn")) + " (inseq)",
        "normalize": None,
        "aggregated": aggregator is not None or bool(kwargs) or out is not seq,
        "sequence": i,
        "source_tokens": offset,
        "step_scores": {k: [float(x) for x in v] for k, v in steps.items()},
    }
    texts = info.get("generated_texts") or []
    text = str(texts[i]) if i < len(texts) else "".join(token_text(t) for t in tokens)
    if offset:  # encoder-decoder: the source text, then the target's
        sources = info.get("input_texts") or []
        source = str(sources[i]) if i < len(sources) else ""
        text = f"{source}\n{text}" if source else "".join(token_text(t) for t in tokens)
    return attribution_matrix(attr, cols, [Text(tokens, text)], score, None, meta, title)


def from_inseq(
    output: Any,
    *,
    sequence: int | None = None,
    aggregator: Any = None,
    title: str | None = None,
    **aggregate_kwargs: Any,
) -> Any:
    """An inseq attribution output as the matrix :func:`tokenheat.attribution` draws.

    Rows are the tokens of the whole sequence (prompt and generation, kind ``"position"``,
    linked by token; for an encoder-decoder model the source tokens, then the target's, NaN
    unless inseq attributed the target too with ``attribute_target=True``); columns are the generated tokens (kind ``"target"``); a cell is how
    much the row's token contributed to the column's token (NaN where the row comes at or
    after the generated token). Values are inseq's own after its aggregation: by default
    the aggregator inseq picks for the method (gradient methods: the L2 norm over the
    embedding, each column normalised to sum to 1), or the ``aggregator`` given. Each cell
    has one context: the sequence coloured by its column, the cell's position highlighted
    and the position whose prediction is attributed marked.

    Parameters
    ----------
    output : inseq.FeatureAttributionOutput
        What ``inseq_model.attribute(...)`` returns (or one of its
        ``sequence_attributions``), of a decoder-only or an encoder-decoder model.
    sequence : int, optional
        Which input's matrix to return. Default: the matrix when there is one input, a list
        with one matrix per input when there are several.
    aggregator : str or inseq aggregator, optional
        Passed to inseq's ``aggregate`` with ``aggregate_kwargs``, e.g.
        ``aggregator="scores", aggregate_fn="sum"`` (the plain sum over the embedding, as
        captum and :func:`tokenheat.attribution` do), ``normalize=False``.
    title : str, optional
        Heatmap title.
    **aggregate_kwargs
        More arguments for inseq's ``aggregate``.

    Returns
    -------
    TokenMatrix or list of TokenMatrix
        ``meta["source"] = "inseq"``, ``meta["method"]`` = inseq's method name,
        ``meta["step_scores"]`` = the step scores inseq computed; ``score`` in the contexts
        is the log of inseq's ``probability`` step score when it was requested
        (``step_scores=["probability"]``), else NaN.

    Raises
    ------
    ArgumentTypeError
        If ``output`` is not an inseq attribution output (the message names the converter
        that fits what was passed, e.g. :func:`from_captum`).
    ArgumentError
        For a ``sequence`` out of range, or attributions an
        aggregator did not reduce to two dimensions.

    Examples
    --------
    >>> model = inseq.load_model(hf_model, "input_x_gradient", tokenizer=tok)  # doctest: +SKIP
    >>> m = th.from_inseq(model.attribute("The cat sat on the", step_scores=["probability"]))  # doctest: +SKIP
    """
    seqs, info = _sequences(output)
    if sequence is not None:
        hint = f"output holds {len(seqs)} sequence(s); pass None for all"
        check_int_range("sequence", sequence, -len(seqs), len(seqs) - 1, hint)
        k = int(sequence) % len(seqs)
        return _one(seqs[k], k, info, aggregator, aggregate_kwargs, title)
    matrices = [_one(s, i, info, aggregator, aggregate_kwargs, title) for i, s in enumerate(seqs)]
    return matrices[0] if len(matrices) == 1 else matrices
