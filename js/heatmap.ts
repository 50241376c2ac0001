// One heatmap panel: title, toolbar, the plot (two stacked canvases under a native scroller),
// and the legend. Owns its zoom, scroll, row order and drawing; clicks go to the selection bus.

import { CellImage } from "./cellImage";
import { Controls } from "./controls";
import {
  cellsCarryText,
  drawBase,
  drawOverlay,
  GROUP_BAND,
  marksSummary,
  visibleGroups,
} from "./draw";
import type { Frame, Marks } from "./frame";
import { type LabelsDrawn, titleFont } from "./labels";
import { LabelWidths } from "./labelWidths";
import {
  clampZoom,
  emptyViewport,
  type Rect,
  scrollForZoom,
  scrollToReveal,
  type Viewport,
  zoomLimits,
} from "./layout";
import { Legend } from "./legend";
import type { SelectionBus } from "./link";
import { axisCarriesTokens, exampleMarks, hitSelection, tokenMarks } from "./link";
import { MAX_CLUSTER, Sorter, type SortMode, sortableAxis } from "./order";
import {
  baseCellWidth,
  type Hit,
  hitTest,
  plotBox,
  type Region,
  regionRect,
  rowGutter,
  TEXT_CELL_H,
} from "./plot";
import { listen, PlotDom, scrollbarSize } from "./plotDom";
import { thinMask } from "./reading";
import type { Theme } from "./theme";
import { cellToken, displayToken, isByteLevelCached } from "./tokens";
import type { Tooltip } from "./tooltip";
import { hitTooltip } from "./tooltip";
import type { Axis, Matrix, Selection, Spec } from "./types";
import { permuteColumns } from "./view";

export interface HeatmapHost {
  readonly spec: Spec;
  readonly bus: SelectionBus;
  readonly tooltip: Tooltip;
  theme(): Theme;
  /** Largest height of a heatmap's cell area in CSS px (the `height` trait; 0 = automatic). */
  maxHeight(): number;
  contextCount(matrix: number, row: number, col: number): number | null;
  /** The row or column order of heatmap `index` changed (to sync it back to Python). */
  orderChanged(index: number): void;
  focusRoot(): void;
}

/**
 * Labels as drawn: every axis decoded like tokens ("Ġmovie" → "␣movie"; "L3" stays "L3"), and
 * on an axis of byte-level tokens a piece of a character as its bytes ("<0xE7><0xA4>").
 */
export function shownLabels(axis: Axis): string[] {
  const byteLevel = isByteLevelCached(axis.labels);
  return axis.labels.map((label) => displayToken(label, byteLevel));
}

export class Heatmap {
  readonly el: HTMLElement;
  private readonly dom: PlotDom;
  private readonly unlisten: () => void;
  private readonly controls: Controls;
  private readonly legend: Legend;
  private readonly image = new CellImage();
  private readonly m: Matrix;
  /** The matrix with its columns in display order (`m` itself when they are not sorted). */
  private mv: Matrix;
  private readonly rowShown: string[];
  /** Column labels as drawn, by data column (`colShown`: by display column). */
  private readonly colShownData: string[];
  private colShown: string[];
  private readonly cellShown: string[] | null;
  private readonly sorter: Sorter;
  /** Display row → data row, and its inverse (-1 for rows filtered out). */
  order: Int32Array;
  inv: Int32Array;
  /** Display column → data column, and its inverse. */
  colOrder: Int32Array;
  colInv: Int32Array;
  sort: SortMode = "original";
  colSort: SortMode = "original";
  filter = "";
  zoom = 1;
  private baseW = 0;
  private baseH: number;
  private availW = 0;
  private v: Viewport;
  private ox = 0;
  private oy = 0;
  private colRotated = false;
  /** Top-left corner of the group bands (right of and below the cells' scroller). */
  private band = { x: 0, y: 0 };
  /** Cells drawn faded, by cell index of the matrix in display columns (see `thinMask`). */
  private thin: Uint8Array | null = null;
  private size = { width: 0, height: 0 };
  /** The cell or label last clicked: its tooltip stays hidden until the pointer leaves it. */
  private quiet: string | null = null;
  private marks: Marks = { token: null, example: null, row: null, col: null, hover: null };
  lastDrawMs = 0;
  private labelsDrawn: LabelsDrawn = {
    rowLabels: 0,
    colLabels: 0,
    featured: [],
    rowTitle: "",
    colTitle: "",
  };
  private cellTexts = 0;
  private readonly labelWidths: LabelWidths;
  /** Whether the row and column labels read the same (measured once then). */

