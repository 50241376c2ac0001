import { describe, expect, it } from "vitest";
import { legendTicks } from "../legend";
import {
  beyondScale,
  cappedNote,
  formatFixed,
  groupSpan,
  listedOf,
  thinMask,
  totalBehind,
} from "../reading";
import type { Scale } from "../types";
import { isIdentity, permuteColumns } from "../view";
import { axis, contexts, DEFAULT_DISPLAY, matrix } from "./fixtures";

const diverging: Scale = {
  palette: "RdYlGn",
  kind: "diverging",
  domain: [-1, 1],
  center: 0,
  reverse: false,
};

describe("printed values", () => {
  it("have the display's digits, a true minus and no negative zero", () => {
    expect(formatFixed(0.25, 2)).toBe("0.25");
    expect(formatFixed(-1, 2)).toBe("−1.00");
    expect(formatFixed(-0.001, 2)).toBe("0.00");
    expect(formatFixed(2.71, 0)).toBe("3");
    expect(formatFixed(Number.NaN, 2)).toBe("");
  });
});

describe("values beyond the scale", () => {
  it("are told apart from values inside it, on either side", () => {
    expect(beyondScale(diverging, 1.2)).toBe(1);
    expect(beyondScale(diverging, -3)).toBe(-1);
    expect(beyondScale(diverging, 1)).toBe(0);
    expect(beyondScale(diverging, Number.NaN)).toBe(0);
  });
});

describe("capped context lists", () => {
  const counts = Float32Array.from([86, 3]);
  const capped = matrix(1, 2, {
    counts,
    contexts: contexts(0, { limit: { option: "max_contexts_per_cell", value: 50 } }),
  });

  it("say how many of how many are listed, and what to raise", () => {
    expect(listedOf(capped, 0, 50)).toBe("50 of 86 (capped by max_contexts_per_cell=50)");
    expect(listedOf(capped, 1, 3)).toBe("3");
    expect(cappedNote(capped, 50, 86)).toBe(
      "showing 50 of 86 contexts; raise max_contexts_per_cell (now 50) to list more",
    );
    expect(cappedNote(capped, 3, 3)).toBeNull();
    expect(totalBehind(capped, [0, 1])).toBe(89);
  });

  it("claim nothing when the contexts do not say what capped them", () => {
    const plain = matrix(1, 2, { counts, contexts: contexts(0) });
    expect(listedOf(plain, 0, 50)).toBe("50");
    expect(cappedNote(plain, 50, 86)).toBeNull();
  });
});

describe("groups", () => {
  const g = { label: "dummy tokens", start: 2, end: 4 };

  it("span their members' display positions when those are together", () => {
    expect(groupSpan(g, Int32Array.from([0, 1, 2, 3, 4]))).toEqual({ first: 2, last: 3 });
    expect(groupSpan(g, Int32Array.from([2, 3, 0, 1, 4]))).toEqual({ first: 0, last: 1 });
  });

  it("are not drawn when the order splits them or hides them all", () => {
    expect(groupSpan(g, Int32Array.from([0, 2, 1, 4, 3]))).toBeNull();
    expect(groupSpan(g, Int32Array.from([0, 1, -1, -1, 2]))).toBeNull();
    expect(groupSpan(g, Int32Array.from([0, 1, 2, -1, 3]))).toEqual({ first: 2, last: 2 });
  });
});

describe("columns in display order", () => {
  it("permute every per-cell array and the column axis together", () => {
    const m = matrix(2, 3, {
      counts: Float32Array.from([1, 2, 3, 4, 5, 6]),
      cellText: { vocab: ["a", "b", "c"], codes: Int32Array.from([0, 1, 2, 2, 1, 0]) },
      extras: [{ name: "lo", values: Float32Array.from([10, 20, 30, 40, 50, 60]) }],
      cols: axis(["x", "y", "z"], "example", { examples: Int32Array.from([7, 8, 9]) }),
      display: { ...DEFAULT_DISPLAY, colGroups: [{ label: "g", start: 0, end: 1 }] },
    });
    const v = permuteColumns(m, Int32Array.from([2, 0, 1]));
    expect(Array.from(v.values)).toEqual([2, 0, 1, 5, 3, 4]);
    expect(Array.from(v.counts ?? [])).toEqual([3, 1, 2, 6, 4, 5]);
    expect(Array.from(v.cellText?.codes ?? [])).toEqual([2, 0, 1, 0, 2, 1]);
    expect(Array.from(v.extras[0].values)).toEqual([30, 10, 20, 60, 40, 50]);
    expect(v.cols.labels).toEqual(["z", "x", "y"]);
    expect(Array.from(v.cols.examples ?? [])).toEqual([9, 7, 8]);
    expect(v.display.colGroups).toEqual([]);
  });

  it("leave the matrix as it is for the identity", () => {
    const m = matrix(2, 3);
    expect(isIdentity(Int32Array.from([0, 1, 2]))).toBe(true);
    expect(permuteColumns(m, Int32Array.from([0, 1, 2]))).toBe(m);
  });
});

describe("colour bar ticks", () => {
  it("number both ends and the centre of a diverging scale", () => {
    const t = legendTicks({ ...diverging, domain: [-0.04, 0.04] });
    expect(t[0]).toBe(-0.04);
    expect(t[t.length - 1]).toBe(0.04);
    expect(t).toContain(0);
  });

  it("number the ends of a sequential scale that ends off a round value", () => {
    const t = legendTicks({
      palette: "viridis",
      kind: "sequential",
      domain: [0, 9.7],
      center: null,
      reverse: false,
    });
    expect(t[0]).toBe(0);
    expect(t[t.length - 1]).toBe(9.7);
    // round ticks between, none crowding the end
    expect(t).toContain(4);
    expect(t).not.toContain(10);
    for (let i = 1; i < t.length; i++)
      expect(t[i] - t[i - 1]).toBeGreaterThanOrEqual(0.15 * 9.7 - 1e-9);
  });
});

describe("thin cells", () => {
  it("are the cells with a value and fewer observations than minCount", () => {
    const m = matrix(1, 4, {
      values: Float32Array.from([0.1, 0.2, Number.NaN, 0.4]),
      counts: Float32Array.from([2, 3, 0, 5]),
      display: { ...DEFAULT_DISPLAY, minCount: 3 },
    });
    expect(Array.from(thinMask(m) ?? [])).toEqual([1, 0, 0, 0]);
    expect(thinMask({ ...m, display: DEFAULT_DISPLAY })).toBeNull();
    expect(thinMask({ ...m, counts: null })).toBeNull();
  });
});
