import { describe, expect, it } from "vitest";
import { inverseOrder, rowOrder, rowStats } from "../order";

const NaN32 = Number.NaN;
// 4 rows × 3 cols
const values = Float32Array.from([1, 2, 3, NaN32, NaN32, NaN32, 5, NaN32, 0, 0, 9, 0]);
const labels = ["Ġzeta", "alpha", "item10", "item9"];
const shown = ["␣zeta", "alpha", "item10", "item9"];

describe("row order", () => {
  const stats = rowStats(values, 4, 3);

  it("computes mean and max ignoring NaN", () => {
    expect(Array.from(stats.mean)).toEqual([2, NaN32, 2.5, 3]);
    expect(Array.from(stats.max)).toEqual([3, NaN32, 5, 9]);
  });

  it("keeps the original order", () => {
    expect(Array.from(rowOrder(labels, shown, "original", "", null))).toEqual([0, 1, 2, 3]);
  });

  it("sorts by mean and max, high first, empty rows last", () => {
    expect(Array.from(rowOrder(labels, shown, "mean", "", stats))).toEqual([3, 2, 0, 1]);
    expect(Array.from(rowOrder(labels, shown, "max", "", stats))).toEqual([3, 2, 0, 1]);
  });

  it("sorts labels naturally (item9 before item10)", () => {
    expect(Array.from(rowOrder(labels, shown, "label", "", null))).toEqual([1, 3, 2, 0]);
  });

  it("filters by a case-insensitive substring of the raw or shown label", () => {
    expect(Array.from(rowOrder(labels, shown, "original", "ITEM", null))).toEqual([2, 3]);
    expect(Array.from(rowOrder(labels, shown, "original", "␣z", null))).toEqual([0]);
    expect(Array.from(rowOrder(labels, shown, "original", "Ġz", null))).toEqual([0]);
    expect(Array.from(rowOrder(labels, shown, "mean", "item", stats))).toEqual([3, 2]);
    expect(rowOrder(labels, shown, "original", "nope", null).length).toBe(0);
  });

  it("inverts an order, marking filtered rows", () => {
    expect(Array.from(inverseOrder(Int32Array.from([3, 1]), 4))).toEqual([-1, 1, -1, 0]);
  });
});
