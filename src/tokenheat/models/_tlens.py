"""TransformerLens support: a ``HookedTransformer`` seen through tokenheat's model interfaces.

Two views, both built on the model's own modules (nothing is copied or converted):

- :class:`TLensAdapter` — the :class:`~tokenheat.models.ModelAdapter` interface used by
  ``lens`` and ``anchor_similarity``: blocks, final norm, unembedding, residual-stream
  capture, left-padded batches (TransformerLens derives positions from the attention mask).
- :class:`HookedTransformerForCausalLM` — the slice of the Hugging Face causal-LM protocol
  that ``attribution`` uses (input embeddings, a forward from ``inputs_embeds`` to logits,
  ``config``), so the attribution code runs unchanged on a HookedTransformer.

``transformer_lens`` itself is never imported here: a model is recognised by its class, so
importing tokenheat stays cheap and works with TransformerLens 2.x and 3.x (4.0 removed
``HookedTransformer``; its ``TransformerBridge``, in 3.x and 4.x, is read through the Hugging
Face model it wraps: see ``_wrapped.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tokenheat.core._checks import check_given, fail
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._adapter import Batch, ModelAdapter
from tokenheat.models._batching import placed_model

__all__ = [
    "HookedTransformerForCausalLM",
    "TLensAdapter",
    "TLensOutput",
    "as_causal_lm",
    "is_hooked_transformer",
    "resolve_tokenizer",
]


def _is_tl_class(model: Any, name: str) -> bool:
    return any(
        c.__name__ == name and c.__module__.startswith("transformer_lens")
        for c in type(model).__mro__
    )


def is_hooked_transformer(model: Any) -> bool:
    """Whether ``model`` is a ``transformer_lens.HookedTransformer`` (or a subclass)."""
    return _is_tl_class(model, "HookedTransformer")


def resolve_tokenizer(model: Any, tokenizer: Any) -> Any:
    """``tokenizer`` if given, else the HookedTransformer's own ``model.tokenizer``.

    Raises
    ------
    tokenheat.errors.ArgumentTypeError
        If neither is there (a ``TypeError``).
    """
    if tokenizer is not None:
        return tokenizer
    own = getattr(model, "tokenizer", None)
    if own is None:
        check_given(
            "tokenizer",
            tokenizer,
            "a tokenizer when the HookedTransformer has none (model.tokenizer is None)",
            "pass the Hugging Face tokenizer its weights go with as tokenizer=",
        )
    return own


def _final_norm(model: Any) -> nn.Module:
    if getattr(model.cfg, "normalization_type", None) is None or not hasattr(model, "ln_final"):
        return nn.Identity()
    return model.ln_final


def _softcap(model: Any, logits: torch.Tensor) -> torch.Tensor:
    cap = getattr(model.cfg, "output_logits_soft_cap", None)
    if cap is not None and cap > 0:
        return torch.tanh(logits / cap) * cap
    return logits


def _final_hidden(
    model: Any, tokens: Any, attention_mask: Any = None, embeds: Any = None
) -> torch.Tensor:
    """The normed final residual (B, T, d) of ``tokens`` (B, T) under a (B, T) mask (left
    padding: positions count from the first real token); ``embeds`` (B, T, d), if given,
    replace the output of ``hook_embed`` (the model still adds positional embeddings)."""
    handle = None
    if embeds is not None:
        handle = model.hook_embed.register_forward_hook(lambda module, args, out: embeds)
    if attention_mask is None:  # never None: TransformerLens would guess one from pad ids
        attention_mask = torch.ones(tokens.shape, dtype=torch.long, device=tokens.device)
    try:
        resid = model(tokens, attention_mask=attention_mask, stop_at_layer=model.cfg.n_layers)
    finally:
        if handle is not None:
            handle.remove()
    return _final_norm(model)(resid)


# Parameter docs like as_causal_lm's on purpose: each public entry point documents itself.
class TLensAdapter(ModelAdapter):
    """:class:`~tokenheat.models.ModelAdapter` for a ``transformer_lens.HookedTransformer``.

    Blocks are ``model.blocks``, the final norm ``model.ln_final``, the unembedding
    ``model.unembed`` (``W_U``, ``b_U``), the context ``model.cfg.n_ctx``. Residual states
    are read at ``blocks.{i}.hook_resid_post`` (and ``blocks.0.hook_resid_pre`` for
    ``"emb"``), i.e. after whatever weight processing the model was loaded with: the logit
    lens does not depend on ``fold_ln``/``center_writing_weights``/``center_unembed``, but
    raw hidden states (anchor similarity) do, so load with those off to compare with the
    Hugging Face model.

    Parameters
    ----------
    model : transformer_lens.HookedTransformer
    tokenizer : transformers tokenizer, optional
        Default: ``model.tokenizer``.

    Raises
    ------
    TypeError
        If ``model`` is not a HookedTransformer, or there is no tokenizer.
    """

    def __init__(self, model: Any, tokenizer: Any = None) -> None:
        if not is_hooked_transformer(model):
            fail("model", "a transformer_lens.HookedTransformer", model, kind=ArgumentTypeError)
        self.model = model
        self.tokenizer = resolve_tokenizer(model, tokenizer)
        self.config = model.cfg
        self.family = "transformer_lens"
        self.base = model
        self.blocks = model.blocks
        self.final_norm = _final_norm(model)

    @property
    def unembedding(self) -> nn.Module:
        """``model.unembed`` (``x @ W_U + b_U``)."""
        return self.model.unembed

    @property
    def vocab_size(self) -> int:
        """Number of output logits (``cfg.d_vocab_out``)."""
        return int(self.model.unembed.W_U.shape[-1])

    @property
    def input_embeddings(self) -> nn.Module:
        """``model.embed`` (the token embedding ``W_E``)."""
        return self.model.embed

    @property
    def max_length(self) -> int | None:
        """The context size ``cfg.n_ctx``."""
        value = getattr(self.config, "n_ctx", None)
        return value if isinstance(value, int) and value > 0 else None

    @property
    def name(self) -> str:
        """``cfg.model_name``."""
        return str(getattr(self.config, "model_name", "") or type(self.model).__name__)

    def logits(self, hidden: torch.Tensor, *, normed: bool = False) -> torch.Tensor:
        """Logit lens: ``ln_final`` (unless ``normed``), ``unembed``, the output soft cap."""
        h = hidden if normed else self.final_norm(hidden)
        return _softcap(self.model, self.model.unembed(h))

    @contextlib.contextmanager
    def placed(self, device: Any = None, dtype: Any = None) -> Iterator[ModelAdapter]:
        """Move to ``device``/``dtype`` (keeping ``cfg`` in step), eval mode; undone on exit."""
        with placed_model(self.model, device, dtype, self._move):
            yield self

    def _move(self, device: torch.device, dtype: torch.dtype) -> None:
        # HookedTransformer.to takes one target at a time and updates cfg.device/cfg.dtype.
        self.model.to(device, print_details=False)
        self.model.to(dtype, print_details=False)

    @contextlib.contextmanager
    def capture(
        self, layers: Sequence[int] | None = None, *, embeddings: bool = False
    ) -> Iterator[dict[int | str, torch.Tensor]]:
        """Record ``hook_resid_post`` of each block (and block 0's ``hook_resid_pre``)."""
        store: dict[int | str, torch.Tensor] = {}
        handles = []

        def keep(key: int | str) -> Any:
            def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
                store[key] = output

            return hook

        try:
            blocks: Any = self.blocks
            if embeddings:
                handles.append(blocks[0].hook_resid_pre.register_forward_hook(keep("emb")))
            for i in range(self.n_layers) if layers is None else layers:
                handles.append(blocks[i].hook_resid_post.register_forward_hook(keep(i)))
            yield store
        finally:
            for h in handles:
                h.remove()

    def forward(self, batch: Batch) -> torch.Tensor:
        """Run the model on a left-padded batch; return the final, normed residual stream."""
        with torch.inference_mode():
            return _final_hidden(self.model, batch.input_ids, batch.attention_mask)


@dataclass
class TLensOutput:
    """What :class:`HookedTransformerForCausalLM` returns: ``logits`` (B, T', V), no cache."""

    logits: torch.Tensor
    past_key_values: None = None


@dataclass
class TLensConfig:
    """The Hugging Face config fields tokenheat reads, filled from ``model.cfg``."""

    max_position_embeddings: int
    vocab_size: int
    _name_or_path: str
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    model_type: str = "transformer_lens"


class TokenEmbedding(nn.Module):
    """``model.embed`` with an ``nn.Embedding``-style ``weight`` (``W_E``)."""

    def __init__(self, embed: nn.Module) -> None:
        super().__init__()
        self.embed: Any = embed

    @property
    def weight(self) -> torch.Tensor:
        """The embedding matrix ``W_E`` (vocab, d_model)."""
        return self.embed.W_E

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings of ``ids`` (any shape), as ``hook_embed`` receives them."""
        return self.embed(ids)


class HookedTransformerForCausalLM(nn.Module):
    """A HookedTransformer behind the Hugging Face causal-LM calls tokenheat makes.

    ``get_input_embeddings()`` is the token lookup (``weight`` = ``W_E``);
    ``forward(input_ids=... | inputs_embeds=..., attention_mask=..., logits_to_keep=...)``
    returns an object with ``.logits``. Given ``inputs_embeds``, they stand in for the
    output of ``hook_embed`` (positional embeddings are still added), so gradients with
    respect to them are gradients with respect to the token embeddings, as in the Hugging
    Face path.

    Parameters
    ----------
    model : transformer_lens.HookedTransformer
    tokenizer : transformers tokenizer, optional
        Supplies pad/BOS/EOS ids for ``config`` (default: ``model.tokenizer``).

    Examples
    --------
    >>> lm = HookedTransformerForCausalLM(tl_model)  # doctest: +SKIP
    >>> lm(inputs_embeds=lm.get_input_embeddings()(ids)).logits.shape  # doctest: +SKIP
    """

    def __init__(self, model: Any, tokenizer: Any = None) -> None:
        if not is_hooked_transformer(model):
            fail("model", "a transformer_lens.HookedTransformer", model, kind=ArgumentTypeError)
        super().__init__()
        self.tl = model
        tok = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
        self.config = TLensConfig(
            max_position_embeddings=int(model.cfg.n_ctx),
            vocab_size=int(model.cfg.d_vocab_out),
            _name_or_path=str(getattr(model.cfg, "model_name", "") or type(model).__name__),
            pad_token_id=_token_id(tok, "pad"),
            bos_token_id=_token_id(tok, "bos"),
            eos_token_id=_token_id(tok, "eos"),
        )
        self._embedding = TokenEmbedding(model.embed)

    def get_input_embeddings(self) -> TokenEmbedding:
        """The token embedding lookup (``weight`` = ``W_E``)."""
        return self._embedding

    def get_output_embeddings(self) -> nn.Module:
        """``model.unembed``."""
        return self.tl.unembed

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        logits_to_keep: int = 0,
        **unused: Any,
    ) -> TLensOutput:
        """Logits from token ids or from token embeddings.

        Parameters
        ----------
        input_ids : (B, T) tensor, optional
        attention_mask : (B, T) tensor, optional
            Left padding is supported (positions restart at the first real token).
        position_ids : (B, T) tensor, optional
            Accepted only when they equal the positions implied by ``attention_mask``.
        inputs_embeds : (B, T, d_model) tensor, optional
            Instead of ``input_ids``.
        logits_to_keep : int
            Unembed only the last ``logits_to_keep`` positions (0 = all).
        **unused
            Hugging Face options with no effect here (``use_cache``: no cache is returned).

        Raises
        ------
        tokenheat.errors.ArgumentError
            (a ``ValueError``) Unless exactly one of ``input_ids``/``inputs_embeds`` is given, for
            ``position_ids`` that the attention mask does not imply, or a ``past_key_values``.
        """
        if (input_ids is None) == (inputs_embeds is None):
            fail(
                "input_ids / inputs_embeds",
                "exactly one of the two",
                given="neither" if input_ids is None else "both",
            )
        if unused.get("past_key_values") is not None:
            fail(
                "past_key_values",
                "None (a HookedTransformer view keeps no cache)",
                unused["past_key_values"],
            )
        if inputs_embeds is not None:
            shape, device = inputs_embeds.shape[:2], inputs_embeds.device
            tokens = torch.zeros(shape, dtype=torch.long, device=device)
        else:
            assert input_ids is not None
            tokens = input_ids if input_ids.dim() == 2 else input_ids[None]
        if position_ids is not None:
            mask = torch.ones_like(tokens) if attention_mask is None else attention_mask
            implied = (mask.long().cumsum(-1) - 1).clamp(min=0)
            if position_ids.shape != implied.shape or not torch.equal(
                position_ids.to(implied.device), implied
            ):
                fail(
                    "position_ids",
                    "the positions the attention mask implies (counted from the first real token)",
                    position_ids,
                    "TransformerLens derives positions from attention_mask",
                )
        hidden = _final_hidden(self.tl, tokens, attention_mask, inputs_embeds)
        if logits_to_keep:
            hidden = hidden[:, -int(logits_to_keep) :]
        return TLensOutput(_softcap(self.tl, self.tl.unembed(hidden)))


def _token_id(tokenizer: Any, kind: str) -> int | None:
    value = getattr(tokenizer, f"{kind}_token_id", None)
    return value if isinstance(value, int) else None


# Parameter docs like TLensAdapter's on purpose: each public entry point documents itself.
def as_causal_lm(model: Any, tokenizer: Any = None) -> tuple[HookedTransformerForCausalLM, Any]:
    """A HookedTransformer as a causal LM for ``attribution``, and the tokenizer to use.

    Parameters
    ----------
    model : transformer_lens.HookedTransformer
    tokenizer : transformers tokenizer, optional
        Default: ``model.tokenizer``.

    Returns
    -------
    (HookedTransformerForCausalLM, tokenizer)

    Raises
    ------
    TypeError
        If ``model`` is not a HookedTransformer or there is no tokenizer.
    """
    tok = resolve_tokenizer(model, tokenizer)
    return HookedTransformerForCausalLM(model, tok), tok
