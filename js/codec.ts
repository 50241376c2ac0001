// The whole raw spec → a checked `Spec`: every field read through one checked accessor, each
// failure a SpecError naming the field. Binary leaves are read by leaves.ts.

import { describe, reviveStrings, SpecError, toFloat32, toInt32 } from "./leaves";
import { SORT_MODES } from "./order";
import type {
  Axis,
  CellText,
  Contexts,
  Corpus,
  Display,
  Group,
  LabelColumn,
  Matrix,
  NumericColumn,
  Order,
  Palette,
  Scale,
  Spec,
} from "./types";

const PALETTES: readonly Palette[] = ["viridis", "magma", "Blues", "Greys", "RdBu", "RdYlGn"];
/** The spec version this front end draws (`SPEC_VERSION` in src/tokenheat/core/_fields.py). */
export const SPEC_VERSION = 1;
// ---- checked field access -------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(value: unknown, field: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SpecError(`${field}: expected an object, got ${describe(value)}`);
  }
  return value as Obj;
}

function strings(value: unknown, field: string, allowNull = false): string[] {
  if (!Array.isArray(value))
    throw new SpecError(`${field}: expected a list of strings, got ${describe(value)}`);
  return value.map((v, i) => {
    if (typeof v === "string") return v;
    if (allowNull && v === null) return null as unknown as string;
    throw new SpecError(`${field}[${i}]: expected a string, got ${describe(v)}`);
  });
}

function str(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function int(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SpecError(`${field}: expected an integer, got ${describe(value)}`);
  }
  return value;
}

function need<T>(value: T | null, field: string, length?: number): T {
  if (value === null) throw new SpecError(`${field}: missing`);
  const len = (value as { length?: number }).length;
  if (length !== undefined && len !== length) {
    throw new SpecError(`${field}: expected ${length} values, got ${len}`);
  }
  return value;
}

function i32(value: unknown, field: string, length?: number): Int32Array {
  return need(toInt32(value, field), field, length);
}

function f32(value: unknown, field: string, length?: number): Float32Array {
  return need(toFloat32(value, field), field, length);
}

function optI32(value: unknown, field: string, length: number): Int32Array | null {
  const out = toInt32(value, field);
  return out === null ? null : need(out, field, length);
}

// ---- spec -----------------------------------------------------------------------------

function decodeCorpus(raw: unknown, field: string): Corpus {
  const o = obj(raw, field);
  const vocab = strings(o.vocab, `${field}.vocab`);
  const offsets = i32(o.offsets, `${field}.offsets`);
  const ids = i32(o.ids, `${field}.ids`);
  if (offsets.length < 1 || offsets[offsets.length - 1] !== ids.length) {
    throw new SpecError(`${field}.offsets: must end at len(ids) = ${ids.length}`);
  }
  const names = o.names == null ? null : strings(o.names, `${field}.names`);
  return { vocab, ids, offsets, names };
}

function decodeAxis(raw: unknown, field: string, n: number): Axis {
  const o = obj(raw, field);
  const labels = strings(o.labels, `${field}.labels`);
  if (labels.length !== n)
    throw new SpecError(`${field}.labels: expected ${n} labels, got ${labels.length}`);
  const tokens = o.tokens == null ? null : strings(o.tokens, `${field}.tokens`, true);
  if (tokens && tokens.length !== n)
    throw new SpecError(`${field}.tokens: expected ${n}, got ${tokens.length}`);
  const kind = str(o.kind, "row");
  return {
    labels,
    kind,
    title: str(o.title, kind),
    tokens,
    examples: optI32(o.examples, `${field}.examples`, n),
  };
}

function decodeScale(raw: unknown, field: string): Scale {
  const o = obj(raw, field);
  const palette = str(o.palette, "viridis") as Palette;
  if (!PALETTES.includes(palette)) {
    throw new SpecError(
      `${field}.palette: unknown palette ${JSON.stringify(o.palette)}; use one of ${PALETTES.join(", ")}`,
    );
  }
  const domain = Array.isArray(o.domain) ? o.domain.map(Number) : [0, 1];
  if (domain.length !== 2 || !domain.every(Number.isFinite)) {
    throw new SpecError(
      `${field}.domain: expected two finite numbers, got ${JSON.stringify(o.domain)}`,
    );
  }
  const kind = o.kind === "diverging" ? "diverging" : "sequential";
  const center = typeof o.center === "number" && Number.isFinite(o.center) ? o.center : null;
  return { palette, kind, domain: [domain[0], domain[1]], center, reverse: o.reverse === true };
}

