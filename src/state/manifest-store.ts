/**
 * The isolate's manifests, by digest (docs/storage.md). A manifest is immutable, so it is fetched once, and
 * parsed and validated once — on the first request that needs it, not while a revision is loaded, so a cold
 * isolate does not pay for the manifests of agents that get no traffic. Entries no installed revision names
 * are dropped when a revision is installed.
 *
 * A held value is the stored text until first use, then the validated manifest or why it is unusable: one Map
 * entry per digest and no wrapper object, since a cold isolate adds thousands at once (1,000 agents: 3,000).
 */
import { Manifest } from "../release/schema";

/** Why a held manifest cannot be used; kept so a bad one is judged once, not on every request. */
class Unusable {
  constructor(readonly error: string) {}
}

type Held = string | Manifest | Unusable;

export class ManifestStore {
  private readonly entries = new Map<string, Held>();

  has(digest: string): boolean {
    return this.entries.has(digest);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The stored text of `release:<digest>`, validated on first use. */
  addText(digest: string, text: string): void {
    if (!this.entries.has(digest)) this.entries.set(digest, text);
  }

  /** A manifest that was validated already (a format-1 snapshot, validated whole). */
  addValid(digest: string, manifest: Manifest): void {
    if (!this.entries.has(digest)) this.entries.set(digest, manifest);
  }

  /** The manifest, or why it cannot be used. Parses and validates at most once per digest. */
  resolve(digest: string): Manifest | { error: string } {
    const held = this.entries.get(digest);
    if (held === undefined) return { error: "not held" };
    if (typeof held !== "string") return held instanceof Unusable ? { error: held.error } : held;
    const judged = judge(held);
    this.entries.set(digest, judged);
    return judged instanceof Unusable ? { error: judged.error } : judged;
  }

  /** Keeps only the given digests. */
  retain(digests: ReadonlySet<string>): void {
    for (const d of this.entries.keys()) if (!digests.has(d)) this.entries.delete(d);
  }
}

function judge(text: string): Manifest | Unusable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new Unusable("the stored manifest is not JSON");
  }
  const parsed = Manifest.safeParse(json);
  return parsed.success
    ? parsed.data
    : new Unusable(`the stored manifest is invalid: ${parsed.error.issues[0]?.message}`);
}
