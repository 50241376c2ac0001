// A character split over several byte-level BPE tokens: each piece shows the bytes it holds.
// The answers are shared with the Python twin (tests/unit/test_byte_pieces.py): byte_pieces.json,
// whose pieces are SmolLM2's tokenizer's.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cellToken, displayToken, isByteLevel, pieceParts, runningTexts } from "../tokens";

interface Table {
  texts: { text: string; pieces: string[]; shown: string[]; shown_alone: string[] }[];
  cases: [string, boolean, string][];
}
const table: Table = JSON.parse(
  readFileSync(new URL("./byte_pieces.json", import.meta.url), "utf8"),
);

// GPT-2's byte map (bytes_to_unicode), built here from the published rule.
const CHAR_OF = new Map<number, string>();
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    CHAR_OF.set(b, String.fromCharCode(printable ? b : 256 + n++));
  }
}

function gpt2Pieces(text: string, cuts: number[]): string[] {
  const data = new TextEncoder().encode(text);
  const bounds = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < data.length), data.length];
  bounds.sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    out.push(Array.from(data.subarray(bounds[i], bounds[i + 1]), (b) => CHAR_OF.get(b)).join(""));
  }
  return out;
}

/** The bytes a shown piece stands for: "<0xHH>" marks are bytes, "␣" a space. */
function readBack(shown: string): number[] {
  const out: number[] = [];
  for (const [, mark, text] of shown.matchAll(/<0x([0-9A-F]{2})>|([^<]+|<)/g)) {
    if (mark) out.push(Number.parseInt(mark, 16));
    else out.push(...new TextEncoder().encode(text.replace(/␣/g, " ")));
  }
  return out;
}

describe("pieces of a split character", () => {
  it.each(table.cases)("%s (byteLevel %s) shows as %s", (token, byteLevel, shown) => {
    expect(displayToken(token, byteLevel)).toBe(shown);
  });

  it.each(table.texts)("SmolLM2's pieces of $text", ({ text, pieces, shown, shown_alone }) => {
    expect(isByteLevel(pieces)).toBe(true);
    expect(pieces.map((p) => displayToken(p, true))).toEqual(shown);
    expect(pieces.map((p) => displayToken(p))).toEqual(shown_alone);
    expect(shown.flatMap(readBack)).toEqual(Array.from(new TextEncoder().encode(text)));
    // The running text of the context panel still joins them into the characters.
    expect(runningTexts(pieces).join("")).toBe(text.replace(/\u200d/g, "·"));
  });

  it("keeps plain words as they are", () => {
    const words = ["à", "café", "£", "łąka", "naïve", "8 x 48 = 384", "Straße", "日本"];
    expect(isByteLevel(words)).toBe(false);
    expect(words.map((w) => displayToken(w))).toEqual(words);
    expect(isByteLevel(["the", "cat"])).toBe(false);
    expect(isByteLevel(["Ġthe", null, "¥"])).toBe(true);
  });

  it("splits a piece into the bytes before, the text and the bytes after", () => {
    const parts = pieceParts("¨Ġthe", true);
    expect(parts && [Array.from(parts.head), parts.text, Array.from(parts.tail)]).toEqual([
      [0xa8],
      " the",
      [],
    ]);
    expect(pieceParts("ç¤º", true)).toBeNull(); // complete: decoded whole
    expect(pieceParts("ç¤")).toBeNull(); // nothing remapped: could be plain Latin-1 text
    expect(cellToken("ĠðŁ", true)).toBe("<0xF0><0x9F>"); // a cell drops one leading ␣
  });

  it("reads back any cut of any text exactly (seeded property)", () => {
    let seed = 12;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = Array.from("ab Z9éß€示本の🙂Ω√ç¥ ");
    for (let trial = 0; trial < 400; trial++) {
      const len = 1 + Math.floor(rand() * 8);
      const text = Array.from(
        { length: len },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join("");
      const n = new TextEncoder().encode(text).length;
      const cuts = Array.from(
        { length: Math.floor(rand() * n) },
        () => 1 + Math.floor(rand() * (n - 1)),
      );
      const shown = gpt2Pieces(text, cuts).map((p) => displayToken(p, true));
      expect(shown.flatMap(readBack), JSON.stringify([text, shown])).toEqual(
        Array.from(new TextEncoder().encode(text)),
      );
    }
  });
});
