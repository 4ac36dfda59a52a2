/**
 * Header hygiene (CONTRACT §2.1 step 3 and 4, §2.2.1). A client can name its sticky key and ask for a pin; every
 * other header spelled like the gateway's own — `x`, `agent` and the rest joined by `-` or `_`, in any case — is
 * dropped, since many servers fold `_` into `-` and would read `x_agent_lane` as `x-agent-lane`. So no client can
 * announce its own lane, tools or release context.
 */
import { type Decision, laneOf } from "../routing/decide";
import type { Served } from "../routing/served";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);
const CLIENT_MAY_SEND = new Set(["x-agent-key", "x-agent-release"]);
/** Header names are lower case here (the Headers class folds them). */
const AGENT_HEADER = /^x[-_]agent([-_]|$)/;

/** Whether a client header is one the gateway removes: any spelling of `x-agent-*` but the key and the pin. */
export const isGatewayHeader = (name: string): boolean => AGENT_HEADER.test(name) && !CLIENT_MAY_SEND.has(name);

type Pairs = readonly (readonly [string, string])[];
const added = new WeakMap<Served, { lane: string; pairs: Pairs }>();

/**
 * The headers the gateway adds for a decision, in order. They depend only on the release and its served lane, so
 * they are built once per `Served` (one per release and merged lane: a new snapshot revision or a lane change
 * makes a new one) and looked up on every other request.
 */
export function addedHeaders(d: Decision): Pairs {
  const lane = laneOf(d);
  const cached = added.get(d.served);
  if (cached !== undefined && cached.lane === lane) return cached.pairs;
  const s = d.served;
  const pairs: Pairs = [
    ["x-agent-release", d.release.version],
    ["x-agent-digest", d.release.digest],
    ["x-agent-lane", lane],
    ["x-agent-tools", s.headers.tools],
    ["x-agent-approval", s.headers.approval],
    ["x-agent-workflow", s.workflowName],
    ["x-agent-context", s.headers.context],
  ];
  added.set(s, { lane, pairs });
  return pairs;
}

/** The headers the upstream receives: the client's, cleaned, plus the decision's context. */
export function upstreamHeaders(incoming: Headers, d: Decision): Headers {
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (HOP_BY_HOP.has(name)) return;
    // Only a name starting with "x" can be the gateway's (the regex is not run for the others).
    if (name.charCodeAt(0) === 120 && isGatewayHeader(name)) return;
    out.set(name, value);
  });
  for (const [name, value] of addedHeaders(d)) out.set(name, value);
  return out;
}

/** Adds the decision headers the client receives; `decision` is `x-agent-decision` (decisionHeader). */
export function stampDecision(headers: Headers, d: Decision, decision: string): void {
  headers.set("x-agent-release", d.release.version);
  headers.set("x-agent-lane", laneOf(d));
  headers.set("x-agent-decision", decision);
}
