"""Running attribution jobs: the options of one call, its progress bar, and the loop that
doubles the integration points of ``steps="auto"`` per column until it is complete enough."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tokenheat.analyses._attr_jobs import Job, run_job
from tokenheat.analyses._ig import relative_error

#: Integration points of the first round of ``steps="auto"`` (and the least ``max_steps``).
AUTO_START = 32


@dataclasses.dataclass(frozen=True)
class RunOptions:
    method: str
    steps: int | str
    integration: str
    batch_size: int | None
    tol: float
    max_steps: int

    @property
    def first_steps(self) -> int:
        return AUTO_START if self.steps == "auto" else int(self.steps)


class _NoBar:
    total = 0

    def update(self, n: int = 1) -> None:
        pass

    def refresh(self) -> None:
        pass


@contextmanager
def progress_bar(jobs: list[Job], options: RunOptions, enabled: bool) -> Iterator[Any]:
    """A ``tqdm.auto`` bar over integration points (integrated gradients: grows when
    ``steps="auto"`` doubles) or over inputs (other methods)."""
    ig = options.method == "integrated_gradients"
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm comes with transformers; a bar is a nicety
        enabled = False
    if not enabled:
        yield _NoBar()
        return
    total = options.first_steps * len(jobs) if ig else len(jobs)
    unit = "point" if ig else "input"
    with tqdm(total=total, desc="attribution", unit=unit, leave=False) as bar:
        yield bar


Found = dict[int, tuple[np.ndarray, float, float, int]]


def attribute(
    model: Any, kind: str, emb_layer: Any, base_vec: Any, jobs: list[Job], o: RunOptions, bar: Any
) -> Found:
    """``{column: (attributions of the input's own tokens, f(x), f(baseline), steps)}``."""
    found: Found = {}
    for job in jobs:
        if o.method != "integrated_gradients":
            res = run_job(
                model, kind, emb_layer, base_vec, job, o.method, 0, o.integration, o.batch_size
            )
            bar.update(1)
            for t, (c, _) in enumerate(job.targets):
                found[c] = (res.attr[t, job.n_sink :], res.f_x[t], res.f_b[t], 0)
            continue
        found.update(_converge(model, kind, emb_layer, base_vec, job, o, bar))
    return found


def _converge(
    model: Any, kind: str, emb_layer: Any, base_vec: Any, job: Job, o: RunOptions, bar: Any
) -> Found:
    """Integrated gradients of one job; with ``steps="auto"`` the targets still above
    ``tol`` run again with twice the points until they pass or reach ``max_steps``."""
    found: Found = {}
    n, pending = o.first_steps, list(job.targets)
    while pending:
        sub = dataclasses.replace(job, targets=pending)
        res = run_job(
            model, kind, emb_layer, base_vec, sub, o.method, n, o.integration, o.batch_size,
            on_batch=bar.update,
        )  # fmt: skip
        delta = res.f_x - res.f_b
        rel = relative_error(np.abs(res.attr.sum(1) - delta), delta)
        final = o.steps != "auto" or n >= o.max_steps
        for t, (c, _) in enumerate(pending):
            if final or rel[t] < o.tol:
                found[c] = (res.attr[t, job.n_sink :], res.f_x[t], res.f_b[t], n)
        pending = [p for p in pending if p[0] not in found]
        if pending:
            n = min(2 * n, o.max_steps)
            bar.total += n
            bar.refresh()
    return found


def by_column(
    found: Found, n_cols: int
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    attr = [found[c][0] for c in range(n_cols)]
    f_x = np.array([found[c][1] for c in range(n_cols)], np.float64)
    f_b = np.array([found[c][2] for c in range(n_cols)], np.float64)
    used = np.array([found[c][3] for c in range(n_cols)], np.int64)
    return attr, f_x, f_b, used
