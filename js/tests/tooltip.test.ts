import { describe, expect, it } from "vitest";
import { cellTooltip, hitTooltip, placeTooltip } from "../tooltip";
import { axis, matrix } from "./fixtures";

const m = matrix(2, 2, {
  title: "Lens",
  valueLabel: "entropy (nats)",
  values: Float32Array.from([0.5, Number.NaN, 1.23456, 2]),
  rows: axis(["L0", "L1"], "layer"),
  cols: axis(["Ġa", "Ġb"], "position", { tokens: ["Ġa", "Ġb"] }),
  counts: Float32Array.from([3, 0, 1200, 1]),
  cellText: { vocab: ["Ċ", "Ġthe"], codes: Int32Array.from([1, -1, 0, 1]) },
  extras: [{ name: "ci_low", values: Float32Array.from([0.1, Number.NaN, 1, 1.5]) }],
});

describe("cell tooltip", () => {
  it("lists row, col, value, n, text, extras and the context count", () => {
    const t = cellTooltip(m, 1, 0, "L1", "␣a", 7);
    expect(t.title).toBe("Lens");
    expect(t.lines).toEqual([
      ["layer", "L1"],
      ["position", "␣a"],
      ["entropy (nats)", "1.235"],
      ["n", "1,200"],
      ["text", "⏎"],
      ["ci_low", "1"],
      ["contexts", "7"],
    ]);
    expect(t.hint).toBe("click to list contexts");
  });

  it("says missing for NaN and leaves out what a cell lacks", () => {
    const t = cellTooltip(m, 0, 1, "L0", "␣b", null);
    expect(Object.fromEntries(t.lines)).toEqual({
      layer: "L0",
      position: "␣b",
      "entropy (nats)": "missing",
      n: "0",
      ci_low: "missing",
    });
    expect(t.hint).toBeUndefined();
  });

  it("describes labels by what clicking them does", () => {
    expect(hitTooltip(m, { kind: "colLabel", col: 1 }, ["L0", "L1"], ["␣a", "␣b"], null)).toEqual({
      title: "Lens",
      lines: [["position", "␣b"]],
      hint: "click to mark this token everywhere",
    });
    expect(hitTooltip(m, { kind: "rowLabel", row: 0 }, ["L0", "L1"], ["␣a", "␣b"], null).hint).toBe(
      "click to select",
    );
  });
});

describe("tooltip placement", () => {
  const page = { left: 0, top: 0, right: 1000, bottom: 800 };

  it("goes below and right of the pointer when there is room", () => {
    expect(placeTooltip(100, 100, 200, 120, page)).toEqual({ left: 114, top: 114 });
  });

  it("flips to the left and above near the right and bottom edges", () => {
    expect(placeTooltip(950, 760, 200, 120, page)).toEqual({
      left: 950 - 14 - 200,
      top: 760 - 14 - 120,
    });
  });

  it("stays inside the page when neither side has room", () => {
    const p = placeTooltip(150, 20, 380, 900, page);
    expect(p.left).toBeGreaterThanOrEqual(4);
    expect(p.left + 380).toBeLessThanOrEqual(996);
    expect(p.top).toBe(4);
    const q = placeTooltip(10, 10, 2000, 50, page);
    expect(q.left).toBe(4);
  });
});
