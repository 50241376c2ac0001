"""Property test of the `.th` file: any matrix hypothesis draws (labels, NaN cells, cell
text, corpus, contexts with scores and labels, meta) loads back equal."""

from __future__ import annotations

import _roundtrip
import numpy as np

import tokenheat as th

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    given = None

if given is not None:

    @st.composite
    def _matrices(draw: st.DrawFn) -> th.TokenMatrix:
        labels = st.lists(st.text(max_size=5), min_size=1, max_size=4, unique=True)
        rows, cols = draw(labels), draw(labels)
        n = len(rows) * len(cols)
        cells = st.lists(
            st.one_of(st.none(), st.floats(-1e9, 1e9, width=32)), min_size=n, max_size=n
        )
        values = np.array([np.nan if v is None else v for v in draw(cells)]).reshape(-1, len(cols))
        texts = None
        if draw(st.booleans()):
            texts = np.array(
                draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=n, max_size=n)),
                dtype=object,
            ).reshape(values.shape)
        examples = draw(
            st.lists(st.lists(st.text(max_size=3), min_size=1, max_size=4), min_size=1, max_size=3)
        )
        corpus = th.Corpus.from_tokens(examples)
        k = draw(st.integers(0, 5))
        ex = draw(st.lists(st.integers(0, len(examples) - 1), min_size=k, max_size=k))
        contexts = th.Contexts(
            row=[draw(st.integers(0, len(rows) - 1)) for _ in range(k)],
            col=[draw(st.integers(0, len(cols) - 1)) for _ in range(k)],
            example=ex,
            start=[0] * k,
            end=[1] * k,
            scores=[np.arange(len(examples[e]), dtype=float) for e in ex]
            if draw(st.booleans())
            else None,
            labels={"lab": draw(st.lists(st.text(max_size=2), min_size=k, max_size=k))},
        )
        return th.TokenMatrix(
            values,
            rows,
            cols,
            row_kind="token",
            cell_text=texts,
            corpus=corpus,
            contexts=contexts,
            meta={"note": draw(st.text(max_size=4))},
        )

    @settings(max_examples=40, deadline=None)
    @given(m=_matrices())
    def test_any_matrix_round_trips_through_a_file(tmp_path_factory, m):
        path = tmp_path_factory.mktemp("prop") / "r.th"
        back = th.load(th.save(m, path))
        _roundtrip.same_matrix(back, m)
        assert back.meta == m.meta
