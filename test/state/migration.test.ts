/**
 * Migration from older layouts (issue 14, docs/storage.md): a gateway started on state written the old way
 * keeps serving from it, and the control plane converts KV to the current format (3) by itself, without a
 * mutation. Format 1: one snapshot with every manifest under `head`, a SQLite that predates the `layout` key.
 * Format 2: shards of JSON only, `layout` 2.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import { HEAD_KEY } from "../../src/state/kv-layout";
import { coldIsolate, unreachableControl } from "../faults/faulty-kv";
import { call, ok } from "../helpers/admin";
import { manifest, snapshot } from "../helpers/fixtures";
import { publish } from "../helpers/publish";

const upstream = inject("upstream");
const stub = () => env.CONTROL.get(env.CONTROL.idFromName("global"));

async function served(): Promise<string | null> {
  const res = await SELF.fetch("https://gw/agents/old-bot/x");
  await res.body?.cancel();
  return res.status === 200 ? res.headers.get("x-agent-release") : `status ${res.status}`;
}

it("serves format-1 state and converts it to format 3 without a mutation", async () => {
  const v1 = manifest("old-bot", "v1", upstream);
  const v2 = manifest("old-bot", "v2", upstream);
  await ok(call("releaser", "PUT", "/agents/old-bot/releases/v1", v1), 201);
  await ok(call("releaser", "PUT", "/agents/old-bot/releases/v2", v2), 201);
  const promoted = await ok<{ revision: number }>(
    call("releaser", "POST", "/agents/old-bot/promote", { version: "v1", reason: "live" }),
  );
  await new Promise((r) => setTimeout(r, 1100)); // past the publish gap

  // Turn the stores back into what the format-1 code left: its snapshot in KV, no `layout` in SQLite.
  await runInDurableObject(stub(), (_i, ctx) => {
    ctx.storage.sql.exec("DELETE FROM meta WHERE key = 'layout'");
    ctx.storage.sql.exec("DELETE FROM kv_keys");
  });
  for (const k of (await env.STATE.list()).keys) await env.STATE.delete(k.name);
  await publish(
    await snapshot(promoted.revision, {
      "old-bot": { releases: [v1, v2], pointers: { active: "v1", fallback: "off" } },
    }),
  );

  // A reader on KV alone serves the format-1 snapshot.
  coldIsolate({ CONTROL: unreachableControl }, true);
  expect(await served()).toBe("v1");

  // A fresh instance of the control plane (a deploy) finds KV behind in layout and arms its alarm itself.
  await abortAllDurableObjects();
  await ok(call("viewer", "GET", "/state"));
  expect(await runDurableObjectAlarm(stub())).toBe(true);

  const head = JSON.parse((await env.STATE.get(HEAD_KEY)) ?? "null") as { revision: number; key: string };
  expect(head.revision).toBe(promoted.revision);
  const root = JSON.parse((await env.STATE.get(head.key)) ?? "null") as { format: number; shards: (string | null)[] };
  expect(root.format).toBe(3);
  for (const k of root.shards) if (k !== null) expect(await env.STATE.get(k)).not.toBeNull();

  // Readers on KV alone now serve the converted state, and so does the control-plane path.
  coldIsolate({ CONTROL: unreachableControl }, true);
  expect(await served()).toBe("v1");
  coldIsolate({}, false);
  expect(await served()).toBe("v1");

  // And the next flip goes out in format 3 as usual.
  await ok(call("releaser", "POST", "/agents/old-bot/promote", { version: "v2", reason: "next" }));
  await new Promise((r) => setTimeout(r, 1100)); // KV takes a write a second per key: the alarm publishes it
  await runDurableObjectAlarm(stub());
  coldIsolate({ CONTROL: unreachableControl }, true);
  expect(await served()).toBe("v2");
});

it("serves format-2 state and converts it to format 3 without a mutation", async () => {
  await ok(call("releaser", "PUT", "/agents/old-bot/releases/v3", manifest("old-bot", "v3", upstream)), 201);
  const promoted = await ok<{ revision: number }>(
    call("releaser", "POST", "/agents/old-bot/promote", { version: "v3", reason: "live" }),
  );
  await new Promise((r) => setTimeout(r, 1100)); // past the publish gap
  await runDurableObjectAlarm(stub());

  // Turn KV back into what the format-2 code wrote: the same root with JSON-only shards; `layout` 2.
  const head = JSON.parse((await env.STATE.get(HEAD_KEY)) ?? "null") as { revision: number; key: string };
  expect(head.revision).toBe(promoted.revision);
  const root = JSON.parse((await env.STATE.get(head.key)) ?? "null") as { format: number; shards: (string | null)[] };
  expect(root.format).toBe(3);
  const shards: (string | null)[] = [];
  for (const k of root.shards) {
    const text = k === null ? null : await env.STATE.get(k);
    if (text === null) {
      shards.push(null);
      continue;
    }
    const body = text.slice(text.indexOf("\n") + 1);
    const key = `shard:sha256:${[...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    await env.STATE.put(key, body);
    shards.push(key);
  }
  await env.STATE.put(head.key, JSON.stringify({ ...root, format: 2, shards }));
  await runInDurableObject(stub(), (_i, ctx) => ctx.storage.sql.exec("UPDATE meta SET value = 2 WHERE key = 'layout'"));

  // A reader on KV alone serves the format-2 state.
  coldIsolate({ CONTROL: unreachableControl }, true);
  expect(await served()).toBe("v3");

  // A fresh control plane finds KV behind in layout and republishes it in format 3.
  await abortAllDurableObjects();
  await ok(call("viewer", "GET", "/state"));
  expect(await runDurableObjectAlarm(stub())).toBe(true);
  const after = JSON.parse((await env.STATE.get(HEAD_KEY)) ?? "null") as { key: string };
  const rootAfter = JSON.parse((await env.STATE.get(after.key)) ?? "null") as { format: number };
  expect(rootAfter.format).toBe(3);
  coldIsolate({ CONTROL: unreachableControl }, true);
  expect(await served()).toBe("v3");
});
