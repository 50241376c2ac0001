"""The bundled demo corpus: sizes, balance, uniqueness, formats, and the loader arguments."""

from __future__ import annotations

import operator
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tokenheat.demo import datasets as data

SRC = str(Path(__file__).resolve().parents[2] / "src")
EMOTION_WORDS = ("sadly", "despair", "optimism", "furious", "delighted")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


# --- emotions ---------------------------------------------------------------------------


def test_emotions_has_at_least_300_sentences_with_four_labels():
    df = data.emotions()
    assert list(df.columns) == ["text", "label"]
    assert len(df) >= 300
    assert set(df.label) == set(data.EMOTION_LABELS)


def test_emotion_labels_are_balanced():
    counts = data.emotions().label.value_counts()
    assert counts.min() >= 0.9 * counts.max(), counts.to_dict()


def test_emotion_sentences_are_unique_short_and_complete():
    texts = data.emotions().text
    normalized = texts.str.lower().str.replace(r"\W+", " ", regex=True).str.strip()
    assert not normalized.duplicated().any(), texts[normalized.duplicated()].tolist()
    assert all(3 <= len(t.split()) <= 25 for t in texts)
    assert all(t[0].isupper() and t[-1] in ".!?" for t in texts)
    assert all(t == t.strip() and "  " not in t for t in texts)


@pytest.mark.parametrize("word", EMOTION_WORDS)
def test_emotion_words_appear_at_different_positions(word):
    positions = []
    for text in data.emotions().text:
        words = _words(text)
        if word in words:
            positions.append(words.index(word) / len(words))
    assert len(positions) >= 2, f"{word!r} occurs {len(positions)} times"
    assert min(positions) < 0.2 < max(positions), f"{word!r} always at {positions}"


def test_emotions_filters_by_label_and_count():
    df = data.emotions(labels=["joy", "anger"], n_per_label=5)
    assert df.label.value_counts().to_dict() == {"joy": 5, "anger": 5}
    assert df.text.tolist()[:2] == data.emotions(labels=["joy", "anger"]).text.tolist()[:2]
    assert list(df.index) == list(range(10))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels": ["fear"]}, ValueError, r"labels\[0\] must be one of 'sadness', .*, got 'fear'"),
        ({"labels": "joy"}, TypeError, r"labels must be a list of labels, got 'joy'; .*\['joy'\]"),
        ({"n_per_label": 0}, ValueError, "n_per_label must be a positive int or None, got 0"),
        ({"n_per_label": 2.5}, TypeError, "n_per_label must be a positive int or None, got 2.5"),
    ],
)
def test_emotions_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.emotions(**kwargs)


# --- chat prompts -----------------------------------------------------------------------


def test_chat_prompts_are_about_twenty_unique_questions_with_answers():
    prompts, answers = data.chat_prompts(), data.chat_answers()
    assert 18 <= len(prompts) <= 30
    assert len(set(prompts)) == len(prompts)
    assert all(p.endswith("?") for p in prompts)
    assert len(answers) == len(prompts) and all(answers)
    assert "What is the capital of Australia?" in prompts
    assert answers[prompts.index("What is the capital of Australia?")] == "Canberra"


def test_chat_messages_wrap_each_prompt_as_a_user_message():
    plain = data.chat_messages()
    assert plain[0] == [{"role": "user", "content": data.chat_prompts()[0]}]
    with_system = data.chat_messages(system="Be brief.")
    assert with_system[3][0] == {"role": "system", "content": "Be brief."}
    assert len(with_system) == len(plain)
    with pytest.raises(TypeError, match="system must be a string or None, got 1"):
        data.chat_messages(system=1)  # type: ignore[arg-type]


class _ChatMLTokenizer:
    """Just enough of a tokenizer for ``with_dummy_tokens``: a ChatML chat template."""

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return body + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def test_with_dummy_tokens_appends_n_copies():
    out = data.with_dummy_tokens(["Hi?", "Why?"], n=3, append=" ...")
    assert out == ["Hi? ... ... ...", "Why? ... ... ..."]
    assert data.with_dummy_tokens(n=0) == data.chat_prompts()


