// Canvas drawing for one heatmap. The base canvas holds the cells (scaled 1-px image, hatching
// for missing cells, cell text); the overlay holds labels and axis titles (labels.ts), every
// outline (hover, selection, linked tokens and examples) and the scroll shadows, so hovering
// never repaints the cells. All text goes through fillText.

import { type CellImage, FADE } from "./cellImage";
import { colorOf, luminance } from "./colors";
import type { Frame, Marks } from "./frame";
import { drawLabels, fitText, type LabelsDrawn } from "./labels";
import { cellRect, visibleRange } from "./layout";
import { maskIndices } from "./link";
import { beyondScale, formatFixed, groupSpan } from "./reading";
import type { Matrix } from "./types";

/** Width of the row-group band right of the cells, height of the column-group band below. */
export const GROUP_BAND = 22;

/** Whether a matrix's cells print something: its cell text ("auto") or its values ("value"). */
export function cellsCarryText(m: Matrix): boolean {
  const mode = m.display.cellText;
  return mode === "value" || (mode === "auto" && m.cellText !== null);
}

/** What is marked, as plain lists (for tests and debugging; long lists are cut at 2,000). */
export function marksSummary(marks: Marks) {
  return {
    rows: marks.token ? maskIndices(marks.token.rows) : [],
    cols: marks.token ? maskIndices(marks.token.cols) : [],
    cells: marks.token ? Array.from(marks.token.cells.subarray(0, 2000)) : [],
    exampleRows: marks.example ? maskIndices(marks.example.rows) : [],
    exampleCols: marks.example ? maskIndices(marks.example.cols) : [],
  };
}

/** Draw the cells; returns how many cell texts were drawn. */
export function drawBase(ctx: CanvasRenderingContext2D, f: Frame, image: CellImage): number {
  const { v, ox, oy, m, theme } = f;
  image.draw(ctx, v, ox, oy);
  const range = visibleRange(v);
  ctx.save();
  ctx.beginPath();
  ctx.rect(ox, oy, v.viewW, v.viewH);
  ctx.clip();
  if (v.cellW >= 5 && v.cellH >= 5) {
    // Missing cells: two short strokes per cell that keep clear of its centre.
    ctx.beginPath();
    for (let r = range.r0; r < range.r1; r++) {
      const base = f.order[r] * m.nCols;
      for (let c = range.c0; c < range.c1; c++) {
        if (!Number.isNaN(m.values[base + c])) continue;
        const { x, y, w, h } = cellRect(v, r, c);
        const X = ox + x;
        const Y = oy + y;
        ctx.moveTo(X, Y + h / 2);
        ctx.lineTo(X + w / 2, Y);
        ctx.moveTo(X + w / 2, Y + h);
        ctx.lineTo(X + w, Y + h / 2);
      }
    }
    ctx.strokeStyle = theme.hatch;
    ctx.lineWidth = 1;
    ctx.stroke();
  }
  let texts = 0;
  if (showsCellText(v.cellW, v.cellH)) {
    if (m.display.cellText === "value") texts = drawValueText(ctx, f);
    else if (m.display.cellText === "auto" && m.cellText && f.cellShown)
      texts = drawCellText(ctx, f, m.cellText.codes, f.cellShown);
  }
  if (m.display.markOutliers && v.cellW >= 6 && v.cellH >= 6) drawOutliers(ctx, f);
  ctx.restore();
  return texts;
}

/** Text colour that reads on a cell of colour `rgb`. */
function inkOn(rgb: readonly number[]): string {
  return luminance(rgb as [number, number, number]) > 0.36
    ? "rgba(0,0,0,0.85)"
    : "rgba(255,255,255,0.95)";
}

/** Text colour for cell `i` of the frame: on the colour it is drawn with, faded or not. */
function inkAt(f: Frame, i: number): string {
  const rgb = colorOf(f.m.scale, f.m.values[i], f.theme.missing);
  if (!f.thin?.[i]) return inkOn(rgb);
  const veil = f.theme.backgroundRgb;
  return inkOn(rgb.map((c, k) => c + (veil[k] - c) * FADE));
}

/**
 * Each visible cell's value with `digits` after the point, in a size that fits the cell (down
 * to 8 px); a value that does not fit whole is left out rather than cut ("0.2…" would mislead).
 */
