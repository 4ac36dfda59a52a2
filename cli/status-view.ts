/**
 * What `status` shows, gathered and drawn: the state of every agent, or of one with its overrides, the guard's
 * view of its live releases (health) and its stored releases. Shared by `status` and `status --watch`.
 */
import type { Override } from "../src/routing/override";
import { canaryText, scopeText, setText } from "./change";
import type { Ctx } from "./context";
import { CliError } from "./errors";
import { cut, type Painter, PLAIN, table } from "./output";
import { type AgentState, agentIn, type GatewayState, overridesOf, readState } from "./state";

export interface FleetStatus {
  fetchedAt: string;
  revision: number;
  publishedRevision: number | null;
  agents: Record<string, AgentState>;
  overrides: Override[];
  plans: Record<string, Record<string, unknown>>;
}

export interface AgentStatus {
  fetchedAt: string;
  revision: number;
  agent: string;
  pointers: AgentState;
  /** The canary's release plan (`{ state, view }`), or null. */
  plan: Record<string, unknown> | null;
  overrides: Override[];
  health: Record<string, unknown> | null;
  releases: Array<Record<string, unknown>>;
}

export type StatusData = FleetStatus | AgentStatus;

async function optional(p: Promise<{ body: Record<string, unknown> }>): Promise<Record<string, unknown> | null> {
  try {
    return (await p).body;
  } catch (err) {
    if (err instanceof CliError && err.exit === 1 && err.extra.status === 404) return null;
    throw err;
  }
}

export async function collect(ctx: Ctx, agent: string | undefined, signal?: AbortSignal): Promise<StatusData> {
  const fetchedAt = new Date(ctx.now()).toISOString();
  if (agent === undefined) {
    const s: GatewayState = await readState(ctx, signal);
    return {
      fetchedAt,
      revision: s.revision,
      publishedRevision: s.publishedRevision ?? null,
      agents: s.agents,
      overrides: s.overrides,
      plans: s.plans ?? {},
    };
  }
  const path = `/agents/${encodeURIComponent(agent)}`;
  const [s, health, releases] = await Promise.all([
    readState(ctx, signal),
    optional(ctx.gateway.call({ method: "GET", path: `${path}/health` }, signal)),
    optional(ctx.gateway.call({ method: "GET", path: `${path}/releases` }, signal)),
  ]);
  return {
    fetchedAt,
    revision: s.revision,
    agent,
    pointers: agentIn(s, agent),
    plan: s.plans !== undefined && Object.hasOwn(s.plans, agent) ? (s.plans[agent] ?? null) : null,
    overrides: overridesOf(s, agent),
    health,
    releases: (releases?.releases ?? []) as Array<Record<string, unknown>>,
  };
}

/**
 * What `--watch` compares to decide whether to redraw: the view as drawn, without colour. Times that slide on
 * their own (when the data was fetched, the guard's windows) are not in it, so only a real change redraws.
 */
export const stableOf = (d: StatusData): string => render(d, PLAIN).join("\n");

const show = (v: unknown): string => (v === null || v === undefined ? "none" : String(v));
const pct = (r: unknown): string => (typeof r === "number" ? `${(r * 100).toFixed(2)}%` : "-");

function overrideRows(list: Override[], p: Painter): string[] {
  if (list.length === 0) return ["lanes: none in force (autonomous)"];
  return [
    "lanes in force:",
    ...table(
      ["ID", "SCOPE", "SET", "BY", "EXPIRES", "REASON"],
      list.map((o) => [
        o.id,
        scopeText(o.scope),
        p.yellow(setText(o.set)),
        o.actor,
        o.expiresAt ?? "never",
        cut(o.reason, 48),
      ]),
      p,
    ).map((l) => `  ${l}`),
  ];
}

const POINTERS = new Set(["active", "fallback", "canary", "offFrom"]);

/** A plan in one line: "step 2/3 at 10% running · next 50% due … · needs 37 more requests". */
export function planText(shown: Record<string, unknown> | null | undefined): string | null {
  if (!shown) return null;
  const v = (shown.view ?? null) as Record<string, unknown> | null;
  const st = (shown.state ?? {}) as Record<string, unknown>;
  if (v === null) return `step ${Number(st.step ?? 0) + 1} ${show(st.status)} (the guard's view is unavailable)`;
  const next = v.next as Record<string, unknown> | null;
  const move = next === null ? "no next move" : next.promote === true ? "next: promote" : `next ${show(next.percent)}%`;
  const due = v.due === true ? "due now" : v.dueAt ? `due ${show(v.dueAt)}` : "";
  const waits = Array.isArray(v.waitsFor) && v.waitsFor.length > 0 ? ` · ${v.waitsFor.join(", ")}` : "";
  const note = v.note ? ` (${show(v.note)})` : "";
  return (
    `step ${show(v.step)}/${show(v.steps)} at ${show(v.percent)}% ${show(v.status)}${note} · ${move} ${due}`.trimEnd() +
    waits
  );
}

