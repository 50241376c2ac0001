// The toolbar above each heatmap: sort rows (and columns, where their order is not the
// point) and filter row labels (`el`), and zoom out / in / fit (`zoomEl`, which the heatmap
// puts beside its title).

import { groupDigits } from "./format";
import { SORT_MODES, type SortMode } from "./order";

export interface ControlHandlers {
  sort(mode: SortMode): void;
  /** Sort columns; null when the columns keep their order (positions, layers, buckets). */
  colSort: ((mode: SortMode) => void) | null;
  /** Whether there are few enough rows / columns to offer "cluster". */
  rowClusterable: boolean;
  colClusterable: boolean;
  filter(text: string): void;
  zoomBy(factor: number): void;
  fit(): void;
}

export const SORT_TEXT: Record<SortMode, string> = {
  original: "original order",
  label: "label",
  mean: "mean (high first)",
  max: "max (high first)",
  variance: "variance (high first)",
  count: "count (most first)",
  cluster: "cluster (similar together)",
};

function sortSelect(
  label: string,
  testid: string,
  clusterable: boolean,
  onChange: (mode: SortMode) => void,
): { el: HTMLLabelElement; select: HTMLSelectElement } {
  const el = document.createElement("label");
  el.className = "th-control";
  const text = document.createElement("span");
  text.textContent = label;
  const select = document.createElement("select");
  select.dataset.testid = testid;
  for (const mode of SORT_MODES) {
    const option = document.createElement("option");
    option.value = mode;
    option.textContent = SORT_TEXT[mode];
    if (mode === "cluster" && !clusterable) {
      option.disabled = true;
      option.textContent = "cluster (too many to cluster)";
    }
    select.appendChild(option);
  }
  select.addEventListener("change", () => onChange(select.value as SortMode));
  el.append(text, select);
  return { el, select };
}

function button(
  text: string,
  title: string,
  testid: string,
  onClick: () => void,
): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "th-button";
  b.textContent = text;
  b.title = title;
  b.setAttribute("aria-label", title);
  b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

export class Controls {
  readonly el: HTMLDivElement;
  readonly zoomEl: HTMLDivElement;
  private readonly zoomText: HTMLSpanElement;
  private readonly count: HTMLSpanElement;
  private readonly rowSelect: HTMLSelectElement;
  private readonly colSelect: HTMLSelectElement | null;

  constructor(index: number, rowNoun: string, handlers: ControlHandlers) {
    this.el = document.createElement("div");
    this.el.className = "th-controls";

    const rows = sortSelect(
      handlers.colSort ? "rows" : "sort",
      `th-sort-${index}`,
      handlers.rowClusterable,
      handlers.sort,
    );
    this.rowSelect = rows.select;
    const cols = handlers.colSort
      ? sortSelect("columns", `th-colsort-${index}`, handlers.colClusterable, handlers.colSort)
      : null;
    this.colSelect = cols?.select ?? null;

    const filter = document.createElement("input");
    filter.type = "search";
    filter.className = "th-filter";
    filter.placeholder = `filter ${rowNoun}…`;
    filter.setAttribute("aria-label", `filter ${rowNoun} by label`);
    filter.dataset.testid = `th-filter-${index}`;
    filter.addEventListener("input", () => handlers.filter(filter.value));

    this.count = document.createElement("span");
    this.count.className = "th-count";

    const zoom = document.createElement("div");
    zoom.className = "th-zoom";
    zoom.setAttribute("role", "group");
    zoom.setAttribute("aria-label", "zoom");
    this.zoomText = document.createElement("span");
    this.zoomText.className = "th-zoom-text";
    zoom.append(
      button("−", "zoom out", `th-zoom-out-${index}`, () => handlers.zoomBy(1 / 1.25)),
      this.zoomText,
      button("+", "zoom in", `th-zoom-in-${index}`, () => handlers.zoomBy(1.25)),
      button("fit", "fit the whole matrix", `th-zoom-fit-${index}`, () => handlers.fit()),
    );
    this.el.append(rows.el, ...(cols ? [cols.el] : []), filter, this.count);
    this.zoomEl = zoom;
  }

  /** Show the current orders (set from the spec, the widget state or a user's choice). */
  setModes(row: SortMode, col: SortMode): void {
    this.rowSelect.value = row;
    if (this.colSelect) this.colSelect.value = col;
  }

  setZoom(zoom: number): void {
    this.zoomText.textContent = `${Math.round(zoom * 100)}%`;
  }

  setCount(shown: number, total: number): void {
    this.count.textContent =
      shown === total
        ? `${groupDigits(total)} rows`
        : `${groupDigits(shown)} of ${groupDigits(total)} rows`;
  }
}
