// Token strings as people should see them. Tokens are the model's raw strings: byte-level BPE
// ("Ġthe", "Ċ", "âĢĻ"), SentencePiece ("▁the") or plain text. Linking always compares the raw
// strings; these functions only change what is drawn. The results are plain text for
// `textContent` / `fillText`, never HTML.

const SPACE = "␣";
const NEWLINE = "⏎";
const TAB = "⇥";

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards.
const BYTE_OF = new Map<number, number>();
{
  const printable = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) printable.add(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.add(b);
  for (let b = 0xae; b <= 0xff; b++) printable.add(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.has(b)) BYTE_OF.set(b, b);
    else BYTE_OF.set(256 + n++, b);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM): drawn as "·". */
const ZERO_WIDTH = new Set([0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]);
/** Bidi controls (marks, embeddings, overrides, isolates): drawn as "⇄", never obeyed. */
const BIDI = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);
/** The marks drawn for invisible characters (the same in src/tokenheat/core/_tokens.py). */
export const ZERO_WIDTH_MARK = "·";
export const BIDI_MARK = "⇄";

/**
 * `text` wrapped in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE, so a label of either
 * direction (or holding bidi controls) cannot reorder the text around it.
 */
export function isolate(text: string): string {
  return `\u2068${text}\u2069`;
}

/**
 * Decode a byte-level BPE token ("Ġthe" → " the", "âĢĻ" → "’", "ç¤º" → "示"), or return null
 * when the string is not one: plain ASCII, a character outside the byte alphabet, or bytes that
 * are not complete UTF-8 (so "café" and "naïve" stay as they are).
 */
export function decodeByteLevel(token: string): string | null {
  const bytes = byteLevelBytes(token);
  if (bytes === null) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The bytes a byte-level BPE token stands for, or null when it is not one (a character
 * outside the byte alphabet, or nothing but ASCII, which reads as it is).
 */
function byteLevelBytes(token: string): Uint8Array | null {
  let remapped = false;
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const b = BYTE_OF.get(code);
    if (b === undefined) return null;
    if (code >= 256 || b >= 0x80) remapped = true;
    bytes[i] = b;
  }
  return remapped ? bytes : null;
}

/**
 * Whether `tokens` read as one byte-level vocabulary: every character of every token is in the
 * byte alphabet and some token holds a remapped byte ("Ġ", "Ċ", "Ĺ": U+0100 to U+0143). Plain
 * words fail it (a space, or nearly any letter beyond Latin-1, is outside the alphabet). The
 * twin of `is_byte_level` in src/tokenheat/core/_tokens.py.
 */
export function isByteLevel(tokens: Iterable<string | null>): boolean {
  let remapped = false;
  for (const token of tokens) {
    if (token === null) continue;
    for (let i = 0; i < token.length; i++) {
      const code = token.charCodeAt(i);
      if (!BYTE_OF.has(code)) return false;
      if (code >= 0x100) remapped = true;
    }
  }
  return remapped;
}

const byteLevelOf = new WeakMap<readonly (string | null)[], boolean>();

/** `isByteLevel(tokens)`, computed once per array (axis labels, a cell-text vocabulary). */
export function isByteLevelCached(tokens: readonly (string | null)[]): boolean {
  let known = byteLevelOf.get(tokens);
  if (known === undefined) {
    known = isByteLevel(tokens);
    byteLevelOf.set(tokens, known);
  }
  return known;
}

/** A byte-level piece that holds part of a character, split (see `pieceParts`). */
export interface PieceParts {
  /** The last bytes of a character begun in an earlier token (continuation bytes, at most 3). */
  head: Uint8Array;
  /** The complete characters. */
  text: string;
  /** The first bytes of a character finished in a later token. */
  tail: Uint8Array;
}

/**
 * Split a byte-level piece that holds part of a character ("ç¤" of "示": tail E7 A4), or
 * return null when `token` is not one: complete UTF-8, not byte-level, bytes that no UTF-8
 * text holds, or (unless `byteLevel`) no remapped byte (U+0100 to U+0143) to show that the
 * string is byte-level at all, so plain "à" or "café" stays as it is. The twin of
 * `piece_parts` in src/tokenheat/core/_tokens.py.
 */
export function pieceParts(token: string, byteLevel = false): PieceParts | null {
  const bytes = byteLevelBytes(token);
  if (bytes === null || decodeByteLevel(token) !== null) return null;
  return splitPiece(token, bytes, byteLevel);
}

/** `pieceParts` of `token` whose bytes (`bytes`) are known not to be complete UTF-8. */
function splitPiece(token: string, bytes: Uint8Array, byteLevel: boolean): PieceParts | null {
  if (!byteLevel && !/[\u0100-\u0143]/.test(token)) return null;
  let lead = 0;
  while (lead < bytes.length && lead < 3 && bytes[lead] >= 0x80 && bytes[lead] <= 0xbf) lead++;
  const rest = bytes.subarray(lead);
  let text: string;
  try {
    // Streaming: the complete characters come out, a cut-off last one stays buffered.
    text = new TextDecoder("utf-8", { fatal: true }).decode(rest, { stream: true });
  } catch {
    return null;
  }
  // Control bytes inside are no text a byte-level tokenizer splits this way: plain text such
  // as "łąka" (whose letters fall in the byte alphabet) stays plain.
  if (hasControl(text)) return null;
  const used = encoder.encode(text).length;
  return { head: bytes.slice(0, lead), text, tail: rest.slice(used) };
}

