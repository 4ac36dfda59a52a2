/**
 * The code before issue 14 (one snapshot with every manifest, checked by snapshot-check.ts), for side-by-side
 * figures: `git archive <rev> src` into bench/out/before/ and an entry that exports what the isolate ran.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OUT, ROOT } from "../build.mjs";

/** The last commit of main before the format-2 layout landed. */
export const BEFORE_REV = process.env.BENCH_BEFORE_REV ?? "ff377a4";

export function extractBefore() {
  const dir = join(OUT, "before");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", "--format=tar", BEFORE_REV, "src"], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  writeFileSync(
    join(dir, "core.ts"),
    [
      'import { z } from "zod";',
      'export { decide } from "./src/routing/decide";',
      'export { indexSnapshot, loadSnapshot } from "./src/routing/snapshot";',
      "export const jitless = () => { z.config({ jitless: true }); };",
      "",
    ].join("\n"),
  );
  return join("bench", "out", "before", "core.ts");
}

/** The last commit of main in format 2 (shards of JSON only), measured beside this tree's format 3. */
export const MID_REV = process.env.BENCH_MID_REV ?? "4dfce28";

/** `git archive <MID_REV> src bench/snapshot/core.ts` into bench/out/mid/: that tree's own benchmark entry. */
export function extractMid() {
  const dir = join(OUT, "mid");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", "--format=tar", MID_REV, "src", "bench/snapshot/core.ts"], {
    cwd: ROOT,
    maxBuffer: 1 << 28,
  });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  return join("bench", "out", "mid", "bench", "snapshot", "core.ts");
}
