import { describe, expect, it } from "vitest";
import { formatCount, formatProbability, formatValue, groupDigits } from "../format";

// Expect tables like legend.test.ts's on purpose: alike in shape only, other functions.
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

describe("integers with digit groups", () => {
  it('read as toLocaleString("en-US") writes them', () => {
    const cases = [0, 7, 12, 999, 1000, 12345, 100000, 999999, 1000000, -1, -1000, -987654321];
    cases.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -0, 1e21, 2 ** 60);
    for (const n of cases) expect(groupDigits(n)).toBe(n.toLocaleString("en-US"));
    expect(groupDigits(1000000)).toBe("1,000,000");
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(2.5)).toBe("2.5");
  });
});
