// How a context's extra columns read in one line: before/after pairs joined by an arrow
// ("joy → sadness", "p 0.91 → 0.42"), 0/1 columns as a word when set ("flipped"), and any
// other column as "name value".

import { formatValue } from "./format";
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

/** Group the extra columns of a contexts table for display, in their given order. */
export function groupColumns(ctx: Contexts): ColumnGroup[] {
  const columns: Column[] = [
    ...ctx.labels.map((c, index) => ({ type: "label" as const, index, name: c.name })),
    ...ctx.numeric.map((c, index) => ({ type: "numeric" as const, index, name: c.name })),
  ];
  const used = new Set<Column>();
  const groups: ColumnGroup[] = [];
  for (const col of columns) {
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
  return code >= 0 && code < c.categories.length ? c.categories[code] : "—";
}

/** The text pieces of context `k`'s columns, one per group (a flag that is 0 gives none). */
export function columnTexts(ctx: Contexts, groups: readonly ColumnGroup[], k: number): string[] {
  const out: string[] = [];
  for (const g of groups) {
    if (g.kind === "flag") {
      if (ctx.numeric[g.index].values[k] === 1) out.push(g.name);
    } else if (g.kind === "pair") {
      const value = (i: number) =>
        g.type === "label" ? labelAt(ctx, i, k) : formatValue(ctx.numeric[i].values[k]);
      const prefix = g.type === "label" || !g.name ? "" : `${g.name} `;
      out.push(`${prefix}${value(g.before)} → ${value(g.after)}`);
    } else {
      const value =
        g.type === "label" ? labelAt(ctx, g.index, k) : formatValue(ctx.numeric[g.index].values[k]);
      out.push(`${g.name} ${value}`);
    }
  }
  return out;
}
