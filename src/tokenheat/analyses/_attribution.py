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
    run_job,
)
from tokenheat.analyses._attribution_matrix import attribution_matrix
from tokenheat.analyses._common import check_positive_int, placed_module, progress_bar
from tokenheat.analyses._ig import INTEGRATION, completeness_report, relative_error
from tokenheat.analyses._shards import tokenizer_name

__all__ = ["attribution"]

METHODS = ("integrated_gradients", "gradient_x_input", "occlusion")
NORMALIZE = (None, "maxabs", "l1")
AUTO_START = 32
#: What ``baseline_keep`` may name: the first position, the tokenizer's special tokens.
KEEP = ("first", "special")


def _keep_option(keep: Any) -> tuple[str, ...]:
    """``baseline_keep`` as a tuple of :data:`KEEP` names; ValueError for anything else."""
    if keep is None:
        return ()
    names = (keep,) if isinstance(keep, str) else keep
    if not isinstance(names, (tuple, list)) or any(n not in KEEP for n in names):
        raise ValueError(
            f"baseline_keep={keep!r} is not supported; use 'first', 'special', both as a "
            "tuple, or None"
        )
    return tuple(dict.fromkeys(names))


def _check(
    method: str, steps: Any, normalize: Any, integration: str, tol: Any, max_steps: Any, ibs: Any
) -> None:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not supported; use one of {', '.join(METHODS)}")
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize={normalize!r} is not supported; use None, 'maxabs' or 'l1'")
    if integration not in INTEGRATION:
        raise ValueError(
            f"integration={integration!r} is not supported; use one of {', '.join(INTEGRATION)}"
        )
    if steps != "auto" and (
        isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2
    ):
        raise ValueError(f"steps must be an int >= 2 or 'auto', got {steps!r}")
    if (
        isinstance(max_steps, bool)
        or not isinstance(max_steps, (int, np.integer))
        or max_steps < AUTO_START
    ):
        raise ValueError(f"max_steps must be an int >= {AUTO_START}, got {max_steps!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise ValueError(f"tol must be a number in (0, 1), e.g. 0.05 for 5%, got {tol!r}")
    if ibs is not None and (
        isinstance(ibs, bool) or not isinstance(ibs, (int, np.integer)) or ibs < 1
    ):
        raise ValueError(f"internal_batch_size must be a positive int or None, got {ibs!r}")


def attribution(
    model: Any,
    tokenizer: Any,
    inputs: str | Sequence[str],
    targets: Any = None,
    method: str = "integrated_gradients",
    steps: int | str = 32,
    baseline: str | int = "zero",
    normalize: str | None = None,
    target_position: int = -1,
    internal_batch_size: int | None = None,
    tol: float = 0.05,
    max_steps: int = 512,
    progress: bool = True,
    *,
    integration: str = "gausslegendre",
    baseline_keep: str | Sequence[str] | None = KEEP,
    chat: bool = False,
    truncate: bool = False,
    title: str | None = None,
    max_contexts_per_cell: int = 1,
    device: Any = None,
    dtype: Any = None,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
) -> Any:
    """Attribute a target's log-probability to the input tokens.

    The attributed function is the **log-probability** of the target: for a causal LM,
    ``log p(target | input[: target_position + 1])`` (the next-token distribution at
    ``target_position``; a multi-token answer sums the log-probabilities of its tokens,
    teacher-forced after the input); for a sequence classifier, ``log p(class | input)``.
    Attributions are taken w.r.t. the input token embeddings and summed over the
    embedding dimension; values are raw and signed unless ``normalize`` is given.

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
    method : {"integrated_gradients", "gradient_x_input", "occlusion"}
        Integrated gradients (every integration step batched, ``internal_batch_size`` per
        forward), gradient × input (``x · ∇f(x)``), or occlusion (``f(x) − f(x with token i
        replaced by the baseline)``, every position in batched forwards). All targets of one
        input share its forward passes (answers that differ after their first token
        continue its key/value cache), and logits are computed only where a target reads
        them.
    steps : int or "auto"
        Integration points. ``"auto"`` starts at 32 and doubles until the relative
        completeness error is below ``tol`` or ``max_steps`` is reached.
    baseline : {"zero", "pad", "eos"} or int
        Baseline embedding: zeros, the pad or EOS token's, or a token id's, at every position
        but those kept by ``baseline_keep``.
    normalize : {None, "maxabs", "l1"}
        Divide each column by its largest absolute value, or by its sum of absolute values.
    target_position : int
        Causal LM: index of the input position whose next-token prediction is scored.
    internal_batch_size : int, optional
        Interpolation points (or occluded inputs) per forward; default about 4096 tokens.
    tol : float
        Relative completeness error above which a warning names the columns, and the goal
        of ``steps="auto"``.
    max_steps : int
        Upper limit for ``steps="auto"``.
    progress : bool
        Progress bar over inputs.
    integration : str
        Integration rule, as in captum: ``"gausslegendre"`` (default, captum's default),
        ``"riemann_left"``, ``"riemann_right"``, ``"riemann_middle"``, ``"riemann_trapezoid"``.
    baseline_keep : "first", "special", a tuple of them, or None
        Positions whose baseline is the input's own embedding instead of ``baseline``: the
        first position (``"first"``) and the tokenizer's special tokens (``"special"``: BOS,
        chat-template markers, [CLS]/[SEP], ...). Default both. Integrated gradients and
        occlusion then give these positions attribution **0 by construction** (the path
        never moves them, occluding them changes nothing), and the completeness check uses
        this same baseline; gradient × input ignores the option. Why: in most LMs the first
        position is an *attention sink*: every later token attends to it and its hidden
        state is huge (SmolLM2: norm ~24,000 against a median of ~150 in the middle
        layers). Replacing it by a zero/pad/EOS embedding puts the model far from anything
        it saw in training, the path from the baseline crosses a steep, uninformative
        region, the integral converges badly and the first token soaks up attribution that
        says nothing about the text (SmolLM2, the demo question, 3 answers, 32 steps:
        worst relative completeness error 61% with nothing kept, 31% with the first
        position kept). ``None`` gives the plain baseline at every position (captum's
        ``baselines=`` with one vector everywhere). The kept positions are in
        ``meta["baseline_kept"]``.
    chat : bool
        Render string inputs with the tokenizer's chat template.
    truncate : bool
        Inputs longer than the model's context raise a ``ValueError``; ``True`` keeps their
        first tokens instead.
    title : str, optional
        Heatmap title.
    max_contexts_per_cell : int
        Each cell has one context (its input coloured by the column's attributions); ``0``
        keeps none (a smaller page). The same option name as in the other analyses.
    device, dtype : optional
        Run the model there / in that dtype (e.g. ``torch.bfloat16``; attributions are
        returned as float64); it is moved back afterwards.
    engine : {"local", "ray"}
        ``"ray"`` (several inputs, one target each) shards the inputs over a Ray actor
        pool and merges the shards (:func:`tokenheat.merge`); ``model`` may then be a
        loader (a local path, or a zero-argument callable returning ``(model, tokenizer)``).
    ray_options : dict, optional
        For ``engine="ray"``: ``concurrency``, ``num_gpus``, ``num_cpus``, ``batch_size``.

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
    ValueError
        For unknown options, targets that do not match the inputs, or unknown target tokens.

    Examples
    --------
    >>> m = th.attribution(model, tok, "The capital of France is", [" Paris", " Rome"])  # doctest: +SKIP
    """
    options = dict(
        targets=targets, method=method, steps=steps, baseline=baseline, normalize=normalize,
        target_position=target_position, internal_batch_size=internal_batch_size, tol=tol,
        max_steps=max_steps, integration=integration, baseline_keep=baseline_keep, chat=chat,
        truncate=truncate, title=title,
        max_contexts_per_cell=check_positive_int("max_contexts_per_cell", max_contexts_per_cell, minimum=0),
    )  # fmt: skip
    if engine != "local" or ray_options is not None:
        from tokenheat.analyses._merge import merge
        from tokenheat.engines import run_engine

        return run_engine(
            "attribution", engine, ray_options, model, inputs, tokenizer=tokenizer,
            shard=attribution_shard, merge=merge,
            options={**options, "device": device, "dtype": dtype}, progress=progress,
        )  # fmt: skip
    with placed_module(model, device, dtype):
        return _attribution(model, tokenizer, inputs, progress=progress, **options)


def attribution_shard(
    model: Any, tokenizer: Any, inputs: list[str], options: dict[str, Any], first: int | None = None
) -> Any:
    """One shard of a distributed :func:`attribution` (several inputs)."""
    return attribution(model, tokenizer, inputs, progress=False, **options)


def _attribution(
    model: Any,
    tokenizer: Any,
    inputs: Any,
    *,
    targets: Any,
    method: str,
    steps: int | str,
    baseline: str | int,
    normalize: str | None,
    target_position: int,
    internal_batch_size: int | None,
    tol: float,
    max_steps: int,
    progress: bool,
    integration: str,
    baseline_keep: Any,
    chat: bool,
    truncate: bool,
    title: str | None,
    max_contexts_per_cell: int,
) -> Any:
    _check(method, steps, normalize, integration, tol, max_steps, internal_batch_size)
    keep = _keep_option(baseline_keep)
    from tokenheat.models._tlens import as_causal_lm, is_hooked_transformer

    if is_hooked_transformer(model):
        model, tokenizer = as_causal_lm(model, tokenizer)
    kind = model_kind(model)
    model.eval()
    jobs, columns, encoded = _build_jobs(
        model, tokenizer, inputs, targets, target_position, kind, chat=chat, truncate=truncate
    )
    emb_layer = model.get_input_embeddings()
    base_vec = resolve_baseline(model, tokenizer, baseline, emb_layer)
    n_cols = len(columns)
    attr: list[np.ndarray | None] = [None] * n_cols
    f_x, f_b = np.full(n_cols, np.nan), np.full(n_cols, np.nan)
    used_steps = np.zeros(n_cols, np.int64)
    specials = set(getattr(tokenizer, "all_special_ids", None) or [])
    for job in jobs:
        job.keep = kept_positions(job.ids[: job.n_input], keep, specials)
    for job in progress_bar(jobs, total=len(jobs), desc="attribution", enabled=bool(progress)):
        n_steps = AUTO_START if steps == "auto" else int(steps)
        while True:
            res = run_job(
                model,
                kind,
                emb_layer,
                base_vec,
                job,
                method,
                n_steps,
                integration,
                internal_batch_size,
            )
            cols = [c for c, _ in job.targets]
            if method != "integrated_gradients" or steps != "auto":
                break
            err = np.abs(res.attr.sum(1) - (res.f_x - res.f_b))
            if np.all(relative_error(err, res.f_x - res.f_b) < tol) or n_steps >= max_steps:
                break
            n_steps = min(2 * n_steps, int(max_steps))
        for t, c in enumerate(cols):
            attr[c] = res.attr[t]
            f_x[c] = res.f_x[t]
            f_b[c] = res.f_b[t]
            used_steps[c] = n_steps if method == "integrated_gradients" else 0
    raw = [a for a in attr if a is not None]
    meta: dict[str, Any] = {
        "analysis": "attribution",
        "method": method,
        "function": "log-probability of the target",
        "baseline": baseline,
        "normalize": normalize,
        "target_position": target_position,
        "model": str(
            getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        ),
        "model_kind": kind,
        "tokenizer": tokenizer_name(tokenizer),
        "steps_option": steps if isinstance(steps, str) else int(steps),
        "max_contexts_per_cell": max_contexts_per_cell,
    }
    if method != "gradient_x_input":
        meta["baseline_keep"] = list(keep)  # and the positions kept, per input
        meta["baseline_kept"] = {str(j.example): list(j.keep) for j in jobs}
    comp = None
    if method == "integrated_gradients":
        labels = [c.label for c in columns]
        err, rel, report = completeness_report(
            raw, f_x, f_b, labels, steps=steps, tol=tol, max_steps=max_steps
        )
        meta.update(integration=integration, steps=[int(s) for s in used_steps], **report)
        comp = (err, rel)
    if normalize is not None:
        for i, a in enumerate(raw):
            denom = np.max(np.abs(a)) if normalize == "maxabs" else np.sum(np.abs(a))
            raw[i] = a / denom if denom > 0 else a
    meta["tallies"] = {
        "attr": [np.asarray(a, np.float64) for a in raw],
        "names": [c.target for c in columns],
        "examples": [c.example for c in columns],
        "tokens": [c.token for c in columns],
        "positions": [c.position for c in columns],
        "f_x": f_x,
        "err": None if comp is None else comp[0],
        "rel": None if comp is None else comp[1],
    }
    result = attribution_matrix(raw, columns, encoded, f_x, comp, meta, title)
    if max_contexts_per_cell == 0:
        result.contexts = None
    return result


def _target_tokens(
    model: Any, tokenizer: Any, target: Any, prefix: list[int], where: str
) -> list[int]:
    import torch

    n_vocab = model.get_input_embeddings().weight.shape[0]
    if target is None:
        with torch.no_grad():
            batch = torch.tensor([prefix], device=model.get_input_embeddings().weight.device)
            return [int(model(input_ids=batch).logits[0, -1].argmax())]
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < n_vocab:
            raise ValueError(
                f"{where}: token id {target} is outside the vocabulary (0..{n_vocab - 1})"
            )
        return [int(target)]
    if not isinstance(target, str):
        raise TypeError(
            f"{where} must be a token id, a token string or an answer text, got {target!r}"
        )
    if not target:
        raise ValueError(f"{where} is an empty string; pass a token string or an answer text")
    vocab = tokenizer.get_vocab()
    if target in vocab:
        return [int(vocab[target])]
    ids = list(tokenizer(target, add_special_tokens=False)["input_ids"])
    unk = getattr(tokenizer, "unk_token_id", None)
    if not ids or (unk is not None and unk in ids):
        raise ValueError(
            f"{where}={target!r} is not in the tokenizer's vocabulary (tokenizes to {ids})"
        )
    return ids


def _class_index(model: Any, target: Any, prefix: list[int], where: str) -> int:
    import torch

    config = model.config
    n = int(config.num_labels)
    if target is None:
        with torch.no_grad():
            ids = torch.tensor([prefix], device=model.get_input_embeddings().weight.device)
            return int(model(input_ids=ids).logits[0].argmax())
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and 0 <= target < n:
        return int(target)
    names = {str(v): int(k) for k, v in (config.id2label or {}).items()}
    if isinstance(target, str) and target in names:
        return names[target]
    raise ValueError(
        f"{where}={target!r} is not a class of the model; use one of {list(names)} or 0..{n - 1}"
    )


def _build_jobs(
    model: Any,
    tokenizer: Any,
    inputs: Any,
    targets: Any,
    target_position: int,
    kind: str,
    *,
    chat: bool,
    truncate: bool,
) -> tuple[list[Job], list[Column], list[Any]]:
    from tokenheat.models._batching import model_max_length
    from tokenheat.models._text import encode_prompts

    if not isinstance(inputs, str) and isinstance(inputs, Sequence) and not inputs:
        raise ValueError("inputs is empty; pass a text or a list of texts")
    limit = model_max_length(model, tokenizer)
    encoded = encode_prompts(tokenizer, inputs, chat=chat, max_length=limit, truncate=truncate)
    n = len(encoded)
    scalar = targets is None or isinstance(targets, (str, int, np.integer))
    if n == 1:
        pairs = [(0, targets)] if scalar else [(0, t) for t in targets]
        if not pairs:
            raise ValueError("targets is empty; pass a target, a list of targets, or None")
    else:
        tlist = [targets] * n if scalar else list(targets)
        if len(tlist) != n:
            raise ValueError(
                f"targets has {len(tlist)} entries for {n} inputs; pass one target per input, "
                "one target for all, or None (the model's top predictions)"
            )
        pairs = list(enumerate(tlist))
    if isinstance(target_position, bool) or not isinstance(target_position, (int, np.integer)):
        raise TypeError(f"target_position must be an int, got {target_position!r}")
    jobs: dict[int, Job] = {}  # one per input: all its targets share its forward passes
    columns = []
    spec: Any
    for c, (ex, target) in enumerate(pairs):
        ids, where = encoded[ex].ids, f"targets[{c}]" if not scalar else "targets"
        if kind == "classifier":
            cls = _class_index(model, target, ids, where)
            spec, pos, token = cls, 0, None
            name = str((model.config.id2label or {}).get(cls, cls))
        else:
            pos = target_position + len(ids) if target_position < 0 else int(target_position)
            if not 0 <= pos < len(ids):
                raise ValueError(
                    f"target_position={target_position} is outside input {ex} ({len(ids)} tokens)"
                )
            toks = _target_tokens(model, tokenizer, target, ids[: pos + 1], where)
            if len(toks) > 1 and pos != len(ids) - 1:
                raise ValueError(
                    f"{where}={target!r} has {len(toks)} tokens; multi-token answers need target_position=-1"
                )
            spec = [(pos + j, t) for j, t in enumerate(toks)]
            raw = [str(t) for t in tokenizer.convert_ids_to_tokens(toks)]
            # the pieces joined are still a token string ("Ġ" "1" "9" -> "Ġ19"), so a
            # multi-token answer is drawn ("␣19") and linked like a single token
            name = token = "".join(raw)
        job = jobs.setdefault(ex, Job(ex, list(ids), len(ids)))
        job.targets.append((c, spec))
        columns.append(Column(name if n == 1 else f"#{ex}: {name}", ex, name, token, pos))
    return list(jobs.values()), columns, encoded
