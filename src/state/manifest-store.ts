/**
 * The isolate's manifests, by digest (docs/storage.md). A manifest is immutable, so it is fetched once, and
 * parsed and validated once — on the first request that needs it, not while a revision is loaded, so a cold
 * isolate does not pay for the manifests of agents that get no traffic. Entries no installed revision names
 * are dropped when a revision is installed.
 */
import { Manifest } from "../release/schema";

interface Entry {
  text: string | null;
  manifest: Manifest | null;
  error: string | null;
}

export class ManifestStore {
  private readonly entries = new Map<string, Entry>();

  has(digest: string): boolean {
    return this.entries.has(digest);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The stored text of `release:<digest>`, validated on first use. */
  addText(digest: string, text: string): void {
    if (!this.entries.has(digest)) this.entries.set(digest, { text, manifest: null, error: null });
  }

  /** A manifest that was validated already (a format-1 snapshot, validated whole). */
  addValid(digest: string, manifest: Manifest): void {
    if (!this.entries.has(digest)) this.entries.set(digest, { text: null, manifest, error: null });
  }

  /** The manifest, or why it cannot be used. Parses and validates at most once per digest. */
  resolve(digest: string): Manifest | { error: string } {
    const e = this.entries.get(digest);
    if (e === undefined) return { error: "not held" };
    if (e.manifest !== null) return e.manifest;
    if (e.error !== null) return { error: e.error };
    let json: unknown;
    try {
      json = JSON.parse(e.text ?? "");
    } catch {
      e.error = "the stored manifest is not JSON";
      e.text = null;
      return { error: e.error };
    }
    const parsed = Manifest.safeParse(json);
    e.text = null;
    if (!parsed.success) {
      e.error = `the stored manifest is invalid: ${parsed.error.issues[0]?.message}`;
      return { error: e.error };
    }
    e.manifest = parsed.data;
    return e.manifest;
  }

  /** Keeps only the given digests. */
  retain(digests: ReadonlySet<string>): void {
    for (const d of this.entries.keys()) if (!digests.has(d)) this.entries.delete(d);
  }
}
