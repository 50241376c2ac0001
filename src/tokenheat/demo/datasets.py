"""The demo corpus that ships inside tokenheat, written for this project.

Four small sets, one per analysis, as files next to this module (CSV and JSON, part of
the wheel) and loaded into plain Python structures:

- :func:`emotions`: 336 short sentences labelled sadness, joy, anger or optimism (84 each).
- :func:`emotion_frames`: 592 sentences built from frames so that each of
  :data:`EMOTION_WORDS` (32 emotion words) lands at every relative position, for the demo's
  ``flip_rate(..., words=EMOTION_WORDS)``.
- :func:`chat_prompts` / :func:`chat_messages` / :func:`with_dummy_tokens`: 22 short
  questions for the chat-templated logit ``lens``, with appended dummy tokens.
- :func:`arithmetic`: 20 few-shot (8 worked examples) arithmetic questions with their answers as targets, for
  ``attribution``.
- :func:`pause_texts`: 22 texts whose list items are separated by the ``_PAUSE_`` marker,
  for ``anchor_similarity``.

Examples
--------
>>> import tokenheat as th
>>> df = th.datasets.emotions()
>>> sorted(df.label.unique())
['anger', 'joy', 'optimism', 'sadness']
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from tokenheat.core._checks import (
    check_choice,
    check_int_range,
    check_optional_positive_int,
    check_positive_int,
    check_type,
    fail,
)
from tokenheat.errors import ArgumentTypeError

__all__ = [
    "EMOTION_LABELS",
    "EMOTION_WORDS",
    "PAUSE",
    "QUICK_EMOTION_WORDS",
    "arithmetic",
    "arithmetic_figure",
    "chat_answers",
    "chat_messages",
    "chat_prompts",
    "emotion_frames",
    "emotions",
    "pause_table",
    "pause_texts",
    "with_dummy_tokens",
]

#: The four emotion labels, in the order used by the demo.
EMOTION_LABELS: tuple[str, ...] = ("sadness", "joy", "anger", "optimism")
#: The emotion words of :func:`emotion_frames`, eight per label (sadness, joy, anger,
#: optimism), of four kinds: adverbs, adjectives of a person, of a situation, and nouns.
EMOTION_WORDS: tuple[str, ...] = (
    "sadly", "gloomy", "depressing", "despair", "grief", "heartbroken", "miserable", "lonely",
    "happily", "joyfully", "wonderful", "joy", "laughter", "delighted", "cheerful", "thrilled",
    "angrily", "furious", "outraged", "bitter", "rage", "fury", "infuriating", "outrageous",
    "hopefully", "optimism", "hope", "hopeful", "optimistic", "confident", "promising",
    "encouraging",
)  # fmt: skip
#: The 26 words the first :data:`QUICK_FRAMES` sentences of :func:`emotion_frames` cover.
QUICK_EMOTION_WORDS: tuple[str, ...] = tuple(
    w
    for w in EMOTION_WORDS
    if w not in {"joyfully", "lonely", "outrageous", "fury", "hope", "thrilled"}
)
#: The first this many sentences of :func:`emotion_frames` hold 6 of the 10 position
#: buckets of each of :data:`QUICK_EMOTION_WORDS` at least 3 times (where the frames allow).
QUICK_FRAMES = 187
#: The meta token between list items in :func:`pause_texts` (always with a space each side).
PAUSE = "_PAUSE_"


@cache
def _read(name: str) -> str:
    return resources.files("tokenheat.demo").joinpath("data", name).read_text(encoding="utf-8")


def emotions(labels: Sequence[str] | None = None, n_per_label: int | None = None) -> pd.DataFrame:
    """Short sentences labelled with one of four emotions.

    Parameters
    ----------
    labels
        Keep only these labels (a subset of :data:`EMOTION_LABELS`); None keeps all four.
    n_per_label
        Keep the first ``n_per_label`` sentences of each label (file order), e.g. for a
        quick run; None keeps all 84.

    Returns
    -------
    pandas.DataFrame
        Columns ``text`` and ``label`` (strings), one row per sentence, labels interleaved.

    Examples
    --------
    >>> emotions(n_per_label=2).label.tolist()
    ['sadness', 'joy', 'anger', 'optimism', 'sadness', 'joy', 'anger', 'optimism']
    """
    frame = pd.read_csv(io.StringIO(_read("emotions.csv")), dtype=str, keep_default_na=False)
    if labels is not None:
        if isinstance(labels, str):
            fail(
                "labels",
                "a list of labels",
                labels,
                f"wrap one in a list: [{labels!r}]",
                kind=ArgumentTypeError,
            )
        for k, x in enumerate(labels):
            check_choice(f"labels[{k}]", x, EMOTION_LABELS)
        frame = frame[frame["label"].isin(list(labels))]
    if n_per_label is not None:
        check_optional_positive_int("n_per_label", n_per_label)
        frame = frame[frame.groupby("label").cumcount() < n_per_label]
    return frame.reset_index(drop=True)


def emotion_frames(n: int | None = None) -> pd.DataFrame:
    """Sentences that place each emotion word at every relative position.

    Written for this project from frames (``scripts/make_emotion_frames.py``): neutral
    clauses ("my aunt sold the house by the lake") joined with clauses carrying one emotion
    word each ("sadly, ...", "... and felt miserable", "with grief, ..."), one to three words
    of one emotion per sentence, labelled with that emotion. The rows are ordered so that
    every prefix covers the (word, position bucket) cells as evenly as it can: the first
    :data:`QUICK_FRAMES` hold 6 of the 10 buckets of each of :data:`QUICK_EMOTION_WORDS` at
    least 3 times; all of them hold nearly every (word, bucket) cell of
    :data:`EMOTION_WORDS` at least 5 times.

    Parameters
    ----------
    n
        Keep the first ``n`` sentences; None keeps all.

    Returns
    -------
    pandas.DataFrame
        Columns ``text``, ``label`` (the emotion) and ``words`` (the emotion words it holds,
        space-separated).

    Examples
    --------
    >>> df = emotion_frames(3)
    >>> list(df.columns), len(df)
    (['text', 'label', 'words'], 3)
    """
    frame = pd.read_csv(io.StringIO(_read("emotion_frames.csv")), dtype=str, keep_default_na=False)
    if n is not None:
        check_optional_positive_int("n", n)
        frame = frame.iloc[:n]
    return frame.reset_index(drop=True)


@cache
def _chat() -> tuple[tuple[str, str], ...]:
    return tuple((row["prompt"], row["answer"]) for row in json.loads(_read("chat_prompts.json")))


def chat_prompts() -> list[str]:
    """Short factual questions for a chat model, e.g. "What is the capital of Australia?".

    Returns
    -------
    list of str
        The user messages. Pass them to ``th.lens(..., chat=True)``.
    """
    return [prompt for prompt, _ in _chat()]


def chat_answers() -> list[str]:
    """The expected short answer to each of :func:`chat_prompts` (e.g. "Canberra")."""
    return [answer for _, answer in _chat()]


def chat_messages(system: str | None = None) -> list[list[dict[str, str]]]:
    """:func:`chat_prompts` as chat conversations (one user message each).

    Parameters
    ----------
    system
        An optional system message put first in every conversation.

    Returns
    -------
    list of list of dict
        ``[[{"role": "user", "content": "What is ...?"}], ...]``.
    """
    check_type("system", system, str, "a string", allow_none=True)
    head = [{"role": "system", "content": system}] if system else []
    return [[*head, {"role": "user", "content": prompt}] for prompt in chat_prompts()]


def with_dummy_tokens(
    prompts: Sequence[str | Sequence[Mapping[str, str]]] | None = None,
    n: int = 8,
    append: str = " ...",
    tokenizer: Any = None,
) -> list[str]:
    """Prompts as text with ``append`` repeated ``n`` times at the end.

    Parameters
    ----------
    prompts
        Strings or chat conversations; None uses :func:`chat_prompts`.
    n
        How many copies of ``append`` to add (0 adds none).
    append
        The dummy text, e.g. ``" ..."`` (one token for SmolLM2).
    tokenizer
        When given, each prompt is first rendered with its chat template
        (``add_generation_prompt=True``), so the dummies follow the assistant header.
        Without it, ``prompts`` must be plain strings.

    Returns
    -------
    list of str
        Texts to pass with ``chat=False``. Tokenizing the joined text can merge a dummy
        with the text before it; ``th.lens(prompts, chat=True, append=..., n_dummy=n)``
        tokenizes the dummies separately instead.

    Examples
    --------
    >>> with_dummy_tokens(["Hi?"], n=3)
    ['Hi? ... ... ...']
    """
    check_positive_int("n", n, minimum=0)
    check_type("append", append, str, "a string")
    items = chat_prompts() if prompts is None else prompts
    if isinstance(items, str):
        fail(
            "prompts",
            "a list of prompts",
            items,
            f"wrap one in a list: [{items!r}]",
            kind=ArgumentTypeError,
        )
    out = []
    for k, prompt in enumerate(items):
        if tokenizer is not None:
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            text = tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        elif isinstance(prompt, str):
            text = prompt
        else:
            fail(
                f"prompts[{k}]",
                "a plain string when no tokenizer is given",
                prompt,
                "pass tokenizer= to render a chat conversation with its chat template",
                kind=ArgumentTypeError,
            )
        out.append(str(text) + append * n)
    return out


@cache
def _arithmetic() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_read("arithmetic.json"))
    return data


def arithmetic(shots: int = 8, sep: str = "\n") -> pd.DataFrame:
    """Few-shot arithmetic questions with the answer as the target.

    Each ``input`` is ``shots`` worked examples, one per line, then the question:
    ``"Q: 3 + 4 = ? A: 7\\n ... \\nQ: 12 + 7 = ? A:"``; its ``target`` is the answer with
    its leading space, ``" 19"``. SmolLM2-135M answers 11 of the 20 correctly (greedy)
    with the default 8 worked examples, and 2 with 3.

    Parameters
    ----------
    shots
        How many worked examples to put before each question (0 to 8).
    sep
        Separator between the lines.

    Returns
    -------
    pandas.DataFrame
        Columns ``question`` (``"12 + 7"``), ``answer`` (int), ``input`` and ``target``
        (strings). ``th.attribution(model, tok, df.input.tolist(), df.target.tolist())``.
    """
    data = _arithmetic()
    check_int_range("shots", shots, 0, len(data["shots"]))
    check_type("sep", sep, str, "a string")
    worked = [f"Q: {s['question']} = ? A: {s['answer']}" for s in data["shots"][:shots]]
    rows = []
    for item in data["questions"]:
        prompt = sep.join([*worked, f"Q: {item['question']} = ? A:"])
        rows.append((item["question"], int(item["answer"]), prompt, f" {item['answer']}"))
    return pd.DataFrame(rows, columns=["question", "answer", "input", "target"])


#: The five examples of the research figure: (question, answer), the answer with its space.
ARITHMETIC_FIGURE: tuple[tuple[str, str], ...] = (
    ("8 x 48 =", " 384"),
    ("3 x 4 =", " 12"),
    ("6 - 4 =", " 2"),
    ("10 x 5 =", " 50"),
    ("$85 - $50 =", " $35"),
)


def arithmetic_figure() -> list[tuple[str, str]]:
    """The five arithmetic examples of the research figure, as ``(question, answer)`` pairs.

    ``8 x 48 = 384``, ``3 x 4 = 12``, ``6 - 4 = 2``, ``10 x 5 = 50`` and ``$85 - $50 = $35``:
    attributed together, the answers are the columns and the questions' tokens the rows.

    Returns
    -------
    list of (str, str)
        ``("8 x 48 =", " 384")``, ...: the answer with its leading space, as the model
        continues the question.

    Examples
    --------
    >>> pairs = arithmetic_figure()
    >>> pairs[0]
    ('8 x 48 =', ' 384')
    >>> questions, answers = map(list, zip(*pairs))  # th.attribution(model, tok, questions, answers)
    """
    return list(ARITHMETIC_FIGURE)


@cache
def _pause() -> tuple[tuple[str, str], ...]:
    return tuple((row["topic"], row["text"]) for row in json.loads(_read("pause_texts.json")))


def pause_texts() -> list[str]:
    """Texts listing items (tools, fruits, cities, ...) separated by ``" _PAUSE_ "``.

    SmolLM2's tokenizer splits the marker into four tokens, ``Ġ_ PA USE _``; pass
    ``anchor="_PAUSE_"`` to ``th.anchor_similarity``, which finds it by characters and
    anchors on its last token.

    Returns
    -------
    list of str
        E.g. ``"In the shed we keep a hammer _PAUSE_ a saw _PAUSE_ a drill ..."``.
    """
    return [text for _, text in _pause()]


def pause_table() -> pd.DataFrame:
    """:func:`pause_texts` with their topics: columns ``topic`` and ``text``."""
    return pd.DataFrame(list(_pause()), columns=["topic", "text"])
