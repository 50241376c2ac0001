// Token strings are untrusted: no source file may put text into the DOM as HTML.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const dir = join(__dirname, "..");
const sources = readdirSync(dir).filter((f) => f.endsWith(".ts"));

it("finds the front-end sources", () => {
  expect(sources).toContain("contexts.ts");
  expect(sources.length).toBeGreaterThan(10);
});

it.each(sources)("%s never writes HTML", (file) => {
  const text = readFileSync(join(dir, file), "utf8");
  for (const sink of [
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "createContextualFragment",
    "DOMParser",
    "eval(",
    "new Function",
  ]) {
    expect(text.includes(sink), `${file} uses ${sink}`).toBe(false);
  }
});
