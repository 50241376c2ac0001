// Display order of a heatmap's rows and columns: kept, by label, by a statistic of the line's
// values (mean, max, variance, count; high first), or clustered (similar profiles together),
// and for rows filtered by a substring of the label. Every sort is stable: ties keep their
// data order, so the same matrix always gives the same picture. The result maps display
// index → data index.

import type { Order } from "./types";

export type SortMode = Order;
export const SORT_MODES: readonly SortMode[] = [
  "original",
  "label",
  "mean",
  "max",
  "variance",
  "count",
  "cluster",
];

/** Lines beyond this many are not clustered (the chain is quadratic); the option says so. */
export const MAX_CLUSTER = 2000;
/** Profiles longer than this are averaged into this many bins before clustering. */
const CLUSTER_DIMS = 64;

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export type Axis = "row" | "col";

/** Statistics of each line (row or column) of finite values; NaN when a line has none. */
export interface LineStats {
  mean: Float64Array;
  max: Float64Array;
  variance: Float64Array;
  /** Observations: the sum of `counts` over the line's finite cells, else its finite cells. */
  count: Float64Array;
}

/** Number of lines along `axis`, and the stride between a line's cells. */
function geometry(nRows: number, nCols: number, axis: Axis) {
  return axis === "row"
    ? { lines: nRows, len: nCols, at: (line: number, j: number) => line * nCols + j }
    : { lines: nCols, len: nRows, at: (line: number, j: number) => j * nCols + line };
}

/** Mean, max, (population) variance and count of each row or column, ignoring NaN. */
export function lineStats(
  values: Float32Array,
  nRows: number,
  nCols: number,
  axis: Axis = "row",
  counts: Float32Array | null = null,
): LineStats {
  const { lines, len, at } = geometry(nRows, nCols, axis);
  const mean = new Float64Array(lines);
  const max = new Float64Array(lines);
  const variance = new Float64Array(lines);
  const count = new Float64Array(lines);
  for (let l = 0; l < lines; l++) {
    let n = 0;
    let sum = 0;
    let sq = 0;
    let obs = 0;
    let hi = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < len; j++) {
      const i = at(l, j);
      const v = values[i];
      if (Number.isNaN(v)) continue;
      n++;
      sum += v;
      sq += v * v;
      if (v > hi) hi = v;
      obs += counts ? counts[i] : 1;
    }
    mean[l] = n ? sum / n : Number.NaN;
    max[l] = n ? hi : Number.NaN;
    variance[l] = n ? Math.max(0, sq / n - (sum / n) ** 2) : Number.NaN;
    count[l] = n ? obs : Number.NaN;
  }
  return { mean, max, variance, count };
}

/**
 * Each line's profile across the other axis, NaN replaced by that position's mean over all
 * lines (0 when it has none), averaged into at most `dims` bins: what clustering compares.
 */
export function profiles(
  values: Float32Array,
  nRows: number,
  nCols: number,
  axis: Axis,
  dims = CLUSTER_DIMS,
): { data: Float64Array; dims: number } {
  const { lines, len, at } = geometry(nRows, nCols, axis);
  const fill = new Float64Array(len);
  for (let j = 0; j < len; j++) {
    let s = 0;
    let n = 0;
    for (let l = 0; l < lines; l++) {
      const v = values[at(l, j)];
      if (!Number.isNaN(v)) {
        s += v;
        n++;
      }
    }
    fill[j] = n ? s / n : 0;
  }
  const d = Math.max(1, Math.min(dims, len));
  const data = new Float64Array(lines * d);
  const per = new Float64Array(d);
  for (let j = 0; j < len; j++) per[Math.floor((j * d) / len)]++;
  for (let l = 0; l < lines; l++) {
    for (let j = 0; j < len; j++) {
      const v = values[at(l, j)];
      data[l * d + Math.floor((j * d) / len)] += Number.isNaN(v) ? fill[j] : v;
    }
    for (let b = 0; b < d; b++) data[l * d + b] /= per[b] || 1;
  }
  return { data, dims: d };
}

/**
 * Clustering order: a greedy nearest-neighbour chain over the Euclidean distance of the lines'
 * profiles (see `profiles`). It starts at the line with the highest mean and each next line is
 * the nearest one not yet placed; ties go to the lower data index, so the order is
 * deterministic. Lines with similar profiles end up next to each other.
 */
export function clusterOrder(
  values: Float32Array,
  nRows: number,
  nCols: number,
  axis: Axis = "row",
): Int32Array {
  const { data, dims } = profiles(values, nRows, nCols, axis);
  const n = axis === "row" ? nRows : nCols;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const placed = new Uint8Array(n);
  let start = 0;
  let best = Number.NEGATIVE_INFINITY;
  for (let l = 0; l < n; l++) {
    let s = 0;
    for (let b = 0; b < dims; b++) s += data[l * dims + b];
    if (s > best + 1e-12) {
      best = s;
      start = l;
    }
  }
  let cur = start;
  for (let k = 0; k < n; k++) {
    out[k] = cur;
    placed[cur] = 1;
    let next = -1;
    let nearest = Number.POSITIVE_INFINITY;
    for (let l = 0; l < n; l++) {
      if (placed[l]) continue;
      let d2 = 0;
      for (let b = 0; b < dims; b++) {
        const diff = data[cur * dims + b] - data[l * dims + b];
        d2 += diff * diff;
      }
      if (d2 < nearest - 1e-12) {
        nearest = d2;
        next = l;
      }
    }
    if (next < 0) break;
    cur = next;
  }
  return out;
}

