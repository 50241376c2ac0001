"""The sort order a reader chose survives a results file: th.save / th.load / tokenheat render."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import tokenheat as th
from tokenheat.__main__ import render
from tokenheat.export._order import axis_order


def _matrix(title: str, display: dict | None = None) -> th.TokenMatrix:
    values = np.array([[1.0, 2.0, 3.0], [9.0, 0.0, 0.5], [4.0, 4.0, 4.0], [0.0, 0.0, 7.0]])
    return th.TokenMatrix(
        values,
        rows=["Ġzeta", "alpha", "item10", "item9"],
        cols=["b", "c", "a"],
        title=title,
        counts=np.arange(12.0).reshape(4, 3),
        display=display,
    )


def _page_orders(path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    body = text.split('id="tokenheat-data-0">', 1)[1].split("</script>", 1)[0]
    spec = json.loads(body)["spec"]
    return [(m["display"]["row_order"], m["display"]["col_order"]) for m in spec["matrices"]]


def _render_or_skip(path, out):
    try:
        return render(path, out)
    except FileNotFoundError as err:  # the front-end bundle is not built here
        pytest.skip(str(err))


def test_a_matrix_display_order_round_trips(tmp_path):
    m = _matrix("m", {"row_order": "variance", "col_order": "label"})
    back = th.load(th.save(m, tmp_path / "r.th"))
    assert (back.display.row_order, back.display.col_order) == ("variance", "label")
    assert back.equals(m)
    page = _render_or_skip(tmp_path / "r.th", tmp_path / "r.html")
    assert _page_orders(page) == [("variance", "label")]


@pytest.mark.parametrize("kind", ["Dashboard", "Heatmap"])
def test_the_orders_a_reader_chose_in_the_widget_survive_save_and_load(tmp_path, kind):
    a, b = _matrix("a", {"row_order": "mean"}), _matrix("b")
    if kind == "Dashboard":
        widget = th.Dashboard([a, b])
        widget.orders = [{"row": "max", "col": "label"}, {"row": "cluster", "col": "count"}]
        chosen = [("max", "label"), ("cluster", "count")]
    else:
        widget = th.Heatmap(a)
        widget.orders = [{"row": "original", "col": "mean"}]  # "original" overrides "mean"
        chosen = [("original", "mean")]
    back = th.load(th.save(widget, tmp_path / "r.th"))
    back = back if isinstance(back, list) else [back]
    got = [(m.display.row_order, m.display.col_order) for m in back]
    assert got == chosen
    # The rows come back in exactly the order the reader saw.
    for m, (row, col) in zip(back, chosen, strict=True):
        original = a if m.title == "a" else b
        assert axis_order(m, "row", m.display.row_order).tolist() == (
            axis_order(original, "row", row).tolist()
        )
        assert axis_order(m, "col", m.display.col_order).tolist() == (
            axis_order(original, "col", col).tolist()
        )
    page = _render_or_skip(tmp_path / "r.th", tmp_path / "r.html")
    assert _page_orders(page) == chosen
    # The same page as the widget's own export.
    direct = widget.to_html(tmp_path / "direct.html")
    assert _page_orders(direct) == chosen


def test_a_dashboard_whose_reader_sorted_only_some_matrices_keeps_the_rest(tmp_path):
    a, b = _matrix("a", {"row_order": "mean"}), _matrix("b", {"col_order": "max"})
    dash = th.Dashboard([a, b])
    dash.orders = [{"row": "count", "col": "original"}]  # one entry: the second keeps its own
    back = th.load(th.save(dash, tmp_path / "r.th"))
    assert [(m.display.row_order, m.display.col_order) for m in back] == [
        ("count", "original"),
        ("original", "max"),
    ]
    assert back[1].equals(b)


def test_an_unsorted_dashboard_saves_its_matrices_unchanged(tmp_path):
    a = _matrix("a", {"row_order": "mean", "min_count": 3})
    back = th.load(th.save(th.Dashboard([a]), tmp_path / "r.th"))
    assert back[0].equals(a) and back[0].display == a.display


def test_saving_does_not_change_the_widget_or_its_matrices(tmp_path):
    a = _matrix("a", {"row_order": "mean"})
    dash = th.Dashboard([a])
    dash.orders = [{"row": "label", "col": "label"}]
    th.save(dash, tmp_path / "r.th")
    assert a.display.row_order == "mean" and dash.matrices[0] is a
    assert dash.orders == [{"row": "label", "col": "label"}]


def test_a_file_written_before_orders_were_saved_still_loads(tmp_path):
    """Files from earlier writers carry only the matrices' own display: they load as they were."""
    path = th.save(_matrix("a", {"row_order": "max"}), tmp_path / "r.th")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format_version"] == 1
    assert th.load(path).display.row_order == "max"
