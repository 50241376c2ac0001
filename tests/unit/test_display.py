"""Display: reading defaults that travel with a matrix (widget spec, results file, pandas)."""

from __future__ import annotations

import numpy as np
import pytest

import tokenheat as th
from tokenheat.core._spec import build_spec
from tokenheat.errors import ArgumentError, ArgumentTypeError


def _matrix(**kwargs):
    return th.TokenMatrix(
        np.arange(12, dtype=float).reshape(3, 4),
        rows=["a", "b", "c"],
        cols=["p0", "p1", "p2", "p3"],
        counts=np.full((3, 4), 2.0),
        **kwargs,
    )


DISPLAY = th.Display(
    row_order="cluster",
    cell_text="value",
    digits=1,
    min_count=3,
    mark_outliers=True,
    col_groups=(th.Group("dummy tokens", 2, 4),),
)


def test_defaults_keep_original_order_and_mark_nothing():
    d = _matrix().display
    assert (d.row_order, d.col_order, d.cell_text, d.min_count, d.col_groups) == (
        "original",
        "original",
        "auto",
        None,
        (),
    )


def test_display_survives_save_and_load(tmp_path):
    m = _matrix(display=DISPLAY)
    th.save(m, tmp_path / "m.th")
    back = th.load(tmp_path / "m.th")
    assert back.display == DISPLAY and back.equals(m)


def test_display_survives_pandas_round_trip():
    m = _matrix(display=DISPLAY)
    back = th.TokenMatrix.from_dataframe(m.to_pandas(), row="row", col="col", value="value")
    assert back.display == DISPLAY


def test_display_reaches_the_widget_spec():
    spec = build_spec([_matrix(display=DISPLAY)])
    assert spec["matrices"][0]["display"] == DISPLAY.to_dict()


def test_display_from_a_dict():
    m = _matrix(display={"row_order": "mean", "col_groups": [{"label": "x", "start": 0, "end": 1}]})
    assert m.display.row_order == "mean" and m.display.col_groups == (th.Group("x", 0, 1),)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"row_order": "median"},
            ArgumentError,
            "row_order must be one of 'original', .*, got 'median'",
        ),
        ({"cell_text": "all"}, ArgumentError, "cell_text must be one of .*, got 'all'"),
        ({"digits": 9}, ArgumentError, "digits must be an int from 0 to 6, got 9"),
        ({"digits": 1.5}, ArgumentTypeError, r"digits must be an int from 0 to 6, got 1\.5"),
        ({"min_count": -1}, ArgumentError, "min_count must be a number >= 0 or None, got -1"),
        (
            {"mark_outliers": "yes"},
            ArgumentTypeError,
            "mark_outliers must be True or False, got 'yes'",
        ),
        (
            {"col_groups": "dummy"},
            ArgumentTypeError,
            "col_groups must be a sequence of Group, got 'dummy'",
        ),
    ],
)
def test_bad_display_options_name_the_argument(kwargs, error, words):
    with pytest.raises(error, match=words):
        th.Display(**kwargs)


def test_a_group_beyond_the_matrix_is_refused():
    with pytest.raises(
        ValueError,
        match=r"col_groups must be groups spanning within 0:4 \(the matrix along that axis\), got 'dummy' spanning 3:9",
    ):
        _matrix(display=th.Display(col_groups=(th.Group("dummy", 3, 9),)))


def test_unknown_display_keys_are_refused():
    with pytest.raises(
        ValueError,
        match=r"display must be a mapping with keys among .*, got the unknown keys \['sort'\]",
    ):
        _matrix(display={"sort": "mean"})
