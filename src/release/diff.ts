/**
 * Field-by-field difference of two manifests (CONTRACT §4.2 `diff`). Tools, workflows and MCP servers are matched
 * by name, so reordering tools is not a change and a renamed tool shows as one removed and one added; a release
 * that gains its first MCP server shows that server (`mcpServers.helpdesk`), not the whole map.
 * Paths use dots and name-keyed brackets: `tools[issue_refund].risk`, `workflows.simple.upstream`; a plan's steps
 * by position: `rollout.plan.steps[1].holdSeconds`, `rollout.plan.promote`.
 */
import { own } from "./own";
import type { Manifest } from "./schema";

export interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

/** Lists compared position by position whatever their lengths. */
const INDEXED = new Set(["rollout.plan.steps"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `expand`: a side that is absent while the other is an object counts as an empty object (each field listed). */
function walk(path: string, a: unknown, b: unknown, out: Change[], expand = false): void {
  if (expand && a == null && isObject(b)) a = {};
  if (expand && b == null && isObject(a)) b = {};
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(path ? `${path}.${k}` : k, own(a, k), own(b, k), out, expand);
    return;
  }
  // A plan's steps are matched by position even when steps were added or removed: "step 3 now holds 1800 s"
  // and "a step 4 was added" read better than the whole list twice.
  if (Array.isArray(a) && Array.isArray(b) && (a.length === b.length || INDEXED.has(path))) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(`${path}[${i}]`, a[i], b[i], out, expand);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, from: a ?? null, to: b ?? null });
}

/**
 * Field-by-field difference of any two JSON values (audit before/after). A side that is null or absent while the
 * other is an object counts as an empty object, so a creation or a removal lists each of its fields.
 */
export function diffValues(from: unknown, to: unknown): Change[] {
  const out: Change[] = [];
  walk("", from, to, out, true);
  return out;
}

/** Turn a list of named items into an object keyed by name so `walk` can match them. */
const byName = <T extends { name: string }>(items: readonly T[] | undefined): Record<string, unknown> =>
  Object.fromEntries((items ?? []).map(({ name, ...rest }) => [name, rest]));

export function diffManifests(from: Manifest, to: Manifest): Change[] {
  const out: Change[] = [];
  const { tools: toolsA, mcpServers: serversA, ...restA } = from;
  const { tools: toolsB, mcpServers: serversB, ...restB } = to;
  walk("", restA, restB, out);
  if (serversA !== undefined || serversB !== undefined) walk("mcpServers", serversA ?? {}, serversB ?? {}, out);
  const a = byName(toolsA);
  const b = byName(toolsB);
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    walk(`tools[${name}]`, own(a, name), own(b, name), out);
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}
