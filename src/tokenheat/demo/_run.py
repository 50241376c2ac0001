"""``tokenheat demo``: the four analyses on the default model and the bundled corpus,
written as one linked dashboard (an offline HTML file)."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tokenheat.core._matrix import TokenMatrix

EMOTIONS = ("sadness", "joy", "anger", "optimism")
#: Measured on a 32-sentence slice of the bundled corpus: 72% accuracy with this prompt,
#: 50% with "Text: {text}\nThe emotion in this text is".
EMOTION_TEMPLATE = "{text}\nThis sentence expresses the emotion of"


@dataclass(frozen=True)
class DemoSize:
    """How much of the bundled corpus each analysis reads."""

    sentences_per_label: int | None
    flip_top_k: int
    flip_min_count: int
    ig_steps: int
    pause_texts: int | None
    max_distance: int


FULL = DemoSize(None, 30, 3, 32, None, 24)
QUICK = DemoSize(12, 20, 2, 32, 6, 16)


@dataclass
class DemoResult:
    """The four matrices and how long each step took (seconds)."""

    matrices: list[TokenMatrix]
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], name: str, log: Callable[[str], None]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    log(f"  {name:<18} {timings[name]:6.1f} s")


def build_demo(
    model: Any,
    tokenizer: Any,
    *,
    quick: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Run the four analyses of the demo on ``model``.

    Parameters
    ----------
    model, tokenizer
        A Hugging Face causal LM with a chat template (SmolLM2-135M-Instruct by default).
    quick : bool
        Read a smaller slice of the corpus (about a minute on two CPU cores).
    progress : bool
        Show progress bars.
    log : callable
        Receives one line per finished analysis with its time.

    Returns
    -------
    DemoResult
        ``matrices`` in dashboard order: flip rate, logit-lens entropy, attribution,
        anchor similarity.
    """
    from tokenheat.analyses import anchor_similarity, attribution, flip_rate, lens
    from tokenheat.demo import datasets as data
    from tokenheat.models import LMClassifier

    size = QUICK if quick else FULL
    timings: dict[str, float] = {}
    matrices: list[TokenMatrix] = []

    with _timed(timings, "flip_rate", log):
        emotions = data.emotions(n_per_label=size.sentences_per_label)
        classifier = LMClassifier(
            model, tokenizer, template=EMOTION_TEMPLATE, labels=list(EMOTIONS)
        )
        matrices.append(
            flip_rate(
                classifier,
                emotions["text"].tolist(),
                perturb="delete",
                unit="word",
                top_k=size.flip_top_k,
                min_count=size.flip_min_count,
                progress=progress,
                title="Flip rate when a word is deleted, by relative position",
            )
        )

    with _timed(timings, "lens", log):
        matrices.append(
            lens(
                model,
                tokenizer,
                [[{"role": "user", "content": data.chat_prompts()[0]}]],
                chat=True,
                append=" ...",
                n_dummy=6,
                stat="entropy",
                progress=progress,
            )
        )

    with _timed(timings, "attribution", log):
        question = data.arithmetic(shots=2).iloc[0]
        answer = int(question["answer"])
        targets = [f" {answer}", f" {answer + 1}", f" {answer - 1}"]
        matrices.append(
            attribution(
                model,
                tokenizer,
                question["input"],
                targets,
                method="integrated_gradients",
                steps=size.ig_steps,
                # From EOS the path converges better on SmolLM2 than from zeros (worst
                # completeness error 16% vs 31% at 32 steps; bench/README.md).
                baseline="eos",
                progress=progress,
            )
        )

    with _timed(timings, "anchor_similarity", log):
        texts = data.pause_texts()
        if size.pause_texts is not None:
            texts = texts[: size.pause_texts]
        matrices.append(
            anchor_similarity(
                model,
                tokenizer,
                texts,
                anchor="_PAUSE_",
                max_distance=size.max_distance,
                progress=progress,
            )
        )
    return DemoResult(matrices, timings)


def run_demo(
    out: str | pathlib.Path = "tokenheat-demo.html",
    model: str | None = None,
    quick: bool = False,
    save: str | None = None,
    progress: bool = True,
) -> pathlib.Path:
    """The ``tokenheat demo`` command: load the model, run the analyses, write the HTML.

    Returns
    -------
    pathlib.Path
        The HTML file written.
    """
    import warnings

    from tokenheat.export import to_html
    from tokenheat.models import load_default, load_model

    started = time.perf_counter()
    print(
        f"tokenheat demo{' (quick)' if quick else ''}: loading {'model ' + model if model else 'SmolLM2-135M-Instruct'}"
    )
    load_start = time.perf_counter()
    lm, tokenizer = load_model(model) if model else load_default()
    print(f"  {'load model':<18} {time.perf_counter() - load_start:6.1f} s")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = build_demo(lm, tokenizer, quick=quick, progress=progress)
    for w in caught:
        print(f"  note: {w.message}")
    path = pathlib.Path(out).resolve()
    to_html(
        result.matrices,
        path,
        title="tokenheat demo: SmolLM2-135M-Instruct" if not model else f"tokenheat demo: {model}",
    )
    if save:
        from tokenheat.store._archive import save as save_results

        save_results(result.matrices, save)
        print(f"saved results to {pathlib.Path(save).resolve()}")
    total = time.perf_counter() - started
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in {total:.1f} s")
    return path
