import { describe, expect, it } from "vitest";
import { MAX_SPACER_PX, spacerGeometry } from "../contextPieces";
import {
  cellAt,
  cellRect,
  clampScroll,
  clampZoom,
  labelStep,
  listWindow,
  scrollForZoom,
  scrollToReveal,
  type Viewport,
  visibleLabels,
  visibleRange,
  zoomLimits,
} from "../layout";

const view = (over: Partial<Viewport> = {}): Viewport => ({
  cellW: 20,
  cellH: 10,
  scrollX: 0,
  scrollY: 0,
  viewW: 200,
  viewH: 100,
  nRows: 1000,
  nCols: 1000,
  ...over,
});

describe("cells and pixels", () => {
  it("round-trips a cell through its rectangle", () => {
    const v = view({ scrollX: 35, scrollY: 47 });
    for (const [r, c] of [
      [5, 2],
      [9, 10],
      [14, 11],
    ]) {
      const rect = cellRect(v, r, c);
      if (rect.x >= 0 && rect.y >= 0)
        expect(cellAt(v, rect.x + rect.w / 2, rect.y + rect.h / 2)).toEqual({ row: r, col: c });
    }
    expect(cellRect(v, 5, 2)).toEqual({ x: 5, y: 3, w: 20, h: 10 });
  });

  it("finds no cell outside the viewport or past the last cell", () => {
    expect(cellAt(view(), -1, 5)).toBeNull();
    expect(cellAt(view(), 200, 5)).toBeNull();
    expect(cellAt(view({ nRows: 3 }), 5, 35)).toBeNull();
    expect(cellAt(view(), 0, 0)).toEqual({ row: 0, col: 0 });
  });

  it("lists the partly visible rows and columns", () => {
    expect(visibleRange(view({ scrollX: 30, scrollY: 5 }))).toEqual({
      r0: 0,
      r1: 11,
      c0: 1,
      c1: 12,
    });
    expect(visibleRange(view({ nRows: 4, nCols: 3 }))).toEqual({ r0: 0, r1: 4, c0: 0, c1: 3 });
  });
});

describe("labels", () => {
  it("draws every label when cells are tall enough, every k-th otherwise", () => {
    expect(labelStep(14, 12)).toBe(1);
    expect(labelStep(12, 12)).toBe(1);
    expect(labelStep(5, 12)).toBe(3);
    expect(labelStep(0.5, 12)).toBe(24);
    expect(labelStep(0, 12)).toBe(Number.POSITIVE_INFINITY);
  });

  it("picks multiples of the step inside the visible range", () => {
    expect(visibleLabels(3, 12, 4)).toEqual([4, 8]);
    expect(visibleLabels(0, 3, 1)).toEqual([0, 1, 2]);
    expect(visibleLabels(0, 10, Number.POSITIVE_INFINITY)).toEqual([]);
  });
});

describe("zoom", () => {
  it("clamps", () => {
    expect(clampZoom(5, 0.5, 4)).toBe(4);
    expect(clampZoom(0.1, 0.5, 4)).toBe(0.5);
    expect(clampZoom(Number.NaN, 0.5, 4)).toBe(0.5);
  });

  it("lets a large matrix zoom out to fit, a small one not below 1", () => {
    const big = zoomLimits(14, 14, 1000, 1000, 700, 500);
    expect(big.min).toBeCloseTo(500 / 14000);
    expect(big.fit).toBeCloseTo(500 / 14000);
    const small = zoomLimits(14, 14, 5, 5, 700, 500);
    expect(small.min).toBe(1);
    expect(small.fit).toBe(1);
    expect(small.max).toBeGreaterThan(1);
    const huge = zoomLimits(14, 14, 100000, 10, 700, 500);
    expect(huge.min * 14).toBeCloseTo(0.25); // floor of a quarter pixel per cell
  });

  it("keeps the content point under the pointer when zooming", () => {
    const v = view({ scrollX: 100, scrollY: 40 });
    const next = scrollForZoom(v, 40, 20, 50, 30);
    // Content x under the pointer: (50 + 100) / 20 = 7.5 cells → at 40 px, 300 - 50.
    expect(next).toEqual({ scrollX: 250, scrollY: 110 });
  });

  it("never scrolls outside the content", () => {
    expect(clampScroll(view({ nRows: 5, nCols: 5 }), 50, 50)).toEqual({ scrollX: 0, scrollY: 0 });
    expect(clampScroll(view(), -4, 1e9)).toEqual({ scrollX: 0, scrollY: 10000 - 100 });
  });

  it("reveals a cell with the least scrolling", () => {
    expect(scrollToReveal(view(), 2, 3)).toEqual({ scrollX: 0, scrollY: 0 });
    expect(scrollToReveal(view(), 50, 30)).toEqual({ scrollX: 620 - 200, scrollY: 510 - 100 });
    expect(scrollToReveal(view({ scrollX: 500, scrollY: 500 }), 10, 10)).toEqual({
      scrollX: 200,
      scrollY: 100,
    });
  });
});

it("windows a virtual list with overscan", () => {
  expect(listWindow(1000, 28, 0, 280, 4)).toEqual({ first: 0, last: 14 });
  expect(listWindow(1000, 28, 28 * 500, 280, 4)).toEqual({ first: 496, last: 514 });
  expect(listWindow(1000, 28, 28 * 995, 280, 4)).toEqual({ first: 991, last: 1000 });
  expect(listWindow(0, 28, 0, 280)).toEqual({ first: 0, last: 0 });
});

describe("a list taller than any element may be", () => {
  it("keeps the spacer under the cap and reaches the last row", () => {
    const n = 1_500_000;
    const view = 12 * 28;
    const { height, ratio } = spacerGeometry(n, 28, view);
    expect(height).toBe(MAX_SPACER_PX);
    expect(height).toBeLessThan(17_000_000); // Firefox's limit, below Chromium's 33.5M
    const maxScroll = height - view;
    const { last } = listWindow(n, 28, maxScroll * ratio, view, 0);
    expect(last).toBe(n);
  });

  it("leaves a short list unscaled", () => {
    expect(spacerGeometry(1000, 28, 336)).toEqual({ height: 28_000, ratio: 1 });
  });
});
