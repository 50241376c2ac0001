// Offline HTML export runtime: the same render() as the live widget, driven by a small
// stand-in for the anywidget model instead of a kernel.
//
// CONTRACT with src/tokenheat/export/_html.py (version 1):
//
//   <style>{widget.css}</style>
//   <div data-tokenheat="tokenheat-data"></div>
//   <script type="application/json" id="tokenheat-data">{"spec": {...}, "selected": {...}}</script>
//   <script>{standalone.js}</script>
//
// - "spec" is the widget's `_spec` with every binary leaf written as {"$b64": "<base64>"};
//   "selected" is the `selected` trait (or null); an optional "height" is the `height` trait.
// - The JSON must be safe inside <script>: write "<", ">" and "&" as \u003c \u003e \u0026 (and
//   U+2028 / U+2029 as \u2028 / \u2029). The bundles themselves never contain "</script".
// - standalone.js is a classic script (not type="module") and bundles render() itself, so
//   widget.js need not be inlined. Place it after the elements above. When it runs it mounts
//   every element with a `data-tokenheat` attribute (whose value is the id of its JSON script);
//   with none, a #tokenheat-data script is mounted into a new element at the end of <body>.
// - It also defines window.tokenheat = { mount, ModelShim, instances, version } so that a page
//   can mount by hand: tokenheat.mount(element, data) → { model, destroy }.
// - The page makes no network request: no fonts, images or scripts are loaded.

import { reviveBuffers } from "./leaves";
import { render as widgetRender } from "./render";
import { EMPTY_SELECTION, type WidgetModel } from "./types";

type Callback = (...args: unknown[]) => void;
type Render = (props: { model: WidgetModel; el: HTMLElement }) => (() => void) | undefined;

export interface ExportData {
  spec: unknown;
  selected?: unknown;
  /** The `height` trait: largest height of a heatmap's cell area in px (0 = automatic). */
  height?: number;
}

/** Enough of the anywidget/Backbone model for render(): get, set, on, off, save_changes, send. */
export class ModelShim implements WidgetModel {
  private readonly values = new Map<string, unknown>();
  private readonly listeners = new Map<string, Set<Callback>>();
  /** Messages render() sent with send(); nothing listens to them in a static page. */
  readonly sent: unknown[] = [];
  /** How often save_changes() was called. */
  saves = 0;

  constructor(initial: Record<string, unknown>) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
  }

  get(name: string): unknown {
    return this.values.get(name);
  }

  set(name: string, value: unknown): void {
    const old = this.values.get(name);
    this.values.set(name, value);
    if (!deepEqual(old, value)) {
      this.emit(`change:${name}`, this, value);
      this.emit("change", this);
    }
  }

  on(event: string, callback: Callback): void {
    for (const name of event.split(/\s+/).filter(Boolean)) {
      let set = this.listeners.get(name);
      if (!set) {
        set = new Set();
        this.listeners.set(name, set);
      }
      set.add(callback);
    }
  }

  off(event?: string | null, callback?: Callback | null): void {
    const names = event ? event.split(/\s+/).filter(Boolean) : [...this.listeners.keys()];
    for (const name of names) {
      if (callback) this.listeners.get(name)?.delete(callback);
      else this.listeners.delete(name);
    }
  }

  save_changes(): void {
    this.saves++;
  }

  send(content: unknown): void {
    this.sent.push(content);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const callback of [...(this.listeners.get(event) ?? [])]) callback(...args);
  }
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Structural equality of JSON values with binary leaves (compared byte by byte). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.byteLength !== b.byteLength)
      return false;
    const x = bytesOf(a);
    const y = bytesOf(b);
    return x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

export interface Mounted {
  model: ModelShim;
  destroy(): void;
}

const instances: Mounted[] = [];

/** Render the export `data` into `el` with the bundled render (or another one). */
export function mount(el: HTMLElement, data: ExportData, render: Render = widgetRender): Mounted {
  const model = new ModelShim({
    _spec: reviveBuffers(data.spec),
    selected: data.selected ?? { ...EMPTY_SELECTION },
    height: typeof data.height === "number" ? data.height : 0,
  });
  const cleanup = render({ model, el });
  const mounted: Mounted = {
    model,
    destroy: () => {
      if (typeof cleanup === "function") cleanup();
      const i = instances.indexOf(mounted);
      if (i >= 0) instances.splice(i, 1);
    },
  };
  instances.push(mounted);
  return mounted;
}

function readData(id: string): ExportData {
  const script = document.getElementById(id);
  if (!script) throw new Error(`tokenheat: no <script id="${id}"> with the widget data`);
  return JSON.parse(script.textContent ?? "null") as ExportData;
}

function mountAll(): void {
  const hosts = Array.from(document.querySelectorAll<HTMLElement>("[data-tokenheat]"));
  if (hosts.length === 0 && document.getElementById("tokenheat-data")) {
    const host = document.createElement("div");
    host.dataset.tokenheat = "tokenheat-data";
    document.body.appendChild(host);
    hosts.push(host);
  }
  for (const host of hosts) {
    if (host.dataset.tokenheatMounted) continue;
    host.dataset.tokenheatMounted = "1";
    try {
      mount(host, readData(host.dataset.tokenheat || "tokenheat-data"));
    } catch (error) {
      const box = document.createElement("pre");
      box.className = "th-error";
      box.textContent = `tokenheat could not load this page's data: ${error instanceof Error ? error.message : String(error)}`;
      host.appendChild(box);
      console.error(error);
    }
  }
}

declare global {
  interface Window {
    tokenheat?: {
      mount: typeof mount;
      ModelShim: typeof ModelShim;
      instances: Mounted[];
      version: number;
    };
  }
}

if (typeof window !== "undefined" && typeof document !== "undefined") {
  window.tokenheat = { mount, ModelShim, instances, version: 1 };
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", mountAll, { once: true });
  else mountAll();
}
