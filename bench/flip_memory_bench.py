"""Peak memory of flip_rate over 1k, 3k and 10k sentences: flat in the number of sentences.

    python bench/flip_memory_bench.py [--sizes 1000,3000,10000] [--smoke]

Each size runs in a fresh subprocess. The classifier is an ``LMClassifier`` on a tiny random
Llama (2 layers, hidden 64, a byte-level BPE trained on the demo sentences), so the run is
quick while the real code path is used: original prompts keep their key/value caches until
their perturbations are classified (shared-prefix path), aggregates are streamed. Sentences
are the demo's emotion sentences, repeated, fed as a generator (flip_rate never holds the
whole list). Every word is deleted once; ``max_contexts_per_cell`` keeps its default (200).

Reported per size: the child's RSS after loading and a warm-up run (baseline), its peak RSS
during ``flip_rate`` (``VmHWM``, reset after the warm-up), the growth, and the size of the
result itself (corpus ids and contexts, which grow with the input by design). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import _common
import _model_common as mc


def sentences(n: int) -> Iterator[str]:
    import tokenheat as th

    base = th.datasets.emotions()["text"].tolist()
    for i in range(n):
        yield base[i % len(base)]


def result_bytes(m: object) -> int:
    """Bytes of the result's arrays that grow with the input (corpus and contexts)."""
    import numpy as np

    total = 0
    for obj in (m.corpus, m.contexts):  # type: ignore[attr-defined]
        for value in vars(obj).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
            elif isinstance(value, dict):
                for v in value.values():
                    arr = v[1] if isinstance(v, tuple) else v
                    total += getattr(arr, "nbytes", 0)
    return total


def child(n: int) -> None:
    import tokenheat as th

    mc.set_threads()
    texts = th.datasets.emotions()["text"].tolist()
    tok = mc.tiny_tokenizer(texts)
    clf = th.models.LMClassifier(
        mc.tiny_llama(len(tok)),
        tok,
        template=mc.EMOTION_TEMPLATE,
        labels=mc.single_token_words(tok, texts),
    )
    th.flip_rate(clf, sentences(64), progress=False)  # warm-up: imports, torch buffers
    _common.release_free_memory()
    _common.reset_peak_rss()
    base = _common.rss_bytes()
    start = time.perf_counter()
    m = th.flip_rate(clf, sentences(n), progress=False)
    seconds = time.perf_counter() - start
    peak = _common.peak_rss_bytes()
    print(
        json.dumps({
            "n": n,
            "baseline": base,
            "peak": peak,
            "seconds": seconds,
            "perturbations": m.meta["n_perturbations"],
            "result": result_bytes(m),
            "contexts": len(m.contexts),
        })
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000", help="sentence counts")
    parser.add_argument("--smoke", action="store_true", help="sizes 20 and 60")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return
    sizes = [20, 60] if args.smoke else [int(s) for s in args.sizes.split(",")]
    print(
        _common.machine_info(
            {
                "classifier": "LMClassifier on a tiny random Llama (2 layers, hidden 64)",
                "torch threads": str(mc.THREADS),
            }
        )
    )
    rows = []
    for n in sizes:
        out = _common.run_child([str(Path(__file__).resolve()), "--child", str(n)])
        r = json.loads(out.strip().splitlines()[-1])
        mib = _common.MIB
        rows.append([
            r["n"], r["perturbations"], r["seconds"], r["baseline"] / mib, r["peak"] / mib,
            (r["peak"] - r["baseline"]) / mib, r["result"] / mib, r["contexts"],
        ])  # fmt: skip
    print()
    print(
        _common.table(
            ["sentences", "perturbations", "seconds", "baseline MiB", "peak MiB",
             "growth MiB", "result MiB", "contexts"],
            rows,
        )
    )  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
