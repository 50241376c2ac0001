import { describe, expect, it } from "vitest";
import { formatCount, formatValue } from "../format";
import { niceTicks, scaleTicks } from "../legend";

describe("ticks", () => {
  it("are round numbers inside the domain", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 5, 5)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(-0.37, 0.37, 4)).toEqual([-0.2, 0, 0.2]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(5, 0, 5)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("include the centre of a diverging scale", () => {
    const t = scaleTicks({
      palette: "RdBu",
      kind: "diverging",
      domain: [-1, 3],
      center: 0.5,
      reverse: false,
    });
    expect(t).toContain(0.5);
    expect(t).toEqual([...t].sort((a, b) => a - b));
  });
});

// Expect tables like format.test.ts's on purpose: alike in shape only, other functions.
describe("numbers as text", () => {
  it("formats values compactly", () => {
    expect(formatValue(0.123456)).toBe("0.1235");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(12345.678)).toBe("12350");
    expect(formatValue(1234567)).toBe("1.23e6");
    expect(formatValue(0.00001234)).toBe("1.23e-5");
    expect(formatValue(Number.NaN)).toBe("missing");
    expect(formatValue(0)).toBe("0");
  });

  it("formats counts", () => {
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(2.5)).toBe("2.5");
  });
});
