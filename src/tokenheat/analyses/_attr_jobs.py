"""What :func:`tokenheat.attribution` attributes: columns, jobs and their score functions.

A *job* is one input with every target attributed on it; one forward pass over a batch of
embeddings scores all of them. The attributed function is a log-probability, so logits are
computed only where a target is read: at the scored input positions (``logits_to_keep``) and,
for multi-token answers, at the teacher-forced answer tokens. When answers need two or more
different teacher-forced prefixes, they still share the input's forward: its key/value cache
(part of the autograd graph) is continued by each distinct prefix, a few tokens each, instead
of rerunning the whole input once per prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tokenheat.analyses._ig import gradient_x_input, integrated_gradients, occlusion
from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

Score = Callable[[Any], Any]


@dataclass
class Column:
    """One output column: an (input, target) pair."""

    label: str
    example: int
    target: str
    token: str | None  # the target token, when it is a single token
    position: int  # the scored input position (highlighted in the context)


@dataclass
class Job:
    """Targets that share one input, hence every forward pass over it.

    A target's spec is its ``(position, token)`` pairs: a class index for a classifier; for
    a causal LM, position ``p`` reads the next-token distribution after ``ids[: p + 1]``,
    positions at or past ``n_input`` read it after the answer's earlier tokens.
    """

    example: int
    ids: list[int]  # the input ids, after the sink when one is prepended
    n_input: int
    targets: list[tuple[int, Any]] = field(default_factory=list)  # (column, spec)
    keep: list[int] = field(default_factory=list)  # positions whose baseline is the input
    n_sink: int = 0  # 1 when a sink token was prepended (position 0), else 0


@dataclass
class JobResult:
    attr: np.ndarray  # (T, n_input)
    f_x: np.ndarray  # (T,)
    f_b: np.ndarray  # (T,), NaN when the method has no baseline score


def model_kind(model: Any) -> str:
    """``"causal"`` or ``"classifier"``; TypeError for anything else."""
    name = type(model).__name__
    if not hasattr(model, "get_input_embeddings"):
        fail("model", "a transformers PreTrainedModel", model, kind=ArgumentTypeError)
    if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
        return "causal"
    if "SequenceClassification" in name:
        return "classifier"
    fail(
        "model",
        "a causal LM (…ForCausalLM) or a sequence classifier (…ForSequenceClassification)",
        model,
        kind=ArgumentTypeError,
    )


def resolve_baseline(model: Any, tokenizer: Any, baseline: Any, emb_layer: Any) -> Any:
    """The baseline embedding vector (d,) for ``"zero"``, ``"pad"``, ``"eos"`` or a token id."""
    import torch

    weight = emb_layer.weight
    if isinstance(baseline, str) and baseline == "zero":
        return torch.zeros(weight.shape[1], dtype=weight.dtype, device=weight.device)
    if isinstance(baseline, str) and baseline in ("pad", "eos"):
        token = getattr(tokenizer, f"{baseline}_token_id", None)
        if token is None:
            token = getattr(getattr(model, "config", None), f"{baseline}_token_id", None)
        if not isinstance(token, int):
            other = "'eos'" if baseline == "pad" else "'pad'"
            fail(
                "baseline",
                f"'zero', {other} or a token id when the tokenizer has no {baseline} token",
                baseline,
            )
    elif isinstance(baseline, (int, np.integer)) and not isinstance(baseline, bool):
        token = int(baseline)
    else:
        fail("baseline", "one of 'zero', 'pad', 'eos', or a token id", baseline)
    if not 0 <= token < weight.shape[0]:
        fail("baseline", f"a token id in 0..{weight.shape[0] - 1} (the vocabulary)", token)
    return weight[token].detach()


def kept_positions(
    ids: list[int], keep: tuple[str, ...], specials: set[int], n_sink: int = 0
) -> list[int]:
    """Positions of ``ids`` kept at their own embedding in the baseline (``baseline_keep``):
    the prepended sink (the first ``n_sink`` positions), the input's first token for
    ``"first"``, special tokens for ``"special"``.

    Examples
    --------
    >>> kept_positions([7, 1, 5, 1], ("first", "special"), {1})
    [0, 1, 3]
    >>> kept_positions([0, 7, 5], ("sink", "special"), {0}, n_sink=1)
    [0]
    >>> kept_positions([7, 1], (), {1})
    []
    """
    out = set(range(n_sink))
    if "first" in keep and len(ids) > n_sink:
        out.add(n_sink)
    if "special" in keep:
        out.update(i for i, t in enumerate(ids) if t in specials)
    return sorted(out)


def _classifier_score(model: Any, job: Job, device: Any) -> Score:
    import torch

    classes = [spec for _, spec in job.targets]

    def score_cls(emb: Any) -> Any:
        mask = torch.ones(emb.shape[:2], dtype=torch.long, device=device)
        logits = model(inputs_embeds=emb, attention_mask=mask).logits
        return torch.log_softmax(logits.float(), -1)[:, classes]

    return score_cls


def make_score(model: Any, job: Job, kind: str, emb_layer: Any) -> Score:
    """``emb (B, n_input, d) -> (B, T)`` log-probabilities of the job's targets."""
    import torch

    from tokenheat.models._batching import accepts
    from tokenheat.models._prefix import cache_layers, output_cache

    device = emb_layer.weight.device
    if kind == "classifier":
        return _classifier_score(model, job, device)
    n = job.n_input
    specs = [spec for _, spec in job.targets]
    # answer prefixes fed after the input (the tokens before a multi-token answer's last)
    tails: dict[tuple[int, ...], list[int]] = {}
    for t, spec in enumerate(specs):
        tails.setdefault(tuple(tok for _, tok in spec[:-1]), []).append(t)
    tail_emb = {
        tail: emb_layer(torch.tensor(list(tail), device=device)).detach() for tail in tails if tail
    }
    inside = [p for spec in specs for p, _ in spec if p < n]
    first = min(inside) if inside else n - 1
    if len(tail_emb) <= 1:  # one forward over the input and the one answer prefix, if any
        return _single_forward(model, specs, n, first, next(iter(tail_emb.values()), None))
    keep = n - first
    extra = {"logits_to_keep": keep} if accepts(model, "logits_to_keep") else {}

    def read(logp_in: Any, logp_tail: Any, spec: list[tuple[int, int]]) -> Any:
        parts = [
            logp_in[:, p - first, tok] if p < n else logp_tail[:, p - n, tok] for p, tok in spec
        ]
        return torch.stack(parts, 0).sum(0)

    def score_shared(emb: Any) -> Any:
        b = emb.shape[0]
        ones = torch.ones((b, n), dtype=torch.long, device=device)
        out = model(inputs_embeds=emb, attention_mask=ones, use_cache=True, **extra)
        logp_in = torch.log_softmax(out.logits[:, -keep:].float(), -1)
        layers = cache_layers(output_cache(out))
        cols: list[Any] = [None] * len(specs)
        for tail, members in tails.items():
            logp_tail = None
            if tail:
                logp_tail = _continue(model, emb, tail_emb[tail], layers, extra)
            for t in members:
                cols[t] = read(logp_in, logp_tail, specs[t])
        return torch.stack(cols, 1)

    return score_shared


