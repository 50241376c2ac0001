// The widest row and column label of one heatmap, measured once per font and theme.

import { labelFont } from "./labels";
import type { Theme } from "./theme";

export class LabelWidths {
  /** Label widths by axis and font, for `theme`. */
  private readonly widths = new Map<string, number>();
  private theme: Theme | null = null;
  private readonly sameLabels: boolean;

  constructor(
    private readonly rows: readonly string[],
    private readonly cols: readonly string[],
    private readonly measure: (labels: readonly string[], font: string) => number,
  ) {
    this.sameLabels = rows.length === cols.length && rows.every((label, i) => label === cols[i]);
  }

  /**
   * Widest row or column label in `family`, bold (hovered and selected labels are bold and
   * must fit too). Measured once per font and theme, not on every zoom: a million-cell matrix
   * has a thousand labels on each axis (the same thousand, often, which are then measured
   * once). While the page is still loading fonts, every call measures again, as widths may
   * change.
   */
  get(axis: "row" | "col", theme: Theme, family: string): number {
    const loading = typeof document !== "undefined" && document.fonts?.status === "loading";
    if (theme !== this.theme || loading) {
      this.widths.clear();
      this.theme = theme;
    }
    const labels = axis === "row" || this.sameLabels ? this.rows : this.cols;
    const font = labelFont(theme.fontSize, family, true);
    const key = `${labels === this.rows ? "row" : "col"}\n${font}`;
    let width = this.widths.get(key);
    if (width === undefined) {
      width = this.measure(labels, font);
      this.widths.set(key, width);
    }
    return width;
  }
}
