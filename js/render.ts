// render() builds the widget inside `el`, rebuilds it when `_spec` changes, and returns the
// cleanup anywidget calls on removal. Used by the anywidget entry point (widget.ts) and by the
// offline HTML export (standalone.ts).

import { App } from "./app";
import { decodeSpec } from "./codec";
import type { WidgetModel } from "./types";

export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
}

function showError(root: HTMLElement, error: unknown): void {
  const box = document.createElement("div");
  box.className = "th-error";
  box.setAttribute("role", "alert");
  const title = document.createElement("strong");
  title.textContent = "tokenheat could not draw this widget";
  const detail = document.createElement("pre");
  detail.textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  box.append(title, detail);
  root.replaceChildren(box);
}

/** Draw the widget for `model` into `el`; returns the cleanup. */
export function render({ model, el }: RenderProps): () => void {
  const root = document.createElement("div");
  root.className = "th-widget";
  root.dataset.testid = "th-root";
  root.tabIndex = 0;
  root.setAttribute(
    "aria-label",
    "tokenheat: linked heatmaps. Arrow keys move the selected cell, Enter lists its contexts, Escape clears.",
  );
  el.appendChild(root);
  let app: App | null = null;
  const build = () => {
    app?.destroy();
    app = null;
    root.replaceChildren();
    const raw = model.get("_spec");
    if (
      raw === null ||
      raw === undefined ||
      (typeof raw === "object" && Object.keys(raw).length === 0)
    ) {
      const empty = document.createElement("div");
      empty.className = "th-empty";
      empty.textContent = "No data yet.";
      root.appendChild(empty);
      return;
    }
    try {
      app = new App(root, decodeSpec(raw), model);
    } catch (error) {
      showError(root, error);
      console.error("tokenheat:", error);
    }
  };
  build();
  model.on("change:_spec", build);
  return () => {
    model.off("change:_spec", build);
    app?.destroy();
    app = null;
    root.remove();
  };
}
