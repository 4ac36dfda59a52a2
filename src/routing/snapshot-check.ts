/**
 * A hand-written structural check of a published snapshot, for the isolate's load path only (the admin API keeps
 * the zod schemas). It mirrors `Snapshot` in ./snapshot.ts and `Manifest` in ../release/schema.ts field by field,
 * because zod runs without its JIT in workerd (no `new Function`) and took ~190 ms for 3,000 manifests there.
 *
 * It may only ever be stricter than zod: it answers `false` at the first doubt (an unknown key, an `undefined`,
 * a `__proto__` key in a free-form object, a URL with spaces) and the caller then asks zod, whose answer and error
 * message stand. So a snapshot is never accepted here that zod would refuse, and the accepted value is the input
 * itself, exactly what zod would return (no field of these schemas transforms its input).
 *
 * Releases are immutable and named by digest: a release whose digest is in `known` (the validated manifests of
 * the previous revision), filed under the same agent and version and whose stored manifest is deep-equal to the
 * validated one, is not checked again (equal content is valid content) and the validated object is kept, so a
 * new revision costs a comparison per known release. A body changed under a known digest is checked in full.
 */
import { z } from "zod";
import { AGENT_ID, type Manifest, MODES, RISKS, TOOL_NAME, VERSION } from "../release/schema";

type Obj = Record<string, unknown>;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const FAILURE_CLASS = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const OVERRIDE_ID = /^ovr_[A-Za-z0-9]{1,40}$/;
const PRINTABLE_URL = /^https?:\/\/[\x21-\x7e]*$/i; // no whitespace: zod would trim it (a transform)
// The same leaf schemas as Override and Canary; only a few thousand values go through them.
const DateTime = z.iso.datetime();
const Percent = z.number().min(0).max(100).multipleOf(0.01);

const RISK_SET: ReadonlySet<unknown> = new Set(RISKS);
const MODE_SET: ReadonlySet<unknown> = new Set(MODES);

