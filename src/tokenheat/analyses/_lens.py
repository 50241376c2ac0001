"""The logit lens: what each layer would predict next, position by position.

Each block's residual output goes through the model's final norm and unembedding; the last
row is the model's own output. Logits are never held for all layers at once: per batch the
work loops over chunks of positions and, inside, over layers, keeping only the statistics
and the top-k of each, with three buffers allocated once per call and reused (the kernel is
in ``_lens_stats.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tokenheat.analyses._common import (
    check_flag,
    check_positive_int,
    contexts_cap,
    layer_label,
    progress_bar,
    select_layers,
)
from tokenheat.analyses._lens_stats import batch_stats, unembedder
from tokenheat.analyses._lens_tally import STATS, LensTally, build_lens_matrix
from tokenheat.analyses._shards import tokenizer_name
from tokenheat.analyses._tuned_lens import check_translator, name_lens
from tokenheat.core._checks import check_choice, fail
from tokenheat.core._corpus import Corpus
from tokenheat.core._matrix import TokenMatrix
from tokenheat.errors import ArgumentError, ArgumentTypeError
from tokenheat.models._state import preserves_model_state
from tokenheat.models._text import normalize_prompts

__all__ = ["LensResult", "iter_lens", "lens", "lens_arrays", "lens_shard"]

#: Logit elements (positions × vocab) of one chunk, at most (positions are split into equal
#: chunks). The lens holds three float32 buffers of this size (the final layer's
#: log-probabilities, the current layer's, their probabilities), allocated once per call
#: and reused for every chunk and layer.
CHUNK_ELEMENTS = 2**23
#: Prompts are encoded this many at a time (and dropped once counted), so the encoded input
#: does not grow with the number of prompts either.
ENCODE_CHUNK = 1024


@dataclass
class LensResult:
    """Logit-lens numbers for one prompt: rows = selected layers then the output, cols = positions.

    ``entropy``, ``kl_final``, ``top1_prob``, ``p_next`` are float32 ``(R, L)`` (``p_next``,
    the probability of the true next token, is NaN at the last position); ``top_ids`` int64
    and ``top_probs`` float32 are ``(R, L, k)``, best first, ``k = min(max(top_k, 1), vocab)``.
    """

    entropy: np.ndarray
    kl_final: np.ndarray
    top1_prob: np.ndarray
    p_next: np.ndarray
    top_ids: np.ndarray
    top_probs: np.ndarray


# Same signature as iter_lens on purpose: the eager (list) form of it, for tests and benchmarks.
def lens_arrays(
    adapter: Any,
    encoded: list[Any],
    layers: list[int],
    *,
    top_k: int = 10,
    batch_size: int = 8,
    progress: bool = False,
    translator: Any = None,
) -> list[LensResult]:
    """The numeric core of :func:`lens`: one :class:`LensResult` per encoded prompt.

    ``adapter`` is a :class:`tokenheat.models.ModelAdapter` (or the TransformerLens one) already
    placed on its device. ``translator`` (a :class:`~tokenheat.TunedLens`) maps each layer's
    states before the final norm. Holds every prompt's arrays; :func:`lens` itself consumes
    :func:`iter_lens` instead and keeps only running sums.
    """
    results: list[LensResult | None] = [None] * len(encoded)
    for i, res in iter_lens(
        adapter, encoded, layers, top_k=top_k, batch_size=batch_size, progress=progress,
        translator=translator,
    ):  # fmt: skip
        results[i] = res
    return [r for r in results if r is not None]


# Same signature as lens_arrays on purpose: that is the eager (list) form of this one.
def iter_lens(
    adapter: Any,
    encoded: list[Any],
    layers: list[int],
    *,
    top_k: int = 10,
    batch_size: int = 8,
    progress: bool = False,
    translator: Any = None,
) -> Iterator[tuple[int, LensResult]]:
    """``(prompt index, LensResult)`` for every encoded prompt, batch by batch (longest
    prompts first), so a caller can fold them into running sums. ``translator`` (a
    :class:`~tokenheat.TunedLens`) maps each layer's states before the final norm.

    Memory: besides the captured states, three float32 ``(chunk, vocab)`` buffers (see
    :data:`CHUNK_ELEMENTS`), allocated once per call and reused for every chunk and layer;
    the statistics are computed in place in them, and only the statistics come back to
    the CPU (once per chunk and layer).
    """
    import torch

    vocab = adapter.vocab_size
    k = min(max(top_k, 1), vocab)
    chunk = max(1, CHUNK_ELEMENTS // vocab)
    unembed = unembedder(adapter)
    buffers: list[Any] = []
    n_batches = -(-len(encoded) // batch_size)
    batches = adapter.batches(encoded, batch_size)
    for batch in progress_bar(batches, total=n_batches, desc="lens", enabled=progress):
        states, flat_final = _batch_states(adapter, batch, layers, translator)
        nxt = torch.tensor(
            [t for i in batch.index for t in (*encoded[i].ids[1:], -1)], device=flat_final.device
        )
        arrays = batch_stats(unembed, states, flat_final, nxt, k, chunk, buffers, vocab)
        del states, flat_final
        start = 0
        for b, i in enumerate(batch.index):
            part = slice(start, start + batch.lengths[b])
            start += batch.lengths[b]
            yield i, LensResult(*(a[:, part] for a in arrays))


def _batch_states(adapter: Any, batch: Any, layers: list[int], translator: Any) -> Any:
    """One forward pass: the normed (translated) states of ``layers`` and the final layer's,
    each as ``(real tokens, d)`` rows (padding dropped)."""
    import torch

    with adapter.capture(layers) as store:
        final = adapter.forward(batch)
    mask = batch.attention_mask.bool()
    where = mask.reshape(-1).nonzero()[:, 0]  # real tokens
    where = None if where.shape[0] == mask.numel() else where  # no padding: no copies
    with torch.inference_mode():  # final norm once per layer, each state freed once normed
        normed = {
            i: adapter.final_norm(_translated(translator, i, _rows(store.pop(i), where)))
            for i in layers
        }
    states = [normed[i] for i in layers]
    flat_final = _rows(final, where)
    del final, normed
    return states, flat_final


def _translated(translator: Any, layer: int, states: Any) -> Any:
    """``states`` as the tuned lens sees them, or unchanged for the logit lens."""
    return states if translator is None else translator.translate(layer, states)


def _rows(x: Any, where: Any) -> Any:
    """``(B, T, d)`` states as ``(tokens, d)`` rows: all of them, or those at ``where``."""
    flat = x.reshape(-1, x.shape[-1])
    return flat if where is None else flat[where]


# The parameter docs below repeat anchor_similarity's on purpose: each analysis documents itself.
@preserves_model_state
def lens(
    model: Any,
    tokenizer: Any,
    prompts: Any,
    *,
    stat: Literal["entropy", "kl_final", "top1_prob"] = "entropy",
    top_k: int = 10,
    layers: Any = None,
    chat: bool = False,
    append: str | None = None,
    n_dummy: int | None = None,
    align: Literal["left", "right"] = "left",
    batch_size: int = 8,
    device: Any = None,
    dtype: Any = None,
    truncate: bool = False,
    max_contexts_per_cell: int = 100,
    translator: Any = None,
    title: str | None = None,
    progress: bool = True,
    engine: str = "local",
    ray_options: dict[str, Any] | None = None,
    contexts_per_cell: int | None = None,
) -> TokenMatrix:
    """Logit lens over layers × input positions.

    Each block's residual output goes through the final norm and the unembedding; the last
    row (``"output"``) is the model's own next-token distribution.

    Parameters
    ----------
    model : transformers causal LM or transformer_lens.HookedTransformer
        GPT-2, Llama (SmolLM2), GPT-NeoX, Qwen2 and look-alikes; a HookedTransformer's
        rows read ``blocks.{i}.hook_resid_post`` through ``ln_final`` and ``unembed``.
    tokenizer : transformers tokenizer, or None
        Not modified; one without a pad token works. ``None`` uses a HookedTransformer's
        own ``model.tokenizer``.
    prompts : str, chat conversation, or list of them
        One prompt gives layer × position; several are averaged position by position.
    stat : {"entropy", "kl_final", "top1_prob"}
        The value drawn; the other two are stored as ``extras``.
    top_k : int
        Predictions stored per context (labels ``top1..``, probabilities ``p1..``).
    layers : int or sequence of int, optional
        Blocks to show (default all); the output row is always last.
    chat : bool
        Render plain-string prompts with the chat template (``add_generation_prompt=True``).
    append : str, optional
        Text appended as extra tokens (e.g. ``" ... ... ..."``).
    n_dummy : int, optional
        Repeat ``append`` (default ``" ..."``) this many times.
    align : {"left", "right"}
        How prompts of different lengths line up: by first token, or by last token (so
        chat-template endings and appended dummies line up).
    batch_size : int
        Prompts per forward pass (left-padded).
    device, dtype : optional
        Run the model there / in that dtype; it is moved back afterwards.
    truncate : bool
        Cut prompts longer than the model's context instead of raising.
    max_contexts_per_cell : int
        At most this many prompts contribute contexts to a cell (the first ones).
    translator : TunedLens, optional
        A tuned lens (:func:`tokenheat.train_tuned_lens`) for this model: each layer's
        states go through its translator before the final norm and unembedding. The
        title says "Tuned lens" and ``meta["lens"]`` is ``"tuned"`` (else ``"logit"``).
    title : str, optional
        The matrix title (default: the lens and the statistic).
    progress : bool
        Show a progress bar.
    engine : {"local", "ray"}
        ``"ray"`` shards the prompts (a list, or a ``ray.data.Dataset`` with a ``text``
        column) over a Ray actor pool and merges the shards (:func:`tokenheat.merge`);
        ``model`` may then be a loader (a local path, or a zero-argument callable
        returning ``(model, tokenizer)``, with ``tokenizer=None``).
    ray_options : dict, optional
        For ``engine="ray"``: ``concurrency``, ``num_gpus``, ``num_cpus``, ``batch_size``.
    contexts_per_cell : int, optional
        Deprecated name of ``max_contexts_per_cell``.

    Memory is O(layers x positions) plus the first ``max_contexts_per_cell`` prompts'
    results: each batch's numbers are added to running sums and dropped.

    Returns
    -------
    TokenMatrix
        Rows ``L0..L{n-1}, output`` (kind ``"layer"``); columns = positions (kind
        ``"position"``, labelled with the input token where all prompts agree); cell text =
        the top-1 prediction (the most common one across prompts); ``counts`` = prompts per
        cell; contexts per (cell, prompt) with the position marked, the true next token
        marked second and listed as ``next``, ``top1..``/``p1..``, ``p_next``.

    Raises
    ------
    tokenheat.errors.ArgumentError
        (a ``ValueError``) For an unknown ``stat``/``align``, a bad ``layers``/``top_k``/
        ``batch_size`` value, an empty prompt, a prompt longer than the model's context
        with ``truncate=False``, or a ``translator`` trained for another model.
    tokenheat.errors.ArgumentTypeError
        (a ``TypeError``) For a model that is neither a transformers causal LM nor a
        HookedTransformer, no tokenizer, or an option of the wrong type.

    Examples
    --------
    >>> m = th.lens(model, tokenizer, "The capital of France is", stat="entropy")  # doctest: +SKIP
    >>> m.rows[-1]  # doctest: +SKIP
    'output'
    """
    if engine != "local" or ray_options is not None:
        _check_local_only(translator, engine)
        options = dict(
            stat=stat, top_k=top_k, layers=layers, chat=chat, append=append,
            n_dummy=n_dummy, align=align, batch_size=batch_size, device=device,
            dtype=dtype, truncate=truncate,
            max_contexts_per_cell=contexts_cap(max_contexts_per_cell, contexts_per_cell),
        )  # fmt: skip
        merged = _lens_on_engine(
            model, tokenizer, prompts, options,
            engine=engine, ray_options=ray_options, progress=progress,
        )  # fmt: skip
        return name_lens(merged, None, title)
    from tokenheat.models._select import adapter_for

    check_choice("stat", stat, STATS)
    check_choice("align", align, ("left", "right"))
    top_k = check_positive_int("top_k", top_k, minimum=0)
    check_positive_int("batch_size", batch_size)
    cap = contexts_cap(max_contexts_per_cell, contexts_per_cell)
    check_flag("progress", progress)
    adapter = adapter_for(model, tokenizer)
    if translator is not None:
        check_translator(translator, model)
    keys = [int(i) for i in select_layers(layers, adapter.n_layers)]
    tally = LensTally(len(keys) + 1, align, cap)
    encode = dict(chat=chat, append=append, n_dummy=n_dummy, truncate=truncate)
    chunks = _encoded_chunks(adapter, prompts, encode)
    with adapter.placed(device, dtype):
        truncated, appended = _fold_prompts(
            adapter, prompts, keys, tally, chunks,
            top_k=top_k, batch_size=batch_size, progress=progress, translator=translator,
        )  # fmt: skip
    kept = [tally.kept[i][0] for i in sorted(tally.kept)]
    matrix = build_lens_matrix(
        tally.state(adapter.tokenizer),
        rows=[layer_label(k) for k in keys] + ["output"],
        corpus=Corpus.from_tokens([e.tokens for e in kept], texts=[e.text for e in kept]),
        contexts=tally.contexts(adapter.tokenizer, top_k),
        meta={
            "analysis": "lens",
            "stat": stat,
            "model": adapter.name,
            "tokenizer": tokenizer_name(adapter.tokenizer),
            "family": adapter.family,
            "n_prompts": len(truncated),
            "align": align,
            "top_k": top_k,
            "max_contexts_per_cell": cap,
            "appended_tokens": appended,
            "truncated_tokens": truncated,
        },
    )
    return name_lens(matrix, translator, title)


def _lens_on_engine(
    model: Any,
    tokenizer: Any,
    prompts: Any,
    options: dict[str, Any],
    *,
    engine: str,
    ray_options: dict[str, Any] | None,
    progress: bool,
) -> TokenMatrix:
    """:func:`lens` sharded over ``engine`` and merged (the logit lens only)."""
    from tokenheat.analyses._merge import merge
    from tokenheat.engines import run_engine

    return run_engine(
        "lens", engine, ray_options, model, prompts, tokenizer=tokenizer,
        shard=lens_shard, merge=merge, options=options, progress=progress,
    )  # fmt: skip


def _check_local_only(translator: Any, engine: str) -> None:
    """A tuned lens runs in process only."""
    if translator is not None:
        fail(
            "engine",
            "'local' with a translator (a tuned lens runs in process)",
            engine,
            "run the tuned lens in process, or the logit lens on Ray",
        )


def _fold_prompts(
    adapter: Any,
    prompts: Any,
    keys: list[int],
    tally: LensTally,
    chunks: tuple[int, Any],
    *,
    top_k: int,
    batch_size: int,
    progress: bool,
    translator: Any,
) -> tuple[list[int], int]:
    """Add the lens of each chunk of encoded prompts (``chunks``: what :func:`_encoded_chunks`
    returns) to ``tally``; returns the tokens cut per prompt and the number appended."""
    truncated: list[int] = []
    appended = 0
    n_chunks, pieces = chunks
    several = n_chunks > 1
    desc = f"lens (chunks of {ENCODE_CHUNK} prompts)"
    for start, encoded in progress_bar(
        pieces, total=n_chunks, desc=desc, enabled=progress and several
    ):
        _check_not_empty(encoded, prompts, start)
        for i, res in iter_lens(
            adapter, encoded, keys, top_k=top_k, batch_size=batch_size,
            progress=progress and not several, translator=translator,
        ):  # fmt: skip
            tally.add(start + i, encoded[i], res)
        truncated += [e.truncated for e in encoded]
        appended = encoded[0].n_appended
    return truncated, appended


def _check_not_empty(encoded: list[Any], prompts: Any, start: int = 0) -> None:
    """Refuse a prompt with no tokens (e.g. ``""``), naming which one (``start``: the
    input index of ``encoded[0]``)."""
    empty = [k for k, e in enumerate(encoded) if len(e) == 0]
    if empty:
        k = empty[0]
        which = "prompts" if isinstance(prompts, str) else f"prompts[{start + k}]"
        fail(
            which,
            "a text of at least one token, such as 'The capital of France is'",
            encoded[k].text,
        )


def _encoded_chunks(adapter: Any, prompts: Any, encode: dict[str, Any]) -> tuple[int, Any]:
    """How many chunks, and ``(first input index, encoded prompts)`` per chunk: text prompts
    ``ENCODE_CHUNK`` at a time; anything else (token ids, a cache) in one piece."""
    try:
        items = normalize_prompts(prompts)
    except (TypeError, ValueError):  # not text prompts: the adapter reads them (or says why)
        items = None
    if items is None or len(items) <= ENCODE_CHUNK:
        return 1, iter([(0, adapter.encode(prompts, **encode))])
    starts = range(0, len(items), ENCODE_CHUNK)
    pieces = ((s, _encode_chunk(adapter, items[s : s + ENCODE_CHUNK], s, encode)) for s in starts)
    return len(starts), pieces


def _encode_chunk(adapter: Any, items: list[Any], start: int, options: dict[str, Any]) -> list[Any]:
    """Encode prompts ``start ..`` of the input; an error names the prompt's input index."""
    try:
        return adapter.encode(items, **options)
    except (ArgumentError, ArgumentTypeError) as err:
        if not start:
            raise
        fixed = re.sub(
            r"prompts\[(\d+)\]", lambda m: f"prompts[{int(m.group(1)) + start}]", str(err)
        )
        raise type(err)(fixed) from None


def lens_shard(
    model: Any, tokenizer: Any, prompts: list[str], options: dict[str, Any], first: int | None
) -> TokenMatrix:
    """One shard of a distributed :func:`lens`. Only prompts ``0 .. cap-1`` of the whole
    input keep contexts, so a shard starting at input index ``first`` keeps at most
    ``cap - first`` (none past the cap): what :func:`tokenheat.merge` keeps anyway."""
    cap = int(options["max_contexts_per_cell"])
    local = cap if first is None else max(0, cap - first)
    result = lens(
        model, tokenizer, prompts, progress=False, **{**options, "max_contexts_per_cell": local}
    )
    result.meta["max_contexts_per_cell"] = cap
    return result
