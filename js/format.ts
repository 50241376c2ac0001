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
