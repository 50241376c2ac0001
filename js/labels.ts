// The label gutters of one heatmap, drawn on the overlay canvas: row labels, column labels
// (across the cells or rotated), the axis titles, and the hovered / selected labels shown in
// full on a highlighted header. All text goes through fillText.

import type { Frame, Marks } from "./frame";
import { labelStep, visibleLabels, visibleRange } from "./layout";
import { AXIS_TITLE, titleSpan } from "./plot";
import type { Theme } from "./theme";

/** Font of the axis titles. */
export function titleFont(theme: Theme): string {
  return `600 ${Math.max(9, theme.fontSize - 1)}px ${theme.font}`;
}

/** Font of a label; hovered, selected and linked labels are bold. */
export function labelFont(size: number, family: string, bold: boolean): string {
  return `${bold ? "600 " : ""}${size}px ${family}`;
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

function roundRect(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
): void {
  ctx.beginPath();
  if (typeof ctx.roundRect === "function") ctx.roundRect(x, y, w, h, Math.min(r, w / 2, h / 2));
  else ctx.rect(x, y, w, h);
  ctx.fill();
}

type LabelState = "selected" | "hover" | "linked" | "example" | "plain";

function labelColor(theme: Theme, state: LabelState): string {
  if (state === "selected") return theme.accent;
  if (state === "linked") return theme.link;
  if (state === "example") return theme.example;
  return theme.foreground;
}

/** What the label gutters show (for tests and debugging). */
export interface LabelsDrawn {
  /** How many row and column labels were drawn in the regular pass. */
  rowLabels: number;
  colLabels: number;
  /** Text of the hovered / selected labels drawn on a highlight, rows then columns. */
  featured: string[];
  /** The axis titles as drawn (cut with "…" when the plot has too little room). */
  rowTitle: string;
  colTitle: string;
}

/** Draw both label gutters and the axis titles. */
export function drawLabels(ctx: CanvasRenderingContext2D, f: Frame, marks: Marks): LabelsDrawn {
  const { v, ox, oy, theme } = f;
  const range = visibleRange(v);
  const selRow = marks.row !== null ? (f.inv[marks.row] ?? -1) : -1;
  const hoverRow = marks.hover?.row ?? -1;
  const hoverCol = marks.hover?.col ?? -1;

  // Row labels, every rowStep-th one; the hovered and selected ones always, in full size.
  // Same order of states as colState below; a row looks its marks up through f.order.
  const rowState = (r: number): LabelState => {
    const data = f.order[r];
    if (r === selRow) return "selected";
    if (marks.token?.rows[data] === 1) return "linked";
    if (r === hoverRow) return "hover";
    if (marks.example?.rows[data] === 1) return "example";
    return "plain";
  };
  ctx.save();
  ctx.beginPath();
  ctx.rect(AXIS_TITLE, oy, ox - AXIS_TITLE, v.viewH);
  ctx.clip();
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const rowStep = labelStep(v.cellH, theme.fontSize + 1);
  const rowSize = Math.min(theme.fontSize, Math.max(8, v.cellH - 2));
  const rowLabels = visibleLabels(range.r0, range.r1, rowStep);
  const rowMaxW = ox - AXIS_TITLE - 8;
  const featured: string[] = [];
  const rowText = (r: number, size: number, state: LabelState) => {
    ctx.font = labelFont(size, f.rowFont, state !== "plain" && state !== "example");
    ctx.fillStyle = labelColor(theme, state);
    const y = oy + r * v.cellH - v.scrollY + v.cellH / 2;
    const text = fitText(ctx, f.rowShown[f.order[r]], rowMaxW);
    ctx.fillText(text, ox - 6, y);
    return text;
  };
  for (const r of rowLabels) {
    const state = rowState(r);
    if (r !== selRow && r !== hoverRow) rowText(r, rowSize, state);
  }
  for (const r of new Set([hoverRow, selRow])) {
    if (r < range.r0 || r >= range.r1) continue;
    const size = v.cellH < theme.fontSize + 2 ? theme.fontSize : rowSize;
    const h = Math.max(v.cellH, size + 4);
    const y = oy + r * v.cellH - v.scrollY + v.cellH / 2 - h / 2;
    ctx.font = labelFont(size, f.rowFont, true);
    const textW = ctx.measureText(fitText(ctx, f.rowShown[f.order[r]], rowMaxW)).width;
    const w = Math.min(ox - AXIS_TITLE - 2, textW + 10);
    if (h > v.cellH) {
      ctx.fillStyle = theme.background;
      ctx.fillRect(AXIS_TITLE, y, ox - AXIS_TITLE, h);
    }
    ctx.fillStyle = theme.highlight;
    roundRect(ctx, ox - 1 - w, y, w, h, 3);
    featured.push(rowText(r, size, rowState(r)));
  }
  ctx.restore();

  // Column labels: across the cells when they fit, else rotated to read upwards.
  // Same order of states as rowState above; a column looks its marks up by its drawn index.
  const colState = (c: number): LabelState => {
    if (c === marks.col) return "selected";
    if (marks.token?.cols[c] === 1) return "linked";
    if (c === hoverCol) return "hover";
    if (marks.example?.cols[c] === 1) return "example";
    return "plain";
  };
  ctx.save();
  ctx.beginPath();
  ctx.rect(ox, AXIS_TITLE, v.viewW, oy - AXIS_TITLE);
  ctx.clip();
  const colSpace = oy - AXIS_TITLE - 6;
  const colStep = f.colRotated ? labelStep(v.cellW, theme.fontSize + 1) : 1;
  const colSize = f.colRotated
    ? Math.min(theme.fontSize, Math.max(8, v.cellW - 2))
    : theme.fontSize;
  const colLabels = visibleLabels(range.c0, range.c1, colStep);
  const colText = (c: number, size: number, state: LabelState, maxW: number) => {
    ctx.font = labelFont(size, f.colFont, state !== "plain" && state !== "example");
    ctx.fillStyle = labelColor(theme, state);
    const x = ox + c * v.cellW - v.scrollX + v.cellW / 2;
    const text = fitText(ctx, f.colShown[c], f.colRotated ? colSpace : maxW);
    if (f.colRotated) {
      ctx.save();
      ctx.translate(x, oy - 5);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(text, 0, 0);
      ctx.restore();
    } else {
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(text, x, oy - 4);
    }
    return text;
  };
  for (const c of colLabels) {
    if (c !== marks.col && c !== hoverCol) colText(c, colSize, colState(c), v.cellW - 2);
  }
  for (const c of new Set([hoverCol, marks.col ?? -1])) {
    if (c < range.c0 || c >= range.c1) continue;
    const x = ox + c * v.cellW - v.scrollX;
    const size = f.colRotated ? theme.fontSize : colSize;
    ctx.font = labelFont(size, f.colFont, true);
    const textW = ctx.measureText(f.colShown[c]).width;
    // Rotated: a band up from the cells as long as the text. Across the cells: as wide as the
    // text, which may spill over its neighbours to show in full.
    const w = f.colRotated
      ? Math.max(v.cellW, size + 4)
      : Math.min(v.viewW, Math.max(v.cellW, textW + 8));
    const h = f.colRotated ? Math.min(oy - AXIS_TITLE - 2, textW + 10) : size + 6;
    const left = Math.max(ox, Math.min(ox + v.viewW - w, x + v.cellW / 2 - w / 2));
    if (w > v.cellW || f.colRotated) {
      ctx.fillStyle = theme.background;
      ctx.fillRect(left, oy - h - 1, w, h);
    }
    ctx.fillStyle = theme.highlight;
    roundRect(ctx, left, oy - 1 - h, w, h, 3);
    featured.push(colText(c, size, colState(c), w - 4));
  }
  ctx.restore();

  return {
    rowLabels: rowLabels.length,
    colLabels: colLabels.length,
    featured,
    ...drawTitles(ctx, f),
  };
}

/** The axis titles: along the cells when they fit there, else along the whole edge. */
function drawTitles(
  ctx: CanvasRenderingContext2D,
  f: Frame,
): { rowTitle: string; colTitle: string } {
  const { v, ox, oy, theme, m } = f;
  const bandW = Math.max(0, Math.min(v.viewW, v.nCols * v.cellW - v.scrollX));
  const bandH = Math.max(0, Math.min(v.viewH, v.nRows * v.cellH - v.scrollY));
  ctx.save();
  ctx.fillStyle = theme.muted;
  ctx.font = titleFont(theme);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  let colTitle = "";
  let rowTitle = "";
  if (m.cols.title) {
    const span = titleSpan(ctx.measureText(m.cols.title).width, ox, bandW, AXIS_TITLE, f.width);
    colTitle = fitText(ctx, m.cols.title, span.room);
    ctx.fillText(colTitle, span.center, AXIS_TITLE / 2 + 1);
  }
  if (m.rows.title) {
    const span = titleSpan(ctx.measureText(m.rows.title).width, oy, bandH, AXIS_TITLE, f.height);
    rowTitle = fitText(ctx, m.rows.title, span.room);
    ctx.translate(AXIS_TITLE / 2, span.center);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(rowTitle, 0, 0);
  }
  ctx.restore();
  return { rowTitle, colTitle };
}
