// The toolbar above each heatmap: sort rows and filter row labels (`el`), and zoom out / in /
// fit (`zoomEl`, which the heatmap puts beside its title).

import { groupDigits } from "./format";
import { SORT_MODES, type SortMode } from "./order";

export interface ControlHandlers {
  sort(mode: SortMode): void;
  filter(text: string): void;
  zoomBy(factor: number): void;
  fit(): void;
}

const SORT_TEXT: Record<SortMode, string> = {
  original: "original order",
  label: "label",
  mean: "mean (high first)",
  max: "max (high first)",
};

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

  constructor(index: number, rowNoun: string, handlers: ControlHandlers) {
    this.el = document.createElement("div");
    this.el.className = "th-controls";

    const sortLabel = document.createElement("label");
    sortLabel.className = "th-control";
    const sortText = document.createElement("span");
    sortText.textContent = "sort";
    const select = document.createElement("select");
    select.dataset.testid = `th-sort-${index}`;
    for (const mode of SORT_MODES) {
      const option = document.createElement("option");
      option.value = mode;
      option.textContent = SORT_TEXT[mode];
      select.appendChild(option);
    }
    select.addEventListener("change", () => handlers.sort(select.value as SortMode));
    sortLabel.append(sortText, select);

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
    this.el.append(sortLabel, filter, this.count);
    this.zoomEl = zoom;
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