function decodeGroups(raw: unknown, field: string, n: number): Group[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new SpecError(`${field}: expected a list, got ${describe(raw)}`);
  return raw.map((g, i) => {
    const o = obj(g, `${field}[${i}]`);
    const start = int(o.start, `${field}[${i}].start`);
    const end = int(o.end, `${field}[${i}].end`);
    if (!(start >= 0 && start < end && end <= n)) {
      throw new SpecError(`${field}[${i}]: span ${start}:${end} is not within 0:${n}`);
    }
    return { label: str(o.label), start, end };
  });
}

/** The matrix's reading defaults; a spec without them (older writers) gets the defaults. */
function decodeDisplay(raw: unknown, field: string, nRows: number, nCols: number): Display {
  const o = raw == null ? {} : obj(raw, field);
  const order = (v: unknown, name: string): Order => {
    if (v == null) return "original";
    if (!SORT_MODES.includes(v as Order)) {
      throw new SpecError(`${field}.${name}: unknown order ${JSON.stringify(v)}`);
    }
    return v as Order;
  };
  const cellText = o.cell_text === "value" || o.cell_text === "none" ? o.cell_text : "auto";
  const digits = typeof o.digits === "number" && o.digits >= 0 ? Math.min(6, o.digits | 0) : 2;
  const minCount =
    typeof o.min_count === "number" && Number.isFinite(o.min_count) ? o.min_count : null;
  return {
    rowOrder: order(o.row_order, "row_order"),
    colOrder: order(o.col_order, "col_order"),
    cellText,
    digits,
    minCount,
    markOutliers: o.mark_outliers === true,
    rowGroups: decodeGroups(o.row_groups, `${field}.row_groups`, nRows),
    colGroups: decodeGroups(o.col_groups, `${field}.col_groups`, nCols),
  };
}

function decodeNumeric(raw: unknown, field: string, n: number): NumericColumn[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new SpecError(`${field}: expected a list, got ${describe(raw)}`);
  return raw.map((c, i) => {
    const o = obj(c, `${field}[${i}]`);
    return { name: str(o.name, `#${i}`), values: f32(o.values, `${field}[${i}].values`, n) };
  });
}

function decodeLabelColumns(raw: unknown, field: string, n: number): LabelColumn[] {
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw new SpecError(`${field}: expected a list, got ${describe(raw)}`);
  return raw.map((c, i) => {
    const o = obj(c, `${field}[${i}]`);
    return {
      name: str(o.name, `#${i}`),
      categories: strings(o.categories, `${field}[${i}].categories`),
      codes: i32(o.codes, `${field}[${i}].codes`, n),
    };
  });
}

function decodeContexts(raw: unknown, field: string): Contexts | null {
  if (raw == null) return null;
  const o = obj(raw, field);
  const n = int(o.n, `${field}.n`);
  const scoreStart = optI32(o.score_start, `${field}.score_start`, n);
  const scoreEnd = optI32(o.score_end, `${field}.score_end`, n);
  const scores = toFloat32(o.scores, `${field}.scores`);
  if ((scoreStart === null) !== (scores === null) || (scoreEnd === null) !== (scores === null)) {
    throw new SpecError(`${field}: score_start, score_end and scores must be given together`);
  }
  if (scoreStart && scoreEnd && scores) {
    for (let k = 0; k < n; k++) {
      if (scoreStart[k] < 0 || scoreEnd[k] < scoreStart[k] || scoreEnd[k] > scores.length) {
        throw new SpecError(`${field}: score range ${k} falls outside scores (${scores.length})`);
      }
    }
  }
  return {
    n,
    row: i32(o.row, `${field}.row`, n),
    col: i32(o.col, `${field}.col`, n),
    example: i32(o.example, `${field}.example`, n),
    start: i32(o.start, `${field}.start`, n),
    end: i32(o.end, `${field}.end`, n),
    start2: optI32(o.start2, `${field}.start2`, n),
    end2: optI32(o.end2, `${field}.end2`, n),
    scoreStart,
    scoreEnd,
    scores,
    numeric: decodeNumeric(o.numeric, `${field}.numeric`, n),
    labels: decodeLabelColumns(o.labels, `${field}.labels`, n),
    limit: decodeLimit(o.limit),
  };
}