  constructor(
    readonly index: number,
    private readonly host: HeatmapHost,
  ) {
    const m = host.spec.matrices[index];
    this.m = m;
    this.mv = m;
    this.rowShown = shownLabels(m.rows);
    this.colShownData = shownLabels(m.cols);
    this.colShown = this.colShownData;
    const text = m.cellText;
    this.cellShown = text
      ? text.vocab.map((t) => cellToken(t, isByteLevelCached(text.vocab)))
      : null;
    this.sorter = new Sorter(m, { row: this.rowShown, col: this.colShownData });
    ({ order: this.order, inv: this.inv } = this.sorter.sort("row", "original"));
    ({ order: this.colOrder, inv: this.colInv } = this.sorter.sort("col", "original"));
    this.baseH = cellsCarryText(m)
      ? Math.max(host.spec.layout.cellSize, TEXT_CELL_H)
      : host.spec.layout.cellSize;

    this.el = document.createElement("section");
    this.el.className = "th-heatmap";
    this.el.dataset.testid = `th-heatmap-${index}`;
    const title = document.createElement("h3");
    title.className = "th-title";
    title.textContent = m.title || `matrix ${index + 1}`;
    this.controls = new Controls(index, m.rows.title || "rows", {
      sort: (mode) => {
        this.setOrder(mode, this.filter);
        host.orderChanged(index);
      },
      colSort:
        sortableAxis(m.cols.kind) || m.display.colOrder !== "original"
          ? (mode: SortMode) => {
              this.setColOrder(mode);
              host.orderChanged(index);
            }
          : null,
      rowClusterable: m.nRows <= MAX_CLUSTER,
      colClusterable: m.nCols <= MAX_CLUSTER,
      filter: (text) => this.setOrder(this.sort, text),
      zoomBy: (f) => this.zoomTo(this.zoom * f),
      fit: () => this.zoomTo(this.limits().fit),
    });
    this.dom = new PlotDom(
      index,
      `${m.title}: heatmap of ${m.valueLabel}, ${m.nRows} × ${m.nCols}`,
    );
    this.legend = new Legend(m);
    this.labelWidths = new LabelWidths(this.rowShown, this.colShownData, (labels, font) =>
      this.dom.measure(labels, font),
    );
    title.title = title.textContent;
    const head = document.createElement("div");
    head.className = "th-head";
    head.append(title, this.controls.zoomEl);
    this.el.append(head, this.controls.el, this.dom.wrap, this.legend.el);
    this.v = emptyViewport(this.baseH, this.order.length, m.nCols);
    this.initialOrder(m.display.rowOrder, m.display.colOrder);

    this.unlisten = listen(this.dom, {
      move: (x, y) => this.onPointerMove(x, y),
      leave: () => this.onPointerLeave(),
      click: (x, y) => this.onClick(x, y),
      scroll: () => this.onScroll(),
      zoom: (factor, x, y) => this.zoomTo(this.zoom * factor, { x, y }),
    });
  }

  // ---- geometry ------------------------------------------------------------------------

  private maxViewH(): number {
    const asked = this.host.maxHeight();
    if (asked > 0) return Math.max(40, asked);
    return Math.max(160, Math.min(520, Math.round((window.innerHeight || 800) * 0.65)));
  }

  private limits() {
    const availCells = Math.max(40, this.availW - this.ox - 16);
    return zoomLimits(
      this.baseW,
      this.baseH,
      this.order.length,
      this.m.nCols,
      availCells,
      this.maxViewH(),
    );
  }

  private labelWidth(axis: "row" | "col", family: string): number {
    return this.labelWidths.get(axis, this.host.theme(), family);
  }

