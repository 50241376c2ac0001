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
    tuned_lens: Any = None,
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
    tuned_lens : TunedLens, optional
        Also draw the lens figure through this tuned lens, beside the logit lens.

    Returns
    -------
    DemoResult
        ``matrices`` in dashboard order: flip rate, logit-lens entropy, attribution,
        anchor similarity; with ``tuned_lens``, the logit and the tuned lens first (one
        row of the dashboard), then the others.
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
    if tuned_lens is not None:
        with _timed(timings, "tuned lens", log):
            matrices = beside_logit_lens(
                matrices, tuned_lens_figure(model, tokenizer, tuned_lens, progress=progress)
            )
    return DemoResult(matrices, timings)


def tuned_lens_texts() -> list[str]:
    """What the demo trains its tuned lens on: text that ships with Python and tokenheat.

    Four of every five of Python's own documentation topics (``pydoc_data.topics``, about
    110k SmolLM2 tokens) and the demo corpus; :func:`tuned_lens_held_out` is the rest.
    """
    from pydoc_data.topics import topics

    from tokenheat.demo import datasets as data

    docs = [topics[k] for i, k in enumerate(sorted(topics)) if i % 5 != 0]
    return [*docs, *data.emotions()["text"], *data.pause_texts()]


def tuned_lens_held_out() -> list[str]:
    """Text the demo's tuned lens never saw: every fifth Python documentation topic."""
    from pydoc_data.topics import topics

    return [topics[k] for i, k in enumerate(sorted(topics)) if i % 5 == 0]


def demo_tuned_lens(model: Any, tokenizer: Any, *, progress: bool = True) -> Any:
    """The demo's tuned lens for ``model``: trained once on :func:`tuned_lens_texts`, then
    read from the cache (see :func:`tokenheat.train_tuned_lens`)."""
    from tokenheat.analyses import train_tuned_lens

    return train_tuned_lens(model, tokenizer, tuned_lens_texts(), progress=progress)


def tuned_lens_figure(model: Any, tokenizer: Any, tuned: Any, *, progress: bool) -> TokenMatrix:
    """The demo's lens figure (entropy on the first chat prompt) through ``tuned``."""
    from tokenheat.analyses import lens
    from tokenheat.demo import datasets as data

    prompt = [[{"role": "user", "content": data.chat_prompts()[0]}]]
    return lens(
        model, tokenizer, prompt, chat=True, append=" ...", n_dummy=6, stat="entropy",
        translator=tuned, progress=progress,
    )  # fmt: skip


def beside_logit_lens(matrices: list[TokenMatrix], tuned: TokenMatrix) -> list[TokenMatrix]:
    """The logit lens and ``tuned`` first, so that they share the dashboard's first row."""
    logit = [m for m in matrices if m.meta.get("analysis") == "lens"][:1]
    return [*logit, tuned, *(m for m in matrices if m not in logit)]


def run_demo(
    out: str | pathlib.Path = "tokenheat-demo.html",
    model: str | None = None,
    quick: bool = False,
    save: str | None = None,
    progress: bool = True,
    tuned_lens: bool = False,
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
    tuned = _load_or_train_tuned_lens(lm, tokenizer, progress) if tuned_lens else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = build_demo(lm, tokenizer, quick=quick, progress=progress, tuned_lens=tuned)
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


def _load_or_train_tuned_lens(model: Any, tokenizer: Any, progress: bool) -> Any:
    """``--tuned-lens``: a cached lens of this model (the newest, whatever its settings), or
    train one once (minutes on CPU) and cache it."""
    from tokenheat.analyses import TunedLens

    start = time.perf_counter()
    print("  tuned lens: from the cache, or trained once on Python's docs and the corpus")
    try:
        tuned = TunedLens.cached(model) or demo_tuned_lens(model, tokenizer, progress=progress)
    except KeyboardInterrupt:
        print("  tuned lens: interrupted; its checkpoint is kept, run again to resume")
        raise
    print(f"  {'tuned lens':<18} {time.perf_counter() - start:6.1f} s ({tuned.steps} steps)")
    return tuned
