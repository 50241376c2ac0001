// The keyword-in-context panel shared by all heatmaps: left context | highlighted token(s) |
// right context | the context's columns. Virtualized: only the rows in view exist in the DOM,
// so a cell with thousands of contexts scrolls smoothly. Token text goes in via textContent.

import { type ColumnGroup, columnChips, groupColumns } from "./contextColumns";
import type { ContextIndex } from "./contextIndex";
import {
  contextPieces,
  SCORED_WINDOW,
  scoreScale,
  scoreStyle,
  spacerGeometry,
  WINDOW,
} from "./contextPieces";
import { formatValue } from "./format";
import { listWindow } from "./layout";
import type { SelectionBus } from "./link";
import { cappedNote, totalBehind } from "./reading";
import {
  contextToken,
  displayToken,
  isByteLevelCached,
  isolate,
  linkKey,
  runningTexts,
} from "./tokens";
import { type Contexts, type Corpus, EMPTY_SELECTION, type Selection, type Spec } from "./types";

export const ROW_H = 28;
/** Row height when the panel is docked beside the heatmaps: two lines (name and columns, then the text). */
export const TALL_ROW_H = 46;
const MAX_ROWS_IN_VIEW = 12;
export class ContextPanel {
  readonly el: HTMLElement;
  readonly list: HTMLDivElement;
  private readonly heading: HTMLDivElement;
  private readonly status: HTMLDivElement;
  private readonly capped: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private items: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private matrix: number | null = null;
  private groups: ColumnGroup[] = [];
  private rendered = { first: -1, last: -1 };
  /** List pixels per scroll pixel (1 unless the list is taller than MAX_SPACER_PX). */
  private ratio = 1;
  private selection: Selection | null = null;
  private rowsInView = MAX_ROWS_IN_VIEW;
  private rowH = ROW_H;
  /** Running text per example, for the rows in view (see `textsOf`). */
  private readonly texts = new Map<string, string[]>();
  /** What names each listed context: the example, or the other axis's label (see `nameOf`). */
  private naming: "example" | "row" | "col" = "example";

  constructor(
    private readonly spec: Spec,
    private readonly bus: SelectionBus,
    private readonly indexes: readonly (ContextIndex | null)[],
  ) {
    this.el = document.createElement("section");
    this.el.className = "th-contexts";
    this.el.dataset.testid = "th-contexts";
    const head = document.createElement("div");
    head.className = "th-contexts-head";
    this.heading = document.createElement("div");
    this.heading.className = "th-contexts-title";
    this.status = document.createElement("div");
    this.status.className = "th-contexts-status";
    this.status.dataset.testid = "th-contexts-status";
    head.append(this.heading, this.status);
    this.capped = document.createElement("div");
    this.capped.className = "th-contexts-capped";
    this.capped.dataset.testid = "th-contexts-capped";
    this.capped.hidden = true;
    this.list = document.createElement("div");
    this.list.className = "th-context-list";
    this.list.dataset.testid = "th-context-list";
    this.list.tabIndex = 0;
    this.list.setAttribute("role", "list");
    this.spacer = document.createElement("div");
    this.spacer.className = "th-context-spacer";
    this.list.appendChild(this.spacer);
    this.el.append(head, this.capped, this.list);
    this.list.addEventListener("scroll", this.onScroll, { passive: true });
    this.list.addEventListener("click", this.onClick);
    this.show({ ...EMPTY_SELECTION });
  }

  /**
   * Docked beside the heatmaps (`side`), rows take two lines, as the panel is narrow, and the
   * list shows `n` of them before it scrolls; below them, one line each.
   */
  setLayout(side: boolean, n: number): void {
    const rowH = side ? TALL_ROW_H : ROW_H;
    if (n === this.rowsInView && rowH === this.rowH) return;
    this.rowsInView = n;
    this.rowH = rowH;
    if (this.selection) {
      const sel = this.selection;
      this.selection = null;
      this.show(sel);
    }
  }

  /** Number of contexts listed now. */
  get count(): number {
    return this.items.length;
  }

