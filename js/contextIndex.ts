// Which contexts belong to a cell, a row or a column. Contexts arrive sorted by (row, col)
// (PROTOCOL.md), so a cell's contexts are one contiguous range found by binary search; an
// unsorted table is sorted once through a permutation rather than trusted.

import type { Contexts } from "./types";

export class ContextIndex {
  /** Context indices in (row, col) order. */
  readonly order: Int32Array;
  private readonly keys: Float64Array;

  constructor(
    readonly contexts: Contexts,
    readonly nCols: number,
  ) {
    const n = contexts.n;
    const raw = new Float64Array(n);
    let sorted = true;
    for (let k = 0; k < n; k++) {
      raw[k] = contexts.row[k] * nCols + contexts.col[k];
      if (k > 0 && raw[k] < raw[k - 1]) sorted = false;
    }
    const order = new Int32Array(n);
    for (let k = 0; k < n; k++) order[k] = k;
    if (!sorted) order.sort((a, b) => raw[a] - raw[b] || a - b);
    this.order = order;
    this.keys = sorted ? raw : Float64Array.from(order, (k) => raw[k]);
  }

  private lowerBound(key: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Context indices of cell (row, col), in table order. */
  cell(row: number, col: number): Int32Array {
    const key = row * this.nCols + col;
    return this.order.subarray(this.lowerBound(key), this.lowerBound(key + 1));
  }

  /** Number of contexts of cell (row, col). */
  cellCount(row: number, col: number): number {
    const key = row * this.nCols + col;
    return this.lowerBound(key + 1) - this.lowerBound(key);
  }

  /** Context indices of every cell in `row`. */
  row(row: number): Int32Array {
    return this.order.subarray(
      this.lowerBound(row * this.nCols),
      this.lowerBound((row + 1) * this.nCols),
    );
  }

  /** Context indices of every cell in `col` (a scan: columns are not contiguous). */
  col(col: number): Int32Array {
    const out: number[] = [];
    for (let i = 0; i < this.order.length; i++) {
      if (this.contexts.col[this.order[i]] === col) out.push(this.order[i]);
    }
    return Int32Array.from(out);
  }
}