function drawValueText(ctx: CanvasRenderingContext2D, f: Frame): number {
  const { v, ox, oy, m, theme } = f;
  const range = visibleRange(v);
  const size = Math.min(theme.fontSize, Math.floor(v.cellH * 0.72));
  const maxW = v.cellW - 4;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  let drawn = 0;
  let font = "";
  for (let r = range.r0; r < range.r1; r++) {
    const row = f.order[r];
    for (let c = range.c0; c < range.c1; c++) {
      const value = m.values[row * m.nCols + c];
      const text = formatFixed(value, m.display.digits);
      if (text === "") continue;
      const wanted = `${size}px ${theme.mono}`;
      if (font !== wanted) ctx.font = font = wanted;
      let w = ctx.measureText(text).width;
      if (w > maxW) {
        const smaller = Math.floor((size * maxW) / w);
        if (smaller < 8) continue;
        ctx.font = font = `${smaller}px ${theme.mono}`;
        w = ctx.measureText(text).width;
        if (w > maxW) continue;
      }
      ctx.fillStyle = inkAt(f, row * m.nCols + c);
      const { x, y, w: cw, h } = cellRect(v, r, c);
      ctx.fillText(text, ox + x + cw / 2, oy + y + h / 2 + 0.5);
      drawn++;
    }
  }
  return drawn;
}

/** A small triangle in the corner of each visible cell whose value lies beyond the scale. */
function drawOutliers(ctx: CanvasRenderingContext2D, f: Frame): void {
  const { v, ox, oy, m, theme } = f;
  const range = visibleRange(v);
  const s = Math.max(4, Math.min(8, Math.floor(Math.min(v.cellW, v.cellH) * 0.4)));
  for (let r = range.r0; r < range.r1; r++) {
    const row = f.order[r];
    for (let c = range.c0; c < range.c1; c++) {
      const value = m.values[row * m.nCols + c];
      const side = beyondScale(m.scale, value);
      if (side === 0) continue;
      const { x, y, w, h } = cellRect(v, r, c);
      const X = ox + x + w;
      const Y = side > 0 ? oy + y : oy + y + h;
      ctx.fillStyle = inkOn(colorOf(m.scale, value, theme.missing));
      ctx.beginPath();
      ctx.moveTo(X, Y);
      ctx.lineTo(X - s, Y);
      ctx.lineTo(X, Y + (side > 0 ? s : -s));
      ctx.closePath();
      ctx.fill();
    }
  }
}

function strokeBox(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  lw: number,
): void {
  // Inside the box when there is room, around it when the cells are tiny.
  if (w >= 2 * lw + 2 && h >= 2 * lw + 2) ctx.strokeRect(x + lw / 2, y + lw / 2, w - lw, h - lw);
  else ctx.strokeRect(x - lw / 2, y - lw / 2, w + lw, h + lw);
}

/** Draw labels, titles and outlines; returns how many row and column labels were drawn. */
export function drawOverlay(ctx: CanvasRenderingContext2D, f: Frame, marks: Marks): LabelsDrawn {
  const { v, ox, oy, theme, m } = f;
  const range = visibleRange(v);
  const content = { w: v.nCols * v.cellW, h: v.nRows * v.cellH };
  const bandW = Math.min(v.viewW, content.w - v.scrollX);
  const bandH = Math.min(v.viewH, content.h - v.scrollY);
  const selRow = marks.row !== null ? f.inv[marks.row] : -1;
  const drawn = drawLabels(ctx, f, marks);

  // Outlines, clipped to the cells.
  ctx.save();
  ctx.beginPath();
  ctx.rect(ox, oy, v.viewW, v.viewH);
  ctx.clip();
  const bandRow = (r: number) =>
    strokeBox(ctx, ox, oy + r * v.cellH - v.scrollY, bandW, v.cellH, 2);
  const bandCol = (c: number) =>
    strokeBox(ctx, ox + c * v.cellW - v.scrollX, oy, v.cellW, bandH, 2);
  const box = (r: number, c: number, lw: number) => {
    const { x, y, w, h } = cellRect(v, r, c);
    strokeBox(ctx, ox + x, oy + y, w, h, lw);
  };
  if (marks.example) {
    ctx.strokeStyle = theme.example;
    ctx.lineWidth = 2;
    ctx.setLineDash([4, 3]);
    for (let r = range.r0; r < range.r1; r++) if (marks.example.rows[f.order[r]]) bandRow(r);
    for (let c = range.c0; c < range.c1; c++) if (marks.example.cols[c]) bandCol(c);
    ctx.setLineDash([]);
  }
  if (marks.token) {
    ctx.strokeStyle = theme.link;
    ctx.lineWidth = 2;
    for (let r = range.r0; r < range.r1; r++) if (marks.token.rows[f.order[r]]) bandRow(r);
    for (let c = range.c0; c < range.c1; c++) if (marks.token.cols[c]) bandCol(c);
    for (const i of marks.token.cells) {
      const r = f.inv[Math.floor(i / m.nCols)];
      const c = i % m.nCols;
      if (r >= range.r0 && r < range.r1 && c >= range.c0 && c < range.c1) box(r, c, 2);
    }
  }
  if (marks.hover) {
    ctx.strokeStyle = theme.foreground;
    ctx.lineWidth = 1;
    box(marks.hover.row, marks.hover.col, 1);
  }
  ctx.strokeStyle = theme.accent;
  ctx.lineWidth = 2;
  if (selRow >= 0 && marks.col !== null) {
    box(selRow, marks.col, 2);
    // A thin inner ring in the background colour keeps the mark visible on any cell colour.
    const { x, y, w, h } = cellRect(v, selRow, marks.col);
    if (w >= 8 && h >= 8) {
      ctx.strokeStyle = theme.background;
      ctx.lineWidth = 1;
      ctx.strokeRect(ox + x + 2.5, oy + y + 2.5, w - 5, h - 5);
    }
  } else if (selRow >= 0) {
    bandRow(selRow);
  } else if (marks.col !== null && marks.row === null) {
    bandCol(marks.col);
  }
  drawScrollShadows(ctx, f);
  drawGroupLines(ctx, f);
  ctx.restore();
  drawGroupBands(ctx, f);
  return drawn;
}

