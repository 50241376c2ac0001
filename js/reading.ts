// Reading aids of a heatmap, as pure functions: printed values, values beyond the colour
// scale, how many contexts a capped list shows of how many, and where a group of rows or
// columns lies in the display order.

import { formatCount } from "./format";
import type { Group, Matrix, Scale } from "./types";

/** -1 below the scale's domain, 1 above it, 0 inside it (or NaN). */
export function beyondScale(scale: Scale, value: number): -1 | 0 | 1 {
  const [lo, hi] = scale.domain;
  if (value > hi) return 1;
  if (value < lo) return -1;
  return 0;
}

/**
 * A value printed in a cell with `digits` after the point ("0.25", "−1.00"), with a true minus
 * sign and no "−0.00"; "" for NaN (the cell is hatched instead).
 */
export function formatFixed(value: number, digits: number): string {
  if (Number.isNaN(value)) return "";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  let text = value.toFixed(digits);
  if (/^-0(\.0*)?$/.test(text)) text = text.slice(1);
  return text.replace("-", "−");
}

/**
 * How many contexts a cell's list holds, said so that a capped list reads as capped: "50 of 86
 * (capped by max_contexts_per_cell=50)". Only a matrix whose contexts carry the `limit` that capped
 * them (the analyses record it) counts its contexts in `counts`; for any other the count of
 * observations need not be a count of contexts, and only the listed number is given.
 */
export function listedOf(m: Matrix, cell: number, listed: number): string {
  const limit = m.contexts?.limit;
  const total = m.counts && limit ? m.counts[cell] : Number.NaN;
  if (!limit || !(total > listed) || !Number.isInteger(total)) return formatCount(listed);
  return `${formatCount(listed)} of ${formatCount(total)} (capped by ${limit.option}=${formatCount(limit.value)})`;
}

/**
 * The context panel's note for a list that is shorter than what stands behind it: "showing 50
 * of 86 contexts; raise max_contexts_per_cell (now 50) to list more". Null when nothing is left out,
 * the total is unknown, or the contexts do not say what capped them (see `listedOf`).
 */
export function cappedNote(m: Matrix, listed: number, total: number): string | null {
  const limit = m.contexts?.limit;
  if (!limit || !(total > listed)) return null;
  const head = `showing ${formatCount(listed)} of ${formatCount(total)} contexts`;
  return `${head}; raise ${limit.option} (now ${formatCount(limit.value)}) to list more`;
}

/** The true number of contexts behind cells, from `counts` (sum over `cells`); NaN if unknown. */
export function totalBehind(m: Matrix, cells: Iterable<number>): number {
  if (!m.counts) return Number.NaN;
  let total = 0;
  for (const i of cells) {
    const n = m.counts[i];
    if (!Number.isFinite(n)) return Number.NaN;
    total += n;
  }
  return total;
}

/**
 * Display span [first, last] of a group whose members (data indices start..end−1) are shown
 * contiguously under `inv` (data → display, -1 hidden); null when none is shown or the members
 * are split apart by the order (then no bracket would be honest).
 */
export function groupSpan(group: Group, inv: Int32Array): { first: number; last: number } | null {
  let first = Number.POSITIVE_INFINITY;
  let last = -1;
  let shown = 0;
  for (let i = group.start; i < group.end; i++) {
    const d = inv[i] ?? -1;
    if (d < 0) continue;
    shown++;
    first = Math.min(first, d);
    last = Math.max(last, d);
  }
  if (shown === 0 || last - first + 1 !== shown) return null;
  return { first, last };
}

/** Cells below the display's `minCount` (drawn faded), by cell index; null when none is set. */
export function thinMask(m: Matrix): Uint8Array | null {
  const min = m.display.minCount;
  if (min === null || !m.counts) return null;
  const mask = new Uint8Array(m.counts.length);
  let any = false;
  for (let i = 0; i < mask.length; i++) {
    if (m.counts[i] < min && !Number.isNaN(m.values[i])) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : null;
}