function agentLines(d: AgentStatus, p: Painter): string[] {
  const a = d.pointers;
  const lines = [
    `${p.bold(d.agent)}  revision ${d.revision}`,
    `  active    ${a.active === "off" ? p.red(`off (serving the user fallback of ${show(a.offFrom)})`) : show(a.active)}`,
    `  fallback  ${show(a.fallback)}`,
    `  canary    ${a.canary === null ? "none" : p.cyan(canaryText(a.canary))}`,
  ];
  const plan = planText(d.plan);
  if (plan !== null) lines.push(`  plan      ${plan}`);
  for (const [k, v] of Object.entries(a))
    if (!POINTERS.has(k) && v !== null) lines.push(`  ${k.padEnd(9)} ${JSON.stringify(v)}`);
  lines.push(...overrideRows(d.overrides, p));
  const releases = (d.health?.releases ?? []) as Array<{
    version: string;
    role: string;
    triggers: Array<Record<string, unknown>>;
  }>;
  const rows = releases.flatMap((r) =>
    r.triggers.map((t) => {
      const trig = t.trigger as Record<string, unknown>;
      const state = String(t.state);
      const paint = state === "breached" || state === "acted" ? p.red : state === "ok" ? p.green : p.dim;
      return [
        r.version,
        r.role,
        String(trig.failureClass),
        pct(t.rate),
        pct(trig.maxRate),
        String(t.requests),
        paint(state),
      ];
    }),
  );
  if (rows.length > 0) {
    lines.push("guard (failure rates over each trigger's window):");
    lines.push(
      ...table(["RELEASE", "ROLE", "CLASS", "RATE", "MAX", "REQUESTS", "STATE"], rows, p).map((l) => `  ${l}`),
    );
  }
  if (d.releases.length > 0) {
    lines.push("releases:");
    const rel = d.releases
      .slice(-10)
      .map((r) => [show(r.version), show(r.digest).slice(0, 19), show(r.createdAt), show(r.createdBy)]);
    lines.push(...table(["VERSION", "DIGEST", "CREATED", "BY"], rel, p).map((l) => `  ${l}`));
  }
  return lines;
}

function fleetLines(d: FleetStatus, p: Painter): string[] {
  const names = Object.keys(d.agents).sort();
  const published =
    d.publishedRevision === null || d.publishedRevision === d.revision ? "" : ` (KV at ${d.publishedRevision})`;
  const lines = [`revision ${d.revision}${published} · ${names.length} agent(s) · ${d.overrides.length} override(s)`];
  if (names.length > 0) {
    const rows = names.map((n) => {
      const a = d.agents[n] as AgentState;
      const lanes = d.overrides
        .filter((o) => o.scope.agent === "*" || o.scope.agent === n)
        .map((o) => (o.scope.release ? `${setText(o.set)}@${o.scope.release}` : setText(o.set)));
      return [
        n,
        a.active === "off" ? p.red("off") : show(a.active),
        show(a.fallback),
        a.canary === null
          ? "none"
          : p.cyan(canaryText(a.canary)) + (Object.hasOwn(d.plans, n) ? ` (plan ${planStep(d.plans[n])})` : ""),
        lanes.length === 0 ? "autonomous" : p.yellow([...new Set(lanes)].join(" | ")),
      ];
    });
    lines.push(...table(["AGENT", "ACTIVE", "FALLBACK", "CANARY", "LANES"], rows, p));
  }
  if (d.overrides.length > 0) lines.push(...overrideRows(d.overrides, p));
  return lines;
}

function planStep(shown: Record<string, unknown> | undefined): string {
  const v = (shown?.view ?? null) as Record<string, unknown> | null;
  const st = (shown?.state ?? {}) as Record<string, unknown>;
  return v === null ? `step ${Number(st.step ?? 0) + 1}` : `${show(v.step)}/${show(v.steps)} ${show(v.status)}`;
}

export const render = (d: StatusData, p: Painter): string[] => ("agent" in d ? agentLines(d, p) : fleetLines(d, p));
