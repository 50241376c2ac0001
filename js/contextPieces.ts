// What one row of the contexts panel shows, as pure functions: the token windows around the
// highlight, the colour of a scored token, and the geometry of the panel's scroll spacer.

import { colorOf, luminance, scalePosition } from "./colors";
import type { Scale } from "./types";

/** Tokens shown each side of the highlight; a scored context (attribution) shows more. */
export const WINDOW = 14;
export const SCORED_WINDOW = 256;
// Like plot.ts's cell-size constants in shape only: constants, then the function using them.
/**
 * The tallest spacer the list builds, in px: below every browser's maximum element height
 * (Chromium about 33.5 million, Firefox about 17.9 million). A longer list scrolls through a
 * spacer of this height, each pixel of scroll standing for `ratio` pixels of list, so every
 * context stays reachable (1.5 million contexts are 42 million px of rows).
 */
export const MAX_SPACER_PX = 10_000_000;

/** Spacer height and scroll ratio for `n` rows of `rowHeight` in a view `view` px tall. */
export function spacerGeometry(
  n: number,
  rowHeight: number,
  view: number,
  max = MAX_SPACER_PX,
): { height: number; ratio: number } {
  const total = n * rowHeight;
  if (total <= max) return { height: total, ratio: 1 };
  return { height: max, ratio: (total - view) / Math.max(1, max - view) };
}

/** Token ranges [from, to) left and right of the highlight; a far second mark gets its own piece. */
export interface Pieces {
  left: [number, number][];
  right: [number, number][];
}

/** Which tokens to show around [start, end) in an example of `n` tokens, `window` each side. */
export function contextPieces(
  n: number,
  start: number,
  end: number,
  start2: number,
  end2: number,
  window = WINDOW,
): Pieces {
  const s = Math.max(0, Math.min(start, n));
  const e = Math.max(s, Math.min(end, n));
  const left: [number, number][] = [[Math.max(0, s - window), s]];
  const right: [number, number][] = [[e, Math.min(n, e + window)]];
  if (start2 >= 0 && end2 > start2) {
    if (end2 <= left[0][0]) left.unshift([Math.max(0, start2 - 2), Math.min(end2 + 2, left[0][0])]);
    else if (start2 >= right[0][1])
      right.push([Math.max(right[0][1], start2 - 2), Math.min(n, end2 + 2)]);
  }
  return {
    left: left.filter(([a, b]) => b > a || a === 0),
    right: right.filter(([a, b]) => b > a),
  };
}

export function scoreScale(scale: Scale, scores: Float32Array): Scale {
  if (scale.kind === "diverging") return scale;
  let m = 0;
  for (const v of scores) if (Math.abs(v) > m) m = Math.abs(v);
  return {
    palette: "RdBu",
    kind: "diverging",
    domain: [-(m || 1), m || 1],
    center: 0,
    reverse: true,
  };
}

/**
 * How a token with attribution `score` is coloured: the scale's colour, more opaque the further
 * the score is from the centre, so near-zero tokens read as plain text on a light or dark page;
 * a text colour only where the background is strong enough to need one (else null: inherit).
 */
export function scoreStyle(
  scale: Scale,
  score: number,
): { background: string; color: string | null } {
  if (Number.isNaN(score)) return { background: "", color: null };
  const t = scalePosition(scale, score);
  const strength = scale.kind === "diverging" ? Math.min(1, Math.abs(t - 0.5) * 2) : t;
  const rgb = colorOf(scale, score, [128, 128, 128]);
  const alpha = Math.round(strength * 100) / 100;
  const color = alpha >= 0.55 ? (luminance(rgb) > 0.36 ? "#111" : "#fff") : null;
  return { background: `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`, color };
}