/** Display spans of the groups along each axis that are shown in one piece. */
export function visibleGroups(f: Frame) {
  const { m } = f;
  const identity = new Int32Array(m.nCols).map((_, i) => i);
  const rows = m.display.rowGroups
    .map((g) => ({ g, span: groupSpan(g, f.inv) }))
    .filter((x) => x.span !== null);
  const cols = m.display.colGroups
    .map((g) => ({ g, span: groupSpan(g, identity) }))
    .filter((x) => x.span !== null);
  return { rows, cols } as {
    rows: { g: { label: string }; span: { first: number; last: number } }[];
    cols: { g: { label: string }; span: { first: number; last: number } }[];
  };
}

/** Separator lines across the cells where a group begins and ends. */
function drawGroupLines(ctx: CanvasRenderingContext2D, f: Frame): void {
  const { v, ox, oy, theme } = f;
  const { rows, cols } = visibleGroups(f);
  if (!rows.length && !cols.length) return;
  const content = { w: v.nCols * v.cellW, h: v.nRows * v.cellH };
  ctx.strokeStyle = theme.foreground;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (const { span } of cols) {
    for (const c of [span.first, span.last + 1]) {
      if (c <= 0 || c >= v.nCols) continue;
      const x = ox + c * v.cellW - v.scrollX;
      ctx.moveTo(x, oy);
      ctx.lineTo(x, oy + Math.min(v.viewH, content.h - v.scrollY));
    }
  }
  for (const { span } of rows) {
    for (const r of [span.first, span.last + 1]) {
      if (r <= 0 || r >= v.nRows) continue;
      const y = oy + r * v.cellH - v.scrollY;
      ctx.moveTo(ox, y);
      ctx.lineTo(ox + Math.min(v.viewW, content.w - v.scrollX), y);
    }
  }
  ctx.stroke();
}

