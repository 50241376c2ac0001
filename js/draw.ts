// Canvas drawing for one heatmap. The base canvas holds the cells (scaled 1-px image, hatching
// for missing cells, cell text); the overlay holds labels, axis titles and every outline
// (hover, selection, linked tokens and examples), so hovering never repaints the cells.
// All text goes through fillText.

import type { CellImage } from "./cellImage";
import { colorOf, luminance } from "./colors";
import { cellRect, labelStep, type Viewport, visibleLabels, visibleRange } from "./layout";
import { maskIndices, type TokenMarks } from "./link";
import { AXIS_TITLE } from "./plot";
import type { Theme } from "./theme";
import type { Matrix } from "./types";

export interface Frame {
  m: Matrix;
  theme: Theme;
  v: Viewport;
  /** Canvas position (CSS px) of the viewport's top-left corner. */
  ox: number;
  oy: number;
  order: Int32Array;
  inv: Int32Array;
  rowShown: readonly string[];
  colShown: readonly string[];
  cellShown: readonly string[] | null;
  rowFont: string;
  colFont: string;
  colRotated: boolean;
}

export interface Marks {
  token: TokenMarks | null;
  example: { rows: Uint8Array; cols: Uint8Array } | null;
  /** Selected data row / col of this matrix (either may be null). */
  row: number | null;
  col: number | null;
  /** Hovered display cell. */
  hover: { row: number; col: number } | null;
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

/** `text` cut with "…" to fit `maxW` pixels in the context's current font. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxW: number): string {
  if (ctx.measureText(text).width <= maxW) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${chars.slice(0, mid).join("")}…`).width <= maxW) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? "" : `${chars.slice(0, lo).join("")}…`;
}

export function drawBase(ctx: CanvasRenderingContext2D, f: Frame, image: CellImage): void {
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
  if (m.cellText && f.cellShown && v.cellH >= 10 && v.cellW >= 16) {
    const size = Math.min(theme.fontSize, Math.floor(v.cellH * 0.72)); // clear of 2-px outlines
    ctx.font = `${size}px ${theme.mono}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const charW = ctx.measureText("M").width || size * 0.6;
    const maxChars = Math.floor((v.cellW - 4) / charW);
    for (let r = range.r0; r < range.r1; r++) {
      const row = f.order[r];
      for (let c = range.c0; c < range.c1; c++) {
        const code = m.cellText.codes[row * m.nCols + c];
        if (code < 0 || maxChars < 1) continue;
        const chars = Array.from(f.cellShown[code] ?? "");
        const text =
          chars.length <= maxChars
            ? chars.join("")
            : `${chars.slice(0, Math.max(1, maxChars - 1)).join("")}…`;
        const rgb = colorOf(m.scale, m.values[row * m.nCols + c], theme.missing);
        ctx.fillStyle = luminance(rgb) > 0.36 ? "rgba(0,0,0,0.85)" : "rgba(255,255,255,0.92)";
        const { x, y, w, h } = cellRect(v, r, c);
        ctx.fillText(text, ox + x + w / 2, oy + y + h / 2 + 0.5);
      }
    }
  }
  ctx.restore();
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
export function drawOverlay(
  ctx: CanvasRenderingContext2D,
  f: Frame,
  marks: Marks,
): { rowLabels: number; colLabels: number } {
  const { v, ox, oy, theme, m } = f;
  const range = visibleRange(v);
  const content = { w: v.nCols * v.cellW, h: v.nRows * v.cellH };
  const bandW = Math.min(v.viewW, content.w - v.scrollX);
  const bandH = Math.min(v.viewH, content.h - v.scrollY);
  const selRow = marks.row !== null ? f.inv[marks.row] : -1;

  // Row labels.
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, oy, ox, v.viewH);
  ctx.clip();
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const rowStep = labelStep(v.cellH, theme.fontSize + 1);
  const rowSize = Math.min(theme.fontSize, Math.max(8, v.cellH - 2));
  const rowLabels = visibleLabels(range.r0, range.r1, rowStep);
  for (const r of rowLabels) {
    const data = f.order[r];
    const marked = marks.token?.rows[data] === 1;
    const example = marks.example?.rows[data] === 1;
    const selected = r === selRow;
    ctx.font = `${selected || marked ? "600 " : ""}${rowSize}px ${f.rowFont}`;
    ctx.fillStyle = selected
      ? theme.accent
      : marked
        ? theme.link
        : example
          ? theme.example
          : theme.foreground;
    const y = oy + r * v.cellH - v.scrollY + v.cellH / 2;
    ctx.fillText(fitText(ctx, f.rowShown[data], ox - AXIS_TITLE - 8), ox - 6, y);
  }
  ctx.restore();

  // Column labels: horizontal when they fit the cells, else rotated to read upwards.
  ctx.save();
  ctx.beginPath();
  ctx.rect(ox, 0, v.viewW, oy);
  ctx.clip();
  const colSpace = oy - AXIS_TITLE - 6;
  const colStep = f.colRotated ? labelStep(v.cellW, theme.fontSize + 1) : 1;
  const colSize = f.colRotated
    ? Math.min(theme.fontSize, Math.max(8, v.cellW - 2))
    : theme.fontSize;
  const colLabels = visibleLabels(range.c0, range.c1, colStep);
  for (const c of colLabels) {
    const marked = marks.token?.cols[c] === 1;
    const example = marks.example?.cols[c] === 1;
    const selected = c === marks.col;
    ctx.font = `${selected || marked ? "600 " : ""}${colSize}px ${f.colFont}`;
    ctx.fillStyle = selected
      ? theme.accent
      : marked
        ? theme.link
        : example
          ? theme.example
          : theme.foreground;
    const x = ox + c * v.cellW - v.scrollX + v.cellW / 2;
    if (f.colRotated) {
      ctx.save();
      ctx.translate(x, oy - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(fitText(ctx, f.colShown[c], colSpace), 0, 0);
      ctx.restore();
    } else {
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(fitText(ctx, f.colShown[c], v.cellW - 2), x, oy - 4);
    }
  }
  ctx.restore();

  // Axis titles.
  ctx.save();
  ctx.fillStyle = theme.muted;
  ctx.font = `600 ${Math.max(9, theme.fontSize - 1)}px ${theme.font}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(
    fitText(ctx, m.cols.title, Math.max(40, v.viewW)),
    ox + Math.max(bandW, 40) / 2,
    AXIS_TITLE / 2 + 1,
  );
  ctx.translate(AXIS_TITLE / 2, oy + Math.max(bandH, 40) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(fitText(ctx, m.rows.title, Math.max(40, v.viewH)), 0, 0);
  ctx.restore();

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
  ctx.restore();
  return { rowLabels: rowLabels.length, colLabels: colLabels.length };
}
