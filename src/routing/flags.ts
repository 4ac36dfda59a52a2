/**
 * Lanes as OpenFeature flags (CONTRACT §2.5): the three flag keys of an agent, evaluated from a routing decision
 * — the same `decide()` and the same snapshot as the data plane, so a sticky key gets the same release through
 * OFREP as through `/agents`. Pure: the decision is made by the caller and passed in.
 *
 * The reasons follow the OpenFeature resolution reasons: `DISABLED` when the lane is `off` (the value is still
 * given, so a runtime never falls back to a code default that may be less safe), `TARGETING_MATCH` for a pin
 * that selected a live release, `SPLIT` while a canary runs, `STATIC` otherwise.
 */
import { AGENT_ID } from "../release/schema";
import { type Decision, decisionHeader, laneOf } from "./decide";
import type { Served } from "./served";

export type FlagKind = "agent" | "mode" | "release";
export const FLAG_KINDS: readonly FlagKind[] = ["agent", "mode", "release"];

export type Reason = "STATIC" | "SPLIT" | "TARGETING_MATCH" | "DISABLED";

export interface AgentFlagValue {
  release: string;
  digest: string;
  decision: string;
  mode: string;
  tools: string[];
  approval: string[];
  workflow: string;
  model: { provider: string; name: string; baseUrl: string };
  revision: number;
}

export interface FlagEvaluation {
  key: string;
  value: AgentFlagValue | string;
  variant: string;
  reason: Reason;
  metadata: { revision: number; digest: string; stale: boolean };
}

/** `{agent}`, `{agent}.mode` or `{agent}.release`; null for any other key. */
export function parseFlagKey(key: string): { agent: string; kind: FlagKind } | null {
  const dot = key.indexOf(".");
  const agent = dot < 0 ? key : key.slice(0, dot);
  if (!AGENT_ID.test(agent)) return null;
  if (dot < 0) return { agent, kind: "agent" };
  const suffix = key.slice(dot + 1);
  return suffix === "mode" || suffix === "release" ? { agent, kind: suffix } : null;
}

export const flagKey = (agent: string, kind: FlagKind): string => (kind === "agent" ? agent : `${agent}.${kind}`);

export function reasonOf(d: Decision): Reason {
  if (laneOf(d) === "off") return "DISABLED";
  if (d.via === "pinned") return "TARGETING_MATCH";
  return d.canary !== null ? "SPLIT" : "STATIC";
}

/**
 * The tool and approval names of a lane, built once per Served value (one per release and lane, reused across
 * requests) instead of per evaluation. Shared, so never changed by a caller.
 */
const namesMemo = new WeakMap<Served, { tools: string[]; approval: string[] }>();

function namesOf(served: Served): { tools: string[]; approval: string[] } {
  let names = namesMemo.get(served);
  if (names === undefined) {
    names = { tools: served.tools.map((t) => t.name), approval: [...served.approval] };
    namesMemo.set(served, names);
  }
  return names;
}

const NO_NAMES: string[] = [];

export function evaluateFlag(d: Decision, kind: FlagKind, stale: boolean): FlagEvaluation {
  const mode = laneOf(d);
  const version = d.release.version;
  const metadata = { revision: d.revision, digest: d.release.digest, stale };
  const base = { key: flagKey(d.agent, kind), reason: reasonOf(d), metadata };
  if (kind === "mode") return { ...base, value: mode, variant: mode };
  if (kind === "release") return { ...base, value: version, variant: version };
  const off = mode === "off";
  const model = d.release.manifest.model;
  return {
    ...base,
    value: {
      release: version,
      digest: d.release.digest,
      decision: decisionHeader(d, stale),
      mode,
      // In `off` nothing may run, whatever the release declares.
      tools: off ? NO_NAMES : namesOf(d.served).tools,
      approval: off ? NO_NAMES : namesOf(d.served).approval,
      workflow: d.served.workflowName,
      model: { provider: model.provider, name: model.name, baseUrl: model.baseUrl },
      revision: d.revision,
    },
    variant: version,
  };
}
