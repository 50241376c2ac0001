// How a context's extra columns read in one line: before/after pairs joined by an arrow
// ("joy → sadness", "p 0.91 → 0.42"), ranked label columns with their probabilities as one
// list ("top1".."topK" with "p1".."pK": "top ␣of 41% · ␣( 12%"), 0/1 columns as a word when set
// ("flipped"), and any other column as "name value". Label values are shown as tokens
// ("Ġthe" → "␣the"): they are often a model's predictions.

import { formatProbability, formatValue } from "./format";
import { displayToken, isByteLevelCached } from "./tokens";
import type { Contexts } from "./types";

const BEFORE = new Set(["orig", "original", "before", "old", "base", "clean", "from", "src"]);
const AFTER = new Set([
  "new",
  "after",
  "perturbed",
  "pert",
  "corrupted",
  "masked",
  "to",
  "dst",
  "edit",
  "edited",
]);

type Column = { type: "numeric" | "label"; index: number; name: string };

export type ColumnGroup =
  | { kind: "pair"; type: "numeric" | "label"; name: string; before: number; after: number }
  | { kind: "ranked"; name: string; labels: number[]; probs: number[] }
  | { kind: "flag"; name: string; index: number }
  | { kind: "single"; type: "numeric" | "label"; name: string; index: number };

function split(name: string): { stem: string; side: "before" | "after" | null } {
  const parts = name
    .toLowerCase()
    .split(/[_\s.-]+/)
    .filter(Boolean);
  const before = parts.filter((p) => BEFORE.has(p));
  const after = parts.filter((p) => AFTER.has(p));
  if (before.length + after.length !== 1) return { stem: name, side: null };
  return {
    stem: parts.filter((p) => !BEFORE.has(p) && !AFTER.has(p)).join(" "),
    side: before.length ? "before" : "after",
  };
}

function isFlag(values: Float32Array): boolean {
  if (values.length === 0) return false;
  for (const v of values) if (!(v === 0 || v === 1 || Number.isNaN(v))) return false;
  return true;
}

const RANKED = /^(top|rank|pred)[_-]?(\d+)$/i;
const PROB = /^(p|prob|proba|probability)[_-]?(\d+)$/i;

/** Label columns top1..topK (at least two, numbered from 1) and their p1..pK, if any. */
function rankedGroup(columns: readonly Column[]): (ColumnGroup & { kind: "ranked" }) | null {
  const byRank = new Map<number, Column>();
  let stem = "";
  for (const c of columns) {
    const m = c.type === "label" ? RANKED.exec(c.name) : null;
    if (!m || (stem && m[1] !== stem)) continue;
    stem = m[1];
    byRank.set(Number(m[2]), c);
  }
  const labels: Column[] = [];
  for (let k = 1; byRank.has(k); k++) labels.push(byRank.get(k) as Column);
  if (labels.length < 2) return null;
  const probs = labels.map((_, i) => {
    const p = columns.find((c) => c.type === "numeric" && Number(PROB.exec(c.name)?.[2]) === i + 1);
    return p ? p.index : -1;
  });
  return { kind: "ranked", name: stem, labels: labels.map((c) => c.index), probs };
}

/** Group the extra columns of a contexts table for display, in their given order. */
export function groupColumns(ctx: Contexts): ColumnGroup[] {
  const columns: Column[] = [
    ...ctx.labels.map((c, index) => ({ type: "label" as const, index, name: c.name })),
    ...ctx.numeric.map((c, index) => ({ type: "numeric" as const, index, name: c.name })),
  ];
  const used = new Set<Column>();
  const groups: ColumnGroup[] = [];
  const ranked = rankedGroup(columns);
  const rankedAt = ranked
    ? columns.find((c) => c.type === "label" && c.index === ranked.labels[0])
    : null;
  if (ranked) {
    for (const c of columns) {
      if (c.type === "label" && ranked.labels.includes(c.index)) used.add(c);
      if (c.type === "numeric" && ranked.probs.includes(c.index)) used.add(c);
    }
  }
  for (const col of columns) {
    if (ranked && col === rankedAt) groups.push(ranked);
    if (used.has(col)) continue;
    const s = split(col.name);
    if (s.side) {
      const mate = columns.find((o) => {
        if (o === col || used.has(o) || o.type !== col.type) return false;
        const t = split(o.name);
        return t.side !== null && t.side !== s.side && t.stem === s.stem;
      });
      if (mate) {
        used.add(col).add(mate);
        const [b, a] = s.side === "before" ? [col, mate] : [mate, col];
        groups.push({
          kind: "pair",
          type: col.type,
          name: s.stem,
          before: b.index,
          after: a.index,
        });
        continue;
      }
    }
    used.add(col);
    if (col.type === "numeric" && isFlag(ctx.numeric[col.index].values))
      groups.push({ kind: "flag", name: col.name, index: col.index });
    else groups.push({ kind: "single", type: col.type, name: col.name, index: col.index });
  }
  return groups;
}

function labelAt(ctx: Contexts, column: number, k: number): string {
  const c = ctx.labels[column];
  const code = c.codes[k];
  return code >= 0 && code < c.categories.length
    ? displayToken(c.categories[code], isByteLevelCached(c.categories))
    : "—";
}

/** One column of a context as shown: its text and the kind of group it comes from. */
export interface ColumnChip {
  kind: ColumnGroup["kind"];
  text: string;
}

/** The columns of context `k`, one chip per group (a flag that is 0 gives none). */
export function columnChips(
  ctx: Contexts,
  groups: readonly ColumnGroup[],
  k: number,
): ColumnChip[] {
  const out: ColumnChip[] = [];
  for (const g of groups) {
    if (g.kind === "ranked") {
      const items = g.labels.map((column, i) => {
        const p = g.probs[i] >= 0 ? ctx.numeric[g.probs[i]].values[k] : Number.NaN;
        const label = labelAt(ctx, column, k);
        return Number.isNaN(p) ? label : `${label} ${formatProbability(p)}`;
      });
      out.push({ kind: g.kind, text: `${g.name} ${items.join(" · ")}` });
    } else if (g.kind === "flag") {
      if (ctx.numeric[g.index].values[k] === 1) out.push({ kind: g.kind, text: g.name });
    } else if (g.kind === "pair") {
      const value = (i: number) =>
        g.type === "label" ? labelAt(ctx, i, k) : formatValue(ctx.numeric[i].values[k]);
      const prefix = g.type === "label" || !g.name ? "" : `${g.name} `;
      out.push({ kind: g.kind, text: `${prefix}${value(g.before)} → ${value(g.after)}` });
    } else {
      const value =
        g.type === "label" ? labelAt(ctx, g.index, k) : formatValue(ctx.numeric[g.index].values[k]);
      out.push({ kind: g.kind, text: `${g.name} ${value}` });
    }
  }
  return out;
}

/** The text pieces of context `k`'s columns, one per group (a flag that is 0 gives none). */
export function columnTexts(ctx: Contexts, groups: readonly ColumnGroup[], k: number): string[] {
  return columnChips(ctx, groups, k).map((c) => c.text);
}
