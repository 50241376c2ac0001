// Where things go in one heatmap's plot: the label gutters, the cell viewport, scrollbars, and
// which region a point falls in. Pure functions of sizes, so they are unit tested.

import type { Rect, Viewport } from "./layout";
import { cellAt } from "./layout";

/** Height of the column axis title band and width of the row axis title band. */
export const AXIS_TITLE = 16;
const MAX_ROW_LABEL = 180;
const MAX_COL_LABEL = 110;

/** Width of the row-label gutter (axis title + labels + padding) for labels `labelW` wide. */
export function rowGutter(labelW: number): number {
  // 8% slack: a selected label is drawn bold, which is wider than the measured regular weight.
  return AXIS_TITLE + Math.max(24, Math.min(MAX_ROW_LABEL, Math.ceil(labelW * 1.08))) + 10;
}

// Like contextPieces.ts's spacer constants in shape only: constants, then the function using them.
/** Smallest starting width and height of cells that carry text (cell text or printed values). */
export const TEXT_CELL_W = 34;
export const TEXT_CELL_H = 18;

/**
 * Starting cell width: fill the width available, between `cellSize` and 48 px (64 with cell
 * text), and wide enough for column labels `colLabelW` wide to read across the cells when the
 * panel has room for that (up to 120 px), rather than rotated.
 */
export function baseCellWidth(
  availW: number,
  gutter: number,
  nCols: number,
  cellSize: number,
  cellText: boolean,
  colLabelW = 0,
): number {
  const fill = Math.floor((availW - gutter - 16) / Math.max(1, nCols));
  // Cells that carry text start wide enough for a few characters (the panel scrolls, and "fit"
  // shows the whole matrix), so the text a figure is about is there at the default zoom.
  const base = Math.max(cellText ? TEXT_CELL_W : cellSize, Math.min(fill, cellText ? 64 : 48));
  const across = Math.ceil(colLabelW) + 8;
  return across > base && across <= Math.min(fill, 120) ? across : base;
}

export interface PlotInput {
  availW: number;
  maxViewH: number;
  cellW: number;
  cellH: number;
  nRows: number;
  nCols: number;
  rowLabelW: number;
  colLabelW: number;
  fontSize: number;
  scrollbar: number;
  /** Widths of the row and column axis titles (0 when there is none). */
  rowTitleW?: number;
  colTitleW?: number;
  /** Width of the band right of the cells for row groups, height of the one below for column groups. */
  groupRight?: number;
  groupBottom?: number;
}

export interface PlotBox {
  /** Top-left corner of the cell viewport. */
  ox: number;
  oy: number;
  viewW: number;
  viewH: number;
  /** Whether a horizontal / vertical scrollbar is needed. */
  needX: boolean;
  needY: boolean;
  /** Column labels drawn rotated (they do not fit across a cell). */
  colRotated: boolean;
  contentW: number;
  contentH: number;
  /** The scroller over the cells: the viewport plus its scrollbars. */
  scrollW: number;
  scrollH: number;
  /**
   * Whole plot, scrollbars included; at least as wide and tall as the axis titles need (the
   * row title runs along the whole left edge, the column title along the top).
   */
  width: number;
  height: number;
}

