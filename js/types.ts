// Decoded shapes of the `_spec` trait (see js/PROTOCOL.md) and of the selection.
// The raw trait holds DataViews (live widget) or {"$b64": ...} objects (HTML export);
// codec.ts turns either into the typed arrays below.

export type Palette = "viridis" | "magma" | "Blues" | "Greys" | "RdBu" | "RdYlGn";

export interface Corpus {
  vocab: string[];
  ids: Int32Array;
  offsets: Int32Array;
  names: string[] | null;
}

export interface Axis {
  labels: string[];
  kind: string;
  title: string;
  tokens: (string | null)[] | null;
  examples: Int32Array | null;
}

export interface CellText {
  vocab: string[];
  codes: Int32Array;
}

export interface Scale {
  palette: Palette;
  kind: "sequential" | "diverging";
  domain: [number, number];
  center: number | null;
  reverse: boolean;
}

export interface NumericColumn {
  name: string;
  values: Float32Array;
}

export interface LabelColumn {
  name: string;
  categories: string[];
  codes: Int32Array;
}

export interface Contexts {
  n: number;
  row: Int32Array;
  col: Int32Array;
  example: Int32Array;
  start: Int32Array;
  end: Int32Array;
  start2: Int32Array | null;
  end2: Int32Array | null;
  scoreStart: Int32Array | null;
  scoreEnd: Int32Array | null;
  scores: Float32Array | null;
  numeric: NumericColumn[];
  labels: LabelColumn[];
  /** The option that capped each cell's list, and its value (null: not capped, or unknown). */
  limit: { option: string; value: number } | null;
}

/** Orders the widget offers for rows and columns (see core/_display.py). */
export type Order = "original" | "label" | "mean" | "max" | "variance" | "count" | "cluster";

/** A contiguous span of rows or columns set apart and named (data indices, end excluded). */
export interface Group {
  label: string;
  start: number;
  end: number;
}

/** Reading defaults of a heatmap (Python: tokenheat.Display). */
export interface Display {
  rowOrder: Order;
  colOrder: Order;
  cellText: "auto" | "value" | "none";
  digits: number;
  minCount: number | null;
  markOutliers: boolean;
  rowGroups: Group[];
  colGroups: Group[];
}

export interface Matrix {
  title: string;
  valueLabel: string;
  nRows: number;
  nCols: number;
  values: Float32Array;
  rows: Axis;
  cols: Axis;
  cellText: CellText | null;
  counts: Float32Array | null;
  extras: NumericColumn[];
  scale: Scale;
  display: Display;
  corpus: number | null;
  contexts: Contexts | null;
}

export interface Spec {
  version: number;
  corpora: Corpus[];
  matrices: Matrix[];
  layout: { columns: number; cellSize: number };
}

/** The `selected` trait: data (not display) indices; every field may be null. */
export interface Selection {
  matrix: number | null;
  row: number | null;
  col: number | null;
  token: string | null;
  example: number | null;
}

export const EMPTY_SELECTION: Readonly<Selection> = Object.freeze({
  matrix: null,
  row: null,
  col: null,
  token: null,
  example: null,
});

/** The subset of the anywidget model that the front end uses. */
export interface WidgetModel {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  on(event: string, callback: (...args: unknown[]) => void): void;
  off(event?: string | null, callback?: ((...args: unknown[]) => void) | null): void;
  save_changes(): void;
  send?(content: unknown, callbacks?: unknown, buffers?: unknown): void;
}
