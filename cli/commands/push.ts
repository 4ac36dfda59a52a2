/**
 * `release push <manifest.json>`: the manifest is validated locally with the project's own schema
 * (src/release/schema.ts) and its readiness gaps (src/release/readiness.ts, CONTRACT §4.3) are listed before it is
 * uploaded. An invalid manifest never leaves the machine (exit 2, every field problem named). A manifest with
 * gaps is still stored — a draft may be — and the gaps say what `promote` and `canary` would refuse.
 */
import { readFileSync } from "node:fs";
import { digestOf } from "../../src/release/digest";
import { readinessGaps } from "../../src/release/readiness";
import { Manifest } from "../../src/release/schema";
import type { Command, Ctx } from "../context";
import { positionals } from "../context";
import { CliError, EXIT, problemsOf, usageError } from "../errors";
import { ifRevisionOf, mutate, reasonOf } from "../mutation";
import { USAGE } from "../usage";

function readManifest(ctx: Ctx, file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw usageError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`,
      USAGE[ctx.command],
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw usageError(`${file} is not JSON: ${(err as Error).message}; nothing was sent`, USAGE[ctx.command]);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    throw usageError(
      `${file} is not a valid release manifest; nothing was sent`,
      undefined,
      "fix the fields above (CONTRACT §1.1), then run the push again",
      problemsOf(parsed.error.issues),
    );
  }
  return parsed.data;
}

/** The agent's stored versions; none for an agent the gateway does not know yet (this push creates it). */
async function storedVersions(ctx: Ctx, agent: string): Promise<Set<string>> {
  try {
    const { body } = await ctx.gateway.call({ method: "GET", path: `/agents/${agent}/releases` });
    const list = Array.isArray(body.releases) ? (body.releases as Array<{ version: string }>) : [];
    return new Set(list.map((r) => r.version));
  } catch (err) {
    if (err instanceof CliError && err.extra.code === "unknown_agent") return new Set();
    throw err;
  }
}

export const releasePush: Command = async (ctx) => {
  const [file] = positionals(ctx, ["manifest.json"]);
  const manifest = readManifest(ctx, file as string);
  const reason = reasonOf(ctx);
  const ifRevision = ifRevisionOf(ctx);
  const { agent, version } = manifest;
  ctx.hints.agent = agent;
  const digest = await digestOf(manifest);
  const versions = await storedVersions(ctx, agent);
  const missing = readinessGaps({ manifest, digest, releaseExists: (v) => versions.has(v) });
  const p = ctx.out.paint;
  const lines = [`${p.green("valid")} ${agent}@${version} ${digest}`];
  if (missing.length === 0) lines.push(`readiness: ${p.green("ready")} (may go live through canary or promote)`);
  else {
    lines.push(
      `readiness: ${p.yellow(`${missing.length} gap(s)`)} — stored as a draft; promote and canary refuse it until answered:`,
    );
    for (const m of missing) lines.push(`  missing: ${m}`);
  }
  await mutate(ctx, {
    agent,
    summary: `store ${agent}@${version}`,
    request: {
      method: "PUT",
      path: `/agents/${agent}/releases/${version}`,
      query: { reason },
      body: manifest,
      ifRevision,
    },
    report: { json: { version, digest, readiness: { ready: missing.length === 0, missing } }, lines },
  });
  return EXIT.ok;
};
