// Numbers as text for tooltips, legends and context columns.

/** A compact, readable number: 4 significant digits, exponent form for very large or small. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "missing";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(2).replace("e+", "e");
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/**
 * An integer with "," between groups of three digits, as `toLocaleString("en-US")` writes it,
 * without the cost of setting up a locale's number format on first use (several ms, during
 * first paint). Anything but a safe integer goes to `toLocaleString("en-US")` itself.
 */
export function groupDigits(value: number): string {
  if (!Number.isSafeInteger(value) || Object.is(value, -0)) return value.toLocaleString("en-US");
  const digits = String(Math.abs(value));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return value < 0 ? `-${out}` : out;
}

/** A count: integers as integers, anything else through formatValue. */
export function formatCount(value: number): string {
  return Number.isInteger(value) ? groupDigits(value) : formatValue(value);
}

/** A probability as a short percentage ("41%", "6.5%", "0.78%"); other numbers as formatValue. */
export function formatProbability(p: number): string {
  if (!(p >= 0 && p <= 1)) return formatValue(p);
  if (p === 0) return "0%";
  const pct = p * 100;
  return `${pct >= 99.5 ? Math.round(pct) : Number(pct.toPrecision(2))}%`;
}
