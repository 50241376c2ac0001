import { describe, expect, it } from "vitest";
import { axisOrder, clusterOrder, inverseOrder, lineStats, sortableAxis } from "../order";

const NaN32 = Number.NaN;
// 4 rows × 3 cols
const values = Float32Array.from([1, 2, 3, NaN32, NaN32, NaN32, 5, NaN32, 0, 0, 9, 0]);
const labels = ["Ġzeta", "alpha", "item10", "item9"];
const shown = ["␣zeta", "alpha", "item10", "item9"];

describe("row order", () => {
  const stats = lineStats(values, 4, 3, "row");

  it("computes mean, max, variance and count ignoring NaN", () => {
    expect(Array.from(stats.mean)).toEqual([2, NaN32, 2.5, 3]);
    expect(Array.from(stats.max)).toEqual([3, NaN32, 5, 9]);
    expect(stats.variance[0]).toBeCloseTo(2 / 3);
    expect(stats.variance[2]).toBeCloseTo(6.25);
    expect(stats.variance[3]).toBeCloseTo(18);
    expect(Array.from(stats.count)).toEqual([3, NaN32, 2, 3]);
  });

  it("counts observations from counts when the matrix has them", () => {
    const counts = Float32Array.from([1, 1, 1, 0, 0, 0, 7, 0, 9, 2, 2, 2]);
    expect(Array.from(lineStats(values, 4, 3, "row", counts).count)).toEqual([3, NaN32, 16, 6]);
  });

  it("keeps the original order", () => {
    expect(Array.from(axisOrder(labels, shown, "original", "", null))).toEqual([0, 1, 2, 3]);
  });

  it("sorts by mean and max, high first, empty rows last", () => {
    expect(Array.from(axisOrder(labels, shown, "mean", "", { stats }))).toEqual([3, 2, 0, 1]);
    expect(Array.from(axisOrder(labels, shown, "max", "", { stats }))).toEqual([3, 2, 0, 1]);
    expect(Array.from(axisOrder(labels, shown, "variance", "", { stats }))).toEqual([3, 2, 0, 1]);
  });

  it("is stable: ties keep their data order", () => {
    // rows 0 and 3 have the same count (3); 0 comes first in the data, so first when sorted.
    expect(Array.from(axisOrder(labels, shown, "count", "", { stats }))).toEqual([0, 3, 2, 1]);
    const flat = lineStats(new Float32Array(12).fill(1), 4, 3, "row");
    for (const mode of ["mean", "max", "variance", "count"] as const)
      expect(Array.from(axisOrder(labels, shown, mode, "", { stats: flat }))).toEqual([0, 1, 2, 3]);
  });

  it("sorts labels naturally (item9 before item10)", () => {
    expect(Array.from(axisOrder(labels, shown, "label", "", null))).toEqual([1, 3, 2, 0]);
  });

  it("filters by a case-insensitive substring of the raw or shown label", () => {
    expect(Array.from(axisOrder(labels, shown, "original", "ITEM", null))).toEqual([2, 3]);
    expect(Array.from(axisOrder(labels, shown, "original", "␣z", null))).toEqual([0]);
    expect(Array.from(axisOrder(labels, shown, "original", "Ġz", null))).toEqual([0]);
    expect(Array.from(axisOrder(labels, shown, "mean", "item", { stats }))).toEqual([3, 2]);
    expect(axisOrder(labels, shown, "original", "nope", null).length).toBe(0);
  });

  it("inverts an order, marking filtered rows", () => {
    expect(Array.from(inverseOrder(Int32Array.from([3, 1]), 4))).toEqual([-1, 1, -1, 0]);
  });
});

describe("column order", () => {
  it("computes statistics down each column", () => {
    const stats = lineStats(values, 4, 3, "col");
    expect(Array.from(stats.mean)).toEqual([2, 5.5, 1]);
    expect(Array.from(stats.count)).toEqual([3, 2, 3]);
    const cols = ["a", "b", "c"];
    expect(Array.from(axisOrder(cols, cols, "mean", "", { stats }))).toEqual([1, 0, 2]);
  });

  it("is offered where the columns' order is not the point", () => {
    expect(sortableAxis("example")).toBe(true);
    expect(sortableAxis("token")).toBe(true);
    for (const kind of ["position", "bucket", "layer", "distance"])
      expect(sortableAxis(kind)).toBe(false);
  });
});

describe("cluster order", () => {
  // Two families of profiles, interleaved in the data: rising (0, 2, 4) and falling (1, 3, 5).
  // tests/unit/test_export_order.py's profiles on purpose: Python's cluster order is the twin.
  const rows = [
    [0, 1, 2, 3],
    [3, 2, 1, 0],
    [0.1, 1.1, 2.1, 3.2],
    [3.1, 2, 1, 0.1],
    [0, 1.2, 2, 3.1],
    [2.9, 2.1, 1, 0],
  ];
  const grid = Float32Array.from(rows.flat());

  it("puts similar profiles next to each other", () => {
    const order = Array.from(clusterOrder(grid, 6, 4, "row"));
    expect(order).toHaveLength(6);
    expect(new Set(order).size).toBe(6);
    const family = (r: number) => r % 2;
    // one switch between the families along the chain
    let switches = 0;
    for (let i = 1; i < order.length; i++)
      if (family(order[i]) !== family(order[i - 1])) switches++;
    expect(switches).toBe(1);
  });

  it("is deterministic and starts at the line with the highest mean", () => {
    const a = Array.from(clusterOrder(grid, 6, 4, "row"));
    expect(Array.from(clusterOrder(grid, 6, 4, "row"))).toEqual(a);
    expect(a[0]).toBe(2); // row 2 has the largest sum (6.5)
  });

  it("fills missing cells with the column mean and clusters columns too", () => {
    const withNaN = Float32Array.from([1, NaN32, 1, 5, 1, 1, 5, 5]); // 2 × 4
    const order = Array.from(clusterOrder(withNaN, 2, 4, "col"));
    expect(order.slice().sort()).toEqual([0, 1, 2, 3]);
    expect(Array.from(clusterOrder(withNaN, 2, 4, "col"))).toEqual(order);
  });

  it("is used by axisOrder, filtered by the label filter", () => {
    const names = ["up1", "down1", "up2", "down2", "up3", "down3"];
    const cluster = clusterOrder(grid, 6, 4, "row");
    const all = Array.from(axisOrder(names, names, "cluster", "", { cluster }));
    expect(all).toEqual(Array.from(cluster));
    expect(Array.from(axisOrder(names, names, "cluster", "up", { cluster }))).toEqual(
      all.filter((i) => i % 2 === 0),
    );
  });
});
