"""Held-out KL(final ‖ layer) per layer: the logit lens against the tuned lens.

Trains (or reads from the cache) the demo's tuned lens (``tokenheat demo --tuned-lens``:
Python's documentation topics and the bundled corpus), then measures on documentation
topics it never saw the mean KL, in nats per token, from the model's final next-token
distribution to each layer's, for both lenses. Prints a Markdown table and the training
time, and draws ``bench/tuned_lens_kl.png`` (matplotlib) or ``.svg`` (without it);
``--smoke`` draws into a temporary folder.

    python bench/tuned_lens_kl.py                 # SmolLM2-135M-Instruct
    python bench/tuned_lens_kl.py --retrain       # train again instead of using the cache
    python bench/tuned_lens_kl.py --smoke         # a tiny random Llama, seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

OUT = Path(__file__).resolve().parent


def _model(smoke: bool) -> tuple[Any, Any, str]:
    if not smoke:
        import tokenheat as th

        model, tokenizer = th.models.load_default()
        return model, tokenizer, "SmolLM2-135M-Instruct (float32)"
    from _model_common import tiny_llama, tiny_tokenizer

    from tokenheat.demo._run import tuned_lens_texts

    tokenizer = tiny_tokenizer(tuned_lens_texts()[:40])
    return tiny_llama(len(tokenizer), layers=4), tokenizer, "tiny random Llama (4 layers)"


def _train(model: Any, tokenizer: Any, args: argparse.Namespace) -> tuple[Any, float]:
    import tokenheat as th
    from tokenheat.demo._run import tuned_lens_texts

    options: dict[str, Any] = {"progress": not args.no_progress}
    for name in ("steps", "fit_windows", "batch_size"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.smoke:
        options.update(steps=20, seq_len=32, batch_size=4, fit_windows=32)  # over the flags
    if args.retrain or args.smoke:
        options.update(cache=True, cache_dir=tempfile.mkdtemp(prefix="tuned-lens-bench-"))
    start = time.perf_counter()
    tuned = th.train_tuned_lens(model, tokenizer, tuned_lens_texts(), **options)
    return tuned, time.perf_counter() - start


def _plot(kl_logit: Any, kl_tuned: Any, title: str, out: Path) -> Path:
    """A line chart of both curves: PNG through matplotlib, else a hand-written SVG."""
    layers = list(range(len(kl_logit)))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _svg(kl_logit, kl_tuned, title, out)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(layers, kl_logit, "o-", label="logit lens", color="#d62728")
    ax.plot(layers, kl_tuned, "o-", label="tuned lens", color="#1f77b4")
    ax.set_xlabel("layer (block output)")
    ax.set_ylabel("KL(final ‖ layer), nats per token")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "tuned_lens_kl.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def _svg(kl_logit: Any, kl_tuned: Any, title: str, out: Path) -> Path:
    width, height, pad = 640, 360, 50
    top = max(max(kl_logit), max(kl_tuned), 1e-9)
    n = max(len(kl_logit) - 1, 1)

    def points(values: Any) -> str:
        return " ".join(
            f"{pad + i * (width - 2 * pad) / n:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
            for i, v in enumerate(values)
        )

    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<text x="{pad}" y="25" font-size="13">{title}</text>',
        f'<polyline fill="none" stroke="#d62728" stroke-width="2" points="{points(kl_logit)}"/>',
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points(kl_tuned)}"/>',
        f'<text x="{width - 150}" y="45" fill="#d62728" font-size="12">logit lens</text>',
        f'<text x="{width - 150}" y="62" fill="#1f77b4" font-size="12">tuned lens</text>',
        f'<text x="{pad}" y="{height - 15}" font-size="12">layer 0 … {n}; y: KL nats (max '
        f"{top:.2f})</text>",
        "</svg>",
    ]
    path = out / "tuned_lens_kl.svg"
    path.write_text("\n".join(body), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny random model, seconds")
    parser.add_argument("--retrain", action="store_true", help="train again (a fresh cache)")
    parser.add_argument(
        "--held-out-windows", type=int, default=8, help="held-out windows of 128 tokens"
    )
    parser.add_argument("--steps", type=int, default=None, help="KL steps (default: the library's)")
    parser.add_argument("--fit-windows", type=int, default=None, help="least-squares windows")
    parser.add_argument("--batch-size", type=int, default=None, help="windows per KL step")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from tokenheat.analyses import lens_kl
    from tokenheat.demo._run import tuned_lens_held_out

    torch.set_num_threads(2)
    model, tokenizer, name = _model(args.smoke)
    print(_common.machine_info({"model": name, "torch threads": str(torch.get_num_threads())}))
    load_before = os.getloadavg()
    tuned, wall = _train(model, tokenizer, args)
    load_after = os.getloadavg()
    settings = tuned.info["settings"]
    seq_len = settings["seq_len"]
    held = tuned_lens_held_out()
    windows = args.held_out_windows
    start = time.perf_counter()
    kl_logit = lens_kl(model, tokenizer, held, seq_len=seq_len, max_windows=windows)
    kl_tuned = lens_kl(
        model, tokenizer, held, translator=tuned, seq_len=seq_len, max_windows=windows
    )
    eval_s = time.perf_counter() - start

    print(f"\n## Held-out mean KL(final ‖ layer), nats per token ({windows} × {seq_len} tokens)\n")
    rows = [
        [f"L{i}", float(a), float(b), _common.ratio(float(b), float(a))]
        for i, (a, b) in enumerate(zip(kl_logit, kl_tuned, strict=True))
    ]
    rows.append(["mean", float(kl_logit.mean()), float(kl_tuned.mean()),
                 _common.ratio(float(kl_tuned.mean()), float(kl_logit.mean()))])  # fmt: skip
    print(_common.table(["layer", "logit lens", "tuned lens", "tuned / logit"],
                        [[r[0], *(f"{v:.3f}" for v in r[1:])] for r in rows]))  # fmt: skip
    lower = int((kl_tuned[:-1] < kl_logit[:-1]).sum())
    print(
        f"\ntuned lens lower at {lower} of {len(kl_logit) - 1} layers (the last block is the output)"
    )
    trained_here = tuned.info.get("train_seconds") is not None and wall > 1.0
    print("\n## Training\n")
    print(
        _common.table(
            ["", "value"],
            [
                ["steps (KL, SGD + Nesterov)", tuned.steps],
                ["least-squares start (windows)", settings.get("fit_windows")],
                ["tokens per step", settings["batch_size"] * seq_len],
                ["training seconds (fit + steps, as recorded)", round(tuned.info["train_seconds"], 1)],
                ["this run's wall seconds (incl. cache read)", round(wall, 1)],
                ["trained in this run", trained_here],
                ["held-out evaluation seconds (both lenses)", round(eval_s, 1)],
                ["load average before / after training",
                 f"{load_before[0]:.1f} / {load_after[0]:.1f}"],
            ],
        )
    )  # fmt: skip
    if not args.no_plot:
        out = Path(tempfile.mkdtemp(prefix="tuned-lens-plot-")) if args.smoke else OUT
        path = _plot(kl_logit, kl_tuned, f"{name}: held-out KL(final ‖ layer)", out)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