  private fonts(theme: Theme): { row: string; col: string } {
    return {
      row: axisCarriesTokens(this.m.rows) ? theme.mono : theme.font,
      col: axisCarriesTokens(this.m.cols) ? theme.mono : theme.font,
    };
  }

  /** Width available to this panel changed (or first known). */
  setWidth(width: number): void {
    if (Math.abs(width - this.availW) < 1 && this.baseW > 0) return;
    this.availW = width;
    this.layout();
  }

  /** Recompute gutters, viewport and canvas sizes for the current zoom, then draw. */
  layout(keep?: { scrollX: number; scrollY: number }): void {
    if (this.availW <= 0) return;
    const theme = this.host.theme();
    const fonts = this.fonts(theme);
    const rowLabelW = this.labelWidth("row", fonts.row);
    this.ox = rowGutter(rowLabelW);
    if (this.baseW === 0) {
      const cs = this.host.spec.layout.cellSize;
      this.baseW = baseCellWidth(
        this.availW,
        this.ox,
        this.m.nCols,
        cs,
        cellsCarryText(this.m),
        this.labelWidth("col", fonts.col),
      );
    }
    const lim = this.limits();
    this.zoom = clampZoom(this.zoom, lim.min, lim.max);
    const cellW = this.baseW * this.zoom;
    const cellH = this.baseH * this.zoom;
    const nRows = this.order.length;
    const box = plotBox({
      availW: this.availW,
      maxViewH: this.maxViewH(),
      cellW,
      cellH,
      nRows,
      nCols: this.m.nCols,
      rowLabelW,
      colLabelW: this.labelWidth("col", fonts.col),
      fontSize: theme.fontSize,
      scrollbar: scrollbarSize(),
      rowTitleW: this.dom.measure([this.m.rows.title], titleFont(theme)),
      colTitleW: this.dom.measure([this.m.cols.title], titleFont(theme)),
      groupRight: this.m.display.rowGroups.length ? GROUP_BAND : 0,
      groupBottom: this.m.display.colGroups.length ? GROUP_BAND : 0,
    });
    this.band = { x: box.ox + box.scrollW + 2, y: box.oy + box.scrollH + 2 };
    this.size = { width: box.width, height: box.height };
    const { oy, viewW, viewH } = box;
    this.oy = oy;
    this.colRotated = box.colRotated;
    this.dom.size(box);
    this.v = { cellW, cellH, scrollX: 0, scrollY: 0, viewW, viewH, nRows, nCols: this.m.nCols };
    if (keep) {
      this.dom.scroller.scrollLeft = keep.scrollX;
      this.dom.scroller.scrollTop = keep.scrollY;
    }
    this.v.scrollX = this.dom.scroller.scrollLeft;
    this.v.scrollY = this.dom.scroller.scrollTop;
    this.controls.setZoom(this.zoom);
    this.controls.setCount(nRows, this.m.nRows);
    this.legend.draw(theme);
    this.draw();
  }

  // ---- state changes -------------------------------------------------------------------

  zoomTo(zoom: number, anchor?: { x: number; y: number }): void {
    const lim = this.limits();
    const z = clampZoom(zoom, lim.min, lim.max);
    if (z === this.zoom) return;
    const ax = anchor?.x ?? this.v.viewW / 2;
    const ay = anchor?.y ?? this.v.viewH / 2;
    const keep = scrollForZoom(this.v, this.baseW * z, this.baseH * z, ax, ay);
    this.zoom = z;
    this.layout(keep);
  }

  /** The orders a spec or a restored widget asks for, before the first layout. */
  // The row steps mirror applyColOrder's column steps; rows and columns keep separate state.
  initialOrder(rowMode: SortMode, colMode: SortMode): void {
    this.sort = rowMode;
    ({ order: this.order, inv: this.inv } = this.sorter.sort("row", rowMode));
    this.applyColOrder(colMode);
    this.controls.setModes(this.sort, this.colSort);
    this.v = emptyViewport(this.baseH, this.order.length, this.m.nCols);
  }

  setOrder(mode: SortMode, filter: string): void {
    this.sort = mode;
    this.filter = filter;
    ({ order: this.order, inv: this.inv } = this.sorter.sort("row", mode, filter));
    this.controls.setModes(this.sort, this.colSort);
    this.rebuildImage();
    this.layout({ scrollX: this.v.scrollX, scrollY: 0 });
  }

