"""Training a :class:`~tokenheat.analyses._tuned_lens.TunedLens`, with checkpoints and a cache.

The method of Belrose et al. 2023: the texts are tokenized, joined (EOS between texts) and
cut into windows of ``seq_len`` tokens; each step runs the model once on ``batch_size``
windows and, block by block, minimises the mean over positions of
KL(final next-token distribution ‖ translated block's distribution) at the same position.
The model (final norm and unembedding included) is frozen: gradients are taken only with
respect to the translators (``torch.autograd.grad``), so nothing of the model is touched,
not even its ``.grad``. The optimizer is the paper's: SGD with Nesterov momentum 0.9 (its
learning rate scaled by 1 - momentum), weight decay 1e-3, a linear decay to zero and the
gradient norm clipped to 1; ``optimizer="adam"`` is their alternative (with warm-up). As in
the paper, the unembedding matmuls run in bfloat16 autocast during training
(``precision="float32"`` turns it off); the lens is stored and applied in float32.

A step is undone by nothing: its window order depends only on ``seed`` and the step
number, so a run interrupted (Ctrl-C) and resumed from its checkpoint ends with the same
translators as one that never stopped. Ctrl-C during the parameter update is held until
the update is complete, so a checkpoint always holds a whole step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._common import check_flag, check_positive_int
from tokenheat.analyses._tuned_lens import (
    CACHE_FILE,
    CACHE_PREFIX,
    TunedLens,
    model_fingerprint,
    model_shape,
)
from tokenheat.analyses._tuned_lens_fit import (
    block_states,
    layer_kl,
    least_squares_fit,
    token_windows,
)
from tokenheat.core._checks import check_choice, fail
from tokenheat.errors import ArgumentTypeError

__all__ = ["train_tuned_lens"]

CHECKPOINT_FORMAT = "tokenheat.tuned_lens.checkpoint"
#: Part of every cache key and checkpoint: bump it when training changes, so that lenses
#: trained the old way are trained again.
TRAINING_VERSION = 2
MOMENTUM = 0.9
OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("bfloat16", "float32")


def train_tuned_lens(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    steps: int = 30,
    init: Literal["least_squares", "identity"] = "least_squares",
    fit_windows: int = 32,
    seq_len: int = 128,
    batch_size: int = 1,
    lr: float = 1.0,
    optimizer: Literal["sgd", "adam"] = "sgd",
    weight_decay: float = 1e-3,
    precision: Literal["bfloat16", "float32"] = "bfloat16",
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 10,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    device: Any = None,
    progress: bool = True,
) -> TunedLens:
    """Train a tuned lens (Belrose et al. 2023) for ``model`` on ``texts``.

    One affine translator per block, initialised to the identity (so ``steps=0`` returns
    the logit lens exactly), trained to minimise KL(final layer's next-token
    distribution ‖ translated block's) with the model frozen. The last block's translator
    stays the identity.

    Parameters
    ----------
    model : transformers causal LM or transformer_lens.HookedTransformer
        Left exactly as found (mode, device, dtype, ``requires_grad``, ``.grad``, hooks).
    tokenizer : transformers tokenizer, or None for a HookedTransformer's own
    texts : str or sequence of str
        Training text, e.g. ``th.datasets`` texts or Python's ``pydoc_data.topics``; they
        are joined (EOS between texts) and cut into windows of ``seq_len`` tokens.
    steps : int
        Optimizer steps (0: the untrained lens, whatever ``init``). The default trains
        SmolLM2-135M on two CPU cores in minutes (bench/README.md).
    init : {"least_squares", "identity"}
        Where the KL training starts when ``steps > 0``: the paper's identity, or (the
        default, for short CPU runs) the least-squares affine map from each block's
        output to the last block's, normalised, over ``fit_windows`` windows (the linear
        shortcut of Din et al. 2023, "Jump to Conclusions"; it costs forward passes only,
        while a KL step costs a full unembedding and its gradient per block).
    fit_windows : int
        Windows read for the least-squares start (the first ones of a seeded order).
    seq_len, batch_size : int
        Tokens per window and windows per step.
    lr : float
        Learning-rate scale: SGD runs at ``lr * (1 - 0.9)``, Adam at ``lr * 1e-3``.
    optimizer : {"sgd", "adam"}
        SGD with Nesterov momentum (the paper's default) or Adam with a linear warm-up.
    weight_decay : float
        Pulls each translator towards the identity.
    precision : {"bfloat16", "float32"}
        Autocast of the unembedding matmuls during training.
    seed : int
        Order of the windows.
    checkpoint : str or path-like, optional
        A ``.safetensors`` file: written every ``checkpoint_every`` steps and on Ctrl-C,
        read to resume when it exists (it must come from the same model and settings).
        With ``cache=True`` a checkpoint next to the cache entry is used by default.
    checkpoint_every : int
    cache : bool
        Reuse (and store) the lens in the tokenheat cache, keyed by the model's
        fingerprint, the settings and the texts; see :meth:`TunedLens.cached`.
    cache_dir : str or path-like, optional
        See :func:`tokenheat.models.cache_root`.
    device : optional
        Train there; the model is moved back afterwards.
    progress : bool
        Show a progress bar (tqdm.auto) with the mean KL over blocks.

    Returns
    -------
    TunedLens
        Its ``info`` holds the settings, ``steps``, ``train_seconds`` and the mean KL per
        step (``loss``).

    Raises
    ------
    ArgumentError
        For a bad option, texts shorter than one window, or a checkpoint from another
        model or other settings.
    KeyboardInterrupt
        Passed on after the checkpoint (if any) is written; call again to resume.

    Examples
    --------
    >>> from pydoc_data.topics import topics  # doctest: +SKIP
    >>> tuned = th.train_tuned_lens(model, tokenizer, list(topics.values()))  # doctest: +SKIP
    >>> th.lens(model, tokenizer, "The capital of France is", translator=tuned)  # doctest: +SKIP
    """
    from tokenheat.models._cache import MARKER, build_atomically, cache_root
    from tokenheat.models._select import adapter_for

    settings = _check_options(
        steps=steps, init=init, fit_windows=fit_windows, seq_len=seq_len, batch_size=batch_size, lr=lr, optimizer=optimizer,
        weight_decay=weight_decay, precision=precision, seed=seed,
    )  # fmt: skip
    check_positive_int("checkpoint_every", checkpoint_every)
    check_flag("cache", cache)
    check_flag("progress", progress)
    adapter = adapter_for(model, tokenizer)
    if steps == 0:
        return TunedLens.identity(model)
    windows = token_windows(adapter.tokenizer, texts, seq_len)
    if adapter.max_length is not None and seq_len > adapter.max_length:
        fail("seq_len", f"at most the model's context of {adapter.max_length} tokens", seq_len)
    settings["texts"] = hashlib.sha256(windows.numpy().tobytes()).hexdigest()[:16]
    settings["version"] = TRAINING_VERSION
    fingerprint = model_fingerprint(model)
    key = hashlib.sha256(json.dumps([fingerprint, settings], sort_keys=True).encode())
    stem = f"{CACHE_PREFIX}-{fingerprint[:16]}-{key.hexdigest()[:12]}"
    folder = cache_root(cache_dir) / stem
    if cache and (folder / MARKER).is_file() and (folder / CACHE_FILE).is_file():
        return TunedLens.load(folder / CACHE_FILE, model=model)
    if checkpoint is None and cache:
        folder.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = folder.parent / f"{stem}.checkpoint.safetensors"
    info = {"fingerprint": fingerprint, "model": adapter.name, "settings": settings}
    run = _Run(adapter, windows, settings, info, checkpoint, checkpoint_every, progress)
    with adapter.placed(device, None):
        lens = run.train()
    if cache:

        def write(tmp: Path) -> None:
            lens.save(tmp / CACHE_FILE)

        build_atomically(folder, write, marker=lens.info)
        if checkpoint is not None and Path(checkpoint).is_file():
            os.remove(checkpoint)
    return lens


def _check_options(**options: Any) -> dict[str, Any]:
    check_positive_int("steps", options["steps"], minimum=0)
    check_positive_int("seq_len", options["seq_len"], minimum=2)
    check_positive_int("fit_windows", options["fit_windows"])
    check_choice("init", options["init"], ("least_squares", "identity"))
    check_positive_int("batch_size", options["batch_size"])
    check_positive_int("seed", options["seed"], minimum=0)
    for name in ("lr", "weight_decay"):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(name, "a number >= 0", value, kind=ArgumentTypeError)
        if not value >= 0:
            fail(name, "a number >= 0", value)
        options[name] = float(value)
    if options["lr"] == 0:
        fail("lr", "> 0", 0, "the paper's scale is lr=1.0")
    check_choice("optimizer", options["optimizer"], OPTIMIZERS)
    check_choice("precision", options["precision"], PRECISIONS)
    return dict(options)


def window_rows(step: int, batch_size: int, n_windows: int, seed: int) -> list[int]:
    """The windows of ``step``: a fresh seeded permutation per pass over the data."""
    rows = []
    for k in range(step * batch_size, (step + 1) * batch_size):
        epoch, pos = divmod(k, n_windows)
        rows.append(int(np.random.default_rng([seed, epoch]).permutation(n_windows)[pos]))
    return rows


def _train_step(adapter: Any, rows: Any, params: list[Any], precision: str) -> list[float]:
    """Forward once, then per block: the KL and its gradient w.r.t. that translator only."""
    import torch
    from torch.nn import functional

    states, logp_final = block_states(adapter, rows, list(range(len(params))))
    losses = []
    for layer, (weight, bias) in enumerate(params):
        h = states.pop(layer)
        kl = layer_kl(adapter, h + functional.linear(h, weight, bias), logp_final, precision)
        loss = kl.mean()
        weight.grad, bias.grad = torch.autograd.grad(loss, [weight, bias])
        losses.append(float(loss.detach()))
    return losses


# The main-thread guard of core/_atomic.py's _sigterm_raises; another signal, another job.
@contextlib.contextmanager
def _hold_interrupts() -> Iterator[None]:
    """Delay Ctrl-C (SIGINT) until the block is done (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class _Run:
    """One training run: translators, optimizer, checkpoint."""

    def __init__(
        self,
        adapter: Any,
        windows: Any,
        settings: dict[str, Any],
        info: dict[str, Any],
        checkpoint: Any,
        every: int,
        progress: bool,
    ) -> None:
        import torch

        self.adapter, self.windows, self.settings = adapter, windows, settings
        self.info, self.every, self.progress = info, every, progress
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        n_layers, d_model, _ = model_shape(adapter.model)
        self.n_layers, self.d_model = n_layers, d_model
        self.params = [
            (
                torch.nn.Parameter(torch.zeros(d_model, d_model, device=adapter.device)),
                torch.nn.Parameter(torch.zeros(d_model, device=adapter.device)),
            )
            for _ in range(n_layers - 1)  # the last block's translator is the identity
        ]
        flat = [p for pair in self.params for p in pair]
        if settings["optimizer"] == "sgd":
            self.base_lr = settings["lr"] * (1 - MOMENTUM)
            self.opt: Any = torch.optim.SGD(
                flat, lr=self.base_lr, momentum=MOMENTUM, nesterov=True,
                weight_decay=settings["weight_decay"],
            )  # fmt: skip
        else:
            self.base_lr = settings["lr"] * 1e-3
            self.opt = torch.optim.Adam(
                flat, lr=self.base_lr, weight_decay=settings["weight_decay"]
            )
        self.step = 0
        self.losses: list[float] = []
        self.seconds = 0.0

    def lr_at(self, step: int) -> float:
        """Linear decay to zero (Adam: after a linear warm-up over a fifth of the steps)."""
        steps = self.settings["steps"]
        warmup = steps // 5 if self.settings["optimizer"] == "adam" else 0
        if step < warmup:
            return self.base_lr * (step + 1) / warmup
        return self.base_lr * (steps - step) / max(steps - warmup, 1)

    def train(self) -> TunedLens:
        import torch

        self._resume()
        if self.step == 0 and self.settings["init"] == "least_squares":
            self._fit()
        steps, bs = self.settings["steps"], self.settings["batch_size"]
        bar = _bar(self.progress, steps, self.step)
        try:
            while self.step < steps:
                started = time.perf_counter()
                rows = window_rows(self.step, bs, self.windows.shape[0], self.settings["seed"])
                losses = _train_step(
                    self.adapter, self.windows[rows], self.params, self.settings["precision"]
                )
                with _hold_interrupts():
                    for group in self.opt.param_groups:
                        group["lr"] = self.lr_at(self.step)
                    flat = [p for pair in self.params for p in pair]
                    torch.nn.utils.clip_grad_norm_(flat, 1.0)
                    self.opt.step()
                    self.opt.zero_grad(set_to_none=True)
                    self.losses.append(float(np.mean(losses)))
                    self.seconds += time.perf_counter() - started
                    self.step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(kl=f"{self.losses[-1]:.3f}")
                if self.checkpoint is not None and (
                    self.step % self.every == 0 and self.step < steps
                ):
                    self._save_checkpoint()
        except KeyboardInterrupt:
            if self.checkpoint is not None and self.step > 0:
                self._save_checkpoint()
            raise
        finally:
            if bar is not None:
                bar.close()
        return self.lens()

    def _fit(self) -> None:
        """Start from the least-squares shortcut (not checkpointed: it is redone on resume
        only when no step was completed)."""
        import torch

        started = time.perf_counter()
        n = self.windows.shape[0]
        order = np.random.default_rng([self.settings["seed"], n]).permutation(n)
        n_fit, bs = self.settings["fit_windows"], self.settings["batch_size"]
        fit = least_squares_fit(
            self.adapter, self.windows[order[:n_fit].tolist()], batch_size=max(bs, 8),
            progress=self.progress,
        )  # fmt: skip
        # Keep the fit only where it beats the identity on windows it did not see (for the
        # last blocks the logit lens is often closer than any least-squares map).
        check = order[n_fit : n_fit + bs].tolist() or order[:bs].tolist()
        kept = []
        with torch.no_grad():
            states, logp_final = block_states(
                self.adapter, self.windows[check], list(range(len(fit)))
            )
            for layer, ((w, b), (w_fit, b_fit)) in enumerate(zip(self.params, fit, strict=True)):
                h = states.pop(layer)
                fitted = h + torch.nn.functional.linear(h, w_fit, b_fit)
                if (
                    layer_kl(self.adapter, fitted, logp_final).mean()
                    < layer_kl(self.adapter, h, logp_final).mean()
                ):
                    w.copy_(w_fit)
                    b.copy_(b_fit)
                    kept.append(layer)
        self.info["least_squares_layers"] = kept
        self.seconds += time.perf_counter() - started

    def lens(self) -> TunedLens:
        import torch

        with torch.no_grad():
            weight = torch.zeros(self.n_layers, self.d_model, self.d_model)
            bias = torch.zeros(self.n_layers, self.d_model)
            for layer, (w, b) in enumerate(self.params):
                weight[layer], bias[layer] = w.detach().cpu(), b.detach().cpu()
        info = dict(self.info, steps=self.step, train_seconds=round(self.seconds, 3))
        info["loss"] = [round(x, 6) for x in self.losses]
        return TunedLens(weight, bias, info=info)

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Tensors and JSON facts of a checkpoint."""
        lens = self.lens()
        tensors = {"weight": lens.weight, "bias": lens.bias}
        state = self.opt.state_dict()
        scalars: dict[str, Any] = {}
        for index, slots in state["state"].items():
            for name, value in slots.items():
                if hasattr(value, "detach"):
                    tensors[f"opt.{index}.{name}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}.{name}"] = value
        header = {
            "format": CHECKPOINT_FORMAT, "fingerprint": self.info["fingerprint"],
            "settings": self.settings, "step": self.step, "losses": self.losses,
            "seconds": self.seconds, "scalars": scalars,
            "least_squares_layers": self.info.get("least_squares_layers"),
        }  # fmt: skip
        return tensors, header

    def _save_checkpoint(self) -> None:
        from safetensors.torch import save_file

        assert self.checkpoint is not None
        tensors, header = self._state()
        target = self.checkpoint
        fd, tmp = tempfile.mkstemp(prefix=".tl-", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata={"header": json.dumps(header)})
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def _resume(self) -> None:
        """Load the checkpoint when there is one; refuse one from another model or settings."""
        import torch
        from safetensors.torch import load_file

        if self.checkpoint is None or not self.checkpoint.is_file():
            return
        from safetensors import safe_open

        with safe_open(str(self.checkpoint), framework="pt") as f:
            header = json.loads((f.metadata() or {}).get("header", "{}"))
        where = str(self.checkpoint)
        if header.get("format") != CHECKPOINT_FORMAT:
            fail("checkpoint", "a tuned-lens checkpoint", where)
        if header["fingerprint"] != self.info["fingerprint"]:
            fail(
                "checkpoint",
                f"one written for this model (fingerprint {self.info['fingerprint']})",
                given=f"{where!r}, written for fingerprint {header['fingerprint']}",
                hint="pass another checkpoint path or delete it",
            )
        if header["settings"] != self.settings:
            changed = sorted(
                k for k in self.settings if header["settings"].get(k) != self.settings[k]
            )
            fail(
                "checkpoint",
                "one written with the same settings",
                given=f"{where!r}, written with other settings ({', '.join(changed)} differ)",
                hint="pass the same settings to resume, or another checkpoint path",
            )
        tensors = load_file(str(self.checkpoint))
        with torch.no_grad():
            for layer, (w, b) in enumerate(self.params):
                w.copy_(tensors["weight"][layer])
                b.copy_(tensors["bias"][layer])
        state = self.opt.state_dict()
        slots: dict[int, dict[str, Any]] = {}
        for name, value in tensors.items():
            if name.startswith("opt."):
                _, index, slot = name.split(".", 2)
                slots.setdefault(int(index), {})[slot] = value.to(self.adapter.device)
        for name, value in header["scalars"].items():
            index, slot = name.split(".", 1)
            slots.setdefault(int(index), {})[slot] = value
        state["state"] = slots
        self.opt.load_state_dict(state)
        self.step, self.losses = int(header["step"]), list(header["losses"])
        self.seconds = float(header["seconds"])
        if header.get("least_squares_layers") is not None:
            self.info["least_squares_layers"] = header["least_squares_layers"]


# Like engines/_ray.py's _bar, plus a resumed run's first step: engines/ import no analyses.
def _bar(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with transformers
        return None
    return tqdm(total=total, initial=initial, desc="tuned lens", leave=False)
