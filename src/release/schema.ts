/**
 * The release manifest (CONTRACT §1.1) and the override knobs (§1.2) as zod schemas.
 *
 * Every object is strict: an unknown field is an error, so a misspelled knob is never silently ignored (§4.2).
 * Only `retrieval` and `metadata` are free-form. No defaults or transforms are applied, so the parsed value is
 * exactly what the author wrote and the digest covers precisely that.
 */
import { z } from "zod";

export const AGENT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Tool and workflow names. No leading "_": "__proto__" would be dropped by JSON records. */
export const TOOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const AgentId = z.string().regex(AGENT_ID, "must match ^[a-z0-9][a-z0-9-]{0,62}$");
export const Version = z.string().regex(VERSION, "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
export const ToolName = z
  .string()
  .regex(TOOL_NAME, "must be 1-64 characters of A-Z a-z 0-9 _ . : -, starting with a letter or digit");
export const WorkflowName = ToolName;
export const FailureClass = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must be 1-64 of a-z 0-9 _ . -");

/** Tool risk classes, least to most dangerous. The release pins them; run-time claims are never trusted. */
export const RISKS = ["read", "write", "destructive"] as const;
export const Risk = z.enum(RISKS);

/** Lane modes, least to most safe. */
export const MODES = ["autonomous", "draft-only", "off"] as const;
export const Mode = z.enum(MODES);

const JsonObject = z.record(z.string(), z.unknown());
/** An http(s) URL; IP-literal and single-label hosts are allowed (internal upstreams, local development). */
const HttpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048);

/** Names of a release's MCP servers (the `{server}` of `/mcp/{agent}/{server}`, CONTRACT §2.4). */
export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const ServerName = z
  .string()
  .regex(SERVER_NAME, "must be 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit");

export const Tool = z.strictObject({
  name: ToolName,
  risk: Risk,
  approval: z.literal("always").optional(),
  description: z.string().max(4096).optional(),
  /** The `mcpServers` entry that serves this tool (§1.1); absent: the runtime or the model API runs it. */
  server: ServerName.optional(),
});

/** An MCP server of the release, reached over Streamable HTTP at `url` (§2.4). */
export const McpServer = z.strictObject({
  url: HttpUrl,
  timeoutMs: z.int().min(1).max(600_000).optional(),
});

export const Workflow = z.strictObject({
  upstream: HttpUrl,
  timeoutMs: z.int().min(1).max(600_000).optional(),
});

export const Model = z.strictObject({
  provider: z.enum(["openai", "anthropic"]),
  name: z.string().min(1).max(256),
  baseUrl: HttpUrl,
  params: JsonObject.optional(),
});

/** The knobs an override may set. Each one can only restrict (§1.2). */
export const OverrideSet = z
  .strictObject({
    mode: Mode.optional(),
    disableTools: z.array(ToolName).max(256).optional(),
    toolScope: z.array(ToolName).max(256).optional(),
    forceApproval: z.array(Risk).optional(),
    workflow: WorkflowName.optional(),
  })
  .refine((s) => Object.keys(s).length > 0, "set at least one knob");

export const TriggerAction = z.union([
  z.literal("abort-canary"),
  z.literal("rollback"),
  z.strictObject({ set: OverrideSet }),
]);

export const Trigger = z.strictObject({
  failureClass: FailureClass,
  maxRate: z.number().min(0).max(1),
  minRequests: z.int().min(1).max(1_000_000_000),
  windowSeconds: z.int().min(1).max(86_400),
  action: TriggerAction,
});

export const UserFallback = z.strictObject({
  status: z.int().min(200).max(599),
  body: JsonObject,
});

/**
 * The canary's ramp, run by the gateway itself (§4.4). Only the shape is checked here, so a draft with a plan
 * still being written can be stored; the readiness gate checks that it is well-formed (ascending percents in
 * steps of 0.01, each hold at least the triggers' longest window).
 */
export const PlanStep = z.strictObject({
  percent: z.number().gt(0).max(100),
  holdSeconds: z
    .int()
    .min(1)
    .max(30 * 86_400),
});

export const Plan = z.strictObject({
  steps: z.array(PlanStep).min(1).max(20),
  promote: z.boolean(),
});

/** Rollout answers are optional at storage time: a draft may lack them; the readiness gate asks for them. */
export const Rollout = z.strictObject({
  fallback: z.union([z.literal("off"), Version]).optional(),
  owners: z.array(z.string().min(1).max(256)).max(64).optional(),
  triggers: z.array(Trigger).max(64).optional(),
  userFallback: UserFallback.optional(),
  plan: Plan.optional(),
});

export const Manifest = z
  .strictObject({
    agent: AgentId,
    version: Version,
    description: z.string().max(4096).optional(),
    instructions: z.strictObject({ system: z.string().max(200_000) }),
    model: Model,
    tools: z.array(Tool).max(256),
    mcpServers: z.record(ServerName, McpServer).optional(),
    workflows: z
      .record(WorkflowName, Workflow)
      .refine((w) => Object.hasOwn(w, "default"), "must declare a `default` workflow"),
    approval: z.strictObject({ require: z.array(Risk) }).optional(),
    retrieval: JsonObject.optional(),
    rollout: Rollout.optional(),
    metadata: JsonObject.optional(),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.tools.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({ code: "custom", path: ["tools", i, "name"], message: `duplicate tool ${t.name}` });
      seen.add(t.name);
    });
  });

export type Risk = z.infer<typeof Risk>;
export type Mode = z.infer<typeof Mode>;
export type Tool = z.infer<typeof Tool>;
export type Workflow = z.infer<typeof Workflow>;
export type McpServer = z.infer<typeof McpServer>;
export type OverrideSet = z.infer<typeof OverrideSet>;
export type Trigger = z.infer<typeof Trigger>;
export type TriggerAction = z.infer<typeof TriggerAction>;
export type UserFallback = z.infer<typeof UserFallback>;
export type Manifest = z.infer<typeof Manifest>;
export type PlanStep = z.infer<typeof PlanStep>;
export type Plan = z.infer<typeof Plan>;

export const riskRank = (r: Risk): number => RISKS.indexOf(r);
export const modeRank = (m: Mode): number => MODES.indexOf(m);