  // The column steps mirror initialOrder's row steps; rows and columns keep separate state.
  private applyColOrder(mode: SortMode): void {
    this.colSort = mode;
    ({ order: this.colOrder, inv: this.colInv } = this.sorter.sort("col", mode));
    this.mv = permuteColumns(this.m, this.colOrder);
    this.colShown = Array.from(this.colOrder, (c) => this.colShownData[c]);
  }

  setColOrder(mode: SortMode): void {
    this.applyColOrder(mode);
    this.controls.setModes(this.sort, this.colSort);
    this.rebuildImage();
    this.layout({ scrollX: 0, scrollY: this.v.scrollY });
  }

  /** Rebuild the 1-px cell image (after a change of order or theme). */
  rebuildImage(): void {
    const theme = this.host.theme();
    this.thin = thinMask(this.mv);
    this.image.build(this.mv.values, this.mv.nCols, this.order, this.mv.scale, theme.missing, {
      thin: this.thin,
      veil: theme.backgroundRgb,
    });
  }

  setSelection(sel: Selection): void {
    const mine = sel.matrix === this.index;
    this.marks = {
      token: sel.token !== null ? tokenMarks(this.mv, sel.token) : null,
      example: sel.example !== null ? exampleMarks(this.mv, sel.example) : null,
      row: mine ? sel.row : null,
      col: mine && sel.col !== null ? (this.colInv[sel.col] ?? null) : null,
      hover: this.marks.hover,
    };
    this.drawOverlayOnly();
  }

  /** Scroll so that data cell (row, col) is visible; false if its row is filtered out. */
  reveal(row: number, col: number): boolean {
    const r = this.inv[row];
    if (r === undefined || r < 0) return false;
    const next = scrollToReveal(this.v, r, this.colInv[col] ?? col);
    if (next.scrollX !== this.v.scrollX || next.scrollY !== this.v.scrollY) {
      this.dom.scroller.scrollLeft = next.scrollX;
      this.dom.scroller.scrollTop = next.scrollY;
      this.onScroll();
    }
    return true;
  }

  // ---- geometry for tests and keyboard ---------------------------------------------------

  /**
   * Client rectangle of a cell, row label or column label at the current scroll (data row
   * index), or null when its row is filtered out or the index is out of range.
   */
  clientRect(region: Region, row: number, col: number): Rect | null {
    const r = region === "colLabel" ? 0 : (this.inv[row] ?? -1);
    if (r < 0 || (region !== "rowLabel" && (col < 0 || col >= this.m.nCols))) return null;
    const c = region === "rowLabel" ? 0 : this.colInv[col];
    const rect = regionRect(this.v, this.ox, this.oy, region, r, c);
    const box = this.dom.wrap.getBoundingClientRect();
    return { ...rect, x: box.left + rect.x, y: box.top + rect.y };
  }

  state() {
    return {
      zoom: this.zoom,
      cellW: this.v.cellW,
      cellH: this.v.cellH,
      scrollX: this.v.scrollX,
      scrollY: this.v.scrollY,
      viewW: this.v.viewW,
      viewH: this.v.viewH,
      sort: this.sort,
      colSort: this.colSort,
      filter: this.filter,
      shownRows: this.order.length,
      order: Array.from(this.order.subarray(0, 2000)),
      colOrder: Array.from(this.colOrder.subarray(0, 2000)),
      groups: groupsSummary(this.frame()),
      colRotated: this.colRotated,
      marked: marksSummary(this.marks),
      labelsDrawn: this.labelsDrawn,
      cellTexts: this.cellTexts,
      buildMs: this.image.buildMs,
      drawMs: this.lastDrawMs,
    };
  }

  // ---- drawing ---------------------------------------------------------------------------

