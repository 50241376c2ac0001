"""Research-scale runs: flip rate in-process vs engine="ray", and the lens's flat memory.

    python bench/scale_bench.py [--texts 2000] [--workers 2] [--lens-sizes 1000,10000] [--smoke]

1. **Flip rate, in-process vs Ray.** The classifier is an ``LMClassifier`` on a tiny random
   Llama (2 layers, hidden 64, a byte-level BPE trained on the demo's emotion sentences; the
   object itself is pickled to the workers). The same ``--texts`` sentences run in this
   process (``--threads`` torch threads, default 1) and with ``engine="ray"`` on a local cluster of
   ``--workers`` CPUs (one actor per CPU, one torch thread each), in shards of
   ``texts / (4 x workers)``. Reported: whether the two results are equal (matrix and
   contexts), both throughputs and their ratio, the cluster's start-up, Ray's fixed cost
   per run (a run over one text per worker, minus the same in-process), and the per-shard
   cost (two Ray runs whose shard sizes differ 4x: the extra time over the extra shards).
2. **Lens memory.** ``th.lens`` over 1k and 10k prompts of the same tiny model, each size in
   a fresh process: peak RSS growth over the baseline (``VmHWM``, reset after a warm-up),
   next to ``lens_arrays``, the numeric core that keeps every prompt's arrays.

Ratios are taken within one run; the load average is printed with the machine. Nothing is
asserted (``tests/unit/test_bench_smoke.py`` runs ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common
import _model_common as mc


def emotion_texts(n: int) -> list[str]:
    import tokenheat as th

    base = th.datasets.emotions()["text"].tolist()
    return [base[i % len(base)] for i in range(n)]


def classifier() -> object:
    import tokenheat as th

    texts = emotion_texts(400)
    tok = mc.tiny_tokenizer(texts)
    return th.models.LMClassifier(
        mc.tiny_llama(len(tok)), tok, template=mc.EMOTION_TEMPLATE,
        labels=mc.single_token_words(tok, texts),
    )  # fmt: skip


def start_ray(workers: int, tmp: str) -> float:
    """Start a quiet local cluster (retried: a loaded machine can miss Ray's start-up
    deadlines); the seconds the successful start took."""
    import ray

    from tokenheat.engines._ray import quiet_local_ray_env

    quiet_local_ray_env()
    for attempt in range(3):
        t0 = time.perf_counter()
        try:
            ray.init(num_cpus=workers, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
            return time.perf_counter() - t0
        except Exception as err:
            ray.shutdown()
            print(f"# ray.init failed ({str(err)[:60]}...), attempt {attempt + 1} of 3")
    raise SystemExit("Ray did not start; the machine may be too loaded")


def compare(a: object, b: object) -> tuple[bool, bool, float, bool]:
    """(counts equal, matrix and contexts equal, max |difference| of a context probability,
    corpora equal)."""
    import numpy as np

    ta, tb = a.meta["tallies"], b.meta["tallies"]  # type: ignore[attr-defined]
    counts = ta["keys"] == tb["keys"] and all(
        np.array_equal(ta[k], tb[k]) for k in ("occ", "flips")
    )
    ca, cb = a.contexts.to_pandas(a.corpus), b.contexts.to_pandas(b.corpus)  # type: ignore[attr-defined]
    probs = ["p_orig", "p_new"]
    corpus = bool(a.corpus == b.corpus)  # type: ignore[attr-defined]
    if len(ca) != len(cb):
        return counts, False, float("nan"), corpus
    delta = float(np.abs(ca[probs].to_numpy() - cb[probs].to_numpy()).max()) if len(ca) else 0.0
    whole = bool(a.equals(b) and ca.drop(columns=probs).equals(cb.drop(columns=probs)))  # type: ignore[attr-defined]
    return bool(counts), whole, delta, corpus


def flip_part(n: int, workers: int, threads: int) -> list[list[object]]:
    import tokenheat as th

    mc.set_threads(threads)
    clf = classifier()
    texts = emotion_texts(n)
    opts = {"progress": False, "batch_size": 32}
    th.flip_rate(clf, texts[:16], **opts)  # warm-up
    t_local, local = _common.timed(lambda: th.flip_rate(clf, texts, **opts))
    t_small_local, _ = _common.timed(lambda: th.flip_rate(clf, texts[:workers], **opts))
    tmp = tempfile.mkdtemp(prefix="thbench-")
    try:
        t_init = start_ray(workers, tmp)

        def on_ray(items: list[str], size: int) -> object:
            ray_options = {"concurrency": workers, "num_cpus": 1, "batch_size": size}
            return th.flip_rate(clf, items, engine="ray", ray_options=ray_options, **opts)

        on_ray(texts[:workers], 1)  # warm-up: the first map_batches plans the executor
        t_small, _ = _common.timed(lambda: on_ray(texts[:workers], 1))
        shard = max(1, n // (4 * workers))
        t_ray, merged = _common.timed(lambda: on_ray(texts, shard))
        t_ray_fine, _ = _common.timed(lambda: on_ray(texts, max(1, shard // 4)))
    finally:
        import ray

        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    equal_counts, equal_all, delta, equal_corpus = compare(merged, local)
    blocks = -(-n // shard)
    blocks_fine = -(-n // max(1, shard // 4))
    per_block = (t_ray_fine - t_ray) / max(1, blocks_fine - blocks) * workers
    return [
        ["texts", n],
        ["perturbed texts", local.meta["n_perturbations"]],  # type: ignore[attr-defined]
        ["flip counts equal (every unit, every bucket)", equal_counts],
        ["matrix and contexts equal (probabilities aside)", equal_all],
        ["max |Δp| of a context probability", delta],
        ["corpus equal (every text's tokens, texts)", equal_corpus],
        [f"in-process ({threads} torch thread{'s' if threads > 1 else ''}): seconds", t_local],
        ["in-process: texts/s", n / t_local],
        [f"ray, {workers} workers, shards of {shard}: seconds", t_ray],
        ["ray: texts/s", n / t_ray],
        ["throughput ratio ray / in-process", t_local / t_ray],
        ["ray.init (cluster start, once per session): seconds", t_init],
        ["ray fixed cost per run (1 text per worker, minus in-process): seconds", t_small - t_small_local],
        [f"ray per-shard cost (shards of {shard} vs {max(1, shard // 4)}): seconds per shard per worker", per_block],
        ["per-worker throughput, fixed cost removed: texts/s", n / max(1e-9, t_ray - (t_small - t_small_local)) / workers],
    ]  # fmt: skip


def lens_child(n: int, variant: str) -> None:
    import tokenheat as th
    from tokenheat.analyses._lens import lens_arrays
    from tokenheat.models._select import adapter_for

    mc.set_threads(1)
    texts = emotion_texts(n)
    tok = mc.tiny_tokenizer(emotion_texts(400))
    model = mc.tiny_llama(len(tok))
    th.lens(model, tok, texts[:32], progress=False)  # warm-up
    _common.release_free_memory()
    _common.reset_peak_rss()
    base = _common.rss_bytes()
    start = time.perf_counter()
    if variant == "lens":
        th.lens(model, tok, texts, progress=False)
    else:
        adapter = adapter_for(model, tok)
        lens_arrays(adapter, adapter.encode(texts), [0, 1])
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "n": n,
                "variant": variant,
                "baseline": base,
                "peak": _common.peak_rss_bytes(),
                "seconds": seconds,
            }
        )
    )


def lens_part(sizes: list[int]) -> list[list[object]]:
    rows = []
    for variant in ("lens", "lens_arrays"):
        for n in sizes:
            out = _common.run_child(
                [str(Path(__file__).resolve()), "--lens-child", f"{n}:{variant}"]
            )
            r = json.loads(out.strip().splitlines()[-1])
            mib = _common.MIB
            rows.append(
                [variant, n, r["seconds"], r["baseline"] / mib, (r["peak"] - r["baseline"]) / mib]
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="flip-rate texts (>= 2000)")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers = local CPUs")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads in-process (1: on a loaded machine 2 threads spin and run ~10x slower)",
    )  # fmt: skip
    parser.add_argument("--lens-sizes", default="1000,10000", help="lens prompt counts")
    parser.add_argument("--smoke", action="store_true", help="40 texts, lens at 50 and 200")
    parser.add_argument("--skip-ray", action="store_true", help="only the lens part")
    parser.add_argument("--skip-lens", action="store_true", help="only the flip-rate part")
    parser.add_argument("--lens-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lens_child:
        n, variant = args.lens_child.split(":")
        lens_child(int(n), variant)
        return
    n = 40 if args.smoke else args.texts
    sizes = [50, 200] if args.smoke else [int(s) for s in args.lens_sizes.split(",")]
    print(_common.machine_info({"model": "tiny random Llama (2 layers, hidden 64), LMClassifier"}))
    if not args.skip_ray:
        print("\n## Flip rate: in-process vs engine='ray'\n")
        print(_common.table(["measure", "value"], flip_part(n, args.workers, args.threads)))
    if args.skip_lens:
        return
    print("\n## Lens: peak RSS growth over the baseline\n")
    print(
        _common.table(
            ["variant", "prompts", "seconds", "baseline MiB", "peak growth MiB"], lens_part(sizes)
        )
    )
    print(f"\n# load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
