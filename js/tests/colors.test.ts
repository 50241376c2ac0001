import { describe, expect, it } from "vitest";
import {
  colorOf,
  fillCells,
  luminance,
  paletteTable,
  rgbHex,
  scaleIndex,
  scalePosition,
} from "../colors";
import type { Scale } from "../types";

const seq = (palette: Scale["palette"], domain: [number, number], reverse = false): Scale => ({
  palette,
  kind: "sequential",
  domain,
  center: null,
  reverse,
});
const div = (domain: [number, number], center: number): Scale => ({
  palette: "RdBu",
  kind: "diverging",
  domain,
  center,
  reverse: false,
});
const MISSING = [1, 2, 3] as const;

describe("lookup tables", () => {
  it("have 256 colours with the known endpoints", () => {
    for (const p of ["viridis", "magma", "Blues", "Greys", "RdBu", "RdYlGn"] as const)
      expect(paletteTable(p).length).toBe(768);
    expect(rgbHex(colorOf(seq("viridis", [0, 1]), 0, MISSING))).toBe("#440154");
    expect(rgbHex(colorOf(seq("viridis", [0, 1]), 1, MISSING))).toBe("#fde725");
    expect(rgbHex(colorOf(seq("magma", [0, 1]), 0, MISSING))).toBe("#000004");
    expect(rgbHex(colorOf(seq("Greys", [0, 1]), 0, MISSING))).toBe("#ffffff");
    expect(rgbHex(colorOf(seq("Greys", [0, 1]), 1, MISSING))).toBe("#000000");
  });

  it("rejects an unknown palette", () => {
    expect(() => paletteTable("jet" as Scale["palette"])).toThrow(/unknown palette/);
  });
});

describe("value → colour", () => {
  it("maps a sequential domain linearly and clamps outside it", () => {
    const s = seq("viridis", [10, 20]);
    expect(scaleIndex(s, 10)).toBe(0);
    expect(scaleIndex(s, 20)).toBe(255);
    expect(scaleIndex(s, 15)).toBe(128);
    expect(scaleIndex(s, -5)).toBe(0);
    expect(scaleIndex(s, 99)).toBe(255);
  });

  it("reverses", () => {
    expect(scaleIndex(seq("viridis", [0, 1], true), 0)).toBe(255);
  });

  it("centres a diverging scale on its centre, even for a lopsided domain", () => {
    const s = div([-1, 3], 0);
    expect(scalePosition(s, 0)).toBe(0.5);
    expect(scalePosition(s, -1)).toBe(0);
    expect(scalePosition(s, 3)).toBe(1);
    expect(scalePosition(s, -0.5)).toBe(0.25);
    expect(scalePosition(s, 1.5)).toBe(0.75);
    const mid = colorOf(s, 0, MISSING);
    // RdBu's middle is a near-white neutral.
    expect(Math.min(...mid)).toBeGreaterThan(230);
  });

  it("gives NaN the missing colour and -1 index", () => {
    expect(scaleIndex(seq("viridis", [0, 1]), Number.NaN)).toBe(-1);
    expect(colorOf(seq("viridis", [0, 1]), Number.NaN, MISSING)).toEqual(MISSING);
  });

  it("handles a zero-width domain", () => {
    expect(scalePosition(seq("viridis", [2, 2]), 2)).toBe(0.5);
  });
});

