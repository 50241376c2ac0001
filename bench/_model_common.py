"""Helpers for the model benchmarks (flip rate, attribution): the model under test (SmolLM2 or,
with ``--smoke``, a tiny random Llama), FLOP counts from the model's shapes, and the FLOP/s of
a plain torch matmul of those shapes.

Import it as ``_model_common`` (benchmarks run as ``python bench/<name>.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

THREADS = 2
EMOTION_TEMPLATE = "Text: {text}\nThe emotion in this text is"
EMOTIONS = ["sadness", "joy", "anger", "optimism"]


@dataclass
class Bench:
    """A model to benchmark and the label words to use with it."""

    model: Any
    tokenizer: Any
    name: str
    labels: list[str]


def set_threads(n: int = THREADS) -> None:
    """Use ``n`` intra-op threads (the benchmarks state it in their output)."""
    import torch

    torch.set_num_threads(n)


def tiny_tokenizer(texts: list[str], vocab_size: int = 1000) -> Any:
    """A byte-level BPE trained on ``texts`` (no downloads), as a fast HF tokenizer."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    out = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<pad>"
    )
    out.model_max_length = 256
    return out


def tiny_llama(vocab_size: int, *, hidden: int = 64, layers: int = 2, seed: int = 0) -> Any:
    """A random Llama (float32, eval mode) built from a config."""
    import torch
    import transformers

    config = transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # widen the tiny init so predictions differ between texts
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    return model


def single_token_words(tokenizer: Any, texts: list[str], k: int = 4) -> list[str]:
    """``k`` frequent words of ``texts`` that are one token after a space (smoke labels)."""
    from collections import Counter

    counts = Counter(w.strip(".,!?").lower() for t in texts for w in t.split())
    out = []
    for word, _ in counts.most_common():
        if word and len(tokenizer(" " + word, add_special_tokens=False)["input_ids"]) == 1:
            out.append(word)
        if len(out) == k:
            return out
    raise RuntimeError("the smoke tokenizer has too few single-token words")


def load(smoke: bool) -> Bench:
    """SmolLM2-135M-Instruct (float32), or a tiny random Llama for ``--smoke``."""
    import tokenheat as th

    if not smoke:
        model, tokenizer = th.models.load_default()
        return Bench(model.eval(), tokenizer, "SmolLM2-135M-Instruct (float32)", list(EMOTIONS))
    texts = th.datasets.emotions()["text"].tolist()
    tokenizer = tiny_tokenizer(texts)
    return Bench(
        tiny_llama(len(tokenizer)),
        tokenizer,
        "tiny random Llama (2 layers, hidden 64)",
        single_token_words(tokenizer, texts),
    )


# ---- FLOPs ---------------------------------------------------------------------------------


def _head(model: Any) -> Any:
    return model.get_output_embeddings().weight


def layer_weights(model: Any) -> list[Any]:
    """The 2-D weights of the decoder blocks (every matmul of a token's forward but the
    unembedding; embeddings are lookups)."""
    skip = {id(model.get_input_embeddings().weight), id(_head(model))}
    return [p for p in model.parameters() if p.dim() == 2 and id(p) not in skip]


def shapes(model: Any) -> dict[str, int]:
    """Layers, hidden size, attention width (heads x head_dim), vocabulary, block params."""
    config = model.config
    hidden = int(config.hidden_size)
    heads = int(config.num_attention_heads)
    head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
    return {
        "layers": int(config.num_hidden_layers),
        "hidden": hidden,
        "attn_width": heads * head_dim,
        "vocab": int(_head(model).shape[0]),
        "block_params": sum(int(p.numel()) for p in layer_weights(model)),
    }


def token_flops(s: dict[str, int], first: int, last: int) -> float:
    """FLOPs of computing positions ``first .. last-1`` of one sequence, without logits:
    ``2 * block_params`` per token plus attention ``4 * (pos + 1) * attn_width`` per layer."""
    n = last - first
    if n <= 0:
        return 0.0
    # sum over positions p of (p + 1) = keys attended by the query at p
    keys = (first + 1 + last) * n / 2
    return 2.0 * s["block_params"] * n + 4.0 * s["layers"] * s["attn_width"] * keys


def unembed_flops(s: dict[str, int]) -> float:
    """FLOPs of one position's logits: ``2 * hidden * vocab``."""
    return 2.0 * s["hidden"] * s["vocab"]


def matmul_rate(model: Any, rows: int, min_seconds: float = 1.0) -> float:
    """FLOP/s of ``torch.nn.functional.linear`` on ``rows`` inputs for every block weight of
    the first decoder layer (plain matmuls of the model's shapes, same threads)."""
    import torch

    n_layers = shapes(model)["layers"]
    weights = layer_weights(model)
    weights = weights[: max(1, len(weights) // n_layers)]
    xs = [torch.randn(rows, w.shape[1]) for w in weights]
    flops = sum(2.0 * rows * w.numel() for w in weights)
    with torch.inference_mode():
        for x, w in zip(xs, weights, strict=True):  # warm up
            torch.nn.functional.linear(x, w)
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            for x, w in zip(xs, weights, strict=True):
                torch.nn.functional.linear(x, w)
            reps += 1
        elapsed = time.perf_counter() - start
    return flops * reps / elapsed
