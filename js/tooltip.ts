// The hover tooltip: one element per widget, filled with plain text (textContent only).

import { formatCount, formatValue } from "./format";
import { axisCarriesTokens, cellTextOf } from "./link";
import type { Hit } from "./plot";
import { beyondScale, listedOf } from "./reading";
import { displayToken, isByteLevelCached } from "./tokens";
import type { Axis, Matrix } from "./types";

export type TooltipLine = readonly [label: string, value: string];

export interface TooltipContent {
  title: string;
  lines: TooltipLine[];
  hint?: string;
}

/**
 * Tooltip lines for cell (row, col) of `m`: row, col, value (or "missing", and whether it lies
 * beyond the colour scale), n (and whether it is below the display's `minCount`), cell text,
 * extras, and how many contexts a click lists (of how many, when the list is capped).
 */
export function cellTooltip(
  m: Matrix,
  row: number,
  col: number,
  rowLabel: string,
  colLabel: string,
  contexts: number | null,
): TooltipContent {
  const i = row * m.nCols + col;
  const v = m.values[i];
  const beyond = m.display.markOutliers ? beyondScale(m.scale, v) : 0;
  const end = beyond > 0 ? m.scale.domain[1] : m.scale.domain[0];
  const value = beyond
    ? `${formatValue(v)} (beyond the scale's end, ${formatValue(end)})`
    : formatValue(v);
  const lines: TooltipLine[] = [
    [m.rows.title || "row", rowLabel],
    [m.cols.title || "col", colLabel],
    [m.valueLabel || "value", value],
  ];
  if (m.counts) {
    const n = m.counts[i];
    const min = m.display.minCount;
    const thin = min !== null && n < min && !Number.isNaN(v);
    lines.push(["n", thin ? `${formatCount(n)} (below ${formatCount(min)})` : formatCount(n)]);
  }
  const text = cellTextOf(m, row, col);
  if (text !== null && m.cellText)
    lines.push(["text", displayToken(text, isByteLevelCached(m.cellText.vocab))]);
  for (const extra of m.extras) lines.push([extra.name, formatValue(extra.values[i])]);
  if (contexts !== null) lines.push(["contexts", listedOf(m, i, contexts)]);
  return { title: m.title, lines, hint: contexts ? "click to list contexts" : undefined };
}

/** Tooltip for a row or column label: its full text, and what a click does. */
export function labelTooltip(title: string, axis: Axis, shown: string): TooltipContent {
  const hint = axisCarriesTokens(axis) ? "click to mark this token everywhere" : "click to select";
  return { title, lines: [[axis.title || axis.kind, shown]], hint };
}

/** Tooltip for what the pointer is on (data row indices); `contexts` is the cell's count. */
export function hitTooltip(
  m: Matrix,
  hit: NonNullable<Hit>,
  rowShown: readonly string[],
  colShown: readonly string[],
  contexts: number | null,
): TooltipContent {
  if (hit.kind === "cell")
    return cellTooltip(m, hit.row, hit.col, rowShown[hit.row], colShown[hit.col], contexts);
  if (hit.kind === "rowLabel") return labelTooltip(m.title, m.rows, rowShown[hit.row]);
  return labelTooltip(m.title, m.cols, colShown[hit.col]);
}

export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

// Same shape as listWindow in layout.ts (clamping into a window), different quantities; kept apart.
/**
 * Top-left corner (client px) for a `w` × `h` tooltip at pointer (x, y): below and right of the
 * pointer, flipped left / above when that side runs out of `bounds`, and then pushed inside
 * `bounds` (4 px margin), so it never leaves the visible page.
 */
export function placeTooltip(
  x: number,
  y: number,
  w: number,
  h: number,
  bounds: Box,
  gap = 14,
): { left: number; top: number } {
  const m = 4;
  let left = x + gap;
  if (left + w > bounds.right - m && x - gap - w >= bounds.left + m) left = x - gap - w;
  let top = y + gap;
  if (top + h > bounds.bottom - m && y - gap - h >= bounds.top + m) top = y - gap - h;
  left = Math.max(bounds.left + m, Math.min(left, bounds.right - m - w));
  top = Math.max(bounds.top + m, Math.min(top, bounds.bottom - m - h));
  return { left, top };
}

export class Tooltip {
  readonly el: HTMLDivElement;
  private readonly onScroll = () => this.hide();

  constructor(private readonly root: HTMLElement) {
    this.el = document.createElement("div");
    this.el.className = "th-tooltip";
    this.el.dataset.testid = "th-tooltip";
    this.el.setAttribute("role", "tooltip");
    this.el.hidden = true;
    root.appendChild(this.el);
    // Any scroll (the page, a notebook, the context list) moves things from under the pointer.
    window.addEventListener("scroll", this.onScroll, { capture: true, passive: true });
  }

  /** Show `content` near client point (x, y), kept inside the browser window. */
  show(content: TooltipContent, clientX: number, clientY: number): void {
    const el = this.el;
    el.replaceChildren();
    if (content.title) {
      const title = document.createElement("div");
      title.className = "th-tooltip-title";
      title.textContent = content.title;
      el.appendChild(title);
    }
    const table = document.createElement("dl");
    for (const [label, value] of content.lines) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = value;
      if (value === "missing") dd.className = "th-missing-text";
      table.append(dt, dd);
    }
    el.appendChild(table);
    if (content.hint) {
      const hint = document.createElement("div");
      hint.className = "th-tooltip-hint";
      hint.textContent = content.hint;
      el.appendChild(hint);
    }
    el.hidden = false;
    // Measured at the top-left corner of the root, where nothing squeezes it.
    el.style.left = "0px";
    el.style.top = "0px";
    const box = this.root.getBoundingClientRect();
    const w = el.offsetWidth;
    const h = el.offsetHeight;
    const view = document.documentElement;
    const place = placeTooltip(clientX, clientY, w, h, {
      left: 0,
      top: 0,
      right: view.clientWidth || window.innerWidth,
      bottom: view.clientHeight || window.innerHeight,
    });
    el.style.left = `${place.left - box.left - this.root.clientLeft}px`;
    el.style.top = `${place.top - box.top - this.root.clientTop}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }

  destroy(): void {
    window.removeEventListener("scroll", this.onScroll, { capture: true });
    this.el.remove();
  }
}
