/**
 * What a release serves in a lane (CONTRACT §1.2): the effective tool set, the approval set, the workflow, and
 * the context handed to the upstream. It depends only on the release and the lane, so it is computed once per
 * (release, lane) and reused by every request until the snapshot or the lane changes.
 */
import type { Manifest, Mode, Tool, UserFallback, Workflow } from "../release/schema";
import type { Lane } from "./lane";

export interface Served {
  mode: Mode;
  tools: readonly Tool[];
  approval: readonly string[];
  workflowName: string;
  workflow: Workflow;
  userFallback: UserFallback | null;
  overrideIds: readonly string[];
  /** Why the result differs from the release as written; empty when it does not. */
  notes: readonly string[];
  /** Header values, ready to copy onto every request in this lane. */
  headers: {
    tools: string;
    approval: string;
    context: string;
  };
}

/**
 * Request headers are limited in size on Cloudflare's network, so the context header leaves out a system prompt
 * that would make it larger than this; the context then says so, and the upstream can fetch the release.
 */
export const MAX_CONTEXT_HEADER_BYTES = 32 * 1024;

export function effectiveTools(manifest: Manifest, lane: Lane): Tool[] {
  if (lane.mode === "off") return [];
  return manifest.tools.filter(
    (t) =>
      (lane.toolScope === null || lane.toolScope.has(t.name)) &&
      !lane.disableTools.has(t.name) &&
      (lane.mode !== "draft-only" || t.risk === "read"),
  );
}

export function approvalSet(manifest: Manifest, tools: readonly Tool[], lane: Lane): string[] {
  const required = new Set(manifest.approval?.require ?? []);
  return tools
    .filter((t) => t.approval === "always" || required.has(t.risk) || lane.forceApproval.has(t.risk))
    .map((t) => t.name);
}

export function serve(manifest: Manifest, digest: string, lane: Lane): Served {
  const tools = effectiveTools(manifest, lane);
  const approval = approvalSet(manifest, tools, lane);
  const notes: string[] = [];
  let workflowName = "default";
  if (lane.workflow !== null) {
    // Own keys only: a knob naming `toString` or `constructor` must not resolve to Object.prototype members.
    if (Object.hasOwn(manifest.workflows, lane.workflow.name)) workflowName = lane.workflow.name;
    else
      notes.push(
        `override ${lane.workflow.override} asks for workflow ${lane.workflow.name}, which this release does not declare`,
      );
  }
  const workflow = manifest.workflows[workflowName] as Workflow;
  const removed = manifest.tools.length - tools.length;
  if (removed > 0) notes.push(`${removed} of ${manifest.tools.length} tools withheld by the lane`);
  const context = {
    agent: manifest.agent,
    release: manifest.version,
    digest,
    mode: lane.mode,
    instructions: manifest.instructions,
    model: manifest.model,
    tools: tools.map((t) => ({ name: t.name, risk: t.risk, approval: approval.includes(t.name) })),
    approval,
    workflow: workflowName,
    retrieval: manifest.retrieval ?? null,
    metadata: manifest.metadata ?? null,
  };
  return {
    mode: lane.mode,
    tools,
    approval,
    workflowName,
    workflow,
    userFallback: manifest.rollout?.userFallback ?? null,
    overrideIds: lane.overrideIds,
    notes,
    headers: {
      tools: tools.map((t) => t.name).join(","),
      approval: approval.join(","),
      context: contextHeader(context),
    },
  };
}

function contextHeader(context: { instructions: Manifest["instructions"] } & Record<string, unknown>): string {
  const full = base64url(JSON.stringify(context));
  if (full.length <= MAX_CONTEXT_HEADER_BYTES) return full;
  const instructions = { omitted: "too large for a header; read the release by digest from the admin API" };
  return base64url(JSON.stringify({ ...context, instructions }));
}

const NON_ASCII = /[\u0080-\uffff]/;

/** base64url without padding of the UTF-8 bytes of `text`. ASCII text (the usual context) is its own byte string. */
export function base64url(text: string): string {
  let binary = text;
  if (NON_ASCII.test(text)) {
    const bytes = new TextEncoder().encode(text);
    binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] as number);
  }
  const b64 = btoa(binary);
  let end = b64.length;
  while (end > 0 && b64.charCodeAt(end - 1) === 61) end--; // "="
  return b64.slice(0, end).replaceAll("+", "-").replaceAll("/", "_");
}
