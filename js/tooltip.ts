// The hover tooltip: one element per widget, filled with plain text (textContent only).

import { formatCount, formatValue } from "./format";
import { axisCarriesTokens, cellTextOf } from "./link";
import type { Hit } from "./plot";
import { displayToken } from "./tokens";
import type { Axis, Matrix } from "./types";

export type TooltipLine = readonly [label: string, value: string];

export interface TooltipContent {
  title: string;
  lines: TooltipLine[];
  hint?: string;
}

/** Tooltip lines for cell (row, col) of `m`: row, col, value (or "missing"), n, cell text, extras. */
export function cellTooltip(
  m: Matrix,
  row: number,
  col: number,
  rowLabel: string,
  colLabel: string,
  contexts: number | null,
): TooltipContent {
  const i = row * m.nCols + col;
  const lines: TooltipLine[] = [
    [m.rows.title || "row", rowLabel],
    [m.cols.title || "col", colLabel],
    [m.valueLabel || "value", formatValue(m.values[i])],
  ];
  if (m.counts) lines.push(["n", formatCount(m.counts[i])]);
  const text = cellTextOf(m, row, col);
  if (text !== null) lines.push(["text", displayToken(text)]);
  for (const extra of m.extras) lines.push([extra.name, formatValue(extra.values[i])]);
  if (contexts !== null) lines.push(["contexts", formatCount(contexts)]);
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

export class Tooltip {
  readonly el: HTMLDivElement;

  constructor(private readonly root: HTMLElement) {
    this.el = document.createElement("div");
    this.el.className = "th-tooltip";
    this.el.dataset.testid = "th-tooltip";
    this.el.setAttribute("role", "tooltip");
    this.el.hidden = true;
    root.appendChild(this.el);
  }

  /** Show `content` near client point (x, y), kept inside the widget. */
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
    const box = this.root.getBoundingClientRect();
    const w = el.offsetWidth;
    const h = el.offsetHeight;
    let left = clientX - box.left + 14;
    let top = clientY - box.top + 14;
    if (left + w > box.width) left = Math.max(0, clientX - box.left - w - 14);
    if (clientY + 14 + h > window.innerHeight && clientY - box.top - h - 14 >= 0)
      top = clientY - box.top - h - 14;
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
