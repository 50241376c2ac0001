"""Attribution kernels on input embeddings: integrated gradients, gradient × input, occlusion.

Each kernel takes ``score(emb) -> (B, T)``: the scores of ``T`` targets that share one input,
for a batch of ``B`` embedding tensors of shape ``(L, d)``. One forward pass serves all ``T``
targets (one backward pass each), and every integration step of a chunk goes through the
model as one batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Integration rules, named as in captum.
INTEGRATION = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)

Score = Callable[[Any], Any]


def integration_nodes(steps: int, rule: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Points ``alpha`` in [0, 1] and weights of an ``steps``-point rule for ∫₀¹ g(α) dα.

    Same nodes and weights as captum's ``approximation_parameters``.

    Examples
    --------
    >>> a, w = integration_nodes(4)
    >>> float(round(w.sum(), 12))
    1.0
    """
    n = steps
    if rule == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1 + x), 0.5 * w
    if rule == "riemann_trapezoid":
        if n < 2:
            raise ValueError(f"riemann_trapezoid needs steps >= 2, got {n}")
        w = np.full(n, 1.0 / (n - 1))
        w[0] = w[-1] = 0.5 / (n - 1)
        return np.linspace(0.0, 1.0, n), w
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    if rule not in offsets:
        raise ValueError(
            f"integration={rule!r} is not supported; use one of {', '.join(INTEGRATION)}"
        )
    return (np.arange(n) + offsets[rule]) / n, np.full(n, 1.0 / n)


def _grads(score: Score, emb: Any, n_targets: int) -> tuple[Any, list[Any]]:
    """Scores of a batch and the gradient of each target's summed score w.r.t. ``emb``."""
    import torch

    emb = emb.detach().requires_grad_(True)
    with torch.enable_grad():
        out = score(emb)
        grads = [
            torch.autograd.grad(out[:, t].sum(), emb, retain_graph=t < n_targets - 1)[0]
            for t in range(n_targets)
        ]
    return out.detach(), grads


def _scores(score: Score, emb: Any) -> Any:
    import torch

    with torch.no_grad():
        return score(emb).detach()


