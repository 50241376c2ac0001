"""ModelAdapter: the parts of a Hugging Face causal LM that the analyses read.

Blocks, final norm, unembedding, input embeddings; residual-stream hooks as a context
manager; left-padded batches with explicit position ids; device/dtype placement that is
undone afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tokenheat.core._checks import a_type, check_positive_int, check_type, fail
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._batching import model_max_length, pad, pad_id, placed_model, position_ids
from tokenheat.models._text import EncodedText, encode_prompts

#: model_type -> (base model attribute, block list attribute, final norm attribute).
FAMILIES: dict[str, tuple[str, str, str]] = {
    "gpt2": ("transformer", "h", "ln_f"),
    "llama": ("model", "layers", "norm"),
    "qwen2": ("model", "layers", "norm"),
    "mistral": ("model", "layers", "norm"),
    "gpt_neox": ("gpt_neox", "layers", "final_layer_norm"),
}
_NORM_NAMES = ("norm", "ln_f", "final_layer_norm", "final_layernorm")


@dataclass
class Batch:
    """A left-padded batch: rows ``index`` of the encoded list, tensors on the model's device."""

    index: list[int]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    lengths: list[int]

    def valid(self, b: int) -> slice:
        """Positions of row ``b`` that hold real tokens (the last ``lengths[b]``)."""
        return slice(self.input_ids.shape[1] - self.lengths[b], self.input_ids.shape[1])