def test_with_dummy_tokens_renders_chat_template_first():
    conversation = [{"role": "user", "content": "Hi?"}]
    out = data.with_dummy_tokens(["Hi?", conversation], n=2, tokenizer=_ChatMLTokenizer())
    expected = "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n ... ..."
    assert out == [expected, expected]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": -1}, ValueError, "n must be an int >= 0, got -1"),
        ({"n": True}, TypeError, "n must be an int >= 0, got True"),
        ({"append": 3}, TypeError, "append must be a string, got 3"),
        ({"prompts": "Hi?"}, TypeError, "prompts must be a list of prompts, got 'Hi\\?'"),
        (
            {"prompts": [[{"role": "user", "content": "Hi"}]]},
            TypeError,
            r"prompts\[0\] must be a plain string when no tokenizer is given, got a list .*tokenizer=",
        ),
    ],
)
def test_with_dummy_tokens_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.with_dummy_tokens(**kwargs)


# --- arithmetic -------------------------------------------------------------------------

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _evaluate(question: str) -> int:
    match = re.fullmatch(r"(\d+) ([-+*]) (\d+)", question)
    assert match, question
    return _OPS[match[2]](int(match[1]), int(match[3]))


def test_arithmetic_answers_are_correct():
    df = data.arithmetic()
    assert len(df) >= 20
    assert list(df.columns) == ["question", "answer", "input", "target"]
    assert [_evaluate(q) for q in df.question] == df.answer.tolist()
    assert not df.question.duplicated().any()
    assert set(df.question.str.split().str[1]) == set(_OPS)


def test_arithmetic_inputs_are_few_shot_with_answer_targets():
    df = data.arithmetic()
    for row in df.itertuples():
        lines = row.input.split("\n")
        assert len(lines) == 9, "8 worked examples, then the question"
        for shot in lines[:8]:
            q, a = re.fullmatch(r"Q: (.+) = \? A: (\d+)", shot).groups()
            assert _evaluate(q) == int(a)
            assert q not in set(df.question), "a worked example must not give away a question"
        assert lines[8] == f"Q: {row.question} = ? A:"
        assert row.target == f" {row.answer}"


def test_arithmetic_without_shots_and_with_other_separator():
    assert data.arithmetic(shots=0).input[0] == "Q: 12 + 7 = ? A:"
    assert data.arithmetic(shots=1, sep=" | ").input[0] == "Q: 3 + 4 = ? A: 7 | Q: 12 + 7 = ? A:"
    assert data.arithmetic(shots=3).input[0].count("\n") == 3
    for bad, error in ((-1, ValueError), (9, ValueError), (1.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match=f"shots must be an int from 0 to 8, got {bad!r}"):
            data.arithmetic(shots=bad)  # type: ignore[arg-type]


# --- pause texts ------------------------------------------------------------------------


def test_pause_texts_each_have_at_least_three_markers():
    texts = data.pause_texts()
    assert len(texts) >= 20
    assert all(t.count(data.PAUSE) >= 3 for t in texts)


def test_pause_markers_are_always_spaced_words():
    for text in data.pause_texts():
        for match in re.finditer(re.escape(data.PAUSE), text):
            before, after = text[match.start() - 1], text[match.end() : match.end() + 2]
            assert before == " " and after[0] == " " and after[1].isalnum(), text


def test_pause_texts_are_unique_with_unique_topics():
    table = data.pause_table()
    assert list(table.columns) == ["topic", "text"]
    assert table.text.tolist() == data.pause_texts()
    assert not table.topic.duplicated().any()
    assert not table.text.duplicated().any()
    items = [item for t in table.text for item in t.split(data.PAUSE)[1:]]
    assert len(items) == len(set(items)), "list items repeat across texts"


# --- packaging --------------------------------------------------------------------------


def test_data_files_live_inside_the_package():
    names = {p.name for p in resources.files("tokenheat.demo").joinpath("data").iterdir()}
    assert {"emotions.csv", "chat_prompts.json", "arithmetic.json", "pause_texts.json"} <= names


def test_loading_demo_data_does_not_import_torch():
    code = "import sys, tokenheat as th; th.datasets.emotions(); th.datasets.arithmetic(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": SRC})