def integrated_gradients(
    score: Score,
    x: Any,
    baseline: Any,
    n_targets: int,
    *,
    steps: int,
    rule: str = "gausslegendre",
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrated gradients of every target w.r.t. the embeddings ``x`` (L, d).

    Parameters
    ----------
    score : callable
        ``emb (B, L, d) -> (B, T)`` scores.
    x, baseline : torch.Tensor (L, d)
        Input and baseline embeddings.
    n_targets : int
        ``T``.
    steps, rule
        Number of points and integration rule (:func:`integration_nodes`).
    batch_size : int
        Interpolation points per forward pass.

    Returns
    -------
    attributions : (T, L) float64
        Summed over the embedding dimension.
    f_x, f_baseline : (T,) float64
        Scores at the input and at the baseline, for the completeness check.
    """
    import torch

    alphas, weights = integration_nodes(steps, rule)
    delta = (x - baseline).detach()
    total = [torch.zeros_like(x, dtype=torch.float32) for _ in range(n_targets)]
    ends = None
    for lo in range(0, steps, batch_size):
        a = torch.as_tensor(alphas[lo : lo + batch_size], dtype=x.dtype, device=x.device)
        w = torch.as_tensor(weights[lo : lo + batch_size], dtype=torch.float32, device=x.device)
        emb = baseline[None] + a[:, None, None] * delta[None]
        if ends is None:  # f(x) and f(baseline) ride along with the first chunk
            emb = torch.cat([emb, x[None], baseline[None]])
        out, grads = _grads(score, emb, n_targets)
        if ends is None:
            ends = out[-2:]
        for t, g in enumerate(grads):
            total[t] += torch.einsum("b,bld->ld", w, g[: a.numel()].float())
    assert ends is not None
    attr = torch.stack([(delta.float() * g).sum(-1) for g in total])
    ends64 = ends.double().cpu().numpy()
    return attr.double().cpu().numpy(), ends64[0], ends64[1]


def gradient_x_input(score: Score, x: Any, n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """``x · ∇f(x)`` per position (summed over the embedding dimension), and ``f(x)``."""
    import torch

    out, grads = _grads(score, x[None], n_targets)
    attr = torch.stack([(x.float() * g[0].float()).sum(-1) for g in grads])
    return attr.double().cpu().numpy(), out[0].double().cpu().numpy()


def occlusion(
    score: Score, x: Any, baseline: Any, n_targets: int, *, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """``f(x) − f(x with position i replaced by the baseline)`` for every position ``i``.

    All ``L`` occluded inputs go through the model in batches of ``batch_size``.
    """
    import torch

    n = x.shape[0]
    f_x = _scores(score, x[None])[0]
    occluded = []
    for lo in range(0, n, batch_size):
        idx = torch.arange(lo, min(n, lo + batch_size), device=x.device)
        emb = x[None].repeat(idx.numel(), 1, 1)
        emb[torch.arange(idx.numel(), device=x.device), idx] = baseline[idx]
        occluded.append(_scores(score, emb))
    attr = f_x[None] - torch.cat(occluded)  # (L, T)
    return attr.T.double().cpu().numpy(), f_x.double().cpu().numpy()


# ---------------------------------------------------------------- jobs: what to attribute


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
    """Targets that share one input sequence, hence every forward pass."""

    example: int
    ids: list[int]  # input ids, then a teacher-forced answer prefix (multi-token answers)
    n_input: int  # how many leading ids are attributed
    targets: list[tuple[int, Any]] = field(default_factory=list)  # (column, spec)


@dataclass
class JobResult:
    attr: np.ndarray  # (T, n_input)
    f_x: np.ndarray  # (T,)
    f_b: np.ndarray  # (T,), NaN when the method has no baseline score


def model_kind(model: Any) -> str:
    """``"causal"`` or ``"classifier"``; TypeError for anything else."""
    name = type(model).__name__
    if not hasattr(model, "get_input_embeddings"):
        raise TypeError(f"model must be a transformers PreTrainedModel, got {name}")
    if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
        return "causal"
    if "SequenceClassification" in name:
        return "classifier"
    raise TypeError(
        f"attribution needs a causal LM (…ForCausalLM) or a sequence classifier "
        f"(…ForSequenceClassification); got {name}"
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
            raise ValueError(
                f"baseline={baseline!r} needs a {baseline} token, and the tokenizer has none; "
                f"use baseline='zero', {other}, or a token id"
            )
    elif isinstance(baseline, (int, np.integer)) and not isinstance(baseline, bool):
        token = int(baseline)
    else:
        raise ValueError(
            f"baseline={baseline!r} is not supported; use 'zero', 'pad', 'eos' or a token id"
        )
    if not 0 <= token < weight.shape[0]:
        raise ValueError(
            f"baseline token id {token} is outside the vocabulary (0..{weight.shape[0] - 1})"
        )
    return weight[token].detach()


def make_score(model: Any, job: Job, kind: str, emb_layer: Any) -> Score:
    """``emb (B, n_input, d) -> (B, T)`` log-probabilities of the job's targets."""
    import torch

    from tokenheat.models._batching import accepts

    device = emb_layer.weight.device
    tail = None
    if len(job.ids) > job.n_input:
        tail = emb_layer(torch.tensor(job.ids[job.n_input :], device=device)).detach()
    if kind == "classifier":
        classes = [spec for _, spec in job.targets]

        def score_cls(emb: Any) -> Any:
            mask = torch.ones(emb.shape[:2], dtype=torch.long, device=device)
            logits = model(inputs_embeds=emb, attention_mask=mask).logits
            return torch.log_softmax(logits.float(), -1)[:, classes]

        return score_cls

    first = min(p for _, spec in job.targets for p, _ in spec)
    keep = len(job.ids) - first
    extra = {"logits_to_keep": keep} if accepts(model, "logits_to_keep") else {}
    specs = [spec for _, spec in job.targets]

    def score_lm(emb: Any) -> Any:
        if tail is not None:
            emb = torch.cat([emb, tail[None].expand(emb.shape[0], -1, -1)], 1)
        mask = torch.ones(emb.shape[:2], dtype=torch.long, device=device)
        logits = model(inputs_embeds=emb, attention_mask=mask, **extra).logits[:, -keep:]
        logp = torch.log_softmax(logits.float(), -1)
        cols = []
        for spec in specs:
            col = logp[:, spec[0][0] - first, spec[0][1]]
            for p, tok in spec[1:]:
                col = col + logp[:, p - first, tok]
            cols.append(col)
        return torch.stack(cols, 1)

    return score_lm


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
) -> JobResult:
    """Attribute every target of ``job`` with ``method``."""
    import torch

    ids = torch.tensor(job.ids[: job.n_input], device=emb_layer.weight.device)
    x = emb_layer(ids).detach()
    base = base_vec[None].expand_as(x).clone()
    score = make_score(model, job, kind, emb_layer)
    n_t = len(job.targets)
    bs = batch_size or max(1, 4096 // max(1, len(job.ids)))
    if method == "integrated_gradients":
        attr, f_x, f_b = integrated_gradients(
            score, x, base, n_t, steps=steps, rule=rule, batch_size=bs
        )
        return JobResult(attr, f_x, f_b)
    if method == "gradient_x_input":
        attr, f_x = gradient_x_input(score, x, n_t)
    else:
        attr, f_x = occlusion(score, x, base, n_t, batch_size=bs)
    return JobResult(attr, f_x, np.full(n_t, np.nan))


def relative_error(err: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``err / |f(x) − f(baseline)|``, with the denominator floored at 1e-6."""
    return err / np.maximum(np.abs(delta), 1e-6)


def completeness_report(
    attr: list[np.ndarray],
    f_x: np.ndarray,
    f_b: np.ndarray,
    labels: list[str],
    *,
    steps: Any,
    tol: float,
    max_steps: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Completeness errors per column, their meta entries, and the warnings they call for.

    Returns ``(abs_error, rel_error, meta)``; warns naming the columns whose relative error
    exceeds ``tol`` (or, for ``steps="auto"``, that ``max_steps`` was reached first).
    """
    sums = np.array([a.sum() for a in attr])
    err = np.abs(sums - (f_x - f_b))
    rel = relative_error(err, f_x - f_b)
    meta: dict[str, Any] = {
        "completeness": [
            {
                "column": label,
                "f_x": float(f_x[c]),
                "f_baseline": float(f_b[c]),
                "sum_attributions": float(sums[c]),
                "abs_error": float(err[c]),
                "rel_error": float(rel[c]),
            }
            for c, label in enumerate(labels)
        ]
    }
    bad = [label for c, label in enumerate(labels) if rel[c] > tol]
    if steps == "auto":
        meta["auto_steps"] = {"tol": tol, "max_steps": int(max_steps), "reached_tol": not bad}
        if bad:
            warnings.warn(
                f"steps='auto' stopped at max_steps={max_steps} before the relative completeness "
                f"error fell below tol={tol:g} for columns {bad}; raise max_steps",
                stacklevel=3,
            )
    elif bad:
        warnings.warn(
            f"integrated gradients: relative completeness error above {tol:.0%} for columns "
            f"{bad} (worst {float(np.max(rel)):.1%}) with steps={steps}; use more steps or "
            "steps='auto'",
            stacklevel=3,
        )
    return err, rel, meta
