// Everything one widget shows: the grid of heatmaps, the shared context panel, the tooltip,
// the selection bus and its sync with the `selected` trait, keyboard, theme and resizing.

import { ContextIndex } from "./contextIndex";
import { ContextPanel, TALL_ROW_H } from "./contexts";
import { Heatmap, type HeatmapHost } from "./heatmap";
import type { Rect } from "./layout";
import { shieldToken } from "./leaves";
import { cellSelection, normalizeSelection, SelectionBus } from "./link";
import { SORT_MODES, type SortMode } from "./order";
import { readTheme, type Theme } from "./theme";
import { Tooltip } from "./tooltip";
import { EMPTY_SELECTION, type Selection, type Spec, type WidgetModel } from "./types";

/** Read-only hooks on the root element for tests and debugging (`root.__tokenheat`). */
export interface DebugHandle {
  cellRect(matrix: number, row: number, col: number): Rect | null;
  rowLabelRect(matrix: number, row: number): Rect | null;
  colLabelRect(matrix: number, col: number): Rect | null;
  reveal(matrix: number, row: number, col: number): boolean;
  state(): unknown;
}

export class App implements HeatmapHost {
  readonly bus = new SelectionBus();
  readonly tooltip: Tooltip;
  private readonly heatmaps: Heatmap[];
  private readonly panel: ContextPanel;
  private readonly grid: HTMLDivElement;
  private readonly indexes: (ContextIndex | null)[];
  private currentTheme: Theme;
  private readonly cleanups: (() => void)[] = [];
  private lastMatrix = 0;

