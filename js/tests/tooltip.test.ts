import { describe, expect, it } from "vitest";
import { cellTooltip, hitTooltip } from "../tooltip";
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
