"""What :func:`tokenheat.attribution` scores: targets, the attention sink, and the jobs.

Each input becomes one :class:`~tokenheat.analyses._attr_jobs.Job` carrying every target
attributed on it. When the tokenizer adds no BOS, the job's ids start with a *sink* token
(see :func:`sink_token`), as TransformerLens's ``prepend_bos`` does; the rows shown are the
input's own tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.analyses._attr_jobs import Column, Job
from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError

#: The document separator of GPT-2-style pretraining, preferred as the sink when special.
DOCUMENT_SEPARATOR = "<|endoftext|>"


def target_tokens(
    model: Any, tokenizer: Any, target: Any, prefix: list[int], where: str
) -> list[int]:
    import torch

    n_vocab = model.get_input_embeddings().weight.shape[0]
    if target is None:
        with torch.no_grad():
            batch = torch.tensor([prefix], device=model.get_input_embeddings().weight.device)
            return [int(model(input_ids=batch).logits[0, -1].argmax())]
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < n_vocab:
            fail(where, f"a token id in 0..{n_vocab - 1} (the vocabulary)", target)
        return [int(target)]
    if not isinstance(target, str):
        fail(
            where,
            "a token id (int), a token string, an answer text or None",
            target,
            "e.g. targets=' Paris' or targets=[' Paris', ' Rome']",
            kind=ArgumentTypeError,
        )
    if not target:
        fail(where, "a token string or an answer text (not empty)", target)
    vocab = tokenizer.get_vocab()
    if target in vocab:
        return [int(vocab[target])]
    ids = list(tokenizer(target, add_special_tokens=False)["input_ids"])
    unk = getattr(tokenizer, "unk_token_id", None)
    if not ids or (unk is not None and unk in ids):
        fail(
            where,
            "a token string or a text the tokenizer knows",
            target,
            f"it tokenizes to {ids} (unknown)",
        )
    return ids


def class_index(model: Any, target: Any, prefix: list[int], where: str) -> int:
    import torch

    config = model.config
    n = int(config.num_labels)
    if target is None:
        with torch.no_grad():
            ids = torch.tensor([prefix], device=model.get_input_embeddings().weight.device)
            return int(model(input_ids=ids).logits[0].argmax())
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and 0 <= target < n:
        return int(target)
    names = {str(v): int(k) for k, v in (config.id2label or {}).items()}
    if isinstance(target, str) and target in names:
        return names[target]
    fail(where, f"a class of the model: one of {list(names)} or 0..{n - 1}", target)


def sink_token(tokenizer: Any, model: Any, sink: Any) -> int | None:
    """The token id prepended as the attention sink, or ``None`` for none.

    ``sink="auto"``: the special token ``<|endoftext|>`` when the vocabulary has one (the
    document separator that starts every document in GPT-2-style pretraining: GPT-2,
    SmolLM2, Qwen2, Pythia), else the BOS token, else the EOS token (tokenizer first, then
    the model's config). An int or a token string names the token; ``None`` prepends none.
    """
    n_vocab = model.get_input_embeddings().weight.shape[0]
    if sink is None:
        return None
    if isinstance(sink, str) and sink != "auto":
        vocab = tokenizer.get_vocab()
        if sink not in vocab:
            fail(
                "sink",
                "'auto', None, a token id or a token string of the tokenizer such as "
                "'<|endoftext|>'",
                sink,
            )
        return int(vocab[sink])
    if isinstance(sink, (int, np.integer)) and not isinstance(sink, bool):
        if not 0 <= sink < n_vocab:
            fail("sink", f"a token id in 0..{n_vocab - 1} (the vocabulary)", sink)
        return int(sink)
    if sink != "auto":
        fail("sink", "'auto', None, a token id or a token string", sink, kind=ArgumentTypeError)
    specials = set(getattr(tokenizer, "all_special_ids", None) or [])
    sep = tokenizer.get_vocab().get(DOCUMENT_SEPARATOR)
    if sep is not None and sep in specials:
        return int(sep)
    config = getattr(model, "config", None)
    for name in ("bos_token_id", "eos_token_id"):
        for source in (tokenizer, config):
            token = getattr(source, name, None)
            if isinstance(token, int) and 0 <= token < n_vocab:
                return token
    return None


def _pairs(targets: Any, n: int) -> tuple[list[tuple[int, Any]], bool]:
    """``(input, target)`` pairs, one per column, and whether ``targets`` was one target."""
    scalar = targets is None or isinstance(targets, (str, int, np.integer))
    if not scalar and (
        not isinstance(targets, Sequence) or isinstance(targets, (bytes, bytearray))
    ):
        fail(
            "targets",
            "a token id (int), a token string, an answer text, None, or a list of them",
            targets,
            "e.g. targets=' Paris'",
            kind=ArgumentTypeError,
        )
    if n == 1:
        pairs = [(0, targets)] if scalar else [(0, t) for t in targets]
        if not pairs:
            fail("targets", "a target, a non-empty list of targets, or None", targets)
        return pairs, scalar
    tlist = [targets] * n if scalar else list(targets)
    if len(tlist) != n:
        fail(
            "targets",
            f"one target per input ({n}), one target for all, or None (the model's top "
            "predictions)",
            tlist,
        )
    return list(enumerate(tlist)), scalar


def _causal_target(
    model: Any, tokenizer: Any, job: Job, target: Any, target_position: int, where: str
) -> tuple[list[tuple[int, int]], int, str]:
    """A causal LM target's ``(position, token)`` spec (positions in ``job.ids``, the sink
    included), its scored position in the input as tokenized, and its token string."""
    ids, n = job.ids, len(job.ids) - job.n_sink
    at = target_position + n if target_position < 0 else int(target_position)
    if not 0 <= at < n:
        fail(
            "target_position",
            f"-1 (the last token) or a position in 0..{n - 1} (the input has {n} tokens)",
            target_position,
        )
    pos = at + job.n_sink
    toks = target_tokens(model, tokenizer, target, ids[: pos + 1], where)
    if len(toks) > 1 and pos != len(ids) - 1:
        fail(
            "target_position",
            f"-1 for a multi-token answer ({where}={target!r} is {len(toks)} tokens)",
            target_position,
        )
    # the pieces joined are still a token string ("Ġ" "1" "9" -> "Ġ19"), so a multi-token
    # answer is drawn ("␣19") and linked like a single token
    name = "".join(str(t) for t in tokenizer.convert_ids_to_tokens(toks))
    return [(pos + j, t) for j, t in enumerate(toks)], at, name


def build_jobs(
    model: Any,
    tokenizer: Any,
    encoded: list[Any],
    targets: Any,
    target_position: int,
    kind: str,
    sink: int | None,
) -> tuple[list[Job], list[Column]]:
    """One job per input (all its targets share its forward passes) and one column per
    target. A causal LM input that does not start with a special token gets ``sink``
    prepended (``job.n_sink == 1``); target positions are then shifted past it."""
    if isinstance(target_position, bool) or not isinstance(target_position, (int, np.integer)):
        fail("target_position", "an int", target_position, kind=ArgumentTypeError)
    pairs, scalar = _pairs(targets, len(encoded))
    specials = set(getattr(tokenizer, "all_special_ids", None) or [])
    jobs: dict[int, Job] = {}
    columns = []
    spec: Any
    for c, (ex, target) in enumerate(pairs):
        ids, where = list(encoded[ex].ids), "targets" if scalar else f"targets[{c}]"
        if ex not in jobs:
            pre = [sink] if kind == "causal" and sink is not None and ids[0] not in specials else []
            jobs[ex] = Job(ex, pre + ids, len(pre) + len(ids), n_sink=len(pre))
        job = jobs[ex]
        if kind == "classifier":
            cls = class_index(model, target, ids, where)
            spec, pos, token = cls, 0, None
            name = str((model.config.id2label or {}).get(cls, cls))
        else:
            spec, pos, name = _causal_target(
                model, tokenizer, job, target, int(target_position), where
            )
            token = name
        job.targets.append((c, spec))
        label = name if len(encoded) == 1 else f"#{ex}: {name}"
        columns.append(Column(label, ex, name, token, pos))
    return list(jobs.values()), columns
