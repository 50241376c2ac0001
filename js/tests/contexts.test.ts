import { describe, expect, it } from "vitest";
import { columnTexts, groupColumns } from "../contextColumns";
import { contextPieces, scoreStyle } from "../contextPieces";
import { contexts } from "./fixtures";

describe("context columns", () => {
  const ctx = contexts(2, {
    labels: [
      { name: "orig_label", categories: ["joy", "sadness"], codes: Int32Array.from([0, 0]) },
      { name: "new_label", categories: ["joy", "sadness"], codes: Int32Array.from([1, 0]) },
    ],
    numeric: [
      { name: "p_orig", values: Float32Array.from([0.91, 0.8]) },
      { name: "p_new", values: Float32Array.from([0.42, 0.7]) },
      { name: "flipped", values: Float32Array.from([1, 0]) },
      { name: "norm", values: Float32Array.from([2.5, 3]) },
    ],
  });

  it("pairs before/after columns, shows flags as words, others as name value", () => {
    const groups = groupColumns(ctx);
    expect(groups.map((g) => g.kind)).toEqual(["pair", "pair", "flag", "single"]);
    expect(columnTexts(ctx, groups, 0)).toEqual([
      "joy → sadness",
      "p 0.91 → 0.42",
      "flipped",
      "norm 2.5",
    ]);
    expect(columnTexts(ctx, groups, 1)).toEqual(["joy → joy", "p 0.8 → 0.7", "norm 3"]);
  });

  it("leaves unpaired columns alone", () => {
    const lone = contexts(2, {
      numeric: [{ name: "p_orig", values: Float32Array.from([0.5, 0.25]) }],
    });
    expect(columnTexts(lone, groupColumns(lone), 1)).toEqual(["p_orig 0.25"]);
  });
});

describe("ranked context columns", () => {
  const lens = contexts(2, {
    labels: [
      { name: "top1", categories: ["ĠParis", "Ġthe"], codes: Int32Array.from([0, 1]) },
      { name: "top2", categories: ["Ġthe", ","], codes: Int32Array.from([0, 1]) },
      { name: "top3", categories: ["Ċ"], codes: Int32Array.from([0, 0]) },
      { name: "next", categories: ["ĠParis", "Ġis"], codes: Int32Array.from([0, 1]) },
    ],
    numeric: [
      { name: "entropy", values: Float32Array.from([1.5, 4]) },
      { name: "p1", values: Float32Array.from([0.412, 0.06512]) },
      { name: "p2", values: Float32Array.from([0.1, 0.007815]) },
      { name: "p3", values: Float32Array.from([1, Number.NaN]) },
    ],
  });

  it("lists top1..topK with their probabilities as one column, tokens made visible", () => {
    const groups = groupColumns(lens);
    expect(groups.map((g) => g.kind)).toEqual(["ranked", "single", "single"]);
    expect(columnTexts(lens, groups, 0)).toEqual([
      "top ␣Paris 41% · ␣the 10% · ⏎ 100%",
      "next ␣Paris",
      "entropy 1.5",
    ]);
    expect(columnTexts(lens, groups, 1)[0]).toBe("top ␣the 6.5% · , 0.78% · ⏎");
  });

  it("needs at least top1 and top2 to rank", () => {
    const one = contexts(2, {
      labels: [{ name: "top1", categories: ["a"], codes: Int32Array.from([0, 0]) }],
      numeric: [{ name: "p1", values: Float32Array.from([0.5, 0.5]) }],
    });
    expect(groupColumns(one).map((g) => g.kind)).toEqual(["single", "single"]);
  });
});

describe("context pieces", () => {
  it("takes a window each side of the highlight", () => {
    expect(contextPieces(100, 50, 51, -1, -1, 5)).toEqual({ left: [[45, 50]], right: [[51, 56]] });
    expect(contextPieces(3, 0, 1, -1, -1, 5)).toEqual({ left: [[0, 0]], right: [[1, 3]] });
  });

  it("adds a far second mark as its own piece", () => {
    expect(contextPieces(100, 50, 51, 10, 11, 5)).toEqual({
      left: [
        [8, 13],
        [45, 50],
      ],
      right: [[51, 56]],
    });
    expect(contextPieces(100, 50, 51, 80, 81, 5)).toEqual({
      left: [[45, 50]],
      right: [
        [51, 56],
        [78, 83],
      ],
    });
    expect(contextPieces(100, 50, 51, 47, 48, 5)).toEqual({ left: [[45, 50]], right: [[51, 56]] });
  });
});

describe("attribution colours in context", () => {
  const rdbu = {
    palette: "RdBu" as const,
    kind: "diverging" as const,
    domain: [-2, 2] as [number, number],
    center: 0,
    reverse: false,
  };

  it("fade to nothing near zero and grow opaque with the size of the score", () => {
    const alpha = (s: string) => Number(s.slice(s.lastIndexOf(",") + 1, -1));
    expect(alpha(scoreStyle(rdbu, 0).background)).toBe(0);
    expect(alpha(scoreStyle(rdbu, 1).background)).toBeCloseTo(0.5);
    expect(alpha(scoreStyle(rdbu, -2).background)).toBe(1);
    expect(alpha(scoreStyle(rdbu, 9).background)).toBe(1);
  });

  it("set a text colour only on strong backgrounds", () => {
    expect(scoreStyle(rdbu, 0.2).color).toBeNull();
    expect(scoreStyle(rdbu, 2).color).toBe("#fff");
    expect(scoreStyle(rdbu, Number.NaN)).toEqual({ background: "", color: null });
  });
});
