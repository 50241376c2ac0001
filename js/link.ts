// One selection per widget, shared by every heatmap and the context panel (PROTOCOL.md,
// "Linking rules"). The bus holds the selection and tells subscribers; the rules that turn a
// click into a selection, and a selection into highlighted cells, are plain functions.

import { unshieldToken } from "./leaves";
import { linkKey } from "./tokens";
import type { Axis, Matrix, Selection, Spec } from "./types";
import { EMPTY_SELECTION } from "./types";

export type SelectionListener = (selection: Selection, source: string) => void;

export class SelectionBus {
  private current: Selection = { ...EMPTY_SELECTION };
  private readonly listeners = new Set<SelectionListener>();

  get(): Selection {
    return { ...this.current };
  }

  /** Replace the selection; listeners are told unless nothing changed. */
  set(next: Selection, source: string): void {
    if (sameSelection(next, this.current)) return;
    this.current = { ...next };
    for (const listener of [...this.listeners]) listener(this.get(), source);
  }

  /** Change some fields of the selection, keep the others. */
  update(patch: Partial<Selection>, source: string): void {
    this.set({ ...this.current, ...patch }, source);
  }

  subscribe(listener: SelectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function sameSelection(a: Selection, b: Selection): boolean {
  return (
    a.matrix === b.matrix &&
    a.row === b.row &&
    a.col === b.col &&
    a.token === b.token &&
    a.example === b.example
  );
}

/** Token carried by item `i` of an axis (its `tokens`, or its label on a `token` axis), or null. */
export function axisToken(axis: Axis, i: number): string | null {
  if (axis.tokens) return axis.tokens[i] ?? null;
  return axis.kind === "token" ? (axis.labels[i] ?? null) : null;
}

export function axisCarriesTokens(axis: Axis): boolean {
  return axis.tokens !== null || axis.kind === "token";
}

/** Corpus example of item `i` of an `example` axis, or null. */
export function axisExample(axis: Axis, i: number): number | null {
  if (axis.kind !== "example" || !axis.examples) return null;
  const e = axis.examples[i];
  return e >= 0 ? e : null;
}

/** Cell text of (row, col), or null. */
export function cellTextOf(m: Matrix, row: number, col: number): string | null {
  if (!m.cellText) return null;
  const code = m.cellText.codes[row * m.nCols + col];
  return code >= 0 ? (m.cellText.vocab[code] ?? null) : null;
}

/** The selection made by clicking cell (row, col) of matrix `mi`. */
export function cellSelection(spec: Spec, mi: number, row: number, col: number): Selection {
  const m = spec.matrices[mi];
  let token: string | null = null;
  if (axisCarriesTokens(m.rows)) token = axisToken(m.rows, row);
  else if (axisCarriesTokens(m.cols)) token = axisToken(m.cols, col);
  else token = cellTextOf(m, row, col);
  const example = axisExample(m.rows, row) ?? axisExample(m.cols, col);
  return { matrix: mi, row, col, token, example };
}

/** The selection made by clicking a row (axis "rows") or column label of matrix `mi`. */
export function labelSelection(
  spec: Spec,
  mi: number,
  axis: "rows" | "cols",
  i: number,
): Selection {
  const a = spec.matrices[mi][axis];
  return {
    matrix: mi,
    row: axis === "rows" ? i : null,
    col: axis === "cols" ? i : null,
    token: axisToken(a, i),
    example: axisExample(a, i),
  };
}

/** The selection made by clicking what `hit` names (data row indices) in matrix `mi`. */
export function hitSelection(
  spec: Spec,
  mi: number,
  hit: { kind: "cell" | "rowLabel" | "colLabel"; row?: number; col?: number },
): Selection {
  if (hit.kind === "cell") return cellSelection(spec, mi, hit.row ?? 0, hit.col ?? 0);
  if (hit.kind === "rowLabel") return labelSelection(spec, mi, "rows", hit.row ?? 0);
  return labelSelection(spec, mi, "cols", hit.col ?? 0);
}

function index(value: unknown, n: number): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < n
    ? value
    : null;
}

/** A selection from Python (`selected` trait), with out-of-range or malformed fields set to null. */
export function normalizeSelection(raw: unknown, spec: Spec): Selection {
  if (typeof raw !== "object" || raw === null) return { ...EMPTY_SELECTION };
  const o = raw as Record<string, unknown>;
  const matrix = index(o.matrix, spec.matrices.length);
  const m = matrix === null ? null : spec.matrices[matrix];
  return {
    matrix,
    row: m ? index(o.row, m.nRows) : null,
    col: m ? index(o.col, m.nCols) : null,
    token: unshieldToken(o.token),
    example:
      typeof o.example === "number" && Number.isInteger(o.example) && o.example >= 0
        ? o.example
        : null,
  };
}

/** What a token selection outlines in one matrix. */
export interface TokenMarks {
  rows: Uint8Array;
  cols: Uint8Array;
  /** Flat indices r * nCols + c of cells whose cell text is the token. */
  cells: Int32Array;
  count: number;
}

function axisMask(axis: Axis, n: number, key: string): Uint8Array {
  const mask = new Uint8Array(n);
  if (!axisCarriesTokens(axis)) return mask;
  for (let i = 0; i < n; i++) {
    const t = axisToken(axis, i);
    if (t !== null && linkKey(t) === key) mask[i] = 1;
  }
  return mask;
}

/**
 * Rows, columns and cells of `m` that carry `token`, compared by `linkKey` (PROTOCOL.md
 * linking rules): "Ġthe", "the" and "The," mark each other.
 */
export function tokenMarks(m: Matrix, token: string): TokenMarks {
  const key = linkKey(token);
  const rows = axisMask(m.rows, m.nRows, key);
  const cols = axisMask(m.cols, m.nCols, key);
  let cells = new Int32Array(0);
  if (m.cellText) {
    const hit = new Uint8Array(m.cellText.vocab.length);
    let any = false;
    m.cellText.vocab.forEach((v, code) => {
      if (linkKey(v) === key) {
        hit[code] = 1;
        any = true;
      }
    });
    if (any) {
      const found: number[] = [];
      const codes = m.cellText.codes;
      for (let i = 0; i < codes.length; i++) if (codes[i] >= 0 && hit[codes[i]]) found.push(i);
      cells = Int32Array.from(found);
    }
  }
  let count = cells.length;
  for (const v of rows) count += v;
  for (const v of cols) count += v;
  return { rows, cols, cells, count };
}

/** Rows and columns of `m` on `example` axes that show example `e`. */
export function exampleMarks(m: Matrix, e: number): { rows: Uint8Array; cols: Uint8Array } {
  const mark = (axis: Axis, n: number) => {
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (axisExample(axis, i) === e) mask[i] = 1;
    return mask;
  };
  return { rows: mark(m.rows, m.nRows), cols: mark(m.cols, m.nCols) };
}

/** Indices where a 0/1 mask is set. */
export function maskIndices(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}