  constructor(
    private readonly root: HTMLElement,
    readonly spec: Spec,
    private readonly model: WidgetModel,
  ) {
    this.currentTheme = readTheme(root);
    this.indexes = spec.matrices.map((m) =>
      m.contexts ? new ContextIndex(m.contexts, m.nCols) : null,
    );
    this.grid = document.createElement("div");
    this.grid.className = "th-grid";
    this.heatmaps = spec.matrices.map((_, i) => new Heatmap(i, this));
    for (const h of this.heatmaps) this.grid.appendChild(h.el);
    this.panel = new ContextPanel(spec, this.bus, this.indexes);
    this.tooltip = new Tooltip(root);
    root.append(this.grid, this.panel.el, this.tooltip.el);
    if (spec.matrices.length === 0) {
      const empty = document.createElement("div");
      empty.className = "th-empty";
      empty.textContent = "Nothing to show: the widget holds no matrix.";
      this.grid.appendChild(empty);
    }
    this.applyOrders();
    for (const h of this.heatmaps) h.rebuildImage();
    this.resize();

    const unsubscribe = this.bus.subscribe((sel, source) => this.onSelection(sel, source));
    this.cleanups.push(unsubscribe);
    const onModel = () => this.bus.set(normalizeSelection(model.get("selected"), spec), "model");
    model.on("change:selected", onModel);
    this.cleanups.push(() => model.off("change:selected", onModel));
    const initial = normalizeSelection(model.get("selected"), spec);
    this.bus.set(initial, "model");
    this.onSelection(this.bus.get(), "init");

    const onOrders = () => {
      if (this.applyOrders()) for (const h of this.heatmaps) h.setOrder(h.sort, h.filter);
    };
    model.on("change:orders", onOrders);
    this.cleanups.push(() => model.off("change:orders", onOrders));
    const onHeight = () => {
      for (const h of this.heatmaps) h.layout();
    };
    model.on("change:height", onHeight);
    this.cleanups.push(() => model.off("change:height", onHeight));
    root.addEventListener("keydown", this.onKey);
    this.cleanups.push(() => root.removeEventListener("keydown", this.onKey));
    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => this.resize());
      ro.observe(root);
      this.cleanups.push(() => ro.disconnect());
    }
    this.watchTheme();
    (root as HTMLElement & { __tokenheat?: DebugHandle }).__tokenheat = Object.freeze(
      this.debugHandle(),
    );
  }

  theme(): Theme {
    return this.currentTheme;
  }

  maxHeight(): number {
    const h = this.model.get("height");
    return typeof h === "number" && Number.isFinite(h) && h > 0 ? h : 0;
  }

  contextCount(matrix: number, row: number, col: number): number | null {
    return this.indexes[matrix]?.cellCount(row, col) ?? null;
  }

  /** Write every heatmap's row and column order to the `orders` trait (export keeps them). */
  orderChanged(_index: number): void {
    const orders = this.heatmaps.map((h) => ({ row: h.sort, col: h.colSort }));
    if (JSON.stringify(orders) === JSON.stringify(this.model.get("orders") ?? null)) return;
    this.model.set("orders", orders);
    this.model.save_changes();
  }

  /**
   * Take the orders of the `orders` trait (a restored widget, or set from Python), where they
   * differ from what is shown; returns whether any changed. Unknown entries are ignored.
   */
  private applyOrders(): boolean {
    const raw = this.model.get("orders");
    if (!Array.isArray(raw)) return false;
    let changed = false;
    const valid = (v: unknown): v is SortMode => SORT_MODES.includes(v as SortMode);
    raw.forEach((entry, i) => {
      const h = this.heatmaps[i];
      if (!h || typeof entry !== "object" || entry === null) return;
      const { row, col } = entry as { row?: unknown; col?: unknown };
      const r = valid(row) ? row : h.sort;
      const c = valid(col) ? col : h.colSort;
      if (r === h.sort && c === h.colSort) return;
      h.initialOrder(r, c);
      changed = true;
    });
    return changed;
  }

  focusRoot(): void {
    if (document.activeElement !== this.root) this.root.focus({ preventScroll: true });
  }

  private columns(width: number): number {
    const n = this.spec.matrices.length;
    return Math.max(1, Math.min(this.spec.layout.columns, n, Math.floor(width / 340) || 1));
  }

  private resize(): void {
    const total = this.root.clientWidth || 800;
    // The context panel docks beside the heatmaps when the page is wide enough for both.
    // A margin against flip-flopping: docking changes the page's height, which may add or
    // remove a page scrollbar and so change the width this depends on.
    const was = this.root.classList.contains("th-side");
    const min = was ? SIDE_PANEL_MIN - 24 : SIDE_PANEL_MIN;
    const side = total >= min && this.indexes.some((x) => x !== null);
    this.root.classList.toggle("th-side", side);
    const tall = Math.floor(((window.innerHeight || 800) - 140) / TALL_ROW_H);
    this.panel.setLayout(side, side ? Math.max(8, tall) : 12);
    const width = side ? this.grid.clientWidth || Math.round(total * 0.62) : total;
    const cols = this.columns(width);
    this.grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    for (const h of this.heatmaps) h.setWidth(contentWidth(h.el) || Math.floor(width / cols) - 26);
  }

  private onSelection(sel: Selection, source: string): void {
    if (sel.matrix !== null) this.lastMatrix = sel.matrix;
    for (const h of this.heatmaps) h.setSelection(sel);
    if (source === "model" && sel.matrix !== null && sel.row !== null) {
      this.heatmaps[sel.matrix]?.reveal(sel.row, sel.col ?? 0);
    }
    this.panel.show(sel);
    if (source !== "model" && source !== "init") {
      this.model.set("selected", { ...sel, token: shieldToken(sel.token) });
      this.model.save_changes();
    }
  }

  private readonly onKey = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null;
    if (target?.closest("input, select, textarea, button")) return;
    if (target?.closest(".th-context-list") && e.key !== "Escape") return;
    const sel = this.bus.get();
    if (e.key === "Escape") {
      this.tooltip.hide();
      this.bus.set({ ...EMPTY_SELECTION }, "keyboard");
      if (target !== this.root) this.focusRoot();
      e.preventDefault();
      return;
    }
    if (e.key === "Enter") {
      if (sel.matrix === null || sel.row === null) return;
      this.panel.el.scrollIntoView({ block: "nearest" });
      if (this.panel.count > 0) this.panel.list.focus({ preventScroll: true });
      e.preventDefault();
      return;
    }
    const step: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    };
    const move = step[e.key];
    if (!move || this.heatmaps.length === 0) return;
    e.preventDefault();
    const mi = sel.matrix ?? this.lastMatrix;
    const h = this.heatmaps[mi];
    const m = this.spec.matrices[mi];
    if (h.order.length === 0) return;
    const shownRow = sel.row !== null ? h.inv[sel.row] : -1;
    const shownCol = sel.col !== null ? h.colInv[sel.col] : 0;
    let r: number;
    let c: number;
    if (sel.matrix === null || shownRow < 0 || (sel.row === null && sel.col === null)) {
      r = 0;
      c = shownCol;
    } else {
      r = Math.max(0, Math.min(h.order.length - 1, shownRow + (sel.col === null ? 0 : move[0])));
      c = Math.max(0, Math.min(m.nCols - 1, shownCol + (sel.col === null ? 0 : move[1])));
    }
    const row = h.order[r];
    const col = h.colOrder[c];
    h.reveal(row, col);
    this.bus.set(cellSelection(this.spec, mi, row, col), "keyboard");
  };

  private watchTheme(): void {
    const update = () => {
      const next = readTheme(this.root);
      if (JSON.stringify(next) === JSON.stringify(this.currentTheme)) return;
      this.currentTheme = next;
      for (const h of this.heatmaps) {
        h.rebuildImage();
        h.layout();
      }
    };
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    media?.addEventListener?.("change", update);
    this.cleanups.push(() => media?.removeEventListener?.("change", update));
    if (typeof MutationObserver !== "undefined") {
      const mo = new MutationObserver(update);
      mo.observe(document.body, {
        attributes: true,
        attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"],
      });
      mo.observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["class", "theme", "data-theme"],
      });
      this.cleanups.push(() => mo.disconnect());
    }
  }

  private debugHandle(): DebugHandle {
    return {
      cellRect: (matrix, row, col) => this.heatmaps[matrix]?.clientRect("cell", row, col) ?? null,
      rowLabelRect: (matrix, row) => this.heatmaps[matrix]?.clientRect("rowLabel", row, 0) ?? null,
      colLabelRect: (matrix, col) => this.heatmaps[matrix]?.clientRect("colLabel", 0, col) ?? null,
      reveal: (matrix, row, col) => this.heatmaps[matrix]?.reveal(row, col) ?? false,
      state: () => ({
        selected: this.bus.get(),
        theme: { dark: this.currentTheme.dark },
        matrices: this.heatmaps.map((h) => h.state()),
        contexts: { count: this.panel.count, window: this.panel.window },
      }),
    };
  }

  destroy(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const h of this.heatmaps) h.destroy();
    this.panel.destroy();
    this.tooltip.destroy();
    this.grid.remove();
    delete (this.root as HTMLElement & { __tokenheat?: DebugHandle }).__tokenheat;
  }
}

/** Narrowest widget (CSS px) that gets the context panel beside the heatmaps. */
export const SIDE_PANEL_MIN = 1000;

/** Width inside an element's padding. */
function contentWidth(el: HTMLElement): number {
  const style = getComputedStyle(el);
  const pad =
    (Number.parseFloat(style.paddingLeft) || 0) + (Number.parseFloat(style.paddingRight) || 0);
  return Math.max(0, el.clientWidth - pad);
}
