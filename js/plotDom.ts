// The elements of one plot: two stacked canvases (cells below, labels and outlines above) under
// a transparent native scroller whose spacer is as large as all the cells.

import type { PlotBox } from "./plot";

export class PlotDom {
  readonly wrap: HTMLDivElement;
  readonly base: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
  readonly scroller: HTMLDivElement;
  private readonly spacer: HTMLDivElement;

  constructor(index: number, ariaLabel: string) {
    this.wrap = document.createElement("div");
    this.wrap.className = "th-plot";
    this.base = document.createElement("canvas");
    this.base.dataset.testid = `th-canvas-${index}`;
    this.base.setAttribute("role", "img");
    this.base.setAttribute("aria-label", ariaLabel);
    this.overlay = document.createElement("canvas");
    this.overlay.className = "th-overlay";
    this.overlay.dataset.testid = `th-overlay-${index}`;
    this.scroller = document.createElement("div");
    this.scroller.className = "th-scroller";
    this.scroller.dataset.testid = `th-scroller-${index}`;
    this.spacer = document.createElement("div");
    this.spacer.className = "th-spacer";
    this.scroller.appendChild(this.spacer);
    this.wrap.append(this.base, this.overlay, this.scroller);
  }

  /** Size everything for `box`; canvases get devicePixelRatio × as many pixels. */
  size(box: PlotBox): void {
    Object.assign(this.scroller.style, {
      left: `${box.ox}px`,
      top: `${box.oy}px`,
      width: `${box.scrollW}px`,
      height: `${box.scrollH}px`,
    });
    this.spacer.style.width = `${box.contentW}px`;
    this.spacer.style.height = `${box.contentH}px`;
    this.wrap.style.width = `${box.width}px`;
    this.wrap.style.height = `${box.height}px`;
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.base, this.overlay]) {
      c.style.width = `${box.width}px`;
      c.style.height = `${box.height}px`;
      c.width = Math.round(box.width * dpr);
      c.height = Math.round(box.height * dpr);
    }
  }

  /** A cleared 2D context of `canvas`, scaled so that drawing uses CSS pixels. */
  context(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
    const ctx = canvas.getContext("2d");
    if (!ctx) return null;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  /** Widest of `labels` in `font` (sampled beyond 4,000 labels; each text once), in CSS px. */
  measure(labels: readonly string[], font: string): number {
    const ctx = this.overlay.getContext("2d");
    if (!ctx || labels.length === 0) return 0;
    ctx.font = font;
    const step = Math.max(1, Math.floor(labels.length / 4000));
    const seen = new Set<string>();
    let max = 0;
    for (let i = 0; i < labels.length; i += step) {
      const text = labels[i];
      if (seen.has(text)) continue;
      seen.add(text);
      max = Math.max(max, ctx.measureText(text).width);
    }
    return Math.ceil(max);
  }
}

let scrollbar: number | null = null;

export interface PlotHandlers {
  move(clientX: number, clientY: number): void;
  leave(): void;
  click(clientX: number, clientY: number): void;
  scroll(scrollX: number, scrollY: number): void;
  /** Ctrl/Cmd + wheel: zoom by `factor` around viewport point (x, y). */
  zoom(factor: number, x: number, y: number): void;
}

/** Route the plot's pointer, scroll and wheel events to `h`; returns the function that stops it. */
export function listen(dom: PlotDom, h: PlotHandlers): () => void {
  const { wrap, scroller } = dom;
  const move = (e: PointerEvent) => h.move(e.clientX, e.clientY);
  const leave = () => h.leave();
  const click = (e: MouseEvent) => h.click(e.clientX, e.clientY);
  const scroll = () => h.scroll(scroller.scrollLeft, scroller.scrollTop);
  const wheel = (e: WheelEvent) => {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    const box = scroller.getBoundingClientRect();
    h.zoom(
      Math.exp(-Math.max(-100, Math.min(100, e.deltaY)) * 0.01),
      e.clientX - box.left,
      e.clientY - box.top,
    );
  };
  wrap.addEventListener("pointermove", move);
  wrap.addEventListener("pointerleave", leave);
  wrap.addEventListener("click", click);
  scroller.addEventListener("scroll", scroll, { passive: true });
  scroller.addEventListener("wheel", wheel, { passive: false });
  return () => {
    wrap.removeEventListener("pointermove", move);
    wrap.removeEventListener("pointerleave", leave);
    wrap.removeEventListener("click", click);
    scroller.removeEventListener("scroll", scroll);
    scroller.removeEventListener("wheel", wheel);
  };
}

/** Width of a classic scrollbar here (0 with overlay scrollbars). */
export function scrollbarSize(): number {
  if (scrollbar !== null) return scrollbar;
  const probe = document.createElement("div");
  probe.className = "th-scroller";
  probe.style.cssText =
    "position:absolute;visibility:hidden;width:100px;height:100px;overflow:scroll;top:-9999px";
  document.body.appendChild(probe);
  scrollbar = probe.offsetWidth - probe.clientWidth;
  probe.remove();
  return scrollbar;
}
