"""Measuring a lens against the final layer: token windows, KL(final ‖ layer), the
least-squares start of a tuned lens, and the held-out KL per layer (:func:`lens_kl`).

Shared by training (:mod:`tokenheat.analyses._tuned_lens_train`) and the benchmark.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from tokenheat.analyses._common import check_positive_int
from tokenheat.analyses._tuned_lens import TunedLens
from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

__all__ = ["block_states", "layer_kl", "least_squares_fit", "lens_kl", "token_windows"]


def token_windows(tokenizer: Any, texts: Any, seq_len: int) -> Any:
    """``texts`` tokenized, joined with EOS and cut into ``(n, seq_len)`` int64 windows.

    The tail shorter than a window is dropped.

    Raises
    ------
    ArgumentTypeError
        When ``texts`` is not a string or a sequence of strings.
    ArgumentError
        When there are no texts, or fewer tokens than one window.
    """
    import torch

    items = [texts] if isinstance(texts, str) else texts
    if items is None or not hasattr(items, "__iter__"):
        fail("texts", "a string or a list of strings", texts, kind=ArgumentTypeError)
    items = list(items)
    bad = next((i for i, t in enumerate(items) if not isinstance(t, str)), None)
    if bad is not None:
        fail(f"texts[{bad}]", "a string", items[bad], kind=ArgumentTypeError)
    eos = getattr(tokenizer, "eos_token_id", None)
    ids: list[int] = []
    for text in items:
        ids.extend(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        if isinstance(eos, int):
            ids.append(eos)
    n = len(ids) // seq_len
    if n == 0:
        fail(
            "texts",
            f"at least one window of seq_len={seq_len} tokens",
            given=f"{len(ids)} tokens",
            hint="pass more text (e.g. pydoc_data.topics) or a smaller seq_len",
        )
    return torch.tensor(ids[: n * seq_len], dtype=torch.long).view(n, seq_len)


def layer_kl(adapter: Any, hidden: Any, logp_final: Any, precision: str = "float32") -> Any:
    """KL(final ‖ lens) per row: ``hidden`` (rows, d) through the final norm and unembedding.

    ``logp_final`` holds the final layer's float32 log-probabilities of the same rows.
    """
    import torch

    context: Any = contextlib.nullcontext()
    if precision == "bfloat16":
        context = torch.autocast(hidden.device.type, dtype=torch.bfloat16)
    with context:
        logits = adapter.logits(hidden)
    logq = torch.log_softmax(logits.float(), dim=-1)
    return (logp_final.exp() * (logp_final - logq)).sum(-1)


def _batch(adapter: Any, rows: Any) -> Any:
    import torch

    from tokenheat.models._adapter import Batch

    ids = rows.to(adapter.device)
    mask = torch.ones_like(ids)
    positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    return Batch(list(range(ids.shape[0])), ids, mask, positions, [ids.shape[1]] * ids.shape[0])


def block_states(adapter: Any, rows: Any, layers: list[int]) -> tuple[dict[int, Any], Any]:
    """Block outputs ``{layer: (tokens, d)}`` (plain tensors) and the final log-probs."""
    import torch

    with adapter.capture(layers) as store:
        final = adapter.forward(_batch(adapter, rows))
    with torch.no_grad():
        logits = adapter.logits(final.reshape(-1, final.shape[-1]), normed=True)
        logp_final = torch.log_softmax(logits.float(), dim=-1)
    states = {i: store.pop(i).reshape(-1, final.shape[-1]).clone() for i in layers}
    return states, logp_final


def least_squares_fit(
    adapter: Any, windows: Any, *, batch_size: int, ridge: float = 1e-4, progress: bool = False
) -> list[tuple[Any, Any]]:
    """Per block ``l < n - 1``: ``(A, b)`` with ``(I + A) h_l + b`` the least-squares fit of
    the last block's output scaled to unit RMS (the final norm does not see the scale),
    over every position of ``windows``; the map is then multiplied by the last block's
    mean RMS, which leaves the lens unchanged but keeps its output at the residual
    stream's usual scale.

    The linear shortcut of Din et al. 2023 ("Jump to Conclusions"), used as the start of
    the KL training: the normal equations are accumulated in float64 and solved with a
    ridge of ``ridge`` times the mean diagonal.
    """
    import torch

    from tokenheat.analyses._common import progress_bar

    n_layers = len(adapter.blocks)
    layers = list(range(n_layers))
    gram: dict[int, Any] = {}
    cross: dict[int, Any] = {}
    scale, rows = 0.0, 0
    starts = range(0, windows.shape[0], batch_size)
    bar = progress_bar(
        starts, total=len(starts), desc="tuned lens: least squares", enabled=progress
    )
    for s in bar:
        with adapter.capture(layers) as store:
            adapter.forward(_batch(adapter, windows[s : s + batch_size]))
        with torch.no_grad():
            last = store[n_layers - 1].reshape(-1, store[n_layers - 1].shape[-1]).double()
            rms = last.pow(2).mean(-1, keepdim=True).sqrt()
            target = last / rms.clamp_min(1e-12)
            scale, rows = scale + float(rms.sum()), rows + rms.shape[0]
            for layer in layers[:-1]:
                h = store.pop(layer).reshape(target.shape).double()
                x = torch.cat([h, torch.ones_like(h[:, :1])], dim=1)
                gram[layer] = gram.get(layer, 0) + x.T @ x
                cross[layer] = cross.get(layer, 0) + x.T @ target
    out = []
    for layer in layers[:-1]:
        g = gram[layer]
        g = g + ridge * g.diagonal().mean() * torch.eye(g.shape[0], dtype=g.dtype)
        # (d + 1, d): [M^T; b], scaled back to the last block's mean RMS: the final norm
        # does not see the scale, but the KL steps then move the map as much, relative to
        # its output, as they move the identity
        solution = torch.linalg.solve(g, cross[layer]) * (scale / rows)
        d = solution.shape[1]
        weight = solution[:d].T - torch.eye(d, dtype=solution.dtype)
        out.append((weight.float(), solution[d].float()))
    return out


def lens_kl(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    translator: TunedLens | None = None,
    seq_len: int = 128,
    batch_size: int = 2,
    max_windows: int | None = None,
    device: Any = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean KL(final ‖ block) per block, in nats, over the token windows of ``texts``.

    The logit lens without ``translator``, else the tuned lens; float32 throughout.

    Parameters
    ----------
    model, tokenizer, texts
        As :func:`train_tuned_lens` (held-out texts for an honest number).
    translator : TunedLens, optional
    seq_len, batch_size : int
    max_windows : int, optional
        Read at most this many windows (the first ones).
    device : optional
    progress : bool

    Returns
    -------
    numpy.ndarray
        float64 ``(n_layers,)``; the last block's entry is 0 up to rounding.
    """
    import torch

    from tokenheat.analyses._common import progress_bar
    from tokenheat.models._select import adapter_for

    check_positive_int("seq_len", seq_len, minimum=2)
    check_positive_int("batch_size", batch_size)
    adapter = adapter_for(model, tokenizer)
    if translator is not None:
        translator.check_model(model)
    windows = token_windows(adapter.tokenizer, texts, seq_len)
    if max_windows is not None:
        windows = windows[: check_positive_int("max_windows", max_windows)]
    layers = list(range(adapter.n_layers))
    sums = np.zeros(len(layers))
    count = 0
    starts = range(0, windows.shape[0], batch_size)
    with adapter.placed(device, None), torch.no_grad():
        for s in progress_bar(starts, total=len(starts), desc="lens KL", enabled=progress):
            states, logp_final = block_states(adapter, windows[s : s + batch_size], layers)
            for layer in layers:
                h = states.pop(layer)
                if translator is not None:
                    h = translator.translate(layer, h)
                sums[layer] += float(layer_kl(adapter, h, logp_final).double().sum())
            count += logp_final.shape[0]
    return sums / count
