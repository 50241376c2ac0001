"""One module of argument checks, one phrasing: ``<arg> must be <what works>, got <what was
given>``, raised as a :mod:`tokenheat.errors` class.

The first test reads the package's source: a bare ``raise ValueError(...)`` (or TypeError,
RuntimeError) anywhere but ``core/_checks.py`` fails it, so a new check cannot slip past the
shared helpers and their wording. The others pin the message and the class of a few checks
from different layers, so "the same bad input is the same class everywhere" stays true.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import tokenheat as th
from tokenheat import errors
from tokenheat.analyses._common import check_flag, check_positive_int, select_layers
from tokenheat.core._checks import (
    a_type,
    check_bool,
    check_given,
    check_int_range,
    check_list,
    check_optional_positive_int,
    check_str_list,
    check_template,
    check_type,
    describe,
    fail,
)
from tokenheat.errors import ArgumentError, ArgumentTypeError, PayloadTooLargeError
from tokenheat.export import to_altair
from tokenheat.models._batching import check_batch_size, check_texts
from tokenheat.models._text import normalize_prompts
from tokenheat.store._members import json_default

SRC = pathlib.Path(th.__file__).parent
BUILTINS = {"ValueError", "TypeError", "RuntimeError"}
#: Files allowed to raise the built-in classes: the checks module itself. No others, so no
#: reasons to give.
ALLOWED = {SRC / "core" / "_checks.py"}


def _bare_raises(path: pathlib.Path, root: pathlib.Path = SRC) -> list[str]:
    """``file:line: raise X`` for each ``raise X(...)`` / ``raise X`` with X a built-in."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(target, ast.Name) and target.id in BUILTINS:
            found.append(
                (node.lineno, f"{path.relative_to(root)}:{node.lineno}: raise {target.id}")
            )
    return [hit for _, hit in sorted(found)]


def test_no_bare_builtin_raise_outside_the_checks_module():
    files = sorted(p for p in SRC.rglob("*.py") if p not in ALLOWED)
    assert len(files) > 50  # the package was found, not an empty folder
    bare = [hit for p in files for hit in _bare_raises(p)]
    assert bare == [], "use core/_checks (fail, check_*) or a tokenheat.errors class:\n" + (
        "\n".join(bare)
    )


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(x):\n"
        "    if x:\n"
        "        raise ValueError('x')\n"
        "    raise TypeError\n"
        "def g():\n"
        "    raise RuntimeError(f'{1}') from None\n"
        "def h():\n"
        "    raise KeyError('fine')\n"
    )
    assert _bare_raises(sample, tmp_path) == [
        "sample.py:3: raise ValueError",
        "sample.py:4: raise TypeError",
        "sample.py:6: raise RuntimeError",
    ]


def test_every_error_class_is_also_the_builtin_callers_catch():
    assert issubclass(errors.ArgumentError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.DamagedFileError, ValueError)
    assert issubclass(errors.PayloadTooLargeError, ValueError)
    assert issubclass(errors.MergeError, ValueError)
    assert issubclass(errors.EngineError, RuntimeError)
    assert issubclass(errors.ModelError, RuntimeError)
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, (errors.TokenheatError, errors.TokenheatWarning)), name


# ------------------------------------------------------------------ the phrasing itself


def test_fail_names_the_argument_what_works_and_what_was_given():
    with pytest.raises(ArgumentError) as info:
        fail("n_buckets", "a positive int", 0, "pass e.g. n_buckets=10")
    assert str(info.value) == "n_buckets must be a positive int, got 0; pass e.g. n_buckets=10"
    with pytest.raises(ArgumentTypeError, match=r"^texts\[3\] must be a str, got b'x'$"):
        fail("texts[3]", "a str", b"x", kind=ArgumentTypeError)
    with pytest.raises(ArgumentError, match=r"^prompts must be short, got a prompt of 9 tokens$"):
        fail("prompts", "short", given="a prompt of 9 tokens")


class Model:
    def __repr__(self) -> str:
        return "Model(\n  (blocks): ...\n)"


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "None"),
        ("\ud800x", r"'\ud800x'"),
        (2.5, "2.5"),
        ([1, 2], "a list of length 2"),
        (Model(), "a Model"),  # a multi-line repr: the type only
        (Opaque(), "an Opaque"),  # the default <... at 0x...> repr: the type only
        ({"a": 1}, "{'a': 1}"),  # a short one-line repr is shown as it is
        ("x" * 100, "'" + "x" * 56 + "..."),
    ],
)
def test_describe_is_short_and_safe(value, text):
    assert describe(value) == text


def test_a_type_uses_the_right_article():
    assert a_type(1.0) == "a float"
    assert a_type(Opaque()) == "an Opaque"
    assert a_type(object()) == "an object"


# ------------------------------------------------------------------ the same input, the same class


