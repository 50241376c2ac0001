// Small decoded matrices for the unit tests.
import type { Axis, Contexts, Display, Matrix, Spec } from "../types";

export const DEFAULT_DISPLAY: Display = {
  rowOrder: "original",
  colOrder: "original",
  cellText: "auto",
  digits: 2,
  minCount: null,
  markOutliers: false,
  rowGroups: [],
  colGroups: [],
};

export function axis(labels: string[], kind: string, extra: Partial<Axis> = {}): Axis {
  return { labels, kind, title: kind, tokens: null, examples: null, ...extra };
}

export function matrix(nRows: number, nCols: number, over: Partial<Matrix> = {}): Matrix {
  return {
    title: "m",
    valueLabel: "value",
    nRows,
    nCols,
    values: Float32Array.from({ length: nRows * nCols }, (_, i) => i),
    rows: axis(
      Array.from({ length: nRows }, (_, i) => `r${i}`),
      "row",
    ),
    cols: axis(
      Array.from({ length: nCols }, (_, i) => `c${i}`),
      "col",
    ),
    cellText: null,
    counts: null,
    extras: [],
    scale: { palette: "viridis", kind: "sequential", domain: [0, 1], center: null, reverse: false },
    display: DEFAULT_DISPLAY,
    corpus: null,
    contexts: null,
    ...over,
  };
}

export function spec(matrices: Matrix[]): Spec {
  return { version: 1, corpora: [], matrices, layout: { columns: 1, cellSize: 14 } };
}

/** A contexts table of `n` entries, every index 0 and no optional column, with `over` on top. */
export function contexts(n: number, over: Partial<Contexts> = {}): Contexts {
  const z = new Int32Array(n);
  return {
    n,
    row: z,
    col: z,
    example: z,
    start: z,
    end: z,
    start2: null,
    end2: null,
    scoreStart: null,
    scoreEnd: null,
    scores: null,
    numeric: [],
    labels: [],
    limit: null,
    ...over,
  };
}