/** Whether `text` holds a control character other than tab, newline and carriage return. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

function hexBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
  return out;
}

/** The token's text: byte-level BPE decoded, SentencePiece's "▁" turned into a space. */
export function tokenText(token: string): string {
  const decoded = decodeByteLevel(token);
  return decoded !== null ? decoded : plainText(token);
}

/** A token that is no byte-level UTF-8: SentencePiece's "▁" and a stray "Ġ" as spaces. */
function plainText(token: string): string {
  return token.replace(/▁/g, " ").replace(/Ġ/g, " ").replace(/Ċ/g, "\n").replace(/ĉ/g, "\t");
}

function visibleControls(text: string, spaces: boolean): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === " ") out += spaces ? SPACE : " ";
    else if (ch === "\n") out += NEWLINE;
    else if (ch === "\r") out += "↵";
    else if (ch === "\t") out += TAB;
    else if (code < 0x20) out += String.fromCodePoint(0x2400 + code);
    else if (code === 0x7f) out += "␡";
    else if (ZERO_WIDTH.has(code)) out += ZERO_WIDTH_MARK;
    else if (BIDI.has(code)) out += BIDI_MARK;
    else out += ch;
  }
  return out;
}

/**
 * A token for a label, tooltip or highlight: leading and trailing spaces, newlines and tabs
 * made visible ("Ġthe" → "␣the", "Ċ" → "⏎"); spaces inside the token stay spaces. A
 * byte-level piece holding part of a character shows those bytes: "æĹ" → "<0xE6><0x97>".
 * `byteLevel`: the token is known to come from a byte-level vocabulary (`isByteLevel` of its
 * axis or cell-text vocabulary), so a piece of Latin-1 letters only ("¥", byte 0xA5) is read
 * as bytes too.
 */
export function displayToken(token: string, byteLevel = false): string {
  if (token === "") return "∅";
  const bytes = byteLevelBytes(token);
  if (bytes !== null) {
    try {
      return shownText(utf8.decode(bytes));
    } catch {
      const parts = splitPiece(token, bytes, byteLevel);
      if (parts !== null)
        return hexBytes(parts.head) + shownText(parts.text) + hexBytes(parts.tail);
    }
  }
  return shownText(plainText(token));
}

/** `text` with spaces marked at its ends only, other invisible characters marked throughout. */
function shownText(text: string): string {
  const lead = text.length - text.trimStart().length;
  const core = text.trim();
  const trail = text.length - lead - core.length;
  return (
    visibleControls(text.slice(0, lead), true) +
    visibleControls(core, false) +
    visibleControls(text.slice(text.length - trail), true)
  );
}

/**
 * A token drawn inside a heatmap cell, where room is short: as `displayToken`, but without the
 * marker of a single leading space ("Ġthe" → "the"; the tooltip shows the exact token).
 */
export function cellToken(token: string, byteLevel = false): string {
  const shown = displayToken(token, byteLevel);
  return shown.length > 1 && shown.startsWith(SPACE) && shown[1] !== SPACE ? shown.slice(1) : shown;
}

/** A token inside running context text: spaces stay spaces, newlines and tabs show as ⏎ ⇥. */
export function contextToken(token: string): string {
  return visibleControls(tokenText(token), false);
}

/** Most tokens one character's UTF-8 bytes can be split over (4 bytes). */
const MAX_PIECES = 4;

/**
 * Running text for a sequence of tokens, one string per token, as `contextToken` shows them,
 * except where a character's bytes are split over several byte-level tokens ("ç¤" + "º" for
 * "示"): the first of those tokens shows the whole character and the others show "".
 */
export function runningTexts(tokens: readonly string[]): string[] {
  const out = tokens.map(contextToken);
  for (let i = 0; i < tokens.length; i++) {
    const first = byteLevelBytes(tokens[i]);
    if (first === null || decodeByteLevel(tokens[i]) !== null) continue;
    let bytes = first;
    for (let j = i + 1; j < Math.min(tokens.length, i + MAX_PIECES); j++) {
      // The rest of a split character are bytes 0x80-0xBF: byte-level tokens themselves.
      const next = byteLevelBytes(tokens[j]);
      if (next === null) break;
      const joined = new Uint8Array(bytes.length + next.length);
      joined.set(bytes);
      joined.set(next, bytes.length);
      bytes = joined;
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        continue;
      }
      out[i] = visibleControls(text, false);
      for (let k = i + 1; k <= j; k++) out[k] = "";
      i = j;
      break;
    }
  }
  return out;
}

/**
 * The key under which tokens link across heatmaps: the token's text without surrounding
 * whitespace, lower-cased, with punctuation stripped at both ends — the same words the Python
 * side's word units use (`normalize_word`), so a word-level flip-rate row "sadly" links with
 * the BPE token "Ġsadly" and with "Sadly,". A token that is only punctuation or whitespace
 * keeps its trimmed (or, if empty, raw) text, so "," links only with ",".
 */
export function linkKey(token: string): string {
  const text = tokenText(token).trim().toLowerCase();
  const core = text.replace(/^\p{P}+|\p{P}+$/gu, "");
  if (core !== "") return core;
  return text !== "" ? text : token;
}

/** Shorten `text` to at most `max` characters (code points), ending with "…" when cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join("")}…`;
}
