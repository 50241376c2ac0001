// A heatmap's columns in display order: the matrix with its columns permuted, so that drawing,
// cell text and token marks work in display columns while selections, tooltips and contexts
// keep data indices (heatmap.ts converts at the boundary with `colOrder` / its inverse).

import type { Axis, Matrix } from "./types";

/** Whether `order` is 0, 1, …, n − 1. */
export function isIdentity(order: Int32Array): boolean {
  for (let i = 0; i < order.length; i++) if (order[i] !== i) return false;
  return true;
}

function gatherCols<T extends Float32Array | Int32Array>(
  src: T,
  nRows: number,
  nCols: number,
  order: Int32Array,
  make: (n: number) => T,
): T {
  const out = make(src.length);
  for (let r = 0; r < nRows; r++) {
    const base = r * nCols;
    for (let c = 0; c < nCols; c++) out[base + c] = src[base + order[c]];
  }
  return out;
}

function permuteAxis(axis: Axis, order: Int32Array): Axis {
  const pick = <T>(xs: readonly T[]) => Array.from(order, (i) => xs[i]);
  return {
    ...axis,
    labels: pick(axis.labels),
    tokens: axis.tokens ? pick(axis.tokens) : null,
    examples: axis.examples ? Int32Array.from(order, (i) => axis.examples?.[i] ?? -1) : null,
  };
}

/**
 * `m` with column c of the result being column `order[c]` of `m` (every per-cell array and the
 * column axis follow; groups are dropped, as a permuted span is no longer one span). `order`
 * must be a permutation of all columns. Returns `m` itself for the identity.
 */
export function permuteColumns(m: Matrix, order: Int32Array): Matrix {
  if (isIdentity(order)) return m;
  const { nRows, nCols } = m;
  const f32 = (a: Float32Array) => gatherCols(a, nRows, nCols, order, (n) => new Float32Array(n));
  return {
    ...m,
    values: f32(m.values),
    counts: m.counts ? f32(m.counts) : null,
    extras: m.extras.map((e) => ({ name: e.name, values: f32(e.values) })),
    cellText: m.cellText
      ? {
          vocab: m.cellText.vocab,
          codes: gatherCols(m.cellText.codes, nRows, nCols, order, (n) => new Int32Array(n)),
        }
      : null,
    cols: permuteAxis(m.cols, order),
    display: { ...m.display, colGroups: [] },
    contexts: null,
  };
}