/** Sort `keep` (data indices) by `key`, high first, NaN last, ties in data order. */
function byStatistic(keep: number[], key: Float64Array): void {
  keep.sort((a, b) => {
    const ka = key[a];
    const kb = key[b];
    if (Number.isNaN(ka) || Number.isNaN(kb))
      return Number.isNaN(ka) ? (Number.isNaN(kb) ? a - b : 1) : -1;
    return kb - ka || a - b;
  });
}

/** What an order needs besides the labels: statistics and a clustering order, when used. */
export interface OrderInputs {
  stats?: LineStats | null;
  cluster?: Int32Array | null;
}

/**
 * Data indices in display order.
 *
 * @param labels   the labels the filter matches against (raw and shown forms are both tried)
 * @param shown    the labels as displayed (e.g. "␣the" for "Ġthe"); sorting by label uses these
 * @param mode     the order; a statistic or "cluster" without its input keeps the data order
 * @param filter   case-insensitive substring; "" keeps every line
 * @param inputs   from `lineStats` (for mean, max, variance, count) and `clusterOrder`
 */
export function axisOrder(
  labels: readonly string[],
  shown: readonly string[],
  mode: SortMode,
  filter: string,
  inputs: OrderInputs | null,
): Int32Array {
  const given = inputs ?? {};
  const needle = filter.trim().toLowerCase();
  const match = (i: number) =>
    !needle || labels[i].toLowerCase().includes(needle) || shown[i].toLowerCase().includes(needle);
  if (mode === "cluster" && given.cluster) {
    return Int32Array.from(Array.from(given.cluster).filter(match));
  }
  const keep: number[] = [];
  for (let i = 0; i < labels.length; i++) if (match(i)) keep.push(i);
  if (mode === "label") {
    // "␣the" sorts with "the": leading whitespace markers do not count.
    const key = (i: number) => shown[i].replace(/^[␣⏎⇥\s]+/u, "");
    keep.sort(
      (a, b) => collator.compare(key(a), key(b)) || collator.compare(shown[a], shown[b]) || a - b,
    );
  } else if (
    (mode === "mean" || mode === "max" || mode === "variance" || mode === "count") &&
    given.stats
  ) {
    byStatistic(keep, given.stats[mode]);
  }
  return Int32Array.from(keep);
}

/** Inverse of an order: data index → display index (-1 when filtered out). */
export function inverseOrder(order: Int32Array, n: number): Int32Array {
  const inv = new Int32Array(n).fill(-1);
  for (let i = 0; i < order.length; i++) inv[order[i]] = i;
  return inv;
}

/** Whether sorting makes sense along an axis of this kind (ordinal axes read in their order). */
export function sortableAxis(kind: string): boolean {
  return !["position", "bucket", "layer", "distance"].includes(kind);
}

/** What a `Sorter` reads of a matrix. */
export interface Sortable {
  values: Float32Array;
  nRows: number;
  nCols: number;
  counts: Float32Array | null;
  rows: { labels: readonly string[] };
  cols: { labels: readonly string[] };
}

/**
 * The display orders of one matrix. Line statistics and clustering orders are computed the
 * first time a sort needs them and kept for the next one.
 */
export class Sorter {
  private readonly stats: Partial<Record<Axis, LineStats>> = {};
  private readonly clusters: Partial<Record<Axis, Int32Array>> = {};

  constructor(
    private readonly m: Sortable,
    private readonly shown: Record<Axis, readonly string[]>,
  ) {}

  /** Display → data order along `axis` for `mode` (and, for rows, `filter`), and its inverse. */
  sort(axis: Axis, mode: SortMode, filter = ""): { order: Int32Array; inv: Int32Array } {
    const labels = axis === "row" ? this.m.rows.labels : this.m.cols.labels;
    const order = axisOrder(labels, this.shown[axis], mode, filter, this.inputs(axis, mode));
    return { order, inv: inverseOrder(order, axis === "row" ? this.m.nRows : this.m.nCols) };
  }

  /** Statistics or the clustering order along `axis`, computed when first needed. */
  private inputs(axis: Axis, mode: SortMode): OrderInputs | null {
    const { values, nRows, nCols, counts } = this.m;
    if (mode === "cluster") {
      if ((axis === "row" ? nRows : nCols) > MAX_CLUSTER) return null;
      this.clusters[axis] ??= clusterOrder(values, nRows, nCols, axis);
      return { cluster: this.clusters[axis] };
    }
    if (mode === "original" || mode === "label") return null;
    this.stats[axis] ??= lineStats(values, nRows, nCols, axis, counts);
    return { stats: this.stats[axis] };
  }
}
