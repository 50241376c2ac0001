// Binary leaves of `_spec` → typed arrays, and the string and token leaves Python shields.
// A leaf is a DataView (ipywidgets; may sit at any byteOffset inside a larger buffer), an
// ArrayBuffer or typed array, or {"$b64": "..."} (HTML export). All data are little-endian.

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

/** A short description of a raw value for a SpecError message. */
export function describe(value: unknown): string {
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