@pytest.mark.parametrize(
    "check",
    [
        lambda v: check_positive_int("batch_size", v),  # the analyses' name for it
        check_batch_size,  # the classifiers'
        lambda v: check_optional_positive_int("batch_size", v),
        lambda v: to_altair(th.TokenMatrix([[1.0]], rows=["r"], cols=["c"]), cell_size=v),
        lambda v: th.datasets.emotions(n_per_label=v),
        lambda v: th.datasets.with_dummy_tokens(["hi"], n=v),
    ],
)
@pytest.mark.parametrize(("bad", "error"), [("2", ArgumentTypeError), (2.0, ArgumentTypeError),
                                            (True, ArgumentTypeError), (-3, ArgumentError)])  # fmt: skip
def test_a_bad_int_is_the_same_class_in_every_module(check, bad, error):
    with pytest.raises(error, match=rf" must be (a positive int|an int >= 0).*, got {bad!r}"):
        check(bad)


def test_a_bad_flag_is_the_same_class_in_every_module():
    assert check_flag is check_bool
    with pytest.raises(ArgumentTypeError, match="progress must be True or False, got 'no'"):
        check_flag("progress", "no")


def test_a_missing_tokenizer_is_a_type_error():
    with pytest.raises(ArgumentTypeError, match="tokenizer must be a tokenizer, got None; pass"):
        check_given("tokenizer", None, "a tokenizer", "pass tokenizer=")
    assert check_given("tokenizer", "tok", "a tokenizer") == "tok"


# ------------------------------------------------------------------ the helpers


def test_check_type_and_int_range():
    assert check_type("dtype", None, str, "a str", allow_none=True) is None
    with pytest.raises(ArgumentTypeError, match=r"^model must be a torch.nn.Module, got 3$"):
        check_type("model", 3, dict, "a torch.nn.Module")
    assert check_int_range("shots", 3, 0, 8) == 3
    with pytest.raises(ArgumentError, match=r"^shots must be an int from 0 to 8, got 9$"):
        check_int_range("shots", 9, 0, 8)
    with pytest.raises(ArgumentTypeError, match=r"^shots must be an int from 0 to 8, got 1\.5$"):
        check_int_range("shots", 1.5, 0, 8)


def test_check_template_and_lists():
    assert check_template("template", "Text: {text}") == "Text: {text}"
    with pytest.raises(
        ArgumentError, match=r"^template must be a str containing '\{text\}', got 'no'"
    ):
        check_template("template", "no")
    with pytest.raises(ArgumentTypeError, match=r"template must be a str containing .*, got 3"):
        check_template("template", 3)
    with pytest.raises(
        ArgumentError,
        match="labels must be a list of at least two label words, got a list of length 1",
    ):
        check_str_list("labels", ["cat"], min_items=2, works="a list of at least two label words")
    with pytest.raises(ArgumentTypeError, match=r"^texts\[1\] must be a str, got 3$"):
        check_texts(["a", 3])
    with pytest.raises(ArgumentTypeError, match=r"texts must be a list of str, got 'a'; wrap"):
        check_texts("a")
    assert check_list("xs", (1, 2), "a list", item_type=int, item_works="an int") == [1, 2]


# ------------------------------------------------------------------ messages from several layers


def test_messages_from_the_analyses_models_export_demo_and_store():
    with pytest.raises(
        ArgumentError, match=r"^layers entries must be block indices in -2\.\.1 .*, got 5$"
    ):
        select_layers([5], 2)
    with pytest.raises(
        ArgumentError,
        match=r"layers must be a list of distinct blocks, got a list of length 2; block 1",
    ):
        select_layers([1, -1], 2)
    with pytest.raises(
        ArgumentError, match=r"^prompts must be a non-empty list of texts, got a list of length 0$"
    ):
        normalize_prompts([])
    with pytest.raises(
        ArgumentTypeError,
        match=r"^obj must be a TokenMatrix, a non-empty list of them or a tokenheat\.Dashboard, got None$",
    ):
        to_altair(None)
    big = th.TokenMatrix([[0.0] * 3] * 3, rows=list("abc"), cols=list("xyz"))
    with pytest.raises(
        PayloadTooLargeError,
        match=r"^obj must be at most max_rows=4 cells .*, got 3 × 3 = 9 cells; ",
    ):
        to_altair(big, max_rows=4)
    with pytest.raises(
        ArgumentError, match=r"^labels\[0\] must be one of 'sadness', .*, got 'fear'$"
    ):
        th.datasets.emotions(labels=["fear"])
    with pytest.raises(ArgumentTypeError, match=r"^a set, which is not JSON-able$"):
        json_default({1})


@pytest.mark.parametrize(
    "call",
    [
        lambda obj, tmp: th.save(obj, tmp / "r.th"),
        lambda obj, tmp: th.to_html(obj),
        lambda obj, tmp: to_altair(obj),
        lambda obj, tmp: th.merge(obj),
    ],
)
def test_an_empty_list_is_a_value_error_and_a_wrong_object_a_type_error(call, tmp_path):
    with pytest.raises(ArgumentError, match=r" must be .*non-empty list.*, got a list of length 0"):
        call([], tmp_path)
    with pytest.raises(ArgumentTypeError, match=r" must be .*, got 'x'"):
        call("x", tmp_path)