def _single_forward(model: Any, specs: list[Any], n: int, first: int, tail: Any) -> Score:
    """Targets read from one forward over the input, then ``tail`` (teacher-forced tokens)."""
    import torch

    from tokenheat.models._batching import accepts

    total = n + (0 if tail is None else tail.shape[0])
    keep = total - first
    extra = {"logits_to_keep": keep} if accepts(model, "logits_to_keep") else {}

    def score_one(emb: Any) -> Any:
        if tail is not None:
            emb = torch.cat([emb, tail[None].expand(emb.shape[0], -1, -1)], 1)
        mask = torch.ones(emb.shape[:2], dtype=torch.long, device=emb.device)
        logits = model(inputs_embeds=emb, attention_mask=mask, **extra).logits[:, -keep:]
        logp = torch.log_softmax(logits.float(), -1)
        cols = [
            torch.stack([logp[:, p - first, tok] for p, tok in spec], 0).sum(0) for spec in specs
        ]
        return torch.stack(cols, 1)

    return score_one


def _continue(model: Any, emb: Any, tail: Any, layers: Any, extra: dict) -> Any:
    """Log-probabilities at the answer-prefix positions ``n, n+1, …`` after ``emb``.

    With a reusable cache the prefix tokens continue the input's keys/values (gradients
    flow through them); otherwise input and prefix run again in full.
    """
    import torch

    from tokenheat.models._prefix import cache_kwargs, make_cache

    b, n = emb.shape[:2]
    m = tail.shape[0]
    tail_b = tail[None].expand(b, -1, -1)
    if layers is not None:
        cache = make_cache(layers)
        pos = torch.arange(n, n + m, device=emb.device)[None].expand(b, -1)
        mask = torch.ones((b, n + m), dtype=torch.long, device=emb.device)
        logits = model(
            inputs_embeds=tail_b,
            attention_mask=mask,
            position_ids=pos,
            **cache_kwargs(model, cache),
        ).logits
    else:
        full = torch.cat([emb, tail_b], 1)
        mask = torch.ones(full.shape[:2], dtype=torch.long, device=emb.device)
        kept = {"logits_to_keep": m} if extra else {}
        logits = model(inputs_embeds=full, attention_mask=mask, **kept).logits[:, -m:]
    return torch.log_softmax(logits.float(), -1)


@contextmanager
def frozen(model: Any) -> Iterator[None]:
    """Parameters stop requiring gradients for the duration (autograd then keeps only what
    input gradients need); their flags are restored afterwards."""
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def run_job(
    model: Any,
    kind: str,
    emb_layer: Any,
    base_vec: Any,
    job: Job,
    method: str,
    steps: int,
    rule: str,
    batch_size: int | None,
    on_batch: Callable[[int], None] | None = None,
) -> JobResult:
    """Attribute every target of ``job`` with ``method``; ``on_batch(k)`` is called after
    each batch of ``k`` integration points (integrated gradients)."""
    import torch

    ids = torch.tensor(job.ids[: job.n_input], device=emb_layer.weight.device)
    x = emb_layer(ids).detach()
    base = base_vec[None].expand_as(x).clone()
    base[job.keep] = x[job.keep]
    score = make_score(model, job, kind, emb_layer)
    n_t = len(job.targets)
    bs = batch_size or max(1, 4096 // max(1, len(job.ids)))
    with frozen(model):
        if method == "integrated_gradients":
            attr, f_x, f_b = integrated_gradients(
                score, x, base, n_t, steps=steps, rule=rule, batch_size=bs, on_batch=on_batch
            )
            return JobResult(attr, f_x, f_b)
        if method == "input_x_gradient":
            attr, f_x = gradient_x_input(score, x, n_t)
        else:
            kept = set(job.keep)
            moved = [i for i in range(job.n_input) if i not in kept]
            attr, f_x = occlusion(score, x, base, n_t, batch_size=bs, positions=moved)
    return JobResult(attr, f_x, np.full(n_t, np.nan))