/** A bracket and the group's name beside each group: right of the rows, below the columns. */
function drawGroupBands(ctx: CanvasRenderingContext2D, f: Frame): void {
  const { v, ox, oy, theme } = f;
  const { rows, cols } = visibleGroups(f);
  if (!rows.length && !cols.length) return;
  ctx.save();
  ctx.strokeStyle = theme.foreground;
  ctx.fillStyle = theme.foreground;
  ctx.lineWidth = 1.5;
  ctx.font = `600 ${Math.max(9, theme.fontSize - 1)}px ${theme.font}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (const { g, span } of cols) {
    const [x0, x1] = onScreen(span, ox, v.cellW, v.scrollX, v.viewW);
    if (x1 <= x0) continue;
    const y = f.bandY + 2;
    bracket(ctx, x0, x1, y, false);
    // Centred under the bracket; a name wider than it may use the plot's width.
    const text = fitText(ctx, g.label, Math.max(x1 - x0, f.width - ox - 4));
    const half = ctx.measureText(text).width / 2;
    const cx = Math.max(ox + half, Math.min(f.width - 2 - half, (x0 + x1) / 2));
    ctx.fillText(text, cx, y + 12);
  }
  for (const { g, span } of rows) {
    const [y0, y1] = onScreen(span, oy, v.cellH, v.scrollY, v.viewH);
    if (y1 <= y0) continue;
    const x = f.bandX + 2;
    bracket(ctx, y0, y1, x, true);
    const text = fitText(ctx, g.label, Math.max(y1 - y0, 60));
    ctx.save();
    ctx.translate(x + 13, (y0 + y1) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(text, 0, 0);
    ctx.restore();
  }
  ctx.restore();
}

/** A span of cells along one axis on screen: 1 px inside its edges, clipped to the view. */
function onScreen(
  span: { first: number; last: number },
  origin: number,
  cell: number,
  scroll: number,
  view: number,
): [number, number] {
  return [
    Math.max(origin, origin + span.first * cell - scroll + 1),
    Math.min(origin + view, origin + (span.last + 1) * cell - scroll - 1),
  ];
}

/**
 * A group's bracket: ticks at `a0` and `a1` along the axis, from `b` 4 px across, joined at the
 * far end (columns: a = x, b = y; rows, `across` true: a = y, b = x).
 */
function bracket(
  ctx: CanvasRenderingContext2D,
  a0: number,
  a1: number,
  b: number,
  across: boolean,
) {
  const at = (a: number, d: number): [number, number] => (across ? [b + d, a] : [a, b + d]);
  ctx.beginPath();
  ctx.moveTo(...at(a0, 0));
  ctx.lineTo(...at(a0, 4));
  ctx.lineTo(...at(a1, 4));
  ctx.lineTo(...at(a1, 0));
  ctx.stroke();
}

/** Whether cells this large get their text: room for a few characters at a readable size. */
export function showsCellText(cellW: number, cellH: number): boolean {
  return cellW >= 18 && cellH >= 11;
}

/** Cell text of the visible cells, cut to the cell width, dark or light by the cell's colour. */
function drawCellText(
  ctx: CanvasRenderingContext2D,
  f: Frame,
  codes: Int32Array,
  shown: readonly string[],
): number {
  const { v, ox, oy, m, theme } = f;
  let drawn = 0;
  const range = visibleRange(v);
  const size = Math.min(theme.fontSize, Math.floor(v.cellH * 0.72)); // clear of 2-px outlines
  ctx.font = `${size}px ${theme.mono}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  // Every cell is as wide as the others, so a token is cut the same way everywhere.
  const fitted = new Map<number, string>();
  const maxW = v.cellW - 4;
  for (let r = range.r0; r < range.r1; r++) {
    const row = f.order[r];
    for (let c = range.c0; c < range.c1; c++) {
      const code = codes[row * m.nCols + c];
      if (code < 0) continue;
      let text = fitted.get(code);
      if (text === undefined) {
        text = cellLabel(ctx, shown[code] ?? "", maxW);
        fitted.set(code, text);
      }
      if (text === "") continue;
      ctx.fillStyle = inkAt(f, row * m.nCols + c);
      const { x, y, w, h } = cellRect(v, r, c);
      ctx.fillText(text, ox + x + w / 2, oy + y + h / 2 + 0.5);
      drawn++;
    }
  }
  return drawn;
}

/**
 * Text for a cell `maxW` px wide: the whole token, or at least three of its characters and "…";
 * "" when neither fits (a cell with a stub like "t…" reads worse than an empty one).
 */
export function cellLabel(ctx: CanvasRenderingContext2D, text: string, maxW: number): string {
  const fitted = fitText(ctx, text, maxW);
  if (fitted === text) return text;
  return Array.from(fitted).length >= 4 ? fitted : "";
}

/** Soft shadows on the viewport edges that have more cells beyond them. */
function drawScrollShadows(ctx: CanvasRenderingContext2D, f: Frame): void {
  const { v, ox, oy } = f;
  const size = Math.min(10, v.viewW / 4, v.viewH / 4);
  const shade = `rgba(0,0,0,${f.theme.dark ? 0.55 : 0.2})`;
  const band = (x: number, y: number, w: number, h: number, gx: number, gy: number) => {
    // (gx, gy): the gradient's direction, from the edge into the viewport.
    const x0 = gx < 0 ? x + w : x;
    const y0 = gy < 0 ? y + h : y;
    const g = ctx.createLinearGradient(x0, y0, x0 + gx * size, y0 + gy * size);
    g.addColorStop(0, shade);
    g.addColorStop(1, "rgba(0,0,0,0)");
    ctx.fillStyle = g;
    ctx.fillRect(x, y, w, h);
  };
  if (v.scrollX > 0.5) band(ox, oy, size, v.viewH, 1, 0);
  if (v.scrollX + v.viewW < v.nCols * v.cellW - 0.5)
    band(ox + v.viewW - size, oy, size, v.viewH, -1, 0);
  if (v.scrollY > 0.5) band(ox, oy, v.viewW, size, 0, 1);
  if (v.scrollY + v.viewH < v.nRows * v.cellH - 0.5)
    band(ox, oy + v.viewH - size, v.viewW, size, 0, -1);
}