class ModelAdapter:
    """A uniform view of a Hugging Face causal LM (GPT-2, Llama/SmolLM2, GPT-NeoX, Qwen2).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal LM (``AutoModelForCausalLM``); other families whose base model has a
        block ``ModuleList`` and a final norm named ``norm``/``ln_f``/``final_layer_norm``
        work too.
    tokenizer : transformers tokenizer
        Never modified: batches are padded here, so a tokenizer without a pad token works.

    Raises
    ------
    tokenheat.errors.ArgumentTypeError
        If ``model`` is not a torch module with a recognisable block list (a ``TypeError``).

    Examples
    --------
    >>> adapter = ModelAdapter(model, tokenizer)  # doctest: +SKIP
    >>> with adapter.capture() as states:  # doctest: +SKIP
    ...     adapter.forward(batch)
    ...     states[0].shape  # residual stream after block 0
    """

    def __init__(self, model: Any, tokenizer: Any) -> None:
        check_type(
            "model",
            model,
            nn.Module,
            "a transformers causal LM (AutoModelForCausalLM) or a "
            "transformer_lens.HookedTransformer",
        )
        self.model: Any = model
        self.tokenizer = tokenizer
        self.config = getattr(model, "config", None)
        self.family = str(getattr(self.config, "model_type", "") or "")
        self.base, self.blocks, self.final_norm = _locate(model, self.family)

    @property
    def n_layers(self) -> int:
        """Number of transformer blocks."""
        return len(self.blocks)

    @property
    def unembedding(self) -> nn.Module:
        """The output projection (``model.get_output_embeddings()``).

        Raises
        ------
        tokenheat.errors.ArgumentTypeError
            If the model has no language-model head (e.g. a bare base model).
        """
        head = (
            self.model.get_output_embeddings()
            if hasattr(self.model, "get_output_embeddings")
            else None
        )
        if head is None:
            fail(
                "model",
                "a causal LM with output embeddings, such as AutoModelForCausalLM",
                given=f"{a_type(self.model)} with none (a bare base model?)",
                kind=ArgumentTypeError,
            )
        return head

    @property
    def vocab_size(self) -> int:
        """Number of output logits (rows of the unembedding)."""
        weight: Any = self.unembedding.weight
        return int(weight.shape[0])

    @property
    def input_embeddings(self) -> nn.Module:
        """The token embedding (``model.get_input_embeddings()``)."""
        return self.model.get_input_embeddings()

    @property
    def max_length(self) -> int | None:
        """The context size (see :func:`~tokenheat.models._batching.model_max_length`)."""
        return model_max_length(self.model, self.tokenizer)

    @property
    def pad_id(self) -> int:
        """Id written at padded positions (masked out; see :func:`_batching.pad_id`)."""
        return pad_id(self.tokenizer)

    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter."""
        return next(self.model.parameters()).device

    @property
    def name(self) -> str:
        """The model's name or path, else its class name."""
        return str(getattr(self.config, "name_or_path", "") or type(self.model).__name__)

    def encode(self, prompts: Any, **kwargs: Any) -> list[EncodedText]:
        """Tokenize prompts against this model's context size (see :func:`encode_prompts`)."""
        return encode_prompts(self.tokenizer, prompts, max_length=self.max_length, **kwargs)

    def logits(self, hidden: torch.Tensor, *, normed: bool = False) -> torch.Tensor:
        """Logit lens: final norm (unless ``normed``) and unembedding of residual states.

        Applies ``config.final_logit_softcapping`` where the family has it, as the model does.
        """
        h = hidden if normed else self.final_norm(hidden)
        out = self.unembedding(h)
        cap = getattr(self.config, "final_logit_softcapping", None)
        if cap:
            out = torch.tanh(out / cap) * cap
        return out

    @contextlib.contextmanager
    def placed(self, device: Any = None, dtype: Any = None) -> Iterator[ModelAdapter]:
        """Put the model on ``device``/``dtype`` in eval mode, and undo all of it on exit."""
        with placed_model(self.model, device, dtype, self._move):
            yield self

    def _move(self, device: torch.device, dtype: torch.dtype) -> None:
        self.model.to(device=device, dtype=dtype)

    @contextlib.contextmanager
    def capture(
        self, layers: Sequence[int] | None = None, *, embeddings: bool = False
    ) -> Iterator[dict[int | str, torch.Tensor]]:
        """Record residual-stream states while the block is active; hooks removed on exit.

        Parameters
        ----------
        layers : sequence of int, optional
            Blocks whose output to record (default: all).
        embeddings : bool
            Also record the input of block 0 under the key ``"emb"`` (token + position
            embeddings as the blocks see them).

        Yields
        ------
        dict
            Filled on each forward: ``{layer index: (B, T, d) tensor, "emb": ...}``.
        """
        store: dict[int | str, torch.Tensor] = {}
        handles = []

        def output_hook(index: int) -> Any:
            def hook(module: nn.Module, args: Any, output: Any) -> None:
                store[index] = output[0] if isinstance(output, tuple) else output

            return hook

        def input_hook(module: nn.Module, args: Any, kwargs: Any) -> None:
            store["emb"] = args[0] if args else kwargs["hidden_states"]

        try:
            if embeddings:
                handles.append(
                    self.blocks[0].register_forward_pre_hook(input_hook, with_kwargs=True)
                )
            for i in range(self.n_layers) if layers is None else layers:
                handles.append(self.blocks[i].register_forward_hook(output_hook(i)))
            yield store
        finally:
            for h in handles:
                h.remove()

    def batches(self, encoded: Sequence[EncodedText], batch_size: int) -> Iterator[Batch]:
        """Left-padded batches, longest texts first, with attention masks and position ids."""
        check_positive_int("batch_size", batch_size)
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        device = self.device
        for s in range(0, len(order), batch_size):
            index = order[s : s + batch_size]
            lengths = [len(encoded[i]) for i in index]
            ids, mask = pad([encoded[i].ids for i in index], self.pad_id, "left", device)
            yield Batch(index, ids, mask, position_ids(mask), lengths)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Run the base model (no LM head) on a batch; return the final, normed hidden states."""
        with torch.inference_mode():
            out = self.base(
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                position_ids=batch.position_ids,
                use_cache=False,
            )
        return out[0] if isinstance(out, tuple) else out.last_hidden_state


def _locate(model: Any, family: str) -> tuple[Any, nn.ModuleList, nn.Module]:
    """Find (base model, block list, final norm) by family, else by a structural search."""
    if family in FAMILIES:
        base_name, blocks_name, norm_name = FAMILIES[family]
        base = getattr(model, base_name, None)
        if base is not None:
            return base, getattr(base, blocks_name), getattr(base, norm_name)
    base = getattr(model, "base_model", model)
    n = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    blocks = next(
        (
            m
            for m in base.children()
            if isinstance(m, nn.ModuleList) and len(m) > 0 and (n is None or len(m) == n)
        ),
        None,
    )
    norm = next(
        (getattr(base, a) for a in _NORM_NAMES if isinstance(getattr(base, a, None), nn.Module)),
        None,
    )
    if blocks is None or norm is None:
        fail(
            "model",
            "a transformers causal LM of the families "
            f"{', '.join(sorted(FAMILIES))} (and look-alikes) or a "
            "transformer_lens.HookedTransformer",
            given=f"{a_type(model)} (model_type={family!r}) whose blocks and final norm "
            "cannot be found",
            kind=ArgumentTypeError,
        )
    return base, blocks, norm
