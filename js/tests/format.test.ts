import { describe, expect, it } from "vitest";
import { formatProbability, formatValue } from "../format";

describe("probabilities", () => {
  it("read as short percentages", () => {
    expect(formatProbability(0.412)).toBe("41%");
    expect(formatProbability(0.06512)).toBe("6.5%");
    expect(formatProbability(0.007815)).toBe("0.78%");
    expect(formatProbability(0.999)).toBe("100%");
    expect(formatProbability(0)).toBe("0%");
  });

  it("fall back to plain numbers outside [0, 1]", () => {
    expect(formatProbability(1.5)).toBe(formatValue(1.5));
    expect(formatProbability(Number.NaN)).toBe("missing");
  });
});