describe("fillCells", () => {
  it("writes one RGBA pixel per cell in display order", () => {
    const values = new Float32Array([0, 1, Number.NaN, 0.5]);
    const out = new Uint8ClampedArray(16);
    fillCells(out, values, 2, new Int32Array([1, 0]), 0, 2, seq("Greys", [0, 1]), MISSING);
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 2, 3, 255]); // data row 1 first: NaN
    expect(Array.from(out.subarray(8, 12))).toEqual([255, 255, 255, 255]); // value 0 in Greys
    expect(Array.from(out.subarray(12, 16))).toEqual([0, 0, 0, 255]);
  });

  const scales: Scale[] = [
    seq("viridis", [0, 1]),
    seq("magma", [-3, 7], true),
    seq("Blues", [2, 2]),
    seq("Greys", [5, -5]),
    seq("viridis", [1e-7, 3e-7]),
    div([-1, 3], 0),
    div([-1, 1], 0),
    div([0, 1], 0),
    div([-2, 0], 0),
    div([0, 10], 12),
    { ...div([-4, 4], 0.5), reverse: true },
    { ...div([-1, 1], 0), center: null },
    { ...div([3, 3], 3), palette: "RdYlGn" },
  ];

  /** Values that hit every colour boundary exactly, plus random, edge and odd values. */
  function probes(s: Scale): Float32Array {
    const [lo, hi] = s.domain;
    const c = s.center ?? (lo + hi) / 2;
    const out: number[] = [lo, hi, c, 0, -0, Number.NaN, Infinity, -Infinity, 1e30, -1e30];
    for (let k = 0; k <= 510; k++) {
      out.push(lo + ((hi - lo) * k) / 510, lo + ((c - lo) * k) / 255, c + ((hi - c) * k) / 255);
    }
    let seed = 7;
    for (let k = 0; k < 4000; k++) {
      seed = (seed * 16807) % 2147483647;
      out.push(lo - (hi - lo) + 3 * (hi - lo) * (seed / 2147483647));
    }
    // each float32 just around a boundary, too
    const f = new Float32Array(out);
    const bits = new Int32Array(f.buffer);
    const near = new Float32Array(f.length * 3);
    const nearBits = new Int32Array(near.buffer);
    for (let i = 0; i < f.length; i++) {
      nearBits[i * 3] = bits[i];
      nearBits[i * 3 + 1] = bits[i] + 1;
      nearBits[i * 3 + 2] = bits[i] - 1;
    }
    return near;
  }

  it("gives every cell exactly colorOf's colour, for sequential and diverging scales", () => {
    for (const s of scales) {
      const values = probes(s);
      const nCols = 7;
      const nRows = Math.floor(values.length / nCols);
      const order = new Int32Array(nRows).map((_, r) => nRows - 1 - r);
      const out = new Uint8ClampedArray(nRows * nCols * 4);
      fillCells(out, values, nCols, order, 0, nRows, s, MISSING);
      let p = 0;
      for (let r = 0; r < nRows; r++) {
        for (let c = 0; c < nCols; c++) {
          const v = values[order[r] * nCols + c];
          const want = [...colorOf(s, v, MISSING), 255];
          const got = Array.from(out.subarray(p, p + 4));
          if (got.join() !== want.join()) expect({ s, v, got }).toEqual({ s, v, got: want });
          p += 4;
        }
      }
    }
  });

  it("fills a part of the rows into a buffer at any byte offset", () => {
    const s = div([-1, 1], 0);
    const values = new Float32Array([-1, -0.5, 0, 0.5, 1, Number.NaN]);
    const order = new Int32Array([2, 0, 1]);
    const expected = new Uint8ClampedArray(8);
    fillCells(expected, values, 2, order, 1, 2, s, MISSING);
    expect(Array.from(expected)).toEqual([
      ...colorOf(s, -1, MISSING),
      255,
      ...colorOf(s, -0.5, MISSING),
      255,
    ]);
    const shared = new Uint8ClampedArray(16).fill(9);
    const odd = shared.subarray(3, 11);
    fillCells(odd, values, 2, order, 1, 2, s, MISSING);
    expect(Array.from(odd)).toEqual(Array.from(expected));
    expect(Array.from(shared.subarray(0, 3))).toEqual([9, 9, 9]);
    expect(Array.from(shared.subarray(11))).toEqual([9, 9, 9, 9, 9]);
  });
});

it("luminance orders black < grey < white", () => {
  expect(luminance([0, 0, 0])).toBe(0);
  expect(luminance([128, 128, 128])).toBeGreaterThan(0.2);
  expect(luminance([255, 255, 255])).toBeCloseTo(1);
});
