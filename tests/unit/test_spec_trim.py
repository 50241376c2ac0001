"""The page carries only the corpus examples it can show, and the size guard acts first."""

from __future__ import annotations

import numpy as np
import pytest

import tokenheat as th
from tokenheat.core._spec import build_spec, estimate_bytes, payload_bytes, used_examples
from tokenheat.errors import PayloadTooLargeError


def corpus(n: int) -> th.Corpus:
    return th.Corpus.from_tokens([[f"w{i}", " x", f" y{i % 3}"] for i in range(n)])


def matrix_with_contexts(n: int, examples: list[int], **meta: object) -> th.TokenMatrix:
    k = len(examples)
    ctx = th.Contexts(
        row=[0] * k, col=[0] * k, example=examples, start=[0] * k, end=[1] * k,
        labels={"tag": [f"t{e}" for e in examples]},
    )  # fmt: skip
    return th.TokenMatrix(
        [[1.0, 2.0]], rows=["r"], cols=["a", "b"], corpus=corpus(n), contexts=ctx, meta=meta
    )


def test_only_referenced_examples_travel_renumbered_with_their_names() -> None:
    m = matrix_with_contexts(1000, [50, 5, 50])
    spec = build_spec([m])
    (c,) = spec["corpora"]
    assert c["names"] == ["#5", "#50"]
    offsets = np.frombuffer(c["offsets"], "<i4")
    ids = np.frombuffer(c["ids"], "<i4")
    tokens = [[c["vocab"][j] for j in ids[offsets[e] : offsets[e + 1]]] for e in range(2)]
    assert tokens == [["w5", " x", " y2"], ["w50", " x", " y2"]]
    ctx = spec["matrices"][0]["contexts"]
    examples = np.frombuffer(ctx["example"], "<i4")
    tags = np.asarray(ctx["labels"][0]["categories"])[
        np.frombuffer(ctx["labels"][0]["codes"], "<i4")
    ]
    # each context still points at the example it was made from
    for e, tag in zip(examples, tags, strict=True):
        assert c["names"][e] == "#" + tag[1:]
    assert "w999" not in c["vocab"]


def test_example_axes_keep_their_examples() -> None:
    m = th.TokenMatrix(
        [[1.0, 2.0]], rows=["r"], cols=["a", "b"], col_kind="example", col_examples=[7, 3],
        corpus=corpus(10),
    )  # fmt: skip
    spec = build_spec([m])
    assert spec["corpora"][0]["names"] == ["#3", "#7"]
    assert np.frombuffer(spec["matrices"][0]["cols"]["examples"], "<i4").tolist() == [1, 0]


def test_full_corpus_is_sent_unchanged_when_all_examples_are_used() -> None:
    m = matrix_with_contexts(3, [0, 1, 2])
    c = m.corpus
    spec = build_spec([m])
    assert spec["corpora"][0]["names"] is None
    assert np.frombuffer(spec["corpora"][0]["ids"], "<i4").size == c.ids.size
    assert used_examples([m], len(c)).tolist() == [0, 1, 2]


def test_estimate_is_close_to_the_built_payload() -> None:
    m = matrix_with_contexts(5000, list(range(0, 5000, 7)))
    used = {id(m.corpus): used_examples([m], len(m.corpus))}
    estimate = estimate_bytes([m], used)
    built = payload_bytes(build_spec([m], max_bytes=None))
    assert 0.5 < estimate / built < 2.0


def test_a_large_corpus_with_few_contexts_fits() -> None:
    """1M examples of 20 tokens was refused at 80 MiB; only the referenced ones travel."""
    n, length = 1_000_000, 20
    big = th.Corpus(["a", "b"], np.zeros(n * length, np.int32), np.arange(n + 1) * length)
    ctx = th.Contexts(row=[0], col=[0], example=[123_456], start=[0], end=[1])
    m = th.TokenMatrix([[1.0]], rows=["r"], cols=["c"], corpus=big, contexts=ctx)
    spec = build_spec([m], max_bytes=1_000_000)
    assert spec["corpora"][0]["names"] == ["#123456"]


@pytest.mark.parametrize(
    ("analysis", "knob"),
    [
        ("flip_rate", "top_k="),
        ("lens", "max_contexts_per_cell="),
        ("anchor_similarity", "max_distance="),
        ("attribution", "max_contexts_per_cell=0"),
    ],
)
def test_guard_names_the_analysis_knob_before_building(analysis: str, knob: str) -> None:
    m = matrix_with_contexts(20_000, list(range(20_000)), analysis=analysis)
    with pytest.raises(PayloadTooLargeError, match=rf"for {analysis}: .*{knob}"):
        build_spec([m], max_bytes=50_000)


def test_guard_acts_before_anything_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokenheat.core._spec as spec

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("built before the size check")

    monkeypatch.setattr(spec, "matrix_spec", never)
    monkeypatch.setattr(spec, "_corpus_spec", never)
    m = matrix_with_contexts(20_000, list(range(20_000)), analysis="lens")
    with pytest.raises(PayloadTooLargeError, match="max_contexts_per_cell="):
        build_spec([m], max_bytes=50_000)