  private frame(): Frame {
    const theme = this.host.theme();
    const fonts = this.fonts(theme);
    return {
      m: this.mv,
      theme,
      v: this.v,
      ox: this.ox,
      oy: this.oy,
      order: this.order,
      inv: this.inv,
      rowShown: this.rowShown,
      colShown: this.colShown,
      cellShown: this.cellShown,
      thin: this.thin,
      rowFont: fonts.row,
      colFont: fonts.col,
      colRotated: this.colRotated,
      bandX: this.band.x,
      bandY: this.band.y,
      width: this.size.width,
      height: this.size.height,
    };
  }

  draw(): void {
    if (this.availW <= 0) return;
    const t0 = performance.now();
    const frame = this.frame();
    const base = this.dom.context(this.dom.base);
    if (base) this.cellTexts = drawBase(base, frame, this.image);
    const overlay = this.dom.context(this.dom.overlay);
    if (overlay) this.labelsDrawn = drawOverlay(overlay, frame, this.marks);
    this.lastDrawMs = performance.now() - t0;
  }

  private drawOverlayOnly(): void {
    if (this.availW <= 0) return;
    const overlay = this.dom.context(this.dom.overlay);
    if (overlay) this.labelsDrawn = drawOverlay(overlay, this.frame(), this.marks);
  }

  // ---- events ----------------------------------------------------------------------------

  /** What client point (x, y) is on, with data (not display) row indices. */
  private hit(clientX: number, clientY: number): Hit {
    const box = this.dom.wrap.getBoundingClientRect();
    const hit = hitTest(this.v, this.ox, this.oy, clientX - box.left, clientY - box.top);
    if (hit?.kind === "cell")
      return { ...hit, row: this.order[hit.row], col: this.colOrder[hit.col] };
    if (hit?.kind === "rowLabel") return { ...hit, row: this.order[hit.row] };
    if (hit?.kind === "colLabel") return { ...hit, col: this.colOrder[hit.col] };
    return hit;
  }

  private onPointerMove(clientX: number, clientY: number): void {
    const hit = this.hit(clientX, clientY);
    const hover =
      hit?.kind === "cell" ? { row: this.inv[hit.row], col: this.colInv[hit.col] } : null;
    if (hover?.row !== this.marks.hover?.row || hover?.col !== this.marks.hover?.col) {
      this.marks = { ...this.marks, hover };
      this.drawOverlayOnly();
    }
    this.dom.wrap.style.cursor = hit ? "pointer" : "";
    const key = hitKey(hit);
    if (key !== this.quiet) this.quiet = null;
    if (hit && this.quiet === null) {
      const n = hit.kind === "cell" ? this.host.contextCount(this.index, hit.row, hit.col) : null;
      this.host.tooltip.show(
        hitTooltip(this.m, hit, this.rowShown, this.colShownData, n),
        clientX,
        clientY,
      );
    } else this.host.tooltip.hide();
  }

  private onPointerLeave(): void {
    this.quiet = null;
    this.host.tooltip.hide();
    if (this.marks.hover) {
      this.marks = { ...this.marks, hover: null };
      this.drawOverlayOnly();
    }
  }

  private onClick(clientX: number, clientY: number): void {
    const hit = this.hit(clientX, clientY);
    this.host.focusRoot();
    // The tooltip would cover what the click opens; it comes back on the next cell.
    this.host.tooltip.hide();
    this.quiet = hitKey(hit);
    if (hit) this.host.bus.set(hitSelection(this.host.spec, this.index, hit), "heatmap");
  }

  private onScroll(): void {
    this.v.scrollX = this.dom.scroller.scrollLeft;
    this.v.scrollY = this.dom.scroller.scrollTop;
    this.host.tooltip.hide();
    this.draw();
  }

  destroy(): void {
    this.unlisten();
    this.el.remove();
  }
}

/** The groups drawn, with their display spans (for tests and debugging). */
function groupsSummary(f: Frame) {
  const { rows, cols } = visibleGroups(f);
  const one = (x: (typeof rows)[number]) => ({ label: x.g.label, ...x.span });
  return { rows: rows.map(one), cols: cols.map(one) };
}

/** A string naming what a hit is on, or null for nothing. */
function hitKey(hit: Hit): string | null {
  if (!hit) return null;
  if (hit.kind === "cell") return `c${hit.row},${hit.col}`;
  return hit.kind === "rowLabel" ? `r${hit.row}` : `l${hit.col}`;
}
