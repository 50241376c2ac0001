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

    frames: int | None
    quick_words: bool
    ig_steps: int | str
    pause_texts: int | None
    max_distance: int


#: The full demo integrates with the default ``steps="auto"``: each column doubles its points
#: until its relative completeness error is within 5% (on SmolLM2: 32, 32, 32, 64 and 128
#: points). The quick demo stops at 32 (2.6x fewer points); it prints the columns above 5%
#: (on SmolLM2 two of five: 9.5% and 19.5%).
FULL = DemoSize(None, False, "auto", None, 24)
QUICK = DemoSize(187, True, 32, 6, 16)

#: Cell size of the demo page (px): the lens's top-1 tokens and the printed attributions fit.
DEMO_CELL_SIZE = 24
#: The lens prompt: the emotion words of the flip-rate figure and one of the attribution's
#: questions, so clicking a word or a number links the figures.
LENS_PROMPT = "The news was gloomy, yet she spoke with optimism. Sadly, was it hopeful? 3 x 4 ="
#: Column labels of the five arithmetic examples (``th.datasets.arithmetic_figure()``), as
#: the research figure writes them.
ARITHMETIC_LABELS = ("8 x 48 = 384", "3 x 4 = 12", "6 - 4 = 2", "50(10x5)", "$35 ($85 - $50)")


@dataclass
class DemoResult:
    """The matrices (dashboard order) and how long each step took (seconds)."""

    matrices: list[TokenMatrix]
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], name: str, log: Callable[[str], None]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start
    log(f"  {name:<18} {timings[name]:6.1f} s")


def restyled(m: TokenMatrix, **changes: Any) -> TokenMatrix:
    """A copy of ``m`` with some constructor arguments changed (validated again)."""
    fields = {
        "values": m.values, "rows": m.rows, "cols": m.cols, "row_kind": m.row_kind,
        "col_kind": m.col_kind, "row_title": m.row_title, "col_title": m.col_title,
        "title": m.title, "value_label": m.value_label, "cell_text": m.cell_text_array(),
        "counts": m.counts, "extras": m.extras, "scale": m.scale, "row_tokens": m.row_tokens,
        "col_tokens": m.col_tokens, "row_examples": m.row_examples,
        "col_examples": m.col_examples, "corpus": m.corpus, "contexts": m.contexts,
        "meta": m.meta, "display": m.display,
    }  # fmt: skip
    return TokenMatrix(**{**fields, **changes})


def figure_flip_rate(model: Any, tokenizer: Any, size: DemoSize, progress: bool) -> TokenMatrix:
    """Flip rate of the emotion words by relative position, ranked by flip rate."""
    from tokenheat.analyses import flip_rate
    from tokenheat.demo import datasets as data
    from tokenheat.models import LMClassifier

    frames = data.emotion_frames(size.frames)
    words = data.QUICK_EMOTION_WORDS if size.quick_words else data.EMOTION_WORDS
    classifier = LMClassifier(model, tokenizer, template=EMOTION_TEMPLATE, labels=list(EMOTIONS))
    return flip_rate(
        classifier,
        frames["text"].tolist(),
        perturb="delete",
        words=list(words),
        min_count=2,
        progress=progress,
        title="Flip rate when an emotion word is deleted, by relative position",
    )


def figure_lens(
    model: Any, tokenizer: Any, progress: bool, *, translator: Any = None
) -> TokenMatrix:
    """Lens entropy, blue (low) to red (high) over 0-10 nats, dummies marked; the logit lens,
    or the tuned lens when ``translator`` is given."""
    from tokenheat.analyses import lens
    from tokenheat.core import ColorScale, Display, Group

    m = lens(
        model, tokenizer, [[{"role": "user", "content": LENS_PROMPT}]], chat=True,
        append=" ...", n_dummy=6, stat="entropy", translator=translator, progress=progress,
    )  # fmt: skip
    n = m.shape[1]
    dummies = int(m.meta.get("appended_tokens") or 0)
    groups = (Group("dummy tokens", n - dummies, n),) if dummies else ()
    return restyled(
        m,
        scale=ColorScale("RdBu", domain=(0.0, 10.0), center=5.0, reverse=True),
        display=Display(cell_text="auto", col_groups=groups),
    )


