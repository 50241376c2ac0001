// Colours and fonts for canvas drawing, read from the CSS custom properties of widget.css
// (which follow JupyterLab's --jp-* variables, light or dark). Re-read when the theme changes.

import type { RGB } from "./colors";

export interface Theme {
  background: string;
  /** `background` as RGB (what faded cells are blended towards). */
  backgroundRgb: RGB;
  foreground: string;
  muted: string;
  border: string;
  /** Background of hovered and selected labels. */
  highlight: string;
  accent: string;
  link: string;
  example: string;
  missing: RGB;
  hatch: string;
  font: string;
  mono: string;
  fontSize: number;
  dark: boolean;
}

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS colour as RGB (through a 1×1 canvas), or `fallback` when it cannot be parsed. */
export function cssColorRGB(color: string, fallback: RGB): RGB {
  probe ??= document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  if (!probe) return fallback;
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = "#010203";
  probe.fillStyle = color;
  probe.fillRect(0, 0, 1, 1);
  const d = probe.getImageData(0, 0, 1, 1).data;
  return d[3] === 0 ? fallback : [d[0], d[1], d[2]];
}

/** Read the theme from the computed style of the widget root. */
export function readTheme(root: HTMLElement): Theme {
  const style = getComputedStyle(root);
  const get = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const background = get("--th-bg", "#ffffff");
  const bg = cssColorRGB(background, [255, 255, 255]);
  const dark = (bg[0] * 299 + bg[1] * 587 + bg[2] * 114) / 1000 < 128;
  const size = Number.parseFloat(get("--th-font-size", "12px"));
  return {
    background,
    backgroundRgb: bg,
    foreground: get("--th-fg", dark ? "#e6e6e6" : "#1f2328"),
    muted: get("--th-fg-muted", dark ? "#a0a0a0" : "#59636e"),
    border: get("--th-border", dark ? "#444" : "#d0d7de"),
    highlight: get("--th-bg-hover", dark ? "#2a2f36" : "#eef1f4"),
    accent: get("--th-accent", dark ? "#ffb000" : "#d1242f"),
    link: get("--th-link", dark ? "#3de0ff" : "#0969da"),
    example: get("--th-example", dark ? "#c586ff" : "#8250df"),
    missing: cssColorRGB(
      get("--th-missing", dark ? "#3a3a3a" : "#e6e6e6"),
      dark ? [58, 58, 58] : [230, 230, 230],
    ),
    hatch: get("--th-hatch", dark ? "#5a5a5a" : "#b8b8b8"),
    font: get("--th-font", "system-ui, sans-serif"),
    mono: get("--th-mono", "ui-monospace, monospace"),
    fontSize: Number.isFinite(size) && size > 4 ? size : 12,
    dark,
  };
}
