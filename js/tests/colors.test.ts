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
});

it("luminance orders black < grey < white", () => {
  expect(luminance([0, 0, 0])).toBe(0);
  expect(luminance([128, 128, 128])).toBeGreaterThan(0.2);
  expect(luminance([255, 255, 255])).toBeCloseTo(1);
});