/** `{"option": str, "value": int}` or null (absent in older specs). */
function decodeLimit(raw: unknown): Contexts["limit"] {
  if (raw == null || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  if (typeof o.option !== "string" || typeof o.value !== "number") return null;
  return { option: o.option, value: o.value };
}

function decodeMatrix(raw: unknown, field: string, nCorpora: number): Matrix {
  const o = obj(raw, field);
  const shape = Array.isArray(o.shape) ? o.shape : [];
  if (shape.length !== 2)
    throw new SpecError(`${field}.shape: expected [rows, cols], got ${JSON.stringify(o.shape)}`);
  const nRows = int(shape[0], `${field}.shape[0]`);
  const nCols = int(shape[1], `${field}.shape[1]`);
  const size = nRows * nCols;
  let cellText: CellText | null = null;
  if (o.cell_text != null) {
    const ct = obj(o.cell_text, `${field}.cell_text`);
    cellText = {
      vocab: strings(ct.vocab, `${field}.cell_text.vocab`),
      codes: i32(ct.codes, `${field}.cell_text.codes`, size),
    };
  }
  const corpus = o.corpus == null ? null : int(o.corpus, `${field}.corpus`);
  if (corpus !== null && (corpus < 0 || corpus >= nCorpora)) {
    throw new SpecError(`${field}.corpus: ${corpus} is not an index into ${nCorpora} corpora`);
  }
  const contexts = decodeContexts(o.contexts, `${field}.contexts`);
  if (contexts && corpus === null) throw new SpecError(`${field}.contexts: given without a corpus`);
  return {
    title: str(o.title),
    valueLabel: str(o.value_label, "value"),
    nRows,
    nCols,
    values: f32(o.values, `${field}.values`, size),
    rows: decodeAxis(o.rows, `${field}.rows`, nRows),
    cols: decodeAxis(o.cols, `${field}.cols`, nCols),
    cellText,
    counts: o.counts == null ? null : f32(o.counts, `${field}.counts`, size),
    extras: decodeNumeric(o.extras, `${field}.extras`, size),
    scale: decodeScale(o.scale ?? {}, `${field}.scale`),
    display: decodeDisplay(o.display, `${field}.display`, nRows, nCols),
    corpus,
    contexts,
  };
}

/** Check and decode the raw `_spec` trait (DataView or {"$b64"} leaves) into a `Spec`. */
export function decodeSpec(raw: unknown): Spec {
  const o = obj(reviveStrings(obj(raw, "_spec")), "_spec");
  if (o.version !== SPEC_VERSION) {
    throw new SpecError(
      `_spec.version: this tokenheat front end draws spec version ${SPEC_VERSION}, got ` +
        `${JSON.stringify(o.version) ?? "none"}; the Python package and the page's bundle ` +
        "come from different tokenheat versions (reinstall tokenheat and re-run the cell)",
    );
  }
  const corpora = (Array.isArray(o.corpora) ? o.corpora : []).map((c, i) =>
    decodeCorpus(c, `corpora[${i}]`),
  );
  if (!Array.isArray(o.matrices))
    throw new SpecError(`_spec.matrices: expected a list, got ${describe(o.matrices)}`);
  const matrices = o.matrices.map((m, i) => decodeMatrix(m, `matrices[${i}]`, corpora.length));
  const layout = typeof o.layout === "object" && o.layout !== null ? (o.layout as Obj) : {};
  const columns =
    typeof layout.columns === "number" && layout.columns >= 1 ? Math.floor(layout.columns) : 1;
  const cellSize =
    typeof layout.cell_size === "number" && layout.cell_size >= 2 ? layout.cell_size : 14;
  return {
    version: SPEC_VERSION,
    corpora,
    matrices,
    layout: { columns, cellSize },
  };
}
