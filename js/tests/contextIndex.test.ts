import { describe, expect, it } from "vitest";
import { ContextIndex } from "../contextIndex";
import type { Contexts } from "../types";
import { contexts } from "./fixtures";

function byCell(rows: number[], cols: number[]): Contexts {
  return contexts(rows.length, { row: Int32Array.from(rows), col: Int32Array.from(cols) });
}

describe("CSR lookup of a cell's contexts", () => {
  const sorted = byCell([0, 0, 0, 1, 1, 3, 3, 3], [0, 0, 2, 1, 4, 0, 0, 4]);
  const index = new ContextIndex(sorted, 5);

  it("finds the contiguous range of a cell", () => {
    expect(Array.from(index.cell(0, 0))).toEqual([0, 1]);
    expect(Array.from(index.cell(0, 2))).toEqual([2]);
    expect(Array.from(index.cell(3, 4))).toEqual([7]);
    expect(Array.from(index.cell(2, 2))).toEqual([]);
    expect(index.cellCount(3, 0)).toBe(2);
    expect(index.cellCount(4, 0)).toBe(0);
  });

  it("finds every context of a row and of a column", () => {
    expect(Array.from(index.row(1))).toEqual([3, 4]);
    expect(Array.from(index.row(2))).toEqual([]);
    expect(Array.from(index.col(4))).toEqual([4, 7]);
  });

  it("sorts an unsorted table instead of trusting it", () => {
    const shuffled = new ContextIndex(byCell([3, 0, 1, 0, 3], [4, 2, 1, 2, 4]), 5);
    expect(Array.from(shuffled.cell(0, 2))).toEqual([1, 3]);
    expect(Array.from(shuffled.cell(3, 4))).toEqual([0, 4]);
    expect(Array.from(shuffled.row(1))).toEqual([2]);
  });

  it("handles a large table quickly", () => {
    const n = 200000;
    const rows = Array.from({ length: n }, (_, i) => Math.floor(i / 200));
    const cols = Array.from({ length: n }, (_, i) => i % 10);
    const big = new ContextIndex(byCell(rows, cols), 10);
    expect(big.cellCount(500, 3)).toBe(20);
    expect(big.row(999).length).toBe(200);
  });
});
