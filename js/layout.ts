// Pure geometry of one heatmap: cells ↔ pixels, what is visible, which labels fit, zoom.
// Coordinates are CSS pixels relative to the top-left corner of the cell viewport; `scrollX`
// and `scrollY` are how far the content (all cells) is scrolled under that viewport.

export interface Viewport {
  cellW: number;
  cellH: number;
  scrollX: number;
  scrollY: number;
  viewW: number;
  viewH: number;
  nRows: number;
  nCols: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface CellRange {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** A viewport of square `cell`-px cells, not scrolled, of no size yet. */
export function emptyViewport(cell: number, nRows: number, nCols: number): Viewport {
  return { cellW: cell, cellH: cell, scrollX: 0, scrollY: 0, viewW: 0, viewH: 0, nRows, nCols };
}

/** Size of all cells together. */
export function contentSize(v: Viewport): { w: number; h: number } {
  return { w: v.nCols * v.cellW, h: v.nRows * v.cellH };
}

/** Rectangle of display cell (row, col), relative to the viewport (may lie outside it). */
export function cellRect(v: Viewport, row: number, col: number): Rect {
  return { x: col * v.cellW - v.scrollX, y: row * v.cellH - v.scrollY, w: v.cellW, h: v.cellH };
}

/** Display cell under viewport point (x, y), or null outside the viewport or the cells. */
export function cellAt(v: Viewport, x: number, y: number): { row: number; col: number } | null {
  if (x < 0 || y < 0 || x >= v.viewW || y >= v.viewH) return null;
  const col = Math.floor((x + v.scrollX) / v.cellW);
  const row = Math.floor((y + v.scrollY) / v.cellH);
  if (row < 0 || col < 0 || row >= v.nRows || col >= v.nCols) return null;
  return { row, col };
}

/** Display rows [r0, r1) and columns [c0, c1) that are at least partly inside the viewport. */
export function visibleRange(v: Viewport): CellRange {
  const r0 = Math.max(0, Math.floor(v.scrollY / v.cellH));
  const c0 = Math.max(0, Math.floor(v.scrollX / v.cellW));
  const r1 = Math.min(v.nRows, Math.ceil((v.scrollY + v.viewH) / v.cellH));
  const c1 = Math.min(v.nCols, Math.ceil((v.scrollX + v.viewW) / v.cellW));
  return { r0, r1: Math.max(r0, r1), c0, c1: Math.max(c0, c1) };
}

/** Smallest step k ≥ 1 so that every k-th label of cells `cellSize` apart is `minSpacing` apart. */
export function labelStep(cellSize: number, minSpacing: number): number {
  if (!(cellSize > 0)) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.ceil(minSpacing / cellSize - 1e-9));
}

/** Indices in [start, end) that get a label when every `step`-th one is drawn. */
export function visibleLabels(start: number, end: number, step: number): number[] {
  if (!Number.isFinite(step) || step < 1) return [];
  const out: number[] = [];
  for (let i = Math.ceil(start / step) * step; i < end; i += step) out.push(i);
  return out;
}

/** `z` limited to [min, max] (a NaN becomes min). */
export function clampZoom(z: number, min: number, max: number): number {
  if (Number.isNaN(z)) return min;
  return Math.min(max, Math.max(min, z));
}

/**
 * Zoom limits for base cell sizes. `min` is where the whole matrix fits the largest viewport
 * (never above 1, never below `minCell` px per cell); `max` allows `maxCell` px; `fit` is the
 * zoom that shows everything, or 1 when it already fits.
 */
export function zoomLimits(
  baseW: number,
  baseH: number,
  nRows: number,
  nCols: number,
  maxViewW: number,
  maxViewH: number,
  minCell = 0.25,
  maxCell = 96,
): { min: number; max: number; fit: number } {
  const fit = Math.min(
    maxViewW / Math.max(1, nCols * baseW),
    maxViewH / Math.max(1, nRows * baseH),
  );
  const floor = minCell / Math.min(baseW, baseH);
  const min = Math.min(1, Math.max(fit, floor));
  const max = Math.max(1, maxCell / Math.max(baseW, baseH));
  return { min, max, fit: clampZoom(Math.min(1, fit), min, max) };
}

/** Scroll offsets kept inside the content (0 when the content is smaller than the viewport). */
export function clampScroll(
  v: Viewport,
  scrollX: number,
  scrollY: number,
): { scrollX: number; scrollY: number } {
  const { w, h } = contentSize(v);
  return {
    scrollX: Math.max(0, Math.min(scrollX, w - v.viewW)),
    scrollY: Math.max(0, Math.min(scrollY, h - v.viewH)),
  };
}

/**
 * Scroll offsets after the cells change from (v.cellW, v.cellH) to (cellW, cellH) so that the
 * content point under viewport point (ax, ay) stays under it.
 */
export function scrollForZoom(
  v: Viewport,
  cellW: number,
  cellH: number,
  ax: number,
  ay: number,
): { scrollX: number; scrollY: number } {
  const fx = (ax + v.scrollX) / v.cellW;
  const fy = (ay + v.scrollY) / v.cellH;
  const next: Viewport = { ...v, cellW, cellH };
  return clampScroll(next, fx * cellW - ax, fy * cellH - ay);
}

/** Scroll offsets that bring display cell (row, col) fully into view, moving as little as possible. */
export function scrollToReveal(
  v: Viewport,
  row: number,
  col: number,
): { scrollX: number; scrollY: number } {
  let { scrollX, scrollY } = v;
  const x = col * v.cellW;
  const y = row * v.cellH;
  if (x < scrollX) scrollX = x;
  else if (x + v.cellW > scrollX + v.viewW) scrollX = x + v.cellW - v.viewW;
  if (y < scrollY) scrollY = y;
  else if (y + v.cellH > scrollY + v.viewH) scrollY = y + v.cellH - v.viewH;
  return clampScroll(v, scrollX, scrollY);
}

// Same shape as placeTooltip in tooltip.ts (clamping into a window), different quantities; kept apart.
/** Rows [first, last) of a virtualized list of `n` rows `rowHeight` high, plus `overscan` each side. */
export function listWindow(
  n: number,
  rowHeight: number,
  scrollTop: number,
  height: number,
  overscan = 4,
): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(n, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}
