"""Completeness of the five-example attribution on SmolLM2: the default call against the
earlier default (32 Gauss-Legendre steps, no sink, the first position kept).

    python bench/attribution_convergence.py [--repeats 1]

The five examples of the research figure (``th.datasets.arithmetic_figure()``: ``8 x 48 =
384``, ``3 x 4 = 12``, ``6 - 4 = 2``, ``10 x 5 = 50``, ``$85 - $50 = $35``) are the columns,
the questions' tokens the rows. For each call: the relative completeness error
``|Σ attr − (f(x) − f(baseline))| / |f(x) − f(baseline)|`` per column, the integration
points each column used, and the wall time. The calls are interleaved ``--repeats`` times
and the best time of each is kept; the ratio comes from this one run, printed with the load
average (``os.getloadavg()``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any

CALLS: dict[str, dict[str, Any]] = {
    "earlier default (steps=32, first kept)": {
        "steps": 32, "sink": None, "baseline_keep": ("first", "special"),
    },
    "default (sink kept, steps='auto')": {},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    import tokenheat as th

    torch.set_num_threads(args.threads)
    model, tok = th.models.load_default()
    questions, answers = map(list, zip(*th.datasets.arithmetic_figure(), strict=True))
    best: dict[str, float] = {}
    result: dict[str, Any] = {}
    print(f"load average before: {os.getloadavg()}", flush=True)
    for _ in range(args.repeats):
        for name, kwargs in CALLS.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the errors are printed below
                m = th.attribution(model, tok, questions, answers, progress=False, **kwargs)
            took = time.perf_counter() - start
            best[name] = min(best.get(name, took), took)
            result[name] = m
            print(f"{name}: {took:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    print("\n| call | " + " | ".join(q + a for q, a in zip(questions, answers, strict=True))
          + " | worst | time s |")  # fmt: skip
    print("|---" * (len(questions) + 3) + "|")
    for name, m in result.items():
        cells = [
            f"{c['rel_error']:.1%} ({s})"
            for c, s in zip(m.meta["completeness"], m.meta["steps"], strict=True)
        ]
        worst = max(c["rel_error"] for c in m.meta["completeness"])
        print(f"| {name} | " + " | ".join(cells) + f" | {worst:.1%} | {best[name]:.1f} |")
    names = list(CALLS)
    print(f"\ntime ratio default / earlier default: {best[names[1]] / best[names[0]]:.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
