"""Row and column orders in Python (the Altair export) equal the widget's (js/order.ts).

The cases are those of js/tests/order.test.ts, so the two implementations are held to the same
answers.
"""

from __future__ import annotations

import numpy as np
import pytest

import tokenheat as th
from tokenheat.export._order import axis_order, cluster_order, line_stats

NAN = np.nan
VALUES = np.array([[1, 2, 3], [NAN, NAN, NAN], [5, NAN, 0], [0, 9, 0]], dtype=float)
LABELS = ["Ġzeta", "alpha", "item10", "item9"]


def matrix(values=VALUES, rows=LABELS, counts=None):
    cols = [f"c{j}" for j in range(values.shape[1])]
    return th.TokenMatrix(values, rows=rows, cols=cols, counts=counts)


def test_statistics_ignore_missing_cells():
    s = line_stats(matrix(), "row")
    np.testing.assert_allclose(s["mean"], [2, NAN, 2.5, 3])
    np.testing.assert_allclose(s["max"], [3, NAN, 5, 9])
    np.testing.assert_allclose(s["variance"], [2 / 3, NAN, 6.25, 18])
    np.testing.assert_allclose(s["count"], [3, NAN, 2, 3])
    counts = np.array([[1, 1, 1], [0, 0, 0], [7, 0, 9], [2, 2, 2]], dtype=float)
    np.testing.assert_allclose(line_stats(matrix(counts=counts), "row")["count"], [3, NAN, 16, 6])
    np.testing.assert_allclose(line_stats(matrix(), "col")["mean"], [2, 5.5, 1])


@pytest.mark.parametrize(
    "mode, order",
    [
        ("original", [0, 1, 2, 3]),
        ("mean", [3, 2, 0, 1]),
        ("max", [3, 2, 0, 1]),
        ("variance", [3, 2, 0, 1]),
        ("count", [0, 3, 2, 1]),  # a tie (3, 3) keeps the data order
        ("label", [1, 3, 2, 0]),  # natural: item9 before item10; "␣zeta" sorts as "zeta"
    ],
)
def test_orders_match_the_widget(mode, order):
    assert axis_order(matrix(), "row", mode).tolist() == order


def test_sorts_are_stable():
    flat = matrix(np.ones((4, 3)))
    for mode in ("mean", "max", "variance", "count"):
        assert axis_order(flat, "row", mode).tolist() == [0, 1, 2, 3]


def test_clustering_puts_similar_profiles_together_deterministically():
    # The profiles of js/tests/order.test.ts on purpose: the front end's cluster order is the twin.
    rows = [
        [0, 1, 2, 3],
        [3, 2, 1, 0],
        [0.1, 1.1, 2.1, 3.2],
        [3.1, 2, 1, 0.1],
        [0, 1.2, 2, 3.1],
        [2.9, 2.1, 1, 0],
    ]
    m = matrix(np.array(rows), rows=[f"r{i}" for i in range(6)])
    order = cluster_order(m, "row").tolist()
    assert order[0] == 2 and sorted(order) == list(range(6))
    assert sum(order[i] % 2 != order[i - 1] % 2 for i in range(1, 6)) == 1
    assert axis_order(m, "row", "cluster").tolist() == order
