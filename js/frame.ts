/** What one paint of a heatmap needs: the frame (matrix, viewport, labels as shown) and the
 * marks (linked token, example, selection, hover). Shared by draw.ts and labels.ts. */
import type { Viewport } from "./layout";
import type { TokenMarks } from "./link";
import type { Theme } from "./theme";
import type { Matrix } from "./types";

export interface Frame {
  m: Matrix;
  theme: Theme;
  v: Viewport;
  /** Canvas position (CSS px) of the viewport's top-left corner. */
  ox: number;
  oy: number;
  order: Int32Array;
  inv: Int32Array;
  rowShown: readonly string[];
  colShown: readonly string[];
  cellShown: readonly string[] | null;
  /** Cells drawn faded (n below the display's minCount), by cell index of `m`; null: none. */
  thin: Uint8Array | null;
  rowFont: string;
  colFont: string;
  colRotated: boolean;
  /** Left edge of the row-group band, top edge of the column-group band (canvas CSS px). */
  bandX: number;
  bandY: number;
  /** Size of the whole plot (canvas CSS px). */
  width: number;
  height: number;
}

export interface Marks {
  token: TokenMarks | null;
  example: { rows: Uint8Array; cols: Uint8Array } | null;
  /** Selected data row / col of this matrix (either may be null). */
  row: number | null;
  col: number | null;
  /** Hovered display cell. */
  hover: { row: number; col: number } | null;
}
