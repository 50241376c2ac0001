import { describe, expect, it } from "vitest";
import { emptyViewport, type Viewport } from "../layout";
import {
  AXIS_TITLE,
  baseCellWidth,
  hitTest,
  plotBox,
  regionRect,
  rowGutter,
  titleSpan,
} from "../plot";

const input = {
  availW: 600,
  maxViewH: 300,
  cellW: 20,
  cellH: 10,
  nRows: 10,
  nCols: 10,
  rowLabelW: 50,
  colLabelW: 12,
  fontSize: 12,
  scrollbar: 15,
};

describe("plot box", () => {
  it("fits a small matrix without scrollbars, labels across the cells", () => {
    const box = plotBox(input);
    expect(box.ox).toBe(rowGutter(50));
    expect(box.colRotated).toBe(false);
    expect([box.viewW, box.viewH, box.needX, box.needY]).toEqual([200, 100, false, false]);
    expect(box.width).toBe(box.ox + 200);
    expect(box.height).toBe(box.oy + 100);
  });

  it("rotates column labels that do not fit across a cell", () => {
    const box = plotBox({ ...input, colLabelW: 60 });
    expect(box.colRotated).toBe(true);
    expect(box.oy).toBeGreaterThan(AXIS_TITLE + 60);
  });

  it("scrolls a large matrix, leaving room for the scrollbars", () => {
    const box = plotBox({ ...input, nRows: 1000, nCols: 1000 });
    expect(box.needX && box.needY).toBe(true);
    expect(box.viewH).toBe(300);
    expect(box.viewW).toBe(600 - box.ox - 2 - 15);
    expect(box.width).toBe(600 - 2);
    expect(box.height).toBe(box.oy + 300 + 15);
    expect(box.contentW).toBe(20000);
  });

  it("grows a small plot so that both axis titles fit, the scroller stays on the cells", () => {
    const tiny = { ...input, nRows: 1, nCols: 1, rowTitleW: 70, colTitleW: 90 };
    const box = plotBox(tiny);
    expect(box.height).toBeGreaterThanOrEqual(AXIS_TITLE + 70 + 8);
    expect(box.width).toBeGreaterThanOrEqual(box.ox + 90 + 8);
    expect([box.viewW, box.viewH, box.scrollW, box.scrollH]).toEqual([20, 10, 20, 10]);
    // A large matrix needs no extra room.
    const big = plotBox({ ...tiny, nRows: 100, nCols: 100 });
    expect(big.height).toBe(big.oy + big.scrollH);
    expect(big.width).toBe(big.ox + big.scrollW);
  });

  it("never grows wider than the panel for a long column title", () => {
    const box = plotBox({ ...input, nCols: 1, colTitleW: 5000 });
    expect(box.width).toBe(input.availW - 2);
  });

  it("caps the row-label gutter", () => {
    expect(rowGutter(5000)).toBeLessThan(220);
    expect(rowGutter(0)).toBe(AXIS_TITLE + 24 + 10);
  });

  it("starts cells wide enough to fill the panel, within bounds", () => {
    expect(baseCellWidth(600, 80, 10, 14, false)).toBe(48);
    expect(baseCellWidth(600, 80, 20, 14, false)).toBe(25);
    expect(baseCellWidth(600, 80, 1000, 14, false)).toBe(14);
    expect(baseCellWidth(2000, 80, 10, 14, true)).toBe(64);
  });

  it("widens cells so that column labels read across them when the panel has room", () => {
    expect(baseCellWidth(600, 80, 3, 14, false, 60)).toBe(68);
    // No room: the labels are rotated instead.
    expect(baseCellWidth(600, 80, 10, 14, false, 60)).toBe(48);
    // Very long labels are rotated, never given huge cells.
    expect(baseCellWidth(2000, 80, 3, 14, false, 300)).toBe(48);
  });
});

describe("axis title placement", () => {
  it("centres a title on the cells when it fits there", () => {
    expect(titleSpan(40, 100, 200, 16, 400)).toEqual({ center: 200, room: 196 });
  });

  it("uses the whole edge when the cells are too short, staying near them", () => {
    const span = titleSpan(60, 40, 14, 16, 120);
    expect(span.room).toBe(120 - 16 - 4);
    expect(span.center - 30).toBeGreaterThanOrEqual(16);
    expect(span.center + 30).toBeLessThanOrEqual(120);
  });

  it("reports less room than the text when even the edge is too short", () => {
    const span = titleSpan(300, 40, 14, 16, 120);
    expect(span.room).toBeLessThan(300);
    expect(span.center).toBeCloseTo((16 + 120) / 2, 0);
  });
});

describe("hit testing", () => {
  const v: Viewport = {
    ...emptyViewport(10, 50, 8),
    cellW: 20,
    viewW: 160,
    viewH: 100,
    scrollY: 25,
  };
  const ox = 60;
  const oy = 40;

  it("finds cells, row labels and column labels as display indices", () => {
    expect(hitTest(v, ox, oy, ox + 45, oy + 5)).toEqual({ kind: "cell", row: 3, col: 2 });
    expect(hitTest(v, ox, oy, 30, oy + 5)).toEqual({ kind: "rowLabel", row: 3 });
    expect(hitTest(v, ox, oy, ox + 45, 30)).toEqual({ kind: "colLabel", col: 2 });
  });

  it("finds nothing on the axis titles, the corner or outside", () => {
    expect(hitTest(v, ox, oy, 5, oy + 5)).toBeNull();
    expect(hitTest(v, ox, oy, ox + 45, 5)).toBeNull();
    expect(hitTest(v, ox, oy, 30, 30)).toBeNull();
    expect(hitTest(v, ox, oy, ox + 170, oy + 5)).toBeNull();
  });

  it("agrees with the rectangles it hands out", () => {
    for (const [region, row, col] of [
      ["cell", 4, 5],
      ["rowLabel", 7, 0],
      ["colLabel", 0, 6],
    ] as const) {
      const r = regionRect(v, ox, oy, region, row, col);
      const hit = hitTest(v, ox, oy, r.x + r.w / 2, r.y + r.h / 2);
      expect(hit?.kind).toBe(region);
      if (hit && "row" in hit) expect(hit.row).toBe(row);
      if (hit && "col" in hit) expect(hit.col).toBe(col);
    }
  });
});
