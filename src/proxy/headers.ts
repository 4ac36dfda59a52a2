/**
 * Header hygiene (CONTRACT §2.1 step 3 and 4, §2.2.1). A client can name its sticky key and ask for a pin; every
 * other header spelled like the gateway's own — `x`, `agent` and the rest joined by `-` or `_`, in any case — is
 * dropped, since many servers fold `_` into `-` and would read `x_agent_lane` as `x-agent-lane`. So no client can
 * announce its own lane, tools or release context.
 */
import { type Decision, decisionHeader, laneOf } from "../routing/decide";

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
];
const CLIENT_MAY_SEND = new Set(["x-agent-key", "x-agent-release"]);
/** Header names are lower case here (the Headers class folds them). */
const AGENT_HEADER = /^x[-_]agent([-_]|$)/;

/** Whether a client header is one the gateway removes: any spelling of `x-agent-*` but the key and the pin. */
export const isGatewayHeader = (name: string): boolean => AGENT_HEADER.test(name) && !CLIENT_MAY_SEND.has(name);

/** The headers the upstream receives: the client's, cleaned, plus the decision's context. */
export function upstreamHeaders(incoming: Headers, d: Decision): Headers {
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (isGatewayHeader(name)) return;
    if (HOP_BY_HOP.includes(name)) return;
    out.set(name, value);
  });
  const s = d.served;
  out.set("x-agent-release", d.release.version);
  out.set("x-agent-digest", d.release.digest);
  out.set("x-agent-lane", laneOf(d));
  out.set("x-agent-tools", s.headers.tools);
  out.set("x-agent-approval", s.headers.approval);
  out.set("x-agent-workflow", s.workflowName);
  out.set("x-agent-context", s.headers.context);
  return out;
}

/** Adds the decision headers the client receives. */
export function stampDecision(headers: Headers, d: Decision, stale: boolean): void {
  headers.set("x-agent-release", d.release.version);
  headers.set("x-agent-lane", laneOf(d));
  headers.set("x-agent-decision", decisionHeader(d, stale));
}