def figure_attribution(model: Any, tokenizer: Any, size: DemoSize, progress: bool) -> TokenMatrix:
    """The five arithmetic examples as columns, RdYlGn over -1..1, values printed."""
    from tokenheat.analyses import attribution
    from tokenheat.core import ColorScale, Display
    from tokenheat.demo import datasets as data

    # The questions alone, as the research figure has them: any prefix puts more tokens on
    # the path from the zero baseline, whose integrand is rough on SmolLM2 (a 29-token
    # two-example prefix left columns 650% off completeness at 256 points; bench/README.md).
    questions, answers = zip(*data.arithmetic_figure(), strict=True)
    m = attribution(
        model, tokenizer, list(questions), list(answers), steps=size.ig_steps, progress=progress
    )
    return restyled(
        m,
        cols=list(ARITHMETIC_LABELS),
        col_tokens=None,
        title="Attribution of each answer to the question's tokens (integrated gradients)",
        scale=ColorScale("RdYlGn", domain=(-1.0, 1.0)),
        display=Display(cell_text="value", digits=2, mark_outliers=True),
    )


def figure_anchor(model: Any, tokenizer: Any, size: DemoSize, progress: bool) -> list[TokenMatrix]:
    """Mean-centred anchor similarity: one text's view (past tokens as columns), then the
    mean over every occurrence."""
    from tokenheat.analyses import anchor_similarity, hidden_means
    from tokenheat.demo import datasets as data

    texts = data.pause_texts()
    if size.pause_texts is not None:
        texts = texts[: size.pause_texts]
    # center="mean" in both views: the means over every text, computed once for the two
    means = hidden_means(model, tokenizer, texts, progress=progress)
    common: dict[str, Any] = {"anchor": data.PAUSE, "center": means, "progress": progress}
    # the first text's last anchor, centred on the mean over every text like the mean view
    last_of_first = texts[0].count(data.PAUSE) - 1
    one = anchor_similarity(
        model, tokenizer, texts, max_distance=size.max_distance, occurrence=last_of_first,
        **common,
    )  # fmt: skip
    mean = anchor_similarity(model, tokenizer, texts, max_distance=size.max_distance, **common)
    return [one, mean]


def build_demo(
    model: Any,
    tokenizer: Any,
    *,
    quick: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
    tuned_lens: Any = None,
) -> DemoResult:
    """Run the four analyses of the demo on ``model``, each drawn as its authors drew it.

    Parameters
    ----------
    model, tokenizer
        A Hugging Face causal LM with a chat template (SmolLM2-135M-Instruct by default).
    quick : bool
        Read a smaller slice of the corpus.
    progress : bool
        Show progress bars.
    log : callable
        Receives one line per finished analysis with its time.
    tuned_lens : TunedLens, optional
        Also draw the lens figure through this tuned lens, beside the logit lens.

    Returns
    -------
    DemoResult
        ``matrices`` in dashboard order: flip rate (emotion words ranked by flip rate, thin
        cells faded), logit-lens entropy (blue-white-red over 0-10 nats, dummy tokens
        marked), attribution (the five arithmetic examples as columns, RdYlGn -1..1, values
        printed, outliers marked), anchor similarity (mean-centred: one text with its past
        tokens as columns, then the mean over all occurrences).
        With ``tuned_lens``, the logit and the tuned lens come first (one row of the
        dashboard).
    """
    size = QUICK if quick else FULL
    timings: dict[str, float] = {}
    matrices: list[TokenMatrix] = []
    with _timed(timings, "flip_rate", log):
        matrices.append(figure_flip_rate(model, tokenizer, size, progress))
    with _timed(timings, "lens", log):
        matrices.append(figure_lens(model, tokenizer, progress))
    with _timed(timings, "attribution", log):
        matrices.append(figure_attribution(model, tokenizer, size, progress))
    with _timed(timings, "anchor_similarity", log):
        matrices.extend(figure_anchor(model, tokenizer, size, progress))
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
    """The demo's lens figure through the tuned lens ``tuned``."""
    return figure_lens(model, tokenizer, progress, translator=tuned)


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
        cell_size=DEMO_CELL_SIZE,
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