  /** Fill the panel for a selection (PROTOCOL.md: a cell lists its contexts; a row or column label all of its). */
  show(sel: Selection): void {
    const previous = this.selection;
    this.selection = sel;
    const same =
      previous &&
      previous.matrix === sel.matrix &&
      previous.row === sel.row &&
      previous.col === sel.col;
    this.renderStatus(sel);
    if (same) {
      this.rerender();
      return;
    }
    const index = sel.matrix !== null ? this.indexes[sel.matrix] : null;
    const m = sel.matrix !== null ? this.spec.matrices[sel.matrix] : null;
    let items: Int32Array<ArrayBufferLike> = new Int32Array(0);
    let title = "Contexts";
    let note = "Click a cell to list the contexts behind it.";
    let capped: string | null = null;
    if (m && (sel.row !== null || sel.col !== null)) {
      const rowLabel = sel.row !== null ? displayIf(m.rows, sel.row) : null;
      const colLabel = sel.col !== null ? displayIf(m.cols, sel.col) : null;
      const labels = [rowLabel, colLabel].filter((x): x is string => x !== null).map(isolate);
      title = `${isolate(m.title || "matrix")} · ${labels.join(" × ")}`;
      if (!index) note = "This matrix has no contexts.";
      else {
        let cells: number[] = [];
        if (sel.row !== null && sel.col !== null) {
          items = index.cell(sel.row, sel.col);
          cells = [sel.row * m.nCols + sel.col];
        } else if (sel.row !== null) {
          items = index.row(sel.row);
          cells = Array.from({ length: m.nCols }, (_, c) => (sel.row as number) * m.nCols + c);
        } else if (sel.col !== null) {
          items = index.col(sel.col);
          cells = Array.from({ length: m.nRows }, (_, r) => r * m.nCols + (sel.col as number));
        }
        note = `${items.length.toLocaleString("en-US")} context${items.length === 1 ? "" : "s"}`;
        capped = cappedNote(m, items.length, totalBehind(m, cells));
      }
    }
    // A row's (column's) contexts differ by column (row): that label names each of them.
    this.naming =
      sel.row !== null && sel.col === null
        ? "col"
        : sel.col !== null && sel.row === null
          ? "row"
          : "example";
    this.heading.replaceChildren();
    const t = document.createElement("span");
    t.className = "th-contexts-name";
    t.textContent = title;
    const n = document.createElement("span");
    n.className = "th-contexts-count";
    n.dataset.testid = "th-contexts-count";
    n.textContent = note;
    this.heading.append(t, n);
    this.capped.textContent = capped ?? "";
    this.capped.hidden = capped === null;
    this.items = items;
    this.matrix = sel.matrix;
    const ctx = this.contexts();
    this.groups = ctx ? groupColumns(ctx) : [];
    const viewRows = Math.max(1, Math.min(items.length, this.rowsInView));
    this.list.style.height = `${viewRows * this.rowH + 2}px`;
    const geometry = spacerGeometry(items.length, this.rowH, viewRows * this.rowH);
    this.spacer.style.height = `${geometry.height}px`;
    this.ratio = geometry.ratio;
    this.list.hidden = items.length === 0;
    this.list.scrollTop = 0;
    this.rendered = { first: -1, last: -1 };
    this.renderWindow();
  }

  private renderStatus(sel: Selection): void {
    this.status.replaceChildren();
    const chip = (label: string, value: string, clear: Partial<Selection>, testid: string) => {
      const el = document.createElement("span");
      el.className = "th-chip";
      el.dataset.testid = testid;
      const k = document.createElement("span");
      k.className = "th-chip-key";
      k.textContent = label;
      const v = document.createElement("span");
      v.className = "th-chip-value";
      v.textContent = value;
      const x = document.createElement("button");
      x.type = "button";
      x.className = "th-chip-clear";
      x.textContent = "×";
      x.title = `clear ${label}`;
      x.addEventListener("click", () => this.bus.update(clear, "contexts"));
      el.append(k, v, x);
      this.status.appendChild(el);
    };
    if (sel.token !== null)
      chip("token", displayToken(sel.token), { token: null }, "th-chip-token");
    if (sel.example !== null)
      chip(
        "example",
        this.exampleName(this.corpusOf(sel.matrix) ?? 0, sel.example),
        { example: null },
        "th-chip-example",
      );
  }

  private contexts(): Contexts | null {
    return this.matrix !== null ? (this.spec.matrices[this.matrix].contexts ?? null) : null;
  }

