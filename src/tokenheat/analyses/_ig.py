"""Attribution kernels on input embeddings: integrated gradients, gradient × input, occlusion.

Each kernel takes ``score(emb) -> (B, T)``: the scores of ``T`` targets that share one input,
for a batch of ``B`` embedding tensors of shape ``(L, d)``. One forward pass serves all ``T``
targets (one backward pass each), and every integration step of a chunk goes through the
model as one batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tokenheat.core._checks import check_choice, fail
from tokenheat.errors import CompletenessWarning

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
            fail("steps", "an int >= 2 with integration='riemann_trapezoid'", n)
        w = np.full(n, 1.0 / (n - 1))
        w[0] = w[-1] = 0.5 / (n - 1)
        return np.linspace(0.0, 1.0, n), w
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    check_choice("integration", rule, INTEGRATION)
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
    on_batch: Callable[[int], None] | None = None,
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
    on_batch : callable, optional
        Called with the number of points after each batch (a progress bar's ``update``).

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
    for lo in range(0, steps, batch_size):
        a = torch.as_tensor(alphas[lo : lo + batch_size], dtype=x.dtype, device=x.device)
        w = torch.as_tensor(weights[lo : lo + batch_size], dtype=torch.float32, device=x.device)
        emb = baseline[None] + a[:, None, None] * delta[None]
        _, grads = _grads(score, emb, n_targets)
        for t, g in enumerate(grads):
            total[t] += torch.einsum("b,bld->ld", w, g.float())
        if on_batch is not None:
            on_batch(len(w))
    # f(x) and f(baseline) for the completeness check: one forward without autograd (riding
    # along in a gradient batch would cost their share of every backward pass too)
    ends = _scores(score, torch.stack([x, baseline]))
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
    score: Score,
    x: Any,
    baseline: Any,
    n_targets: int,
    *,
    batch_size: int = 32,
    positions: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``f(x) − f(x with position i replaced by the baseline)`` for every position ``i``.

    All occluded inputs go through the model in batches of ``batch_size``. Only
    ``positions`` (default all) are occluded; the others get 0.
    """
    import torch

    n = x.shape[0]
    todo = list(range(n)) if positions is None else list(positions)
    f_x = _scores(score, x[None])[0]
    attr = torch.zeros((n, n_targets), dtype=f_x.dtype, device=f_x.device)
    for lo in range(0, len(todo), batch_size):
        idx = torch.tensor(todo[lo : lo + batch_size], dtype=torch.long, device=x.device)
        emb = x[None].repeat(idx.numel(), 1, 1)
        emb[torch.arange(idx.numel(), device=x.device), idx] = baseline[idx]
        attr[idx] = f_x[None] - _scores(score, emb)
    return attr.T.double().cpu().numpy(), f_x.double().cpu().numpy()


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
    drawn: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Completeness errors per column, their meta entries, and the warnings they call for.

    Returns ``(abs_error, rel_error, meta)``; warns (:class:`~tokenheat.errors.
    CompletenessWarning`) naming the columns whose relative error exceeds ``tol`` (or, for
    ``steps="auto"``, that ``max_steps`` was reached first). ``labels`` are the column
    names as drawn (``"␣19"``, not ``"Ġ19"``).
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
    bad = [label for c, label in enumerate(drawn or labels) if rel[c] > tol]
    if steps == "auto":
        meta["auto_steps"] = {"tol": tol, "max_steps": int(max_steps), "reached_tol": not bad}
        if bad:
            warnings.warn(
                f"steps='auto' stopped at max_steps={max_steps} before the relative completeness "
                f"error fell below tol={tol:g} for columns {bad} (worst "
                f"{float(np.max(rel)):.1%}); raise max_steps",
                CompletenessWarning,
                stacklevel=4,
            )
    elif bad:
        warnings.warn(
            f"integrated gradients: relative completeness error above {tol:.0%} for columns "
            f"{bad} (worst {float(np.max(rel)):.1%}) with steps={steps}; use more steps or "
            "steps='auto'",
            CompletenessWarning,
            stacklevel=4,
        )
    return err, rel, meta
