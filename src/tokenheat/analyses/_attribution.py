"""Attribution: how much each input token contributes to a target's log-probability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.analyses._attr_jobs import (
    Column,
    Job,
    kept_positions,
    model_kind,
    resolve_baseline,
)
from tokenheat.analyses._attr_run import AUTO_START, RunOptions, attribute, by_column, progress_bar
from tokenheat.analyses._attr_targets import build_jobs, sink_token
from tokenheat.analyses._attribution_matrix import attribution_matrix, attribution_tallies
from tokenheat.analyses._ig import INTEGRATION, completeness_report
from tokenheat.analyses._shards import tokenizer_name
from tokenheat.core._checks import (
    check_choice,
    check_optional_positive_int,
    check_positive_int,
    fail,
)
from tokenheat.core._matrix import TokenMatrix
from tokenheat.core._tokens import display_token
from tokenheat.errors import ArgumentError, ArgumentTypeError
from tokenheat.models._state import converted, preserves_model_state

__all__ = ["attribution"]

METHODS = ("integrated_gradients", "input_x_gradient", "occlusion")
#: Other names accepted for a method (tokenheat's earlier name for captum's InputXGradient).
ALIASES = {"gradient_x_input": "input_x_gradient"}
NORMALIZE = (None, "maxabs", "l1")
#: What ``baseline_keep`` may name: the prepended sink, the input's first position, the
#: tokenizer's special tokens.
KEEP = ("sink", "first", "special")
DEFAULT_KEEP = ("sink", "special")


def _keep_option(keep: Any) -> tuple[str, ...]:
    """``baseline_keep`` as a tuple of :data:`KEEP` names; ArgumentError for anything else."""
    if keep is None:
        return ()
    names = (keep,) if isinstance(keep, str) else keep
    if not isinstance(names, (tuple, list)) or any(n not in KEEP for n in names):
        fail(
            "baseline_keep",
            "'sink', 'first', 'special', a tuple of them, or None (the plain baseline "
            "everywhere, no sink)",
            keep,
        )
    return tuple(dict.fromkeys(names))


def _is_int(value: Any, minimum: int) -> bool:
    return bool(
        not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum
    )


def _check(
    method: Any, steps: Any, normalize: Any, integration: Any, tol: Any, max_steps: Any, bs: Any
) -> str:
    """Check the options; return the canonical method name."""
    method = ALIASES.get(method, method) if isinstance(method, str) else method
    check_choice("method", method, METHODS, "'gradient_x_input' is accepted for 'input_x_gradient'")
    check_choice("normalize", normalize, NORMALIZE)
    check_choice("integration", integration, INTEGRATION)
    if steps != "auto" and not _is_int(steps, 2):
        number = isinstance(steps, (int, np.integer, str)) and not isinstance(steps, bool)
        kind = ArgumentError if number else ArgumentTypeError
        fail("steps", "an int >= 2 or 'auto'", steps, kind=kind)
    check_positive_int("max_steps", max_steps, minimum=AUTO_START)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)):
        fail("tol", "a number in (0, 1), e.g. 0.05 for 5%", tol, kind=ArgumentTypeError)
    if not 0 < tol < 1:
        fail("tol", "a number in (0, 1), e.g. 0.05 for 5%", tol)
    check_optional_positive_int("batch_size", bs)
    return str(method)


# The options shared with the other analyses on purpose: one shape, the same names throughout.
@preserves_model_state
def attribution(
    model: Any,
    tokenizer: Any,
    inputs: str | Sequence[str],
    targets: Any = None,
    *,
    method: str = "integrated_gradients",
    steps: int | str = "auto",
    baseline: str | int = "zero",
    baseline_keep: str | Sequence[str] | None = DEFAULT_KEEP,
    sink: str | int | None = "auto",
    normalize: str | None = None,
    target_position: int = -1,
    integration: str = "gausslegendre",
    tol: float = 0.05,
    max_steps: int = 256,
    batch_size: int | None = None,
    device: Any = None,
    dtype: Any = None,
    max_contexts_per_cell: int = 1,
    chat: bool = False,
    truncate: bool = False,
    progress: bool = True,
    title: str | None = None,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
) -> TokenMatrix:
    """Attribute a target's log-probability to the input tokens.

    The attributed function is the **log-probability** of the target: for a causal LM,
    ``log p(target | input[: target_position + 1])`` (the next-token distribution at
    ``target_position``; a multi-token answer sums the log-probabilities of its tokens,
    teacher-forced after the input), read after the attention sink (below); for a sequence
    classifier, ``log p(class | input)``. Attributions are taken w.r.t. the input token
    embeddings and summed over the embedding dimension; values are raw and signed unless
    ``normalize`` is given. The model is left exactly as found (mode, dtype, device,
    ``requires_grad``, hooks), also after an error or Ctrl-C.

    **The default call** (integrated gradients, zero baseline, the sink prepended and kept,
    ``steps="auto"``) integrates along the straight line from the baseline (zeros at every
    content position; the sink and special tokens at their own embedding) to the input,
    with Gauss-Legendre points; each column's point count doubles from 32 until its
    relative completeness error is below ``tol`` (or ``max_steps``). Columns that converge
    stop; the progress bar counts integration points. Measured on SmolLM2 in
    ``bench/README.md`` ("Attribution convergence").

    Parameters
    ----------
    model, tokenizer
        A transformers causal LM (``…ForCausalLM``) or sequence classifier, and its tokenizer;
        or a ``transformer_lens.HookedTransformer`` (attributions w.r.t. the output of its
        ``hook_embed``) and its tokenizer, ``None`` for the model's own ``model.tokenizer``.
    inputs : str, chat conversation, or list of them
        One input (columns = targets) or several (columns = examples, one target each).
    targets
        One input: a target or a list of targets; several inputs: one target per input (a
        single target applies to all). A target is a token id (int), a vocabulary token
        string (``"ĠParis"``), an answer text (``" Paris"``, tokenized), a class name or index
        for a classifier, or ``None`` for the model's own top prediction.
    method : {"integrated_gradients", "input_x_gradient", "occlusion"}
        Integrated gradients (every integration step batched, ``batch_size`` per forward),
        input × gradient (``x · ∇f(x)``, captum's and inseq's ``input_x_gradient``; the old
        name ``"gradient_x_input"`` still works), or occlusion (``f(x) − f(x with token i
        replaced by the baseline)``). All targets of one input share its forward passes,
        and logits are computed only where a target reads them.
    steps : int or "auto"
        Integration points. ``"auto"`` (default) starts at 32 and doubles, per column,
        until the relative completeness error is below ``tol`` or ``max_steps`` is reached.
    baseline : {"zero", "pad", "eos"} or int
        Baseline embedding: zeros, the pad or EOS token's, or a token id's, at every position
        but those kept by ``baseline_keep``.
    baseline_keep : "sink", "first", "special", a tuple of them, or None
        What stays at its own embedding in the baseline. ``"sink"`` (default, with
        ``"special"``): for a causal LM whose input does not start with a special token
        (SmolLM2, GPT-2 and most base models add no BOS), the ``sink`` token is prepended
        as position 0, as TransformerLens's ``prepend_bos`` does, and kept. ``"special"``:
        the tokenizer's special tokens (BOS, chat-template markers, [CLS]/[SEP]). ``"first"``:
        the input's first token (tokenheat's earlier default; it pins that token at 0).
        Kept positions get attribution 0 by construction (the path never moves them,
        occluding them changes nothing), and the completeness check uses this same
        baseline. Why: in most LMs the first position is an *attention sink*: every later
        token attends to it and its hidden state is huge (SmolLM2: norm ~24,000 against
        ~150); a baseline that removes it puts the model far from anything it saw in
        training. With the sink kept, every content token, the first included, is
        attributed. ``None``: the plain baseline at every position and no sink, the input
        exactly as tokenized: captum's ``IntegratedGradients`` with ``baselines`` of one
        vector everywhere, ``Σ attributions → f(x) − f(baseline)``. The kept positions
        (indices into the ids, sink included) are in ``meta["baseline_kept"]``.
    sink : "auto", int, str or None
        The sink token: ``"auto"`` is ``<|endoftext|>`` when the vocabulary has it as a
        special token (the document separator of GPT-2-style pretraining), else the BOS,
        else the EOS token. The sink's row is **not shown** (its attribution is 0 by
        construction): rows are the input's own tokens; ``meta["sink"]`` names the token
        and the inputs it was prepended to. ``None`` prepends nothing. What the sink
        changes is only what the model itself does on ``[sink] + ids`` (TransformerLens's
        ``prepend_bos=True``): f(x) is that forward's log-probability, the content tokens
        keep their ids and order one position later (tested against a plain
        ``model(input_ids=[sink, *ids])`` call).
    normalize : {None, "maxabs", "l1"}
        Divide each column by its largest absolute value, or by its sum of absolute values.
    target_position : int
        Causal LM: index (in the input as tokenized) of the position whose next-token
        prediction is scored.
    integration : str
        Integration rule, as in captum: ``"gausslegendre"`` (default, captum's default),
        ``"riemann_left"``, ``"riemann_right"``, ``"riemann_middle"``, ``"riemann_trapezoid"``.
    tol : float
        Relative completeness error above which a :class:`~tokenheat.errors.
        CompletenessWarning` names the columns (as drawn), and the goal of ``steps="auto"``.
    max_steps : int
        Upper limit for ``steps="auto"``.
    batch_size : int, optional
        Interpolation points (or occluded inputs) per forward; default about 4096 tokens.
    device, dtype
        Run a moved/cast copy of the model (default: the model where it is); the model
        given is never moved or cast.
    max_contexts_per_cell : {1, 0}
        One context per cell (default), or none.
    chat : bool
        Render string inputs with the tokenizer's chat template.
    truncate : bool
        Inputs longer than the model's context raise an error; ``True`` keeps their first
        tokens instead.
    progress : bool
        A progress bar over integration points (over inputs for the other methods).
    engine : {"local", "ray"}
        ``"ray"`` (several inputs, one target each) shards the inputs over a Ray actor
        pool and merges the shards (:func:`tokenheat.merge`); ``model`` may then be a
        loader (a local path, or a zero-argument callable returning ``(model, tokenizer)``).
    ray_options : dict, optional
        For ``engine="ray"``: ``concurrency``, ``num_gpus``, ``num_cpus``, ``batch_size``.
    title : str, optional
        Heatmap title.

    Returns
    -------
    TokenMatrix
        Rows: left-aligned token positions (kind ``"position"``), labelled by the token when
        all inputs agree, else ``"pos i"``; NaN where an input is shorter. Columns: targets
        (kind ``"target"``) or examples (kind ``"example"``). Diverging RdBu scale centred at
        0. For integrated gradients the completeness error ``|Σ attributions − (f(x) −
        f(baseline))|`` is in the extras (``completeness_error``, ``completeness_rel``), the
        contexts and ``meta["completeness"]``. One context per cell inside its input: the
        whole input coloured by the column's attributions, the cell's position highlighted,
        the scored position as second mark, with ``target``, ``score`` (the target's
        log-probability) and the cell's ``attribution``.

    Raises
    ------
    tokenheat.errors.ArgumentError
        For unknown options, targets that do not match the inputs, or unknown target tokens.
    tokenheat.errors.ArgumentTypeError
        For a model that is neither a causal LM nor a classifier, or a target of a wrong
        type (``targets=3.5``).

    Examples
    --------
    >>> m = th.attribution(model, tok, "The capital of France is", [" Paris", " Rome"])  # doctest: +SKIP
    """
    if engine != "local" or ray_options is not None:
        from tokenheat.analyses._merge import merge
        from tokenheat.engines import run_engine

        options = dict(
            targets=targets, method=method, steps=steps, baseline=baseline,
            baseline_keep=baseline_keep, sink=sink, normalize=normalize,
            target_position=target_position, integration=integration, tol=tol,
            max_steps=max_steps, batch_size=batch_size, device=device, dtype=dtype,
            max_contexts_per_cell=max_contexts_per_cell, chat=chat, truncate=truncate,
            title=title,
        )  # fmt: skip
        return run_engine(
            "attribution", engine, ray_options, model, inputs, tokenizer=tokenizer,
            shard=attribution_shard, options=options, merge=merge, progress=progress,
        )  # fmt: skip
    method = _check(method, steps, normalize, integration, tol, max_steps, batch_size)
    keep = _keep_option(baseline_keep)
    _check_contexts(max_contexts_per_cell)
    model, tokenizer, kind = _prepare(model, tokenizer, device, dtype)
    encoded = _encode(model, tokenizer, inputs, chat=chat, truncate=truncate)
    sink_id = sink_token(tokenizer, model, sink) if "sink" in keep else None
    jobs, columns = build_jobs(model, tokenizer, encoded, targets, target_position, kind, sink_id)
    specials = set(getattr(tokenizer, "all_special_ids", None) or [])
    for job in jobs:
        job.keep = kept_positions(job.ids, keep, specials, job.n_sink)
    emb_layer = model.get_input_embeddings()
    base_vec = resolve_baseline(model, tokenizer, baseline, emb_layer)
    opts = RunOptions(method, steps, integration, batch_size, tol, max_steps)
    with progress_bar(jobs, opts, bool(progress)) as bar:
        found = attribute(model, kind, emb_layer, base_vec, jobs, opts, bar)
    attr, f_x, f_b, used = by_column(found, len(columns))
    meta = _meta(model, tokenizer, kind, opts, baseline, keep, normalize, jobs, sink_id)
    meta["target_position"] = target_position
    comp = None
    if method == "integrated_gradients":
        comp = _completeness(attr, f_x, f_b, used, columns, len(encoded), meta, opts)
    attr = _normalized(attr, normalize)
    meta.update(
        tokenizer=tokenizer_name(tokenizer),
        steps_option=steps if isinstance(steps, str) else int(steps),
        max_contexts_per_cell=max_contexts_per_cell,
        tallies=attribution_tallies(attr, columns, f_x, comp),
    )
    contexts = max_contexts_per_cell == 1
    matrix: TokenMatrix = attribution_matrix(
        attr, columns, encoded, f_x, comp, meta, title, contexts=contexts
    )
    return matrix


def _check_contexts(max_contexts_per_cell: Any) -> None:
    """Attribution keeps one context per cell or none."""
    if max_contexts_per_cell not in (0, 1) or isinstance(max_contexts_per_cell, bool):
        fail("max_contexts_per_cell", "1 (one context per cell) or 0 (none)", max_contexts_per_cell)


def _completeness(
    attr: Any,
    f_x: Any,
    f_b: Any,
    used: Any,
    columns: Any,
    n_inputs: int,
    meta: dict[str, Any],
    opts: RunOptions,
) -> tuple[Any, Any]:
    """Integrated gradients' completeness error per column, ``(err, rel)``; the report and
    the steps used go into ``meta``."""
    drawn = [_drawn(c, n_inputs) for c in columns]
    err, rel, report = completeness_report(
        attr, f_x, f_b, [c.label for c in columns], steps=opts.steps, tol=opts.tol,
        max_steps=opts.max_steps, drawn=drawn,
    )  # fmt: skip
    meta.update(integration=opts.integration, steps=[int(s) for s in used], **report)
    return err, rel


def attribution_shard(
    model: Any, tokenizer: Any, inputs: list[str], options: dict[str, Any], first: int | None = None
) -> TokenMatrix:
    """One shard of a distributed :func:`attribution` (several inputs)."""
    return attribution(model, tokenizer, inputs, progress=False, **options)


def _prepare(model: Any, tokenizer: Any, device: Any, dtype: Any) -> tuple[Any, Any, str]:
    """The model to run (a moved/cast copy if asked, a HookedTransformer's causal-LM view),
    its tokenizer and kind, in eval mode (the caller's state is restored on return)."""
    from tokenheat.models._select import causal_lm_for

    if not hasattr(model, "modules"):
        fail("model", "a transformers model or a HookedTransformer", model, kind=ArgumentTypeError)
    model = converted(model, device, dtype)
    model, tokenizer = causal_lm_for(model, tokenizer)
    kind = model_kind(model)
    model.eval()
    return model, tokenizer, kind


def _encode(model: Any, tokenizer: Any, inputs: Any, *, chat: bool, truncate: bool) -> list[Any]:
    from tokenheat.models._batching import model_max_length
    from tokenheat.models._text import encode_prompts

    if not isinstance(inputs, str) and isinstance(inputs, Sequence) and not inputs:
        fail("inputs", "a text or a non-empty list of texts", inputs)
    limit = model_max_length(model, tokenizer)
    if limit is not None:
        limit -= 1  # room for the sink
    return encode_prompts(tokenizer, inputs, chat=chat, max_length=limit, truncate=truncate)


def _drawn(column: Column, n_inputs: int) -> str:
    """A column's name as the heatmap draws it (``"␣19"``, not ``"Ġ19"``)."""
    name = display_token(column.target) if column.token is not None else column.target
    return name if n_inputs == 1 else f"#{column.example}: {name}"


def _meta(
    model: Any,
    tokenizer: Any,
    kind: str,
    o: RunOptions,
    baseline: Any,
    keep: tuple[str, ...],
    normalize: Any,
    jobs: list[Job],
    sink_id: int | None,
) -> dict[str, Any]:
    with_sink = [j.example for j in jobs if j.n_sink]
    meta: dict[str, Any] = {
        "analysis": "attribution",
        "method": o.method,
        "function": "log-probability of the target"
        + (" (after the sink token)" if with_sink else ""),
        "baseline": baseline,
        "normalize": normalize,
        "model": str(
            getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        ),
        "model_kind": kind,
        "sink": None,
    }
    if with_sink and sink_id is not None:
        token = str(tokenizer.convert_ids_to_tokens([sink_id])[0])
        meta["sink"] = {"token": token, "id": int(sink_id), "inputs": with_sink}
    if o.method != "input_x_gradient":
        meta["baseline_keep"] = list(keep)
        meta["baseline_kept"] = {str(j.example): list(j.keep) for j in jobs}
    return meta


def _normalized(attr: list[np.ndarray], normalize: str | None) -> list[np.ndarray]:
    if normalize is None:
        return attr
    out = []
    for a in attr:
        denom = np.max(np.abs(a)) if normalize == "maxabs" else np.sum(np.abs(a))
        out.append(a / denom if denom > 0 else a)
    return out
