import { describe, expect, it } from "vitest";
import { cellLabel, showsCellText } from "../draw";

/** A stand-in 2D context whose text is 6 px per character. */
const ctx = {
  measureText: (text: string) => ({ width: Array.from(text).length * 6 }),
} as unknown as CanvasRenderingContext2D;

describe("cell text", () => {
  it("is drawn only in cells large enough to read it", () => {
    expect(showsCellText(14, 14)).toBe(false);
    expect(showsCellText(24, 14)).toBe(true);
    expect(showsCellText(40, 8)).toBe(false);
  });

  it("shows the whole token when it fits", () => {
    expect(cellLabel(ctx, "Paris", 30)).toBe("Paris");
  });

  it("cuts a long token with an ellipsis, keeping at least three characters", () => {
    expect(cellLabel(ctx, "capital", 24)).toBe("cap…");
    expect(cellLabel(ctx, "capital", 20)).toBe("");
  });
});
