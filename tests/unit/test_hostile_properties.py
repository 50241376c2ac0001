"""Property tests: any valid TokenMatrix — NaN, -0.0, subnormals, float32's extremes, any
unicode label — survives save/load and to_pandas/from_dataframe bit for bit."""

from __future__ import annotations

import pathlib
import tempfile

import numpy as np
import pytest

import tokenheat as th

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

F32 = np.finfo(np.float32)
#: Values worth hitting on purpose, besides whatever float32 hypothesis draws.
EDGES = [np.nan, -0.0, 0.0, F32.max, -F32.max, F32.tiny, np.float32(1e-45), -np.float32(1e-45)]

labels = st.text(max_size=6)  # any unicode but lone surrogates (those are replaced on entry)


@st.composite
def matrices(draw: st.DrawFn) -> th.TokenMatrix:
    r = draw(st.integers(1, 4))
    c = draw(st.integers(1, 4))
    floats = st.floats(width=32, allow_infinity=False) | st.sampled_from(EDGES)
    values = draw(hnp.arrays(np.float32, (r, c), elements=floats))
    kind = draw(st.sampled_from(["token", "position", "layer"]))
    rows = draw(st.lists(labels, min_size=r, max_size=r, unique=kind != "position"))
    cols = draw(st.lists(labels, min_size=c, max_size=c, unique=True))
    kw: dict = {}
    if draw(st.booleans()):
        kw["counts"] = draw(hnp.arrays(np.float32, (r, c), elements=floats))
    if draw(st.booleans()):
        kw["extras"] = {
            draw(labels.filter(lambda s: s not in {"row", "col", "value", "count", "text"})): draw(
                hnp.arrays(np.float32, (r, c), elements=floats)
            )
        }
    if draw(st.booleans()):
        kw["cell_text"] = np.array(
            draw(st.lists(st.none() | labels, min_size=r * c, max_size=r * c)), dtype=object
        ).reshape(r, c)
    return th.TokenMatrix(
        values,
        rows=rows,
        cols=cols,
        row_kind=kind,
        title=draw(labels),
        value_label=draw(labels),
        **kw,
    )


def _same_bits(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes()


def _assert_exact(back: th.TokenMatrix, m: th.TokenMatrix) -> None:
    assert _same_bits(back.values, m.values)
    assert _same_bits(back.counts, m.counts)
    assert back.extras.keys() == m.extras.keys()
    assert all(_same_bits(back.extras[k], v) for k, v in m.extras.items())
    assert back.rows == m.rows and back.cols == m.cols
    assert back.title == m.title and back.value_label == m.value_label
    assert back.equals(m)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_any_matrix_survives_save_and_load_bit_for_bit(m: th.TokenMatrix) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        back = th.load(th.save(m, pathlib.Path(tmp) / "m.th"))
    _assert_exact(back, m)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_any_matrix_survives_pandas_bit_for_bit(m: th.TokenMatrix) -> None:
    back = th.TokenMatrix.from_dataframe(
        m.to_pandas(),
        "row",
        "col",
        "value",
        count="count" if m.counts is not None else None,
        text="text" if m.cell_text is not None else None,
        extras=list(m.extras),
    )
    _assert_exact(back, m)
    assert back.row_kind == m.row_kind


@settings(max_examples=30, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, categories=["Cs", "Co"])
        | st.characters(),
        max_size=8,
    )
)
def test_any_string_with_surrogates_enters_as_valid_unicode(text: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = th.TokenMatrix([[1.0]], rows=[text], cols=["x"], title=text)
    m.rows[0].encode("utf-8")
    m.title.encode("utf-8")
    expected = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    assert m.rows[0] == expected and m.title == expected