  private corpusOf(matrix: number | null): number | null {
    if (matrix !== null) return this.spec.matrices[matrix].corpus;
    return this.spec.matrices.find((m) => m.corpus !== null)?.corpus ?? null;
  }

  /**
   * The name of context `k` in the list: a cell's contexts differ by example; a column's (row's)
   * by row (column), e.g. the layer of a logit-lens column, then also by example when the
   * corpus holds several.
   */
  private nameOf(m: Spec["matrices"][number], ctx: Contexts, k: number, corpus: Corpus): string {
    const example = this.exampleName(m.corpus ?? 0, ctx.example[k]);
    if (this.naming === "example") return example;
    const label =
      this.naming === "row" ? displayIf(m.rows, ctx.row[k]) : displayIf(m.cols, ctx.col[k]);
    return corpus.offsets.length > 2 ? `${label} · ${example}` : label;
  }

  /** Running text of example `e`, one string per token (see `runningTexts`); cached. */
  private textsOf(corpusIndex: number, e: number, corpus: Corpus): string[] {
    const key = `${corpusIndex}:${e}`;
    let texts = this.texts.get(key);
    if (!texts) {
      const lo = corpus.offsets[e] ?? 0;
      const hi = corpus.offsets[e + 1] ?? lo;
      const tokens: string[] = [];
      for (let i = lo; i < hi; i++) tokens.push(corpus.vocab[corpus.ids[i]] ?? "");
      texts = runningTexts(tokens);
      if (this.texts.size > 512) this.texts.clear();
      this.texts.set(key, texts);
    }
    return texts;
  }

  private exampleName(corpus: number, e: number): string {
    return this.spec.corpora[corpus]?.names?.[e] ?? `#${e}`;
  }

  private rerender(): void {
    this.rendered = { first: -1, last: -1 };
    this.renderWindow();
  }

