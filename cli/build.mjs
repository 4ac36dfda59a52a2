// Builds the `switchyard` command line into one runnable ESM file, cli/dist/switchyard.mjs (the package's bin).
// Run by `npm run build:cli` and by `prepare`, so `npm ci` on a clean clone and `npm install` of the package both
// leave a working bin. zod and the project's schemas from src/release are bundled in: the file needs only Node.
// Nothing under src/ imports cli/, so the CLI can never reach the Worker bundle (`npm run build` bundles src/index.ts).
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "cli/dist/switchyard.mjs");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

await build({
  entryPoints: [join(root, "cli/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22.12",
  banner: { js: "#!/usr/bin/env node" },
  define: { SWITCHYARD_VERSION: JSON.stringify(version) },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
