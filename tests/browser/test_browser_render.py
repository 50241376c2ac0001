"""The heatmaps draw the right colours, at any device pixel ratio, light and dark."""

from __future__ import annotations

import numpy as np
import pytest
from _browser_helpers import DARK_MISSING, LIGHT_MISSING, close, expected_color
from _page import demo_spec

pytestmark = pytest.mark.browser


def _check_all_cells(widget, spec, values, missing) -> int:
    checked = 0
    for m, (mspec, vals) in enumerate(zip(spec["matrices"], values, strict=True)):
        rows, cols = vals.shape
        for r in range(rows):
            for c in range(cols):
                want = expected_color(mspec["scale"], float(vals[r, c])) or missing
                got = widget.cell_pixel(m, r, c)
                assert got[3] == 255, f"matrix {m} cell ({r}, {c}) is transparent"
                assert close(got[:3], want), (
                    f"matrix {m} cell ({r}, {c}) = {vals[r, c]}: got {got[:3]}, want {want}"
                )
                checked += 1
    return checked


def test_every_cell_has_the_colour_of_its_value(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    assert _check_all_cells(widget, spec, values, LIGHT_MISSING) == sum(v.size for v in values)
    assert widget.errors == []


def test_colours_hold_at_device_pixel_ratio_two(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec, scale=2)
    size = widget.page.evaluate(
        """() => { const c = document.querySelector('[data-testid=th-canvas-0]');
                   const r = c.getBoundingClientRect(); return [c.width, r.width]; }"""
    )
    assert size[0] == pytest.approx(2 * size[1], abs=1)
    _check_all_cells(widget, spec, values, LIGHT_MISSING)


def test_diverging_scale_puts_the_centre_on_the_middle_colour(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec)
    assert values[2][0, 0] == 0.0
    middle = expected_color(spec["matrices"][2]["scale"], 0.0)
    assert close(widget.cell_pixel(2, 0, 0)[:3], middle)
    lo = expected_color(spec["matrices"][2]["scale"], -1.0)
    hi = expected_color(spec["matrices"][2]["scale"], 1.0)
    assert lo != hi and middle not in (lo, hi)


def test_dark_page_draws_with_dark_theme_colours(open_widget):
    spec, values = demo_spec()
    widget = open_widget(spec, color_scheme="dark")
    assert widget.state()["theme"]["dark"] is True
    bg = widget.page.evaluate(
        "() => getComputedStyle(document.querySelector('[data-testid=th-root]')).backgroundColor"
    )
    rgb = [int(x) for x in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3]]
    assert sum(rgb) < 3 * 80, f"background {bg} is not dark"
    r, c = map(int, np.argwhere(np.isnan(values[0]))[0])
    assert close(widget.cell_pixel(0, r, c)[:3], DARK_MISSING)
    r, c = map(int, np.argwhere(~np.isnan(values[0]))[0])
    assert close(
        widget.cell_pixel(0, r, c)[:3],
        expected_color(spec["matrices"][0]["scale"], float(values[0][r, c])),
    )


def test_jupyterlab_dark_theme_attribute_switches_the_theme(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    assert widget.state()["theme"]["dark"] is False
    widget.page.evaluate("() => document.body.setAttribute('data-jp-theme-light', 'false')")
    widget.page.wait_for_function(
        "() => document.querySelector('[data-testid=th-root]').__tokenheat.state().theme.dark"
    )


def test_each_heatmap_shows_title_legend_and_controls(open_widget):
    spec, _ = demo_spec()
    widget = open_widget(spec)
    for m, mspec in enumerate(spec["matrices"]):
        panel = widget.page.locator(f"[data-testid=th-heatmap-{m}]")
        assert panel.locator("h3").text_content() == mspec["title"]
        assert panel.locator(".th-legend-label").text_content() == mspec["value_label"]
        assert panel.locator(f"[data-testid=th-sort-{m}]").is_visible()
        assert panel.locator(f"[data-testid=th-filter-{m}]").is_visible()
    # Two columns as the layout asks, the third heatmap on the next row.
    boxes = [widget.page.locator(f"[data-testid=th-heatmap-{m}]").bounding_box() for m in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[2]["y"] > boxes[0]["y"]


def test_a_bad_spec_shows_an_error_instead_of_a_blank(open_widget):
    spec, _ = demo_spec()
    spec["matrices"][0]["shape"] = [3, 3]
    widget = open_widget(spec)
    error = widget.page.locator(".th-error")
    assert error.is_visible()
    assert "matrices[0].values" in error.text_content()


def test_the_python_export_renders_and_links(open_widget, tmp_path):
    th = pytest.importorskip("tokenheat")
    corpus = th.Corpus.from_tokens([["Ġthe", "Ġcat", "Ġsat"], ["Ġthe", "Ġdog"]])
    ctx = th.Contexts([0, 0, 1], [0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 1, 2])
    values = np.array([[0.25, 0.75], [np.nan, 0.5]], dtype=np.float32)
    matrix = th.TokenMatrix(
        values,
        ["Ġthe", "Ġcat"],
        ["a", "b"],
        row_kind="token",
        corpus=corpus,
        contexts=ctx,
        title="export",
    )
    path = tmp_path / "export.html"
    matrix.to_html(path)
    widget = open_widget(html_file=path)
    assert widget.errors == []
    widget.click_cell(0, 0, 0)
    assert widget.context_rows().count() == 1
    assert widget.selected()["token"] == "Ġthe"
    assert widget.requests == [widget.url]


def test_dataviews_at_any_offset_of_one_shared_buffer_draw_the_same(open_widget):
    """The live widget's shape: ipywidgets hands over DataViews into shared buffers."""
    spec, values = demo_spec()
    widget = open_widget(spec)
    widget.page.evaluate(
        """() => {
            const data = JSON.parse(document.getElementById('tokenheat-data').textContent);
            // Every {"$b64"} leaf becomes a DataView into ONE buffer, at offsets 0, 5, 10, ...
            // so that many are misaligned for Float32Array / Int32Array.
            const leaves = [];
            const walk = (v) => {
                if (Array.isArray(v)) return v.forEach(walk);
                if (v && typeof v === 'object') {
                    if (typeof v.$b64 === 'string') return leaves.push(v);
                    Object.values(v).forEach(walk);
                }
            };
            walk(data.spec);
            const bytes = leaves.map((l) => Uint8Array.from(atob(l.$b64), (c) => c.charCodeAt(0)));
            const total = bytes.reduce((n, b) => n + b.length + 5, 0);
            const shared = new ArrayBuffer(total);
            let offset = 1;
            const swap = (v) => {
                if (Array.isArray(v)) return v.map(swap);
                if (v && typeof v === 'object') {
                    const i = leaves.indexOf(v);
                    if (i >= 0) {
                        new Uint8Array(shared, offset, bytes[i].length).set(bytes[i]);
                        const view = new DataView(shared, offset, bytes[i].length);
                        offset += bytes[i].length + 5;
                        return view;
                    }
                    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
                }
                return v;
            };
            const spec = swap(data.spec);
            document.querySelector('[data-tokenheat]').remove();
            const host = document.createElement('div');
            document.body.appendChild(host);
            window.tokenheat.mount(host, { spec, selected: null });
        }"""
    )
    assert widget.page.locator("[data-testid=th-root]").count() == 1
    assert widget.errors == []
    _check_all_cells(widget, spec, values, LIGHT_MISSING)
    widget.click_cell(0, 1, 5)
    assert widget.context_rows().count() >= 1
