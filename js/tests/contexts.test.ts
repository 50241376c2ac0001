import { describe, expect, it } from "vitest";
import { columnTexts, groupColumns } from "../contextColumns";
import { contextPieces } from "../contexts";
import type { Contexts } from "../types";

function table(over: Partial<Contexts>): Contexts {
  const z = new Int32Array(2);
  return {
    n: 2,
    row: z,
    col: z,
    example: z,
    start: z,
    end: z,
    start2: null,
    end2: null,
    scoreStart: null,
    scoreEnd: null,
    scores: null,
    numeric: [],
    labels: [],
    ...over,
  };
}

describe("context columns", () => {
  const ctx = table({
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
    const lone = table({ numeric: [{ name: "p_orig", values: Float32Array.from([0.5, 0.25]) }] });
    expect(columnTexts(lone, groupColumns(lone), 1)).toEqual(["p_orig 0.25"]);
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
