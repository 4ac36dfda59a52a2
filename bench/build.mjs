/**
 * Bundles TypeScript entry points for Node with esbuild, so benchmarks can import the pure core (src/routing,
 * src/release) under plain Node 20, which has no TypeScript loader.
 *
 *   import { build } from "../build.mjs";
 *   const [core] = await build(["bench/decision/core.ts"]);   // -> absolute path of bench/out/.../core.js
 *   const { decide } = await import(core);
 *
 * Paths are relative to the repository root. Output mirrors the input path under bench/out/ (git-ignored), as
 * ESM with code splitting, so entries built together share one copy of zod and of every src module.
 * Run directly to build the given entries: `node bench/build.mjs src/routing/decide.ts ...`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUT = join(ROOT, "bench", "out");

/**
 * Biome's `files.includes` covers bench/** and does not read .gitignore, so a nested config keeps the bundles
 * (and anything else a benchmark writes under bench/out/) out of `npm run check`.
 */
const OUT_BIOME = `${JSON.stringify({ root: false, files: { includes: ["!**"] } }, null, 2)}\n`;

/** Bundles `entries` (paths relative to the repo root) and returns the absolute paths of the bundles, in order. */
export async function build(entries) {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "biome.json"), OUT_BIOME);
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    outbase: ROOT,
    outdir: OUT,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked", // so --cpu-prof and stack traces point into src/*.ts
    logLevel: "warning",
  });
  return entries.map((e) => join(OUT, relative(ROOT, resolve(ROOT, e)).replace(/\.[cm]?tsx?$/, ".js")));
}

/** `import()` of a built bundle by absolute path. */
export const load = (path) => import(pathToFileURL(path).href);

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entries = process.argv.slice(2);
  if (entries.length === 0) {
    console.error("usage: node bench/build.mjs <entry.ts> [...]");
    process.exit(2);
  }
  for (const p of await build(entries)) console.log(relative(ROOT, p));
}
