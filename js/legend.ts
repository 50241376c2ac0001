// The colour bar under each heatmap: the palette across the domain, its two ends always
// numbered (and the centre of a diverging scale), round ticks between them where they do not
// crowd the ends, the value label, and keys for what else the cells show: missing (hatched),
// few observations (faded), values beyond the scale (a corner triangle).

import { paletteTable, scalePosition } from "./colors";
import { formatValue } from "./format";
import type { Theme } from "./theme";
import type { Matrix, Scale } from "./types";

/** About `count` round tick values inside [lo, hi] (1, 2 or 5 × 10^k apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

/** Ticks for a scale: nice values in the domain, plus the centre of a diverging scale. */
export function scaleTicks(scale: Scale, count = 5): number[] {
  const ticks = niceTicks(scale.domain[0], scale.domain[1], count);
  const c = scale.center;
  if (scale.kind === "diverging" && c !== null && !ticks.some((t) => Math.abs(t - c) < 1e-12)) {
    ticks.push(c);
    ticks.sort((a, b) => a - b);
  }
  return ticks;
}

/**
 * Ticks a reader can read off the bar: the domain's ends, the centre of a diverging scale, and
 * round values between them at least `minGap` (a fraction of the bar) from those, ascending.
 */
export function legendTicks(scale: Scale, count = 5, minGap = 0.15): number[] {
  const [lo, hi] = scale.domain;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (!(hi > lo)) return [lo];
  const fixed = [lo, hi];
  const c = scale.center;
  if (scale.kind === "diverging" && c !== null && c > lo && c < hi) fixed.push(c);
  const far = (t: number) => fixed.every((f) => Math.abs(t - f) / (hi - lo) >= minGap);
  const out = [...fixed, ...niceTicks(lo, hi, count).filter(far)];
  return out.sort((a, b) => a - b);
}

export const BAR_W = 240;
const BAR_H = 14;

export class Legend {
  readonly el: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;

  constructor(private readonly m: Matrix) {
    this.el = document.createElement("div");
    this.el.className = "th-legend";
    const label = document.createElement("span");
    label.className = "th-legend-label";
    label.textContent = m.valueLabel;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "th-legend-bar";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute(
      "aria-label",
      `colour scale ${m.scale.palette} from ${m.scale.domain[0]} to ${m.scale.domain[1]}`,
    );
    this.el.append(label, this.canvas);
    const key = (swatchClass: string, text: string, testid: string) => {
      const item = document.createElement("span");
      item.className = "th-legend-missing";
      item.dataset.testid = testid;
      const swatch = document.createElement("span");
      swatch.className = swatchClass;
      const t = document.createElement("span");
      t.textContent = text;
      item.append(swatch, t);
      this.el.appendChild(item);
    };
    if (m.values.some(Number.isNaN)) key("th-swatch-missing", "missing", "th-legend-missing");
    const min = m.display.minCount;
    if (min !== null && m.counts?.some((n, i) => n < min && !Number.isNaN(m.values[i])))
      key("th-swatch-thin", `faded: n below ${formatValue(min)}`, "th-legend-thin");
    const [lo, hi] = m.scale.domain;
    if (m.display.markOutliers && m.values.some((v) => v < lo || v > hi))
      key("th-swatch-beyond", "beyond the scale's end", "th-legend-beyond");
  }

  draw(theme: Theme): void {
    const dpr = window.devicePixelRatio || 1;
    const scale = this.m.scale;
    const pad = 14;
    const w = BAR_W + 2 * pad;
    const h = BAR_H + theme.fontSize + 8;
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const table = paletteTable(scale.palette);
    const [lo, hi] = scale.domain;
    for (let x = 0; x < BAR_W; x++) {
      const v = lo + ((x + 0.5) / BAR_W) * (hi - lo);
      const i = Math.round(scalePosition(scale, v) * 255);
      ctx.fillStyle = `rgb(${table[i * 3]},${table[i * 3 + 1]},${table[i * 3 + 2]})`;
      ctx.fillRect(pad + x, 0, 1, BAR_H);
    }
    ctx.strokeStyle = theme.border;
    ctx.lineWidth = 1;
    ctx.strokeRect(pad + 0.5, 0.5, BAR_W - 1, BAR_H - 1);
    ctx.fillStyle = theme.muted;
    ctx.font = `${Math.max(10, theme.fontSize - 1)}px ${theme.font}`;
    ctx.textBaseline = "top";
    const ticks = legendTicks(scale);
    for (const t of ticks) {
      const x = pad + (hi > lo ? ((t - lo) / (hi - lo)) * BAR_W : BAR_W / 2);
      ctx.fillStyle = theme.muted;
      ctx.fillRect(Math.round(x) - 0.5, BAR_H, 1, 4);
      // Centred under its tick, but pushed inside the canvas at the ends.
      const text = formatValue(t);
      const half = ctx.measureText(text).width / 2;
      ctx.textAlign = "center";
      const tx = Math.max(half, Math.min(w - half, x));
      ctx.fillStyle = theme.foreground;
      ctx.fillText(text, tx, BAR_H + 5);
    }
    this.canvas.dataset.ticks = ticks.map(formatValue).join(" ");
  }
}
