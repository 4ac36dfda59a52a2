/**
 * Format 1, the layout before manifests were stored by digest: one snapshot holding the pointers and the full
 * manifest of every live release. Kept for migration only (docs/storage.md): a gateway started on state written
 * that way reads it, converted into the pointer state and the manifests it carries, until the control plane has
 * republished in the current format. Validated with the full zod schema: it is read once, on the way there.
 */
import { z } from "zod";
import { AgentId, Manifest, Version } from "../release/schema";
import { Override } from "./override";
import {
  type AgentSource,
  Digest,
  indexState,
  namedVersions,
  type PointerState,
  Pointers,
  type PublishedAgent,
  type SnapshotIndex,
} from "./snapshot";

export const LEGACY_FORMAT = 1;

export const PublishedRelease = z.strictObject({ manifest: Manifest, digest: Digest });

export const Snapshot = z
  .strictObject({
    format: z.literal(LEGACY_FORMAT),
    revision: z.int().min(0),
    publishedAt: z.iso.datetime(),
    agents: z.record(AgentId, z.strictObject({ pointers: Pointers, releases: z.record(Version, PublishedRelease) })),
    overrides: z.array(Override),
  })
  .superRefine((s, ctx) => {
    for (const [agent, a] of Object.entries(s.agents)) {
      for (const v of namedVersions(a.pointers)) {
        // Own keys only: a pointer to `toString` or `constructor` must not resolve to Object.prototype members.
        if (!Object.hasOwn(a.releases, v))
          ctx.addIssue({ code: "custom", path: ["agents", agent], message: `pointer names ${v}, not in releases` });
      }
      for (const [v, r] of Object.entries(a.releases)) {
        if (r.manifest.agent !== agent || r.manifest.version !== v)
          ctx.addIssue({
            code: "custom",
            path: ["agents", agent, "releases", v],
            message: "manifest agent/version mismatch",
          });
      }
    }
  });

export type Snapshot = z.infer<typeof Snapshot>;
export type PublishedRelease = z.infer<typeof PublishedRelease>;

/** A format-1 snapshot as the pointer state of formats 2 and 3 plus the manifests it carried, by digest. */
export function fromLegacy(s: Snapshot): { state: PointerState; manifests: Map<string, Manifest> } {
  const manifests = new Map<string, Manifest>();
  const agents = new Map<string, AgentSource>();
  const own = new Map<string, Override[]>();
  const globalOverrides: Override[] = [];
  for (const o of s.overrides) {
    if (o.scope.agent === "*") globalOverrides.push(o);
    else {
      const list = own.get(o.scope.agent);
      if (list === undefined) own.set(o.scope.agent, [o]);
      else list.push(o);
    }
  }
  for (const [agent, a] of Object.entries(s.agents)) {
    const releases: Record<string, string> = {};
    for (const [version, r] of Object.entries(a.releases)) {
      releases[version] = r.digest;
      manifests.set(r.digest, r.manifest);
    }
    const published: PublishedAgent = { pointers: a.pointers, releases, overrides: own.get(agent) ?? [] };
    agents.set(agent, { agent: () => published });
  }
  return { state: { revision: s.revision, publishedAt: s.publishedAt, agents, globalOverrides }, manifests };
}

/** Indexes a format-1 snapshot whose manifests are already valid (tests, benchmarks, `explain` of one agent). */
export function indexSnapshot(s: Snapshot): SnapshotIndex {
  const { state, manifests } = fromLegacy(s);
  return indexState(state, (digest) => manifests.get(digest) ?? { error: "not in the snapshot" });
}
