// The cells of a heatmap as images with one pixel per cell (tiled, since canvases have size
// limits), built once per order / scale / theme and scaled onto the screen with drawImage.
// A 1000 × 1000 matrix is one 1000 × 1000 image, not a million fillRect calls.

import { fillCells, type RGB } from "./colors";
import type { Viewport } from "./layout";
import { visibleRange } from "./layout";
import type { Scale } from "./types";

export const TILE = 2048;

interface Tile {
  r0: number;
  c0: number;
  rows: number;
  cols: number;
  canvas: HTMLCanvasElement | OffscreenCanvas;
}

function makeCanvas(w: number, h: number): HTMLCanvasElement | OffscreenCanvas {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(w, h);
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

/** Cells drawn faded: a 0/1 mask by cell index, blended this far towards `veil`. */
export interface Fade {
  thin: Uint8Array | null;
  veil: RGB;
}

/** How far a faded cell moves towards the background: its colour still reads, but weaker. */
export const FADE = 0.6;

/** Blend the pixels of masked cells (rows `order[r0..r1)`) towards `veil`, in place. */
export function fadePixels(
  px: Uint8ClampedArray,
  nCols: number,
  order: Int32Array,
  r0: number,
  r1: number,
  fade: Fade,
): void {
  const { thin, veil } = fade;
  if (!thin) return;
  for (let r = r0; r < r1; r++) {
    const base = order[r] * nCols;
    for (let c = 0; c < nCols; c++) {
      if (!thin[base + c]) continue;
      const p = ((r - r0) * nCols + c) * 4;
      for (let k = 0; k < 3; k++) px[p + k] = px[p + k] + (veil[k] - px[p + k]) * FADE;
    }
  }
}

export class CellImage {
  private tiles: Tile[] = [];
  /** Milliseconds the last build took. */
  buildMs = 0;

  /**
   * Rebuild from `values` for display rows `order` (data row per display row); cells in
   * `fade.thin` are blended towards `fade.veil`.
   */
  build(
    values: Float32Array,
    nCols: number,
    order: Int32Array,
    scale: Scale,
    missing: RGB,
    fade: Fade | null = null,
  ): void {
    const t0 = performance.now();
    this.tiles = [];
    const nRows = order.length;
    for (let r0 = 0; r0 < nRows; r0 += TILE) {
      const rows = Math.min(TILE, nRows - r0);
      const full: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(rows * nCols * 4);
      fillCells(full, values, nCols, order, r0, r0 + rows, scale, missing);
      if (fade) fadePixels(full, nCols, order, r0, r0 + rows, fade);
      for (let c0 = 0; c0 < nCols; c0 += TILE) {
        const cols = Math.min(TILE, nCols - c0);
        const pixels = cols === nCols ? full : sliceColumns(full, rows, nCols, c0, cols);
        const canvas = makeCanvas(cols, rows);
        const ctx = canvas.getContext("2d") as
          | CanvasRenderingContext2D
          | OffscreenCanvasRenderingContext2D
          | null;
        if (!ctx) throw new Error("tokenheat: a 2D canvas context is not available");
        ctx.putImageData(new ImageData(pixels as Uint8ClampedArray<ArrayBuffer>, cols, rows), 0, 0);
        this.tiles.push({ r0, c0, rows, cols, canvas });
      }
    }
    this.buildMs = performance.now() - t0;
  }

  /** Draw the visible cells; (ox, oy) is where the viewport's top-left corner is on `ctx`. */
  draw(ctx: CanvasRenderingContext2D, v: Viewport, ox: number, oy: number): void {
    const range = visibleRange(v);
    if (range.r1 <= range.r0 || range.c1 <= range.c0) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(ox, oy, v.viewW, v.viewH);
    ctx.clip();
    // Below one pixel per cell let the browser average; above it keep hard cell edges.
    ctx.imageSmoothingEnabled = v.cellW < 1 || v.cellH < 1;
    for (const t of this.tiles) {
      const r0 = Math.max(range.r0, t.r0);
      const r1 = Math.min(range.r1, t.r0 + t.rows);
      const c0 = Math.max(range.c0, t.c0);
      const c1 = Math.min(range.c1, t.c0 + t.cols);
      if (r1 <= r0 || c1 <= c0) continue;
      ctx.drawImage(
        t.canvas,
        c0 - t.c0,
        r0 - t.r0,
        c1 - c0,
        r1 - r0,
        ox + c0 * v.cellW - v.scrollX,
        oy + r0 * v.cellH - v.scrollY,
        (c1 - c0) * v.cellW,
        (r1 - r0) * v.cellH,
      );
    }
    ctx.restore();
  }
}

function sliceColumns(
  full: Uint8ClampedArray,
  rows: number,
  nCols: number,
  c0: number,
  cols: number,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(rows * cols * 4);
  for (let r = 0; r < rows; r++) {
    out.set(full.subarray((r * nCols + c0) * 4, (r * nCols + c0 + cols) * 4), r * cols * 4);
  }
  return out;
}