/** A JSON object: not null, not an array, an ordinary prototype. */
function isObj(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

interface Shape {
  known: ReadonlySet<string>;
  required: readonly string[];
}
const shape = (required: string[], optional: string[] = []): Shape => ({
  known: new Set([...required, ...optional]),
  required,
});

/** A strict object: every key known, every required key present, no value `undefined`. */
function strict(v: unknown, s: Shape): v is Obj {
  if (!isObj(v)) return false;
  for (const k in v) if (!s.known.has(k) || v[k] === undefined) return false;
  for (const k of s.required) if (!(k in v)) return false;
  return true;
}
const str = (v: unknown, min: number, max: number): boolean =>
  typeof v === "string" && v.length >= min && v.length <= max;
const re = (v: unknown, pattern: RegExp): boolean => typeof v === "string" && pattern.test(v);
const int = (v: unknown, min: number, max: number): boolean =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
const opt = (o: Obj, k: string, ok: (v: unknown) => boolean): boolean => !(k in o) || ok(o[k]);
const list = (v: unknown, max: number, ok: (x: unknown) => boolean): boolean =>
  Array.isArray(v) && v.length <= max && v.every(ok);
const jsonObject = (v: unknown): boolean => isObj(v) && !Object.hasOwn(v, "__proto__");
const version = (v: unknown): boolean => re(v, VERSION);
const toolName = (v: unknown): boolean => re(v, TOOL_NAME);
const risk = (v: unknown): boolean => RISK_SET.has(v);
// Named, not inline: a closure per call would allocate on every manifest.
const mode = (v: unknown): boolean => MODE_SET.has(v);
const toolNames = (v: unknown): boolean => list(v, 256, toolName);
const risks = (v: unknown): boolean => list(v, Number.POSITIVE_INFINITY, risk);
const offOrVersion = (v: unknown): boolean => v === "off" || version(v);
const owner = (v: unknown): boolean => str(v, 1, 256);
const owners = (v: unknown): boolean => list(v, 64, owner);
const description = (v: unknown): boolean => str(v, 0, 4096);
const always = (v: unknown): boolean => v === "always";
const timeoutMs = (v: unknown): boolean => int(v, 1, 600_000);
const dateTime = (v: unknown): boolean => DateTime.safeParse(v).success;

/** `URL.canParse` (workerd and Node have it; the default workers-types do not declare it). */
const canParse =
  (URL as { canParse?: (url: string) => boolean }).canParse ??
  ((url: string): boolean => {
    try {
      new URL(url);
      return true;
    } catch {
      return false;
    }
  });

function httpUrl(v: unknown, seen: Set<string>): boolean {
  if (typeof v !== "string") return false;
  if (seen.has(v)) return true;
  if (v.length > 2048 || !PRINTABLE_URL.test(v) || !canParse(v)) return false;
  seen.add(v);
  return true;
}

const OVERRIDE_SET = shape([], ["mode", "disableTools", "toolScope", "forceApproval", "workflow"]);
function overrideSet(v: unknown): boolean {
  if (!strict(v, OVERRIDE_SET)) return false;
  let n = 0;
  for (const _ in v) n++;
  return (
    n > 0 &&
    opt(v, "mode", mode) &&
    opt(v, "disableTools", toolNames) &&
    opt(v, "toolScope", toolNames) &&
    opt(v, "forceApproval", risks) &&
    opt(v, "workflow", toolName)
  );
}

const TRIGGER = shape(["failureClass", "maxRate", "minRequests", "windowSeconds", "action"]);
const SET_ACTION = shape(["set"]);
function trigger(v: unknown): boolean {
  return (
    strict(v, TRIGGER) &&
    re(v.failureClass, FAILURE_CLASS) &&
    typeof v.maxRate === "number" &&
    v.maxRate >= 0 &&
    v.maxRate <= 1 &&
    int(v.minRequests, 1, 1_000_000_000) &&
    int(v.windowSeconds, 1, 86_400) &&
    (v.action === "abort-canary" ||
      v.action === "rollback" ||
      (strict(v.action, SET_ACTION) && overrideSet(v.action.set)))
  );
}

const ROLLOUT = shape([], ["fallback", "owners", "triggers", "userFallback"]);
const USER_FALLBACK = shape(["status", "body"]);
const triggers = (v: unknown): boolean => list(v, 64, trigger);
const userFallback = (v: unknown): boolean => strict(v, USER_FALLBACK) && int(v.status, 200, 599) && jsonObject(v.body);
function rollout(v: unknown): boolean {
  return (
    strict(v, ROLLOUT) &&
    opt(v, "fallback", offOrVersion) &&
    opt(v, "owners", owners) &&
    opt(v, "triggers", triggers) &&
    opt(v, "userFallback", userFallback)
  );
}

const TOOL = shape(["name", "risk"], ["approval", "description"]);
const WORKFLOW = shape(["upstream"], ["timeoutMs"]);
const MODEL = shape(["provider", "name", "baseUrl"], ["params"]);
const INSTRUCTIONS = shape(["system"]);
const APPROVAL = shape(["require"]);
const MANIFEST = shape(
  ["agent", "version", "instructions", "model", "tools", "workflows"],
  ["description", "approval", "retrieval", "rollout", "metadata"],
);

const approval = (v: unknown): boolean => strict(v, APPROVAL) && risks(v.require);

/** `Manifest` of ../release/schema.ts, strict. `urls` remembers URLs already found good in this check. */
export function manifestOk(v: unknown, urls: Set<string> = new Set()): v is Manifest {
  if (!strict(v, MANIFEST)) return false;
  if (!re(v.agent, AGENT_ID) || !version(v.version) || !opt(v, "description", description)) return false;
  const ins = v.instructions;
  if (!strict(ins, INSTRUCTIONS) || !str(ins.system, 0, 200_000)) return false;
  const m = v.model;
  if (
    !strict(m, MODEL) ||
    (m.provider !== "openai" && m.provider !== "anthropic") ||
    !str(m.name, 1, 256) ||
    !httpUrl(m.baseUrl, urls) ||
    !opt(m, "params", jsonObject)
  )
    return false;
  const tools = v.tools;
  if (!Array.isArray(tools) || tools.length > 256) return false;
  const names = new Set<unknown>();
  for (const t of tools) {
    if (!strict(t, TOOL) || !toolName(t.name) || !risk(t.risk) || names.has(t.name)) return false;
    if (!opt(t, "approval", always) || !opt(t, "description", description)) return false;
    names.add(t.name);
  }
  const wf = v.workflows;
  if (!isObj(wf) || !Object.hasOwn(wf, "default")) return false;
  for (const name in wf) {
    const w = wf[name];
    if (!toolName(name) || !strict(w, WORKFLOW) || !httpUrl(w.upstream, urls)) return false;
    if (!opt(w, "timeoutMs", timeoutMs)) return false;
  }
  return (
    opt(v, "approval", approval) &&
    opt(v, "retrieval", jsonObject) &&
    opt(v, "rollout", rollout) &&
    opt(v, "metadata", jsonObject)
  );
}

const OVERRIDE = shape(["id", "scope", "set", "reason", "actor", "createdAt"], ["expiresAt"]);
const SCOPE = shape(["agent"], ["release"]);
function overrideOk(v: unknown): boolean {
  if (!strict(v, OVERRIDE)) return false;
  const s = v.scope;
  if (!strict(s, SCOPE)) return false;
  if (s.agent === "*" ? "release" in s : !re(s.agent, AGENT_ID) || !opt(s, "release", version)) return false;
  return (
    re(v.id, OVERRIDE_ID) &&
    overrideSet(v.set) &&
    str(v.reason, 1, 2000) &&
    str(v.actor, 1, 256) &&
    dateTime(v.createdAt) &&
    opt(v, "expiresAt", dateTime)
  );
}

const SNAPSHOT = shape(["format", "revision", "publishedAt", "agents", "overrides"]);
const AGENT = shape(["pointers", "releases"]);
const POINTERS = shape(["active", "fallback", "canary", "offFrom"]);
const CANARY = shape(["version", "percent"]);
const RELEASE = shape(["manifest", "digest"]);
/** Deep equality of two JSON values: same keys (own, none missing, none extra), same order in arrays. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Obj;
  const y = b as Obj;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

const pointer = (v: unknown): boolean => v === null || v === "off" || version(v);

/**
 * True when `v` is a valid snapshot of `format` (zod would accept it). A manifest equal to the one `known` holds
 * for its digest is replaced by that object (in `v`, once the whole snapshot passed); the rest are checked.
 */
export function snapshotOk(v: unknown, format: number, known: ReadonlyMap<string, Manifest>): boolean {
  if (!strict(v, SNAPSHOT)) return false;
  if (v.format !== format || !int(v.revision, 0, Number.MAX_SAFE_INTEGER)) return false;
  if (!dateTime(v.publishedAt) || !Array.isArray(v.overrides) || !v.overrides.every(overrideOk)) return false;
  const agents = v.agents;
  if (!isObj(agents)) return false;
  const urls = new Set<string>();
  const reused: [Obj, Manifest][] = [];
  for (const agent in agents) {
    const a = agents[agent];
    if (!re(agent, AGENT_ID) || !strict(a, AGENT)) return false;
    const p = a.pointers;
    const rs = a.releases;
    if (!strict(p, POINTERS) || !isObj(rs)) return false;
    if (!pointer(p.active) || !pointer(p.fallback) || (p.offFrom !== null && !version(p.offFrom))) return false;
    const c = p.canary;
    if (c !== null && (!strict(c, CANARY) || !version(c.version) || !Percent.safeParse(c.percent).success))
      return false;
    // Referential integrity, as Snapshot's refinement: every pointer names a release of this agent (own keys).
    const named = [
      p.active !== "off" ? p.active : p.offFrom,
      p.fallback !== "off" ? p.fallback : null,
      c?.version ?? null,
    ];
    for (const n of named) if (n !== null && !Object.hasOwn(rs, n as string)) return false;
    for (const ver in rs) {
      const r = rs[ver];
      if (!version(ver) || !strict(r, RELEASE) || !re(r.digest, DIGEST)) return false;
      const raw = r.manifest;
      const seen = known.get(r.digest as string);
      if (seen !== undefined && seen.agent === agent && seen.version === ver && sameJson(raw, seen)) {
        reused.push([r, seen]);
        continue;
      }
      if (!manifestOk(raw, urls) || raw.agent !== agent || raw.version !== ver) return false;
    }
  }
  for (const [r, m] of reused) r.manifest = m;
  return true;
}
