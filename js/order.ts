// Display order of a heatmap's rows: sorted by label / mean / max or kept, and filtered by a
// substring of the label. The result maps display row → data row.

export type SortMode = "original" | "label" | "mean" | "max";
export const SORT_MODES: readonly SortMode[] = ["original", "label", "mean", "max"];

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** Mean and max of each row, ignoring NaN (NaN when a row has no value). */
export function rowStats(
  values: Float32Array,
  nRows: number,
  nCols: number,
): { mean: Float64Array; max: Float64Array } {
  const mean = new Float64Array(nRows);
  const max = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) {
    let sum = 0;
    let n = 0;
    let hi = Number.NEGATIVE_INFINITY;
    for (let c = r * nCols, end = c + nCols; c < end; c++) {
      const v = values[c];
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
        if (v > hi) hi = v;
      }
    }
    mean[r] = n ? sum / n : Number.NaN;
    max[r] = n ? hi : Number.NaN;
  }
  return { mean, max };
}

/**
 * Data row indices in display order.
 *
 * @param labels   the labels the filter matches against (raw and shown forms are both tried)
 * @param shown    the labels as displayed (e.g. "␣the" for "Ġthe"); sorting by label uses these
 * @param filter   case-insensitive substring; "" keeps every row
 * @param stats    from `rowStats`, needed for "mean" and "max"
 */
export function rowOrder(
  labels: readonly string[],
  shown: readonly string[],
  mode: SortMode,
  filter: string,
  stats: { mean: Float64Array; max: Float64Array } | null,
): Int32Array {
  const needle = filter.trim().toLowerCase();
  const keep: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (
      !needle ||
      labels[i].toLowerCase().includes(needle) ||
      shown[i].toLowerCase().includes(needle)
    )
      keep.push(i);
  }
  if (mode === "label") {
    // "␣the" sorts with "the": leading whitespace markers do not count.
    const key = (i: number) => shown[i].replace(/^[␣⏎⇥\s]+/u, "");
    keep.sort(
      (a, b) => collator.compare(key(a), key(b)) || collator.compare(shown[a], shown[b]) || a - b,
    );
  } else if ((mode === "mean" || mode === "max") && stats) {
    const key = stats[mode];
    keep.sort((a, b) => {
      const ka = key[a];
      const kb = key[b];
      if (Number.isNaN(ka) || Number.isNaN(kb))
        return Number.isNaN(ka) ? (Number.isNaN(kb) ? a - b : 1) : -1;
      return kb - ka || a - b;
    });
  }
  return Int32Array.from(keep);
}

/** Inverse of an order: data row → display row (-1 when filtered out). */
export function inverseOrder(order: Int32Array, nRows: number): Int32Array {
  const inv = new Int32Array(nRows).fill(-1);
  for (let i = 0; i < order.length; i++) inv[order[i]] = i;
  return inv;
}
