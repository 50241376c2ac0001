"""Integrated gradients on SmolLM2: tokenheat against captum's IntegratedGradients.

    python bench/attribution_bench.py [--steps 32] [--repeats 2] [--smoke]

Input: the demo's arithmetic question (few-shot, about 40 tokens). Three target sets:

- ``1 target``: the answer (" 19", three tokens for SmolLM2: " ", "1", "9");
- ``3 targets``: the demo's answers (" 19", " 20", " 18");
- ``4 single-token``: the model's four most likely next tokens.

captum gets one ``IntegratedGradients.attribute`` call per target (Gauss-Legendre, all
steps in one batch, the same embeddings and the same baseline as tokenheat's default: zeros,
but the first position and special tokens at their own embeddings, ``baseline_keep``), with
the teacher-forced answer
log-probability computed two ways: ``captum (full logits)`` calls the model as is (logits
at every position, as a user would write it), ``captum (target logits)`` passes
``logits_to_keep`` so only the answer positions get logits. tokenheat runs
``th.attribution(model, tok, prompt, targets, steps=...)``. Results are compared (largest
difference relative to the largest attribution, per column); ``completeness`` is tokenheat's
worst relative completeness error ``|Σ attr − (f(x) − f(baseline))| / |f(x) − f(baseline)|``. Timings are the best of
``--repeats`` interleaved rounds; ratios come from the same run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections import defaultdict
from typing import Any

import _common
import _model_common as mc
import numpy as np


def answer_ids(tok: Any, target: str) -> list[int]:
    vocab = tok.get_vocab()
    return (
        [vocab[target]]
        if target in vocab
        else list(tok(target, add_special_tokens=False)["input_ids"])
    )


def logprob_fn(model: Any, answer: list[int], keep_only: bool) -> Any:
    """``emb (B, n, d) -> (B,)``: summed log-prob of ``answer`` teacher-forced after the input."""
    import torch

    tail = model.get_input_embeddings()(torch.tensor(answer[:-1], dtype=torch.long)).detach()
    extra = {"logits_to_keep": len(answer)} if keep_only else {}

    def f(emb: Any) -> Any:
        full = torch.cat([emb, tail[None].expand(emb.shape[0], -1, -1)], 1)
        logits = model(inputs_embeds=full, **extra).logits[:, -len(answer) :]
        logp = torch.log_softmax(logits.float(), -1)
        return sum(logp[:, j, t] for j, t in enumerate(answer))

    return f


def kept_baseline(b: mc.Bench, prompt_ids: list[int], emb: Any) -> Any:
    """tokenheat's default baseline: zeros, the first position and special tokens kept."""
    import torch

    base = torch.zeros_like(emb)
    specials = set(b.tokenizer.all_special_ids)
    keep = [0] + [i for i, t in enumerate(prompt_ids) if t in specials]
    base[keep] = emb[keep]
    return base


def captum_ig(
    b: mc.Bench, prompt_ids: list[int], targets: list[str], steps: int, keep_only: bool
) -> np.ndarray:
    import torch
    from captum.attr import IntegratedGradients

    emb = b.model.get_input_embeddings()(torch.tensor(prompt_ids)).detach()
    base = kept_baseline(b, prompt_ids, emb)
    cols = []
    for target in targets:
        ig = IntegratedGradients(logprob_fn(b.model, answer_ids(b.tokenizer, target), keep_only))
        attr = ig.attribute(emb[None], baselines=base[None], n_steps=steps)
        cols.append(attr.sum(-1)[0].detach().double().numpy())
    return np.stack(cols, 1)


COMPLETENESS: dict[str, float] = {}  # tokenheat's worst relative completeness error, per set
HEADERS = ["targets", "reference", "reference s", "tokenheat s", "speed-up", "completeness"]
HEADERS += ["max rel. diff"]  # last: tests/unit/test_bench_flip_smoke.py reads it


def tokenheat_ig(b: mc.Bench, prompt: str, targets: list[str], steps: int) -> np.ndarray:
    import tokenheat as th

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported in the table instead
        # the baseline the captum side builds: no sink, first position and specials kept
        m = th.attribution(
            b.model, b.tokenizer, prompt, targets, steps=steps, progress=False,
            baseline_keep=("first", "special"),
        )  # fmt: skip
    COMPLETENESS[",".join(targets)] = max(c["rel_error"] for c in m.meta["completeness"])
    return m.values.astype(np.float64)


def top_tokens(b: mc.Bench, prompt_ids: list[int], k: int) -> list[str]:
    import torch

    with torch.inference_mode():
        logits = b.model(input_ids=torch.tensor([prompt_ids])).logits[0, -1]
    return [str(t) for t in b.tokenizer.convert_ids_to_tokens(logits.topk(k).indices.tolist())]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32, help="integration steps")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds (best kept)")
    parser.add_argument("--smoke", action="store_true", help="tiny random model, 4 steps")
    args = parser.parse_args(argv)
    import tokenheat as th

    mc.set_threads()
    steps, repeats = (4, 1) if args.smoke else (args.steps, args.repeats)
    b = mc.load(args.smoke)
    question = th.datasets.arithmetic(shots=2).iloc[0]
    prompt, answer = str(question["input"]), int(question["answer"])
    prompt_ids = list(b.tokenizer(prompt)["input_ids"])
    scenarios = {
        "1 target": [f" {answer}"],
        "3 targets": [f" {answer}", f" {answer + 1}", f" {answer - 1}"],
        "4 single-token": top_tokens(b, prompt_ids, 4),
    }
    print(_common.machine_info({"model": b.name, "torch threads": str(mc.THREADS)}))
    print(
        f"# prompt: {len(prompt_ids)} tokens, {steps} steps (Gauss-Legendre), zero baseline "
        "with the first position and special tokens kept (tokenheat's default)"
    )
    for name, targets in scenarios.items():
        print(f"# {name}: {targets} -> tokens {[len(answer_ids(b.tokenizer, t)) for t in targets]}")
    # warm-up (first backward passes, allocator), so the first timed call is not the cold one
    tokenheat_ig(b, prompt, scenarios["1 target"], 2)
    captum_ig(b, prompt_ids, scenarios["1 target"], 2, True)
    best: dict[tuple[str, str], float] = defaultdict(lambda: float("inf"))
    values: dict[tuple[str, str], np.ndarray] = {}
    for _ in range(repeats):
        for name, targets in scenarios.items():
            for variant, fn in [
                ("tokenheat", lambda t=targets: tokenheat_ig(b, prompt, t, steps)),
                (
                    "captum (target logits)",
                    lambda t=targets: captum_ig(b, prompt_ids, t, steps, True),
                ),
                (
                    "captum (full logits)",
                    lambda t=targets: captum_ig(b, prompt_ids, t, steps, False),
                ),
            ]:
                seconds, out = _common.timed(fn)
                best[name, variant] = min(best[name, variant], seconds)
                values[name, variant] = out
    rows = []
    for name in scenarios:
        ours = values[name, "tokenheat"]
        for ref in ("captum (full logits)", "captum (target logits)"):
            want = values[name, ref]
            err = np.max(np.abs(ours - want), 0) / np.max(np.abs(want), 0)
            rows.append([
                name, ref, best[name, ref], best[name, "tokenheat"],
                _common.ratio(best[name, ref], best[name, "tokenheat"]),
                f"{COMPLETENESS[','.join(scenarios[name])]:.1%}", f"{float(err.max()):.1e}",
            ])  # fmt: skip
    print()
    print(
        _common.table(
            HEADERS,
            rows,
        )
    )
    print(f"# load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
