/**
 * Running the built CLI (cli/dist/switchyard.mjs) as a child process, as an operator or a CI job would, and
 * preparing agents on the gateway through the admin API directly (so a test of one command does not lean on
 * another). The child gets a clean environment: only PATH, HOME and what the test passes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { inject } from "vitest";

export const root = join(import.meta.dirname, "../..");
export const CLI = join(root, "cli/dist/switchyard.mjs");
export const gateway = (): string => inject("gateway");
export const upstream = (): string => inject("cliUpstream");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The token in SWITCHYARD_TOKEN; null for none. Default: admin-token. */
  token?: string | null;
  env?: Record<string, string>;
  stdin?: string;
}

function childEnv(opts: RunOptions): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  env.SWITCHYARD_URL = gateway();
  const token = opts.token === undefined ? "admin-token" : opts.token;
  if (token !== null) env.SWITCHYARD_TOKEN = token;
  return { ...env, ...opts.env };
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Run>;
}

/** Children still running when the test process ends (a failed test's `--watch`) are ended with it. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export function start(args: string[], opts: RunOptions = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(opts), stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  child.on("exit", () => running.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d) => {
    stderr += d.toString();
  });
  child.stdin?.end(opts.stdin ?? "");
  const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export const run = (args: string[], opts: RunOptions = {}): Promise<Run> => start(args, opts).done;

/** Runs and parses stdout as JSON (the default when stdout is a pipe). */
export async function runJson<T = Record<string, unknown>>(
  args: string[],
  opts: RunOptions = {},
): Promise<Run & { json: T }> {
  const r = await run(args, opts);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { ...r, json };
}

export async function until<T>(probe: () => T | Promise<T>, ms = 15_000, what = "condition"): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A direct admin API call (setup and checks), with the admin token unless told otherwise. */
export async function api(method: string, path: string, body?: unknown, token = "admin-token") {
  const res = await fetch(`${gateway()}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const state = async () =>
  (await api("GET", "/state")).body as {
    revision: number;
    agents: Record<
      string,
      { active: string | null; fallback: string | null; canary: { version: string; percent: number } | null }
    >;
    overrides: Array<{
      id: string;
      scope: { agent: string; release?: string };
      set: Record<string, unknown>;
      reason: string;
      expiresAt?: string;
    }>;
  };

export function manifest(
  agent: string,
  version: string,
  opts: { fallback?: string; failure?: string; ready?: boolean } = {},
) {
  const query = opts.failure ? `?failure=${opts.failure}` : "";
  return {
    agent,
    version,
    description: `release ${version}`,
    instructions: { system: "You help." },
    model: { provider: "openai", name: "gpt-4.1-mini", baseUrl: "https://api.openai.com/v1" },
    tools: [
      { name: "search_kb", risk: "read" },
      { name: "send_email", risk: "write" },
      { name: "issue_refund", risk: "destructive", approval: "always" },
    ],
    workflows: {
      default: { upstream: `${upstream()}/${version}${query}` },
      simple: { upstream: `${upstream()}/simple` },
    },
    ...(opts.ready === false
      ? {}
      : {
          rollout: {
            fallback: opts.fallback ?? "off",
            owners: ["oncall@example.com"],
            triggers: [
              { failureClass: "bad_answer", maxRate: 0.2, minRequests: 5, windowSeconds: 60, action: "abort-canary" },
            ],
            userFallback: { status: 503, body: { message: "paused" } },
          },
        }),
  };
}

/** An agent with `stable` active (fallback off) and `next` stored (fallback stable), through the admin API. */
export async function seedAgent(agent: string, opts: { nextFailure?: string } = {}) {
  const stable = "1.0.0";
  const next = "1.1.0";
  const put = async (m: ReturnType<typeof manifest>) => {
    const r = await api("PUT", `/agents/${agent}/releases/${m.version}`, m);
    if (r.status >= 300) throw new Error(`seed ${agent}@${m.version}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await put(manifest(agent, stable));
  await put(manifest(agent, next, { fallback: stable, ...(opts.nextFailure ? { failure: opts.nextFailure } : {}) }));
  const p = await api("POST", `/agents/${agent}/promote`, { version: stable, reason: "seed" });
  if (p.status !== 200) throw new Error(`seed promote: ${JSON.stringify(p.body)}`);
  return { stable, next };
}

/** One data-plane request: what the gateway serves this key now. */
export async function served(agent: string, key?: string) {
  const res = await fetch(`${gateway()}/agents/${agent}/chat`, {
    method: "POST",
    body: "hi",
    headers: key === undefined ? {} : { "x-agent-key": key },
  });
  // The upstream echoes the headers it received: the tools the lane left are in x-agent-tools.
  const text = await res.text();
  let tools: string | null = null;
  try {
    tools = (JSON.parse(text) as { headers?: Record<string, string> }).headers?.["x-agent-tools"] ?? null;
  } catch {}
  return {
    status: res.status,
    release: res.headers.get("x-agent-release"),
    lane: res.headers.get("x-agent-lane"),
    tools,
  };
}
