// Colour scales: 256-entry lookup tables (palettes.ts), value → table index, and filling the
// 1-pixel-per-cell image that heatmap.ts scales up. NaN → the theme's "missing" colour.

import { PALETTE_HEX } from "./palettes";
import type { Palette, Scale } from "./types";

export type RGB = readonly [number, number, number];

const tables = new Map<string, Uint8Array>();

/** The 256 × RGB lookup table of a palette (cached). */
export function paletteTable(palette: Palette): Uint8Array {
  let table = tables.get(palette);
  if (table) return table;
  const hex = PALETTE_HEX[palette];
  if (!hex || hex.length !== 256 * 6) throw new Error(`unknown palette ${JSON.stringify(palette)}`);
  table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256 * 3; i++) table[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  tables.set(palette, table);
  return table;
}

/**
 * Position of `value` on the scale in [0, 1], or NaN for a missing value.
 *
 * Sequential: linear from domain[0] to domain[1], clamped. Diverging: `center` maps to 0.5,
 * domain[0] to 0 and domain[1] to 1 (each half linear), so the neutral colour marks the centre
 * even for a lopsided domain. `reverse` flips the result.
 */
export function scalePosition(scale: Scale, value: number): number {
  if (Number.isNaN(value)) return Number.NaN;
  const [lo, hi] = scale.domain;
  let t: number;
  if (scale.kind === "diverging") {
    const c = scale.center ?? (lo + hi) / 2;
    if (value === c) t = 0.5;
    else if (value < c) t = c > lo ? 0.5 - (0.5 * (c - value)) / (c - lo) : 0;
    else t = hi > c ? 0.5 + (0.5 * (value - c)) / (hi - c) : 1;
  } else {
    t = hi > lo ? (value - lo) / (hi - lo) : 0.5;
  }
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return scale.reverse ? 1 - t : t;
}

/** Table index 0..255 for `value`, or -1 for a missing (NaN) value. */
export function scaleIndex(scale: Scale, value: number): number {
  const t = scalePosition(scale, value);
  return Number.isNaN(t) ? -1 : Math.round(t * 255);
}

/** RGB colour of `value` on `scale`, or `missing` for NaN. */
export function colorOf(scale: Scale, value: number, missing: RGB): RGB {
  const i = scaleIndex(scale, value);
  if (i < 0) return missing;
  const table = paletteTable(scale.palette);
  return [table[i * 3], table[i * 3 + 1], table[i * 3 + 2]];
}

/** "#rrggbb" of an RGB triple. */
export function rgbHex(rgb: RGB): string {
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** Relative luminance (sRGB, 0..1): chooses dark or light text on a cell. */
export function luminance(rgb: RGB): number {
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/**
 * The palette as 257 RGBA pixels, each read as one Uint32 (so in the platform's byte order,
 * as a Uint32Array view of ImageData bytes holds them): entries 0..255, then `missing`.
 */
function packedTable(palette: Palette, missing: RGB): Uint32Array {
  const table = paletteTable(palette);
  const bytes = new Uint8Array(257 * 4);
  for (let i = 0; i < 256; i++) {
    bytes[i * 4] = table[i * 3];
    bytes[i * 4 + 1] = table[i * 3 + 1];
    bytes[i * 4 + 2] = table[i * 3 + 2];
    bytes[i * 4 + 3] = 255;
  }
  bytes.set([missing[0], missing[1], missing[2], 255], 256 * 4);
  return new Uint32Array(bytes.buffer);
}

/**
 * Fill an RGBA pixel buffer with one pixel per cell, for rows `rowOrder[r0..r1)` (data row
 * indices in display order) and all `nCols` columns.
 *
 * The same colours as `colorOf`, cell by cell, for a million cells during first paint: one
 * tight loop per kind of scale with `scalePosition` and `scaleIndex` written inline, the
 * scale's numbers read once, and one 32-bit store per pixel from the packed palette. Math.round
 * is a corrected truncation, exact on [0, 255] and several times faster in V8.
 */
export function fillCells(
  out: Uint8ClampedArray,
  values: Float32Array,
  nCols: number,
  rowOrder: Int32Array,
  r0: number,
  r1: number,
  scale: Scale,
  missing: RGB,
): void {
  const packed = packedTable(scale.palette, missing);
  const none = packed[256];
  const [lo, hi] = scale.domain;
  const reverse = scale.reverse;
  const n = (r1 - r0) * nCols;
  const aligned = out.byteOffset % 4 === 0;
  const px = aligned ? new Uint32Array(out.buffer, out.byteOffset, n) : new Uint32Array(n);
  let p = 0;
  if (scale.kind !== "diverging" && !(hi > lo)) {
    // an empty or inverted domain: every value sits in the middle (index 128, reversed or not)
    for (let r = r0; r < r1; r++) {
      const base = rowOrder[r] * nCols;
      for (let k = 0; k < nCols; k++) px[p++] = Number.isNaN(values[base + k]) ? none : packed[128];
    }
  } else if (scale.kind !== "diverging") {
    // One branch-free loop per scale kind on purpose (this one and the diverging one below):
    // the scale kind is decided once per draw, not once per cell.
    const span = hi - lo;
    for (let r = r0; r < r1; r++) {
      const base = rowOrder[r] * nCols;
      for (let k = 0; k < nCols; k++) {
        const v = values[base + k];
        // biome-ignore lint/suspicious/noSelfCompare: a NaN test that is no call before V8 optimizes
        if (v !== v) {
          px[p++] = none;
          continue;
        }
        let t = (v - lo) / span;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        if (reverse) t = 1 - t;
        const x = t * 255;
        let i = (x + 0.5) | 0; // Math.round(x): x + 0.5 may round up to the next integer
        if (i - 0.5 > x) i--;
        px[p++] = packed[i];
      }
    }
  } else {
    // The sequential loop above again on purpose: one branch-free loop per scale kind.
    // each half linear, the centre at 0.5
    const c = scale.center ?? (lo + hi) / 2;
    const below = c > lo;
    const above = hi > c;
    const cLo = c - lo;
    const hiC = hi - c;
    for (let r = r0; r < r1; r++) {
      const base = rowOrder[r] * nCols;
      for (let k = 0; k < nCols; k++) {
        const v = values[base + k];
        // biome-ignore lint/suspicious/noSelfCompare: a NaN test that is no call before V8 optimizes
        if (v !== v) {
          px[p++] = none;
          continue;
        }
        let t: number;
        if (v === c) t = 0.5;
        else if (v < c) t = below ? 0.5 - (0.5 * (c - v)) / cLo : 0;
        else t = above ? 0.5 + (0.5 * (v - c)) / hiC : 1;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        if (reverse) t = 1 - t;
        const x = t * 255;
        let i = (x + 0.5) | 0;
        if (i - 0.5 > x) i--;
        px[p++] = packed[i];
      }
    }
  }
  if (!aligned) out.set(new Uint8Array(px.buffer), 0);
}
