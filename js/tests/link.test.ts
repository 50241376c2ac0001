import { describe, expect, it, vi } from "vitest";
import {
  axisToken,
  cellSelection,
  exampleMarks,
  labelSelection,
  normalizeSelection,
  SelectionBus,
  tokenMarks,
} from "../link";
import { EMPTY_SELECTION } from "../types";
import { axis, matrix, spec } from "./fixtures";

const tokenRows = matrix(3, 2, { rows: axis(["Ġa", "Ġb", "Ġa"], "token") });
const lens = matrix(2, 3, {
  cols: axis(["x", "y", "z"], "position", { tokens: ["Ġb", null, "Ġa"] }),
  cellText: { vocab: ["Ġa", "Ġc"], codes: Int32Array.from([0, 1, -1, 1, 0, 0]) },
});
const plain = matrix(2, 2, { cellText: { vocab: ["Ġq"], codes: Int32Array.from([0, -1, -1, 0]) } });
const examples = matrix(2, 3, {
  cols: axis(["e0", "e1", "e2"], "example", { examples: Int32Array.from([4, -1, 4]) }),
});
const s = spec([tokenRows, lens, plain, examples]);

describe("selection rules", () => {
  it("a cell takes the row's token, else the col's, else its text", () => {
    expect(cellSelection(s, 0, 1, 0)).toEqual({
      matrix: 0,
      row: 1,
      col: 0,
      token: "Ġb",
      example: null,
    });
    expect(cellSelection(s, 1, 0, 2)).toEqual({
      matrix: 1,
      row: 0,
      col: 2,
      token: "Ġa",
      example: null,
    });
    expect(cellSelection(s, 1, 0, 1).token).toBeNull(); // the col axis carries tokens: no fallback to text
    expect(cellSelection(s, 2, 1, 1).token).toBe("Ġq");
    expect(cellSelection(s, 2, 0, 1).token).toBeNull();
  });

  it("a cell on an example axis selects that example", () => {
    expect(cellSelection(s, 3, 1, 2).example).toBe(4);
    expect(cellSelection(s, 3, 1, 1).example).toBeNull();
  });

  it("a label selects its row or column and token", () => {
    expect(labelSelection(s, 0, "rows", 2)).toEqual({
      matrix: 0,
      row: 2,
      col: null,
      token: "Ġa",
      example: null,
    });
    expect(labelSelection(s, 3, "cols", 0)).toEqual({
      matrix: 3,
      row: null,
      col: 0,
      token: null,
      example: 4,
    });
  });

  it("reads a token axis's labels when it has no token list", () => {
    expect(axisToken(tokenRows.rows, 0)).toBe("Ġa");
    expect(axisToken(tokenRows.cols, 0)).toBeNull();
  });
});

describe("linked marks", () => {
  it("a token marks rows, columns and cell texts equal to it", () => {
    const rowsMarks = tokenMarks(tokenRows, "Ġa");
    expect(Array.from(rowsMarks.rows)).toEqual([1, 0, 1]);
    const lensMarks = tokenMarks(lens, "Ġa");
    expect(Array.from(lensMarks.cols)).toEqual([0, 0, 1]);
    expect(Array.from(lensMarks.cells)).toEqual([0, 4, 5]);
    expect(lensMarks.count).toBe(4);
    expect(tokenMarks(lens, "nothing").count).toBe(0);
  });

  it("links tokens by their key: BPE marker, case and edge punctuation do not matter", () => {
    const words = matrix(6, 1, {
      rows: axis(["sadly", "Ġsadly", "Sadly,", "sad", ",", "Ġ,"], "token"),
      cellText: { vocab: ["ĠSADLY", "x"], codes: Int32Array.from([0, 1, -1, 0, 1, 1]) },
    });
    expect(Array.from(tokenMarks(words, "Ġsadly").rows)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(Array.from(tokenMarks(words, "SADLY").rows)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(Array.from(tokenMarks(words, ",").rows)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(Array.from(tokenMarks(words, "sadly").cells)).toEqual([0, 3]);
  });

  it("an example marks the columns that show it", () => {
    expect(Array.from(exampleMarks(examples, 4).cols)).toEqual([1, 0, 1]);
    expect(Array.from(exampleMarks(tokenRows, 4).rows)).toEqual([0, 0, 0]);
  });
});

describe("selection from Python", () => {
  it("keeps valid fields and drops the rest", () => {
    expect(normalizeSelection({ matrix: 1, row: 1, col: 2, token: "Ġa", example: 3 }, s)).toEqual({
      matrix: 1,
      row: 1,
      col: 2,
      token: "Ġa",
      example: 3,
    });
    expect(normalizeSelection({ matrix: 1, row: 5, col: -1, token: 3 }, s)).toEqual({
      ...EMPTY_SELECTION,
      matrix: 1,
    });
    expect(normalizeSelection({ matrix: 9, row: 0 }, s)).toEqual(EMPTY_SELECTION);
    expect(normalizeSelection(null, s)).toEqual(EMPTY_SELECTION);
  });
});

describe("the bus", () => {
  it("tells listeners about changes only, with their source", () => {
    const bus = new SelectionBus();
    const seen = vi.fn();
    const off = bus.subscribe(seen);
    bus.update({ token: "x" }, "heatmap");
    bus.update({ token: "x" }, "heatmap");
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen).toHaveBeenCalledWith({ ...EMPTY_SELECTION, token: "x" }, "heatmap");
    bus.set({ ...EMPTY_SELECTION }, "keyboard");
    expect(seen).toHaveBeenCalledTimes(2);
    off();
    bus.update({ row: 1 }, "x");
    expect(seen).toHaveBeenCalledTimes(2);
    expect(bus.get().row).toBe(1);
  });
});
