"""Hidden states served from a TransformerLens ``ActivationCache`` instead of a forward pass.

``th.lens`` and ``th.anchor_similarity`` read residual states through an adapter's
``capture()`` + ``forward()``; :class:`CacheAdapter` answers both from the cache a user
already holds (``model.run_with_cache(...)``), and everything else — the final norm, the
unembedding, the tokenizer — from the model the cache came from (``cache.model``, or the
one given). Residual states are read at ``blocks.{i}.hook_resid_post`` and, for ``"emb"``,
``blocks.0.hook_resid_pre``: the names a ``HookedTransformer`` and a ``TransformerBridge``
(TransformerLens 3 and 4) both use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from tokenheat.core._checks import error, fail
from tokenheat.models._adapter import Batch, ModelAdapter
from tokenheat.models._text import EncodedText

__all__ = ["CacheAdapter", "is_activation_cache"]


def is_activation_cache(obj: Any) -> bool:
    """Whether ``obj`` is a ``transformer_lens.ActivationCache``."""
    return any(
        c.__name__ == "ActivationCache" and c.__module__.startswith("transformer_lens")
        for c in type(obj).__mro__
    )


def _hook(key: int | str) -> str:
    return "blocks.0.hook_resid_pre" if key == "emb" else f"blocks.{key}.hook_resid_post"


class CacheAdapter(ModelAdapter):
    """A :class:`ModelAdapter` whose hidden states come from an ``ActivationCache``.

    Built by ``tokenheat.models.from_cache``; pass it (or the cache itself) as the model of
    :func:`tokenheat.lens` or :func:`tokenheat.anchor_similarity`. The prompts given to
    the analysis must be the ones the cache was computed on, in the same order: the texts
    (tokenized as TransformerLens does, by the model's tokenizer) or the token ids
    themselves (``model.to_tokens(...)``).
    """

    def __init__(self, cache: Any, inner: ModelAdapter, padding_side: str) -> None:
        self.cache = cache
        self.inner = inner
        self.model, self.tokenizer, self.config = inner.model, inner.tokenizer, inner.config
        self.family, self.base = inner.family, inner.base
        self.blocks, self.final_norm = inner.blocks, inner.final_norm
        self.padding_side = padding_side
        self._store: dict[int | str, torch.Tensor] | None = None
        self._keys: list[int | str] = []

    unembedding = property(lambda self: self.inner.unembedding)
    vocab_size = property(lambda self: self.inner.vocab_size)
    input_embeddings = property(lambda self: self.inner.input_embeddings)
    max_length = property(lambda self: None)  # the cache's length is what it is
    name = property(lambda self: self.inner.name)

    def logits(self, hidden: torch.Tensor, *, normed: bool = False) -> torch.Tensor:
        """The model's logit lens (final norm unless ``normed``, unembedding, soft cap)."""
        return self.inner.logits(hidden, normed=normed)

    @contextlib.contextmanager
    def placed(self, device: Any = None, dtype: Any = None) -> Iterator[ModelAdapter]:
        """The model placed as asked (and put back after); cached states follow it."""
        with self.inner.placed(device, dtype):
            yield self

    def _tensor(self, key: int | str) -> torch.Tensor:
        name = _hook(key)
        try:
            value = self.cache[name]
        except KeyError:
            raise error(
                "the ActivationCache",
                f"a cache holding {name!r}",
                given="one without it",
                hint="run the model with that hook cached (run_with_cache without a "
                "names_filter, or one that keeps 'hook_resid_post' and "
                "'blocks.0.hook_resid_pre')",
            ) from None
        return value if getattr(self.cache, "has_batch_dim", True) else value[None]

    def encode(self, prompts: Any, **kwargs: Any) -> list[EncodedText]:
        """The prompts the cache was computed on: texts, or token ids (``(B, T)`` or ``(T,)``).

        Raises
        ------
        ArgumentError
            If the number of prompts or their token counts do not fit the cache.
        """
        if hasattr(prompts, "shape") or (
            isinstance(prompts, list) and prompts and isinstance(prompts[0], int)
        ):
            rows = torch.as_tensor(prompts).reshape(-1, torch.as_tensor(prompts).shape[-1])
            encoded = [self._from_ids([int(t) for t in row]) for row in rows]
        else:
            encoded = self.inner.encode(prompts, **kwargs)
        cached = self._tensor(self.n_layers - 1)
        n, width = int(cached.shape[0]), int(cached.shape[1])
        if len(encoded) != n:
            fail(
                "prompts",
                f"the {n} prompt(s) the ActivationCache was computed on, in the same order",
                given=f"{len(encoded)} prompt(s)",
            )
        for i, e in enumerate(encoded):
            if len(e) > width or (n == 1 and len(e) != width):
                fail(
                    f"prompts[{i}]",
                    f"the tokens the ActivationCache was computed on ({width} positions)",
                    given=f"{len(e)} tokens here",
                    hint="pass the token ids it was computed on (prompts=model.to_tokens(text)) "
                    "so both agree",
                )
        return encoded

    def _from_ids(self, ids: list[int]) -> EncodedText:
        tokens = [str(t) for t in self.tokenizer.convert_ids_to_tokens(ids)]
        return EncodedText(ids, tokens, str(self.tokenizer.decode(ids)), None)

    @contextlib.contextmanager
    def capture(
        self, layers: Sequence[int] | None = None, *, embeddings: bool = False
    ) -> Iterator[dict[int | str, torch.Tensor]]:
        """A dict that :meth:`forward` fills with the cached states of ``layers`` (and ``"emb"``)."""
        store: dict[int | str, torch.Tensor] = {}
        keys: list[int | str] = ["emb"] if embeddings else []
        keys += list(range(self.n_layers) if layers is None else layers)
        self._store, self._keys = store, keys
        try:
            yield store
        finally:
            self._store = None

    def _rows(self, key: int | str, batch: Batch) -> torch.Tensor:
        """The cached ``(B, T, d)`` states of the batch's prompts, left-padded like ``batch``."""
        cached = self._tensor(key)
        weight = next(self.model.parameters())
        width, n_cache = batch.input_ids.shape[1], int(cached.shape[1])
        shape = (len(batch.index), width, cached.shape[-1])
        out = torch.zeros(shape, dtype=weight.dtype, device=cached.device)  # where the cache is
        for b, (i, n) in enumerate(zip(batch.index, batch.lengths, strict=True)):
            start = n_cache - n if self.padding_side == "left" else 0
            out[b, width - n :] = cached[i, start : start + n]
        return out.to(weight.device)  # one copy to the model's device, if it is elsewhere

    def forward(self, batch: Batch) -> torch.Tensor:
        """Fill the capture dict from the cache; return the final, normed last block output."""
        if self._store is not None:
            for key in self._keys:
                self._store[key] = self._rows(key, batch)
        with torch.inference_mode():
            return self.final_norm(self._rows(self.n_layers - 1, batch))
