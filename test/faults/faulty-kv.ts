/**
 * Fault injection for the read path (docs/reliability.md): a KV namespace that wraps the real binding and can
 * fail, hang or return garbage on command, and a control-plane namespace that is unreachable. The isolate's
 * snapshot cache is a per-isolate singleton built from the bindings on first use, so building it first with
 * these bindings routes every following request of the test through them.
 */
import { env } from "cloudflare:test";
import type { Bindings } from "../../src/env";
import { resetIsolateForTests, snapshotCache } from "../../src/state/isolate";
import { HEAD_KEY } from "../../src/state/kv-layout";

export type KvFault =
  | "none"
  | "fail" // every read throws, as KV does when it is unreachable
  | "hang" // every read never answers
  | "head-not-json"
  | "head-invalid"
  | "head-dangling" // head names a newer revision whose snapshot does not exist
  | "snapshot-not-json"
  | "snapshot-invalid"
  | "snapshot-dangling-pointer" // a snapshot whose active pointer names a release it does not hold
  | "snapshot-wrong-revision"; // head names revision N, the snapshot under N says it is N - 1

export class FaultyKv {
  fault: KvFault = "none";
  reads = 0;

  constructor(private readonly real: KVNamespace) {}

  /** Only `get` is used by the read path (src/state/kv-source.ts). */
  async get(key: string, options?: unknown): Promise<string | null> {
    this.reads++;
    const f = this.fault;
    if (f === "fail") throw new Error("KV GET failed: 503 Service Unavailable (injected)");
    if (f === "hang") return new Promise<never>(() => {});
    const real = (await this.real.get(key, options as KVNamespaceGetOptions<"text">)) as string | null;
    if (key === HEAD_KEY) {
      if (f === "head-not-json") return "{not json";
      if (f === "head-invalid") return JSON.stringify({ revision: "latest", key: 7 });
      if (f === "none" || real === null) return real;
      // Every other fault is in a newer snapshot that the head names.
      const head = JSON.parse(real) as { revision: number; key: string; publishedAt: string };
      return JSON.stringify({ ...head, revision: head.revision + 100, key: `snapshot:${head.revision + 100}` });
    }
    if (f === "none" || f === "head-not-json" || f === "head-invalid") return real;
    if (f === "head-dangling") return null;
    if (f === "snapshot-not-json") return "<html>502 Bad Gateway</html>";
    const newest = await this.newestSnapshot();
    if (f === "snapshot-invalid") return JSON.stringify({ ...newest, format: 99 });
    if (f === "snapshot-wrong-revision") return JSON.stringify(newest); // names its own, older revision
    // snapshot-dangling-pointer
    const agents = newest.agents as Record<string, { pointers: Record<string, unknown> }>;
    for (const a of Object.values(agents)) a.pointers.active = "no-such-release";
    return JSON.stringify({ ...newest, revision: (newest.revision as number) + 100 });
  }

  private async newestSnapshot(): Promise<Record<string, unknown>> {
    const head = JSON.parse((await this.real.get(HEAD_KEY)) ?? "{}") as { key: string };
    return JSON.parse((await this.real.get(head.key)) ?? "{}") as Record<string, unknown>;
  }
}

/** A control-plane namespace whose Durable Object cannot be reached. */
export const unreachableControl = {
  idFromName: () => ({}),
  get: () => ({
    head: async () => {
      throw new Error("Durable Object unreachable (injected)");
    },
    snapshotText: async () => {
      throw new Error("Durable Object unreachable (injected)");
    },
    sync: async () => {
      throw new Error("Durable Object unreachable (injected)");
    },
  }),
} as unknown as Bindings["CONTROL"];

/**
 * A cold isolate whose state sources are the given bindings. `kvOnly` drops the control-plane path
 * (FRESHNESS = "kv"), so that KV faults are the only thing between the isolate and its state.
 */
export function coldIsolate(overrides: Partial<Bindings>, kvOnly: boolean): void {
  resetIsolateForTests();
  snapshotCache({ ...env, ...overrides, ...(kvOnly ? { FRESHNESS: "kv" } : {}) });
}