export function plotBox(p: PlotInput): PlotBox {
  const ox = rowGutter(p.rowLabelW);
  const colRotated = p.colLabelW + 6 > p.cellW;
  const oy =
    AXIS_TITLE +
    (colRotated ? Math.min(MAX_COL_LABEL, Math.ceil(p.colLabelW * 1.08)) + 10 : p.fontSize + 8);
  const contentW = p.nCols * p.cellW;
  const contentH = p.nRows * p.cellH;
  const groupRight = p.groupRight ?? 0;
  const groupBottom = p.groupBottom ?? 0;
  const room = Math.max(40, p.availW - ox - 2 - groupRight);
  const needY = contentH > p.maxViewH;
  const needX = contentW > room - (needY ? p.scrollbar : 0);
  const viewW = Math.max(1, Math.min(contentW, room - (needY ? p.scrollbar : 0)));
  const viewH = Math.max(1, Math.min(contentH, p.maxViewH));
  const scrollW = viewW + (needY ? p.scrollbar : 0);
  const scrollH = viewH + (needX ? p.scrollbar : 0);
  const titleW = p.colTitleW ? Math.min(p.availW - 2, ox + Math.ceil(p.colTitleW) + 8) : 0;
  const titleH = p.rowTitleW ? AXIS_TITLE + Math.ceil(p.rowTitleW) + 8 : 0;
  return {
    ox,
    oy,
    viewW,
    viewH,
    needX,
    needY,
    colRotated,
    contentW,
    contentH,
    scrollW,
    scrollH,
    width: Math.max(ox + scrollW + groupRight, titleW),
    height: Math.max(oy + scrollH + groupBottom, titleH),
  };
}

/**
 * Where an axis title of width `textW` goes along an edge: centred on the band the cells use,
 * [bandStart, bandStart + bandLen), when it fits there, else centred on the whole edge
 * [0, edgeLen). Returns the centre and the room it may take (less than `textW` means cut).
 */
export function titleSpan(
  textW: number,
  bandStart: number,
  bandLen: number,
  edgeStart: number,
  edgeLen: number,
): { center: number; room: number } {
  if (textW + 4 <= bandLen) return { center: bandStart + bandLen / 2, room: bandLen - 4 };
  const room = Math.max(0, edgeLen - edgeStart - 4);
  // As close to the band's centre as the edge allows.
  const half = Math.min(textW, room) / 2;
  const want = bandStart + bandLen / 2;
  const center = Math.max(edgeStart + 2 + half, Math.min(edgeLen - 2 - half, want));
  return { center, room };
}

export type Hit =
  | { kind: "cell"; row: number; col: number }
  | { kind: "rowLabel"; row: number }
  | { kind: "colLabel"; col: number }
  | null;

/**
 * What plot point (x, y) is on: a cell, a row label or a column label, as *display* row and
 * column indices; null elsewhere (axis titles, scrollbars, empty space).
 */
export function hitTest(v: Viewport, ox: number, oy: number, x: number, y: number): Hit {
  const vx = x - ox;
  const vy = y - oy;
  const cell = cellAt(v, vx, vy);
  if (cell) return { kind: "cell", row: cell.row, col: cell.col };
  const rowsEnd = Math.min(v.viewH, v.nRows * v.cellH - v.scrollY);
  if (vx < 0 && x >= AXIS_TITLE && vy >= 0 && vy < rowsEnd) {
    const row = Math.floor((vy + v.scrollY) / v.cellH);
    if (row >= 0 && row < v.nRows) return { kind: "rowLabel", row };
  }
  const colsEnd = Math.min(v.viewW, v.nCols * v.cellW - v.scrollX);
  if (vy < 0 && y >= AXIS_TITLE && vx >= 0 && vx < colsEnd) {
    const col = Math.floor((vx + v.scrollX) / v.cellW);
    if (col >= 0 && col < v.nCols) return { kind: "colLabel", col };
  }
  return null;
}

export type Region = "cell" | "rowLabel" | "colLabel";

/** Plot rectangle of display cell (row, col), of row `row`'s label, or of column `col`'s label. */
export function regionRect(
  v: Viewport,
  ox: number,
  oy: number,
  region: Region,
  row: number,
  col: number,
): Rect {
  const x = ox + col * v.cellW - v.scrollX;
  const y = oy + row * v.cellH - v.scrollY;
  if (region === "rowLabel") return { x: AXIS_TITLE, y, w: ox - AXIS_TITLE - 4, h: v.cellH };
  if (region === "colLabel") return { x, y: AXIS_TITLE, w: v.cellW, h: oy - AXIS_TITLE - 2 };
  return { x, y, w: v.cellW, h: v.cellH };
}
