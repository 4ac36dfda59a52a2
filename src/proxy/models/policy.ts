/**
 * The tool policy of a model lane (CONTRACT §1.2, §2.2): which tool names may be declared and called, and which
 * of them need approval. The gate applies it to each call found in a response and remembers what it did, so the
 * route can report `tool_blocked` and `x-agent-approval-required` without inspecting the body again.
 */
import type { Served } from "../../routing/served";

export interface ToolPolicy {
  allowed: ReadonlySet<string>;
  approval: ReadonlySet<string>;
}

// A Served value is built once per (release, lane) and reused, so its policy is too.
const memo = new WeakMap<Served, ToolPolicy>();

export function policyOf(served: Served): ToolPolicy {
  let policy = memo.get(served);
  if (policy === undefined) {
    policy = { allowed: new Set(served.tools.map((t) => t.name)), approval: new Set(served.approval) };
    memo.set(served, policy);
  }
  return policy;
}

/**
 * The tool name a provider-hosted tool stands for, so a release can allow one by listing it. OpenAI versions
 * hosted tool types (`web_search_preview_2025_03_11`, `computer_use_preview`); all versions of one tool share a
 * name: `web_search`, `file_search`, `code_interpreter`, `computer`, `image_generation`, `mcp`, ...
 */
export function hostedToolName(type: string): string {
  const name = type.replace(/_\d{4}_\d{2}_\d{2}$/, "").replace(/_preview$/, "");
  return name === "computer_use" ? "computer" : name;
}

/** Whether every name a tool reference could be taken for is in the effective set (tool-names.ts). */
export const allowsAll = (policy: ToolPolicy, names: readonly string[]): boolean =>
  names.every((n) => policy.allowed.has(n));

/**
 * Thrown by a response filter for an answer it cannot fully read (CONTRACT §2.2.1): not strict JSON, or an
 * unexpected shape where a call may be. Such an answer is never passed on.
 */
export class Unfilterable extends Error {}

/** Decides each tool call of one response and keeps the tally. */
export class ToolGate {
  readonly blocked: string[] = [];
  readonly #approvals: string[] = [];

  constructor(
    readonly policy: ToolPolicy,
    private readonly onBlocked: (name: string) => void = () => {},
  ) {}

  /** True when a call to `name` may reach the client. A withheld call is counted as `tool_blocked`. */
  admit(name: string): boolean {
    if (this.policy.allowed.has(name)) {
      if (this.policy.approval.has(name) && !this.#approvals.includes(name)) this.#approvals.push(name);
      return true;
    }
    this.blocked.push(name);
    this.onBlocked(name);
    return false;
  }

  /**
   * A call that may be taken for several names (tool-names.ts) reaches the client only when every one is
   * allowed; it is counted once, under the first name that is not.
   */
  admitCall(names: readonly string[]): boolean {
    const denied = names.find((n) => !this.policy.allowed.has(n));
    if (denied !== undefined) return this.admit(denied);
    for (const n of names) this.admit(n);
    return true;
  }

  /** Names of the approval-set tools the response calls, in call order, each once. */
  get approvalRequired(): readonly string[] {
    return this.#approvals;
  }
}
