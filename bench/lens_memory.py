"""Peak extra memory and time of ``th.lens`` against a naive all-layers-at-once logit lens.

On SmolLM2-135M's shapes (30 layers, vocabulary 49,152) and a 512-token prompt, one layer's
logits are 512 × 49,152 float32 = 96 MiB. Target: ``th.lens`` needs less than twice that
beyond the loaded model. The naive version stacks every layer's hidden states, norms and
unembeds them at once ((layers, 512, 49,152) logits) and takes the entropy.

Each variant runs in a fresh process: load the model, run one forward and a tiny warm-up of
the variant, hand freed memory back to the OS, take the RSS as the baseline and reset the
RSS high-water mark (``VmHWM``), run the variant on the 512-token prompt, and read the
high-water mark again. Peak extra = high-water mark − baseline: everything the variant held
at once, whoever allocated it (torch's allocator, numpy, Python objects).

Usage::

    python bench/lens_memory.py            # the SmolLM2 default model (else: --random)
    python bench/lens_memory.py --random   # a random LlamaConfig with SmolLM2's shapes
    python bench/lens_memory.py --smoke    # tiny shapes, seconds (checks the script runs)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    MIB,
    file_rss_bytes,
    machine_info,
    median,
    mem_available_bytes,
    peak_rss_bytes,
    ratio,
    release_free_memory,
    reset_peak_rss,
    rss_bytes,
    run_child,
    table,
)

VARIANTS = ("lens", "lens_arrays", "naive")
DESCRIPTIONS = {
    "lens": "th.lens (whole call: stats, top-10, matrix, contexts)",
    "lens_arrays": "lens_arrays (numeric core only)",
    "naive": "naive: all layers' logits at once, entropy + top-1",
}
SMOLLM2 = {"layers": 30, "hidden": 576, "inter": 1536, "heads": 9, "kv": 3, "vocab": 49152}
SMOKE = {"layers": 2, "hidden": 64, "inter": 128, "heads": 4, "kv": 2, "vocab": 1000}


class IdTokenizer:
    """A tokenizer stand-in for random models: a prompt is its token ids, space-separated."""

    is_fast = False
    pad_token_id = 0
    eos_token_id = 0
    chat_template = None

    def __call__(self, text: str, add_special_tokens: bool = True, verbose: bool = False):
        return {"input_ids": [int(x) for x in text.split()]}

    def convert_ids_to_tokens(self, ids: Any) -> Any:
        return [f"t{i}" for i in ids] if isinstance(ids, list) else f"t{ids}"


def _random_model(shape: dict[str, int], n_tokens: int, seed: int = 0) -> tuple[Any, Any, str]:
    import torch
    import transformers

    # Looks like store/_members.py's keyword lists only in shape: a model config, not a file.
    cfg = transformers.LlamaConfig(
        vocab_size=shape["vocab"],
        hidden_size=shape["hidden"],
        intermediate_size=shape["inter"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv"],
        max_position_embeddings=max(2048, n_tokens),
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(cfg).eval()
    ids = torch.randint(3, shape["vocab"], (n_tokens,), generator=torch.Generator().manual_seed(1))
    return model, IdTokenizer(), " ".join(map(str, ids.tolist()))


def _default_model(n_tokens: int) -> tuple[Any, Any, str]:
    import tokenheat as th
    from tokenheat.models._text import encode_prompts

    model, tokenizer = th.models.load_default()
    source = " ".join(th.datasets.emotions().text)
    ids = tokenizer(source, add_special_tokens=False)["input_ids"]
    take = n_tokens
    for _ in range(20):  # decode → re-encode may merge tokens at the cut; adjust until exact
        text = tokenizer.decode(ids[:take])
        n = len(encode_prompts(tokenizer, text)[0])
        if n == n_tokens:
            return model, tokenizer, text
        take += n_tokens - n
    raise RuntimeError(f"could not build a prompt of exactly {n_tokens} tokens")


def _anonymous_weights(model: Any) -> None:
    """Copy the parameters out of the safetensors file mapping into anonymous memory.

    transformers keeps loaded weights as a file-backed mmap. The kernel may drop cold pages of
    it (a machine running DAMON's proactive pageout does) and fault them back in during a run,
    which would show up in the RSS high-water mark as up to one embedding matrix (108 MiB for
    SmolLM2) that the lens never allocated. Anonymous copies are not dropped without swap.
    Tied weights stay tied: ``parameters()`` yields a shared parameter once.
    """
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()
    for b in model.buffers():
        b.data = b.data.clone()


def _naive(adapter: Any, model: Any, ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """All layers at once: (n_layers, T, vocab) logits, log-softmax, entropy, top-1.

    Careful but naive: the logits are freed once the log-probabilities exist and the
    entropy product is taken in place, so at most two full (n_layers, T, vocab) tensors live
    at once. Rows: blocks 0..n-2 through the final norm, then the model's output (HF's last
    hidden state is already normed), so they match ``th.lens`` rows ``L0..L{n-2}, output``.
    """
    import torch

    with torch.inference_mode():
        out = model(input_ids=ids, output_hidden_states=True)
        hs = out.hidden_states[1:]
        h = torch.stack([adapter.final_norm(x) for x in hs[:-1]] + [hs[-1]])
        logits = adapter.unembedding(h)
        logp = torch.log_softmax(logits.float(), dim=-1)
        del logits
        entropy = -(logp.exp().mul_(logp)).sum(-1)
        top1 = logp.argmax(-1)
    return entropy[:, 0].numpy(), top1[:, 0].numpy()


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Measure one variant in this process (a fresh one, except with ``--smoke``)."""
    import torch

    torch.set_num_threads(args.threads)
    import tokenheat as th
    from tokenheat.analyses._lens import lens_arrays

    if args.chunk_elements:
        lens_module = sys.modules["tokenheat.analyses._lens"]
        lens_module.CHUNK_ELEMENTS = args.chunk_elements
    from tokenheat.models._adapter import ModelAdapter

    shape = SMOKE if args.smoke else SMOLLM2
    if args.random or args.smoke:
        model, tokenizer, text = _random_model(shape, args.tokens)
        model_name = "random LlamaConfig " + "/".join(f"{k}={v}" for k, v in shape.items())
    else:
        model, tokenizer, text = _default_model(args.tokens)
        model_name = "SmolLM2-135M-Instruct (th.models.load_default)"
    _anonymous_weights(model)
    adapter = ModelAdapter(model, tokenizer)
    encoded = adapter.encode(text)
    n_tokens = len(encoded[0])
    ids = torch.tensor([encoded[0].ids])
    keys = list(range(adapter.n_layers))
    short = " ".join(text.split()[:4])

    def run(prompt: str) -> np.ndarray:
        if args.variant == "lens":
            m = th.lens(model, tokenizer, prompt, progress=False)
            return np.asarray(m.values)
        if args.variant == "lens_arrays":
            return lens_arrays(adapter, adapter.encode(prompt), keys)[0].entropy
        return _naive(adapter, model, torch.tensor([adapter.encode(prompt)[0].ids]))[0]

    with torch.inference_mode():
        model(input_ids=ids)  # one full forward: its buffers belong to the baseline
    run(short)  # imports and one-time allocations of the variant itself
    release_free_memory()
    base, base_file = rss_bytes(), file_rss_bytes()
    reset_peak_rss()
    t0 = time.perf_counter()
    entropy = run(text)
    seconds = time.perf_counter() - t0
    peak = peak_rss_bytes()
    file_change = file_rss_bytes() - base_file
    np.save(Path(args.out) / f"{args.variant}.npy", entropy)
    return {
        "variant": args.variant,
        "model": model_name,
        "tokens": n_tokens,
        "layers": adapter.n_layers,
        "vocab": int(adapter.unembedding.weight.shape[0]),
        "baseline_mib": base / MIB,
        "peak_extra_mib": (peak - base) / MIB,
        "seconds": seconds,
        "file_rss_change_mib": file_change / MIB,
        "threads": torch.get_num_threads(),
    }


