"""Hand-written references for the attribution tests: captum's integrated gradients on the
summed log-probability of an answer, and the baseline and sink tokenheat uses by default."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def token_ids(tok: Any, text: str) -> list[int]:
    return list(tok(text)["input_ids"])


def lm_logprob(model: Any, answer: list[int]) -> Any:
    """emb (B, L, d) -> summed log-prob of ``answer`` teacher-forced after the input."""
    tail = model.get_input_embeddings()(torch.tensor(answer[:-1], dtype=torch.long))

    def f(emb: Any) -> Any:
        full = torch.cat([emb, tail[None].expand(emb.shape[0], -1, -1)], 1)
        logp = torch.log_softmax(model(inputs_embeds=full).logits.float(), -1)
        n = emb.shape[1]
        return sum(logp[:, n - 1 + j, t] for j, t in enumerate(answer))

    return f


def captum_ig(f: Any, emb: Any, base: Any, steps: int, method: str = "gausslegendre") -> np.ndarray:
    from captum.attr import IntegratedGradients

    attr = IntegratedGradients(f).attribute(
        emb[None], baselines=base[None], n_steps=steps, method=method
    )
    return attr.sum(-1)[0].detach().double().numpy()


def embed(model: Any, ids: list[int]) -> Any:
    return model.get_input_embeddings()(torch.tensor(ids)).detach()


def with_sink(tokenizer: Any, ids: list[int]) -> list[int]:
    """``ids`` as tokenheat runs them by default: ``<|endoftext|>`` prepended as the sink when
    the input does not start with a special token (the tiny tokenizer adds no BOS)."""
    if ids[0] in set(tokenizer.all_special_ids):
        return ids
    return [tokenizer.get_vocab()["<|endoftext|>"], *ids]


def kept_baseline(emb: Any, ids: list[int], tokenizer: Any) -> Any:
    """The baseline tokenheat uses by default (``baseline_keep=("sink", "special")``) for
    ``ids`` that already hold the sink: zeros, but special tokens (the sink among them) keep
    their own embeddings."""
    base = torch.zeros_like(emb)
    keep = [i for i, t in enumerate(ids) if t in set(tokenizer.all_special_ids)]
    base[keep] = emb[keep]
    return base


def assert_rel_close(got: np.ndarray, want: np.ndarray, rel: float) -> None:
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= rel * scale, (got, want)
