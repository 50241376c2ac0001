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

/** A count: integers as integers, anything else through formatValue. */
export function formatCount(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : formatValue(value);
}

/** A probability as a short percentage ("41%", "6.5%", "0.78%"); other numbers as formatValue. */
export function formatProbability(p: number): string {
  if (!(p >= 0 && p <= 1)) return formatValue(p);
  if (p === 0) return "0%";
  const pct = p * 100;
  return `${pct >= 99.5 ? Math.round(pct) : Number(pct.toPrecision(2))}%`;
}
