"""The logit lens by hand, the reference of the lens and tuned-lens tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tokenheat.models import ModelAdapter


def reference_logits(
    model: Any,
    tokenizer: Any,
    text: str,
    translate: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Per-layer logits (n_layers + 1, T, V) float64: HF hidden states, ``translate(layer, h)``
    when given (a tuned lens), the final norm and lm_head; the last row is the model's own
    logits. HF's last hidden state is already normed, so the last layer's row is lm_head of it
    as it stands."""
    adapter = ModelAdapter(model, tokenizer)
    ids = torch.tensor([tokenizer(text).input_ids])
    unembed = model.get_output_embeddings()
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
        hs = out.hidden_states
        n = len(hs) - 1
        rows = []
        for layer in range(n - 1):
            h = hs[layer + 1] if translate is None else translate(layer, hs[layer + 1])
            rows.append(unembed(adapter.final_norm(h)))
        rows.append(unembed(hs[n]))
        rows.append(out.logits)
    return torch.cat(rows).double().numpy()
