// Bundles the front end into src/tokenheat/static/: widget.js (ESM, one default export
// `{ render }` for anywidget), standalone.js (classic script for the offline HTML export)
// and widget.css.
// Usage: node js/build.mjs [--watch] [--dev]
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(root, "src/tokenheat/static");
const watch = process.argv.includes("--watch");
const dev = process.argv.includes("--dev") || watch;
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  target: ["es2020", "chrome90", "firefox90", "safari14"],
  logLevel: "info",
  legalComments: "none",
  // The bundles are inlined into <script> elements by the HTML export: never emit "</script".
  supported: { "inline-script": false },
};

const builds = [
  {
    ...common,
    entryPoints: [resolve(root, "js/widget.ts")],
    outfile: resolve(outdir, "widget.js"),
    format: "esm",
  },
  {
    ...common,
    entryPoints: [resolve(root, "js/standalone.ts")],
    outfile: resolve(outdir, "standalone.js"),
    format: "iife",
  },
  {
    ...common,
    entryPoints: [resolve(root, "js/widget.css")],
    outfile: resolve(outdir, "widget.css"),
  },
];

if (watch) {
  for (const options of builds) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  for (const name of ["widget.js", "standalone.js"]) {
    if (/<\/script/i.test(readFileSync(resolve(outdir, name), "utf8"))) {
      throw new Error(`${name} contains "</script", which would break the inlined HTML export`);
    }
  }
}