def _compare(out: Path, results: dict[str, dict[str, Any]]) -> str | None:
    """Largest entropy difference between the naive rows and the matching lens rows."""
    if "naive" not in results or not ({"lens", "lens_arrays"} & set(results)):
        return None
    naive = np.load(out / "naive.npy")
    n = results["naive"]["layers"]
    lines = []
    for name in ("lens", "lens_arrays"):
        if name in results:
            rows = np.load(out / f"{name}.npy")[[*range(n - 1), n]]
            lines.append(
                f"max |entropy {name} − naive| = {np.nanmax(np.abs(rows - naive)):.2e} nats"
            )
    return "; ".join(lines)


def _measure(args: argparse.Namespace, variant: str, out: str) -> dict[str, Any]:
    """One measurement of ``variant``: in a fresh process, or here with ``--smoke``."""
    if args.smoke:
        return child(argparse.Namespace(**{**vars(args), "variant": variant, "out": out}))
    cmd = [__file__, "--variant", variant, "--out", out, "--tokens", str(args.tokens)]
    cmd += ["--random"] * args.random
    cmd += ["--chunk-elements", str(args.chunk_elements)] if args.chunk_elements else []
    cmd += ["--threads", str(args.threads)] if args.threads else []
    env = None
    if args.mmap_threshold is not None:
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(args.mmap_threshold)}
    return json.loads(run_child(cmd, env=env).strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--random", action="store_true", help="random LlamaConfig, SmolLM2 shapes")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny random model, 32 tokens, in this process"
    )
    parser.add_argument("--tokens", type=int, default=None, help="prompt length (default 512)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    parser.add_argument(
        "--repeat", type=int, default=3, help="fresh processes per variant (default 3)"
    )
    parser.add_argument(
        "--mmap-threshold",
        type=int,
        default=None,
        help="diagnostic: set glibc's MALLOC_MMAP_THRESHOLD_ (bytes) in the children, so that "
        "large buffers are always mmapped and returned on free",
    )
    parser.add_argument(
        "--chunk-elements",
        type=int,
        default=None,
        help="diagnostic: override tokenheat.analyses._lens.CHUNK_ELEMENTS (logit elements "
        "computed at once) in the measured process",
    )
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: one measurement
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.tokens = args.tokens or (32 if args.smoke else 512)
    if args.threads is None:
        import torch

        args.threads = torch.get_num_threads()
    if args.variant:
        print(json.dumps(child(args)))
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        parser.error(f"--variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if not (args.random or args.smoke):
        try:
            from tokenheat.models._default import default_model_dir

            default_model_dir()
        except ImportError as err:  # DefaultModelNotFoundError is an ImportError
            print(f"# default model unavailable ({err.__class__.__name__}); using --random")
            args.random = True
    repeat = 1 if args.smoke else args.repeat
    shape = SMOKE if args.smoke else SMOLLM2
    one_layer = args.tokens * shape["vocab"] * 4 / MIB
    print(machine_info())
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Round robin (a, b, c, a, b, c, ...) so that a change of machine load over the run
        # affects every variant alike.
        for _ in range(repeat):
            for variant in variants:
                need = 2 * shape["layers"] * one_layer * MIB
                avail = mem_available_bytes()
                if variant == "naive" and avail is not None and need > 0.8 * avail:
                    print(f"# naive skipped: needs ~{need / MIB:,.0f} MiB, {avail / MIB:,.0f} free")
                    continue
                runs.setdefault(variant, []).append(_measure(args, variant, tmp))
        check = _compare(Path(tmp), {v: r[-1] for v, r in runs.items()})
    first = next(iter(runs.values()))[0]
    print(
        f"# model: {first['model']}; {first['tokens']} tokens, {first['layers']} layers, "
        f"vocab {first['vocab']:,}; torch threads {first['threads']}; "
        f"baseline RSS {first['baseline_mib']:,.0f} MiB; "
        + (
            "smoke: in this process"
            if args.smoke
            else f"{repeat} fresh process(es) per variant, in turn"
        )
        + (f"; MALLOC_MMAP_THRESHOLD_={args.mmap_threshold}" if args.mmap_threshold else "")
        + (f"; CHUNK_ELEMENTS={args.chunk_elements}" if args.chunk_elements else "")
    )
    print(
        f"# one layer's logits: {first['tokens']} × {first['vocab']:,} × 4 B = {one_layer:.1f} MiB\n"
    )
    peak = {v: median([r["peak_extra_mib"] for r in rs]) for v, rs in runs.items()}
    worst = {v: max(r["peak_extra_mib"] for r in rs) for v, rs in runs.items()}
    secs = {v: median([r["seconds"] for r in rs]) for v, rs in runs.items()}
    naive_s = secs.get("naive", float("nan"))
    rows = [
        [
            DESCRIPTIONS[v],
            peak[v],
            worst[v],
            f"{peak[v] / one_layer:.2f}×",
            secs[v],
            f"{ratio(naive_s, secs[v]):.2f}×",
        ]
        for v in runs
    ]
    headers = ["variant", "peak extra, median (MiB)", "max (MiB)", "median ÷ one layer"]
    print(table([*headers, "time, median (s)", "naive time ÷ this"], rows))
    drift = max(abs(r["file_rss_change_mib"]) for rs in runs.values() for r in rs)
    print(f"\n# largest change of file-backed RSS during a measured run: {drift:.1f} MiB")
    if check:
        print(f"# {check}")
    if "lens" in runs and not args.smoke:
        got = peak["lens"] / one_layer
        verdict = "met" if got < 2 else "NOT met"
        print(
            f"# target th.lens peak extra < 2× one layer's logits: median {got:.2f}× "
            f"(max {worst['lens'] / one_layer:.2f}×) → {verdict}"
        )
    if "naive" in runs and "lens" in runs:
        print(
            f"# memory: naive ÷ th.lens = {ratio(peak['naive'], peak['lens']):.1f}×; "
            f"time: th.lens ÷ naive = {ratio(secs['lens'], naive_s):.2f}×"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