  private renderWindow(): void {
    // With a scaled spacer (see MAX_SPACER_PX) the list's own offset is scrollTop * ratio;
    // rows are placed relative to the scroll position so they sit in view.
    const scrollTop = this.list.scrollTop;
    const offset = scrollTop * this.ratio;
    const { first, last } = listWindow(
      this.items.length,
      this.rowH,
      offset,
      this.list.clientHeight || MAX_ROWS_IN_VIEW * this.rowH,
    );
    if (first === this.rendered.first && last === this.rendered.last && this.ratio === 1) return;
    this.rendered = { first, last };
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) rows.push(this.buildRow(i, scrollTop - offset));
    this.list.replaceChildren(this.spacer, ...rows);
  }

  /** Index range of list rows that exist in the DOM now (for tests). */
  get window(): { first: number; last: number } {
    return { ...this.rendered };
  }

  private buildRow(i: number, shift = 0): HTMLElement {
    const k = this.items[i];
    const m = this.spec.matrices[this.matrix ?? 0];
    const ctx = m.contexts as Contexts;
    const corpus = this.spec.corpora[m.corpus ?? 0] as Corpus;
    const e = ctx.example[k];
    const lo = corpus.offsets[e] ?? 0;
    const n = Math.max(0, (corpus.offsets[e + 1] ?? lo) - lo);
    const row = document.createElement("div");
    row.className = "th-context-row";
    row.dataset.testid = "th-context-row";
    row.dataset.k = String(k);
    row.dataset.example = String(e);
    row.setAttribute("role", "listitem");
    row.style.top = `${i * this.rowH + shift}px`;
    if (this.selection?.example === e) row.classList.add("th-selected");

    let scores: Float32Array | null = null;
    if (ctx.scoreStart && ctx.scoreEnd && ctx.scores) {
      const s = ctx.scores.subarray(ctx.scoreStart[k], ctx.scoreEnd[k]);
      if (s.length === n && n > 0) scores = s;
    }
    const sScale = scores ? scoreScale(m.scale, scores) : null;
    const s2 = ctx.start2 ? ctx.start2[k] : -1;
    const e2 = ctx.end2 ? ctx.end2[k] : -1;
    const linked = this.selection?.token != null ? linkKey(this.selection.token) : null;
    const token = (p: number, text: string) => {
      const span = document.createElement("span");
      span.className = "th-tok";
      const raw = corpus.vocab[corpus.ids[lo + p]] ?? "";
      span.textContent = text;
      span.dataset.pos = String(p);
      if (linked !== null && linkKey(raw) === linked) span.classList.add("th-tok-linked");
      if (p >= s2 && p < e2) span.classList.add("th-mark2");
      if (scores && sScale) {
        const style = scoreStyle(sScale, scores[p]);
        span.style.backgroundColor = style.background;
        if (style.color) span.style.color = style.color;
        span.title = `score ${formatValue(scores[p])}`;
      }
      return span;
    };
    const texts = this.textsOf(m.corpus ?? 0, e, corpus);
    // In running text a token's leading space stays outside its marks and colours.
    const running = (el: HTMLElement, p: number) => {
      const text = texts[p] ?? "";
      const lead = /^ +/.exec(text)?.[0] ?? "";
      if (lead && lead.length < text.length) {
        const space = document.createElement("span");
        space.className = "th-space";
        space.textContent = lead;
        el.append(space, token(p, text.slice(lead.length)));
      } else el.appendChild(token(p, text));
    };
    // A context with per-token scores shows its whole input (as far as the row has room).
    const pieces = contextPieces(
      n,
      ctx.start[k],
      ctx.end[k],
      s2,
      e2,
      scores ? SCORED_WINDOW : WINDOW,
    );
    const side = (className: string, ranges: [number, number][], gapFirst: boolean) => {
      const el = document.createElement("div");
      el.className = className;
      ranges.forEach(([a, b], j) => {
        if (j > 0 || (gapFirst && a > 0)) el.appendChild(gap());
        for (let p = a; p < b; p++) running(el, p);
      });
      if (!gapFirst && ranges.length && ranges[ranges.length - 1][1] < n) el.appendChild(gap());
      return el;
    };
    const name = document.createElement("span");
    name.className = "th-ctx-name";
    name.textContent = this.nameOf(m, ctx, k, corpus);
    name.title = name.textContent;
    const kw = document.createElement("div");
    kw.className = "th-ctx-kw";
    for (let p = Math.max(0, ctx.start[k]); p < Math.min(n, ctx.end[k]); p++) {
      const raw = corpus.vocab[corpus.ids[lo + p]] ?? "";
      // A piece of a character split over tokens shows the character (or nothing after it).
      const shown =
        texts[p] !== contextToken(raw)
          ? texts[p]
          : displayToken(raw, isByteLevelCached(corpus.vocab));
      kw.appendChild(token(p, shown));
    }
    const cols = document.createElement("div");
    cols.className = "th-ctx-cols";
    const chips = columnChips(ctx, this.groups, k);
    for (const chip of chips) {
      const c = document.createElement("span");
      c.className = chip.kind === "ranked" ? "th-ctx-col th-ctx-ranked" : "th-ctx-col";
      c.textContent = chip.text;
      cols.appendChild(c);
    }
    cols.title = chips.map((c) => c.text).join("\n"); // all of them, for when they do not fit
    row.append(
      name,
      side("th-ctx-left", pieces.left, true),
      kw,
      side("th-ctx-right", pieces.right, false),
      cols,
    );
    return row;
  }

  private readonly onScroll = (): void => this.renderWindow();

  private readonly onClick = (ev: MouseEvent): void => {
    const target = ev.target as HTMLElement | null;
    const row = target?.closest<HTMLElement>(".th-context-row");
    if (!row || this.matrix === null) return;
    const m = this.spec.matrices[this.matrix];
    const corpus = this.spec.corpora[m.corpus ?? 0];
    const e = Number(row.dataset.example);
    const tok = target?.closest<HTMLElement>(".th-tok");
    if (tok && corpus) {
      const raw = corpus.vocab[corpus.ids[corpus.offsets[e] + Number(tok.dataset.pos)]];
      if (raw !== undefined) this.bus.update({ token: raw }, "contexts");
      return;
    }
    this.bus.update({ example: e }, "contexts");
  };

  destroy(): void {
    this.list.removeEventListener("scroll", this.onScroll);
    this.list.removeEventListener("click", this.onClick);
    this.el.remove();
  }
}

function gap(): HTMLSpanElement {
  const g = document.createElement("span");
  g.className = "th-gap";
  g.textContent = "…";
  return g;
}

function displayIf(
  axis: { labels: string[]; tokens: (string | null)[] | null; kind: string },
  i: number,
): string {
  const label = axis.labels[i] ?? "";
  return displayToken(label, isByteLevelCached(axis.labels));
}
