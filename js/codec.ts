// Binary leaves of `_spec` → typed arrays, and the whole raw spec → a checked `Spec`.
// A leaf is a DataView (ipywidgets; may sit at any byteOffset inside a larger buffer), an
// ArrayBuffer or typed array, or {"$b64": "..."} (HTML export). All data are little-endian.

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
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raised for a `_spec` that does not follow js/PROTOCOL.md; the message names the field. */
export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecError";
  }
}

type FromBase64 = (text: string) => Uint8Array;

/** The browser's native decoder (Chrome 140+, Firefox 133+, Safari 18.2+), if there is one. */
function nativeFromBase64(): FromBase64 | null {
  const fn = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  return typeof fn === "function" ? fn : null;
}

/** Decode standard base64 (RFC 4648, padding optional) into bytes. */
export function decodeBase64(text: string): Uint8Array {
  // Fast path: the native decoder (skips ASCII whitespace, accepts missing padding). Anything
  // it rejects (say "=" inside the text) goes to the checked decoder below, which accepts the
  // same inputs as before and names the problem.
  const native = nativeFromBase64();
  if (native) {
    try {
      return native.call(Uint8Array, text);
    } catch {
      // fall through
    }
  }
  const clean = text.replace(/[\s=]+/g, "");
  let bin: string;
  try {
    // atob itself rejects any character outside A-Z a-z 0-9 + / once whitespace and "=" are
    // gone, so the 5 MB string is not scanned a second time by a validating regex.
    bin = atob(clean + "===".slice((clean.length + 3) % 4));
  } catch (error) {
    if (/[^A-Za-z0-9+/]/.test(clean)) {
      throw new SpecError("base64 data holds characters outside A-Z a-z 0-9 + /");
    }
    throw error;
  }
  const n = bin.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function isB64(value: unknown): value is { $b64: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { $b64?: unknown }).$b64 === "string"
  );
}

/** Bytes of a binary leaf as a Uint8Array view (no copy), or null for null/undefined. */
export function leafBytes(value: unknown, field: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof DataView)
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isB64(value)) return decodeBase64(value.$b64);
  throw new SpecError(
    `${field}: expected binary data (DataView, ArrayBuffer or {"$b64": ...}), got ${describe(value)}`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value).slice(0, 40)}`;
}

type TypedCtor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

function viewAs<T>(
  bytes: Uint8Array,
  ctor: TypedCtor<T>,
  field: string,
  read: (dv: DataView, i: number) => number,
  make: (n: number) => T & { [i: number]: number },
): T {
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new SpecError(`${field}: ${bytes.byteLength} bytes is not a multiple of ${size}`);
  }
  const n = bytes.byteLength / size;
  if (LITTLE_ENDIAN) {
    if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, n);
    return new ctor(bytes.slice().buffer, 0, n); // misaligned: copy into a fresh buffer
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = make(n);
  for (let i = 0; i < n; i++) out[i] = read(dv, i * size);
  return out;
}

// Same shape as toInt32 below on purpose: one reader per typed array (getter and constructor).
/** A float32 leaf as a Float32Array (a view when aligned, else a copy). */
export function toFloat32(value: unknown, field: string): Float32Array | null {
  const bytes = leafBytes(value, field);
  if (bytes === null) return null;
  return viewAs(
    bytes,
    Float32Array,
    field,
    (dv, o) => dv.getFloat32(o, true),
    (n) => new Float32Array(n),
  );
}

// Same shape as toFloat32 above on purpose: one reader per typed array (getter and constructor).
/** An int32 leaf as an Int32Array (a view when aligned, else a copy). */
export function toInt32(value: unknown, field: string): Int32Array | null {
  const bytes = leafBytes(value, field);
  if (bytes === null) return null;
  return viewAs(
    bytes,
    Int32Array,
    field,
    (dv, o) => dv.getInt32(o, true),
    (n) => new Int32Array(n),
  );
}

function isJsonLeaf(value: unknown): value is { $json: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    "$json" in value &&
    Object.keys(value).length === 1
  );
}

const textDecoder = new TextDecoder("utf-8");

/**
 * Replace every {"$json": <bytes>} leaf by the value its UTF-8 JSON holds. Python sends each
 * string (or list of strings) that holds "<" this way, so the widget state a notebook stores
 * carries no "<" that an HTML parser could take for "<!--" or "<script>".
 */
export function reviveStrings(value: unknown, field = "_spec"): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reviveStrings(v, `${field}[${i}]`));
  if (value === null || typeof value !== "object") return value;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  if (isJsonLeaf(value)) {
    const bytes = leafBytes(value.$json, `${field}.$json`);
    if (bytes === null) throw new SpecError(`${field}: $json leaf without bytes`);
    try {
      return JSON.parse(textDecoder.decode(bytes));
    } catch {
      throw new SpecError(`${field}: $json leaf is not valid UTF-8 JSON`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = reviveStrings(v, `${field}.${k}`);
  return out;
}

/**
 * The selected token as the `selected` trait carries it: a token holding "<" travels as
 * {"$json": <bytes>} (like the spec's strings), so a notebook's saved widget state holds no
 * "<" from the data. `unshieldToken` reads either form.
 */
export function shieldToken(token: string | null): unknown {
  if (token === null || !token.includes("<")) return token;
  const bytes = new TextEncoder().encode(JSON.stringify(token));
  return { $json: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

export function unshieldToken(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (!isJsonLeaf(value)) return null;
  try {
    const out = reviveStrings(value, "selected.token");
    return typeof out === "string" ? out : null;
  } catch {
    return null;
  }
}

/** Replace every {"$b64"} leaf of a JSON value by a DataView (what ipywidgets would deliver). */
export function reviveBuffers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  if (isB64(value)) {
    const bytes = decodeBase64(value.$b64);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = reviveBuffers(v);
    return out;
  }
  return value;
}

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
