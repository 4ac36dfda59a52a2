/**
 * The timeline's audit read (ControlStore.auditSince) reads the window it is asked for, not the whole history:
 * with 20,000 entries older than `since` and 50 inside it, the rows SQLite reads stay near the 50 (an index on
 * `at` bounds the scan). Counted with the cursors' own `rowsRead`, on a real Durable Object's SQLite.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { ControlStore } from "../../src/state/control-store";

const INSERT =
  "INSERT INTO audit (at, actor, role, action, agent, reason, before, after, revision) VALUES (?, 'a@test', 'admin', 'x', ?, 'r', NULL, NULL, 1)";

/** `sql` with every cursor it returns counted: how many rows the statements read in all. */
function counting(sql: SqlStorage): { sql: SqlStorage; rowsRead: () => number } {
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  const exec = (query: string, ...bindings: unknown[]) => {
    const c = sql.exec(query, ...bindings);
    cursors.push(c);
    return c;
  };
  const proxy = new Proxy(sql, { get: (t, k) => (k === "exec" ? exec : Reflect.get(t, k)) });
  return { sql: proxy, rowsRead: () => cursors.reduce((s, c) => s + c.rowsRead, 0) };
}

it("reads the rows of the window, not the history before it", async () => {
  const stub = env.CONTROL.get(env.CONTROL.idFromName("audit-window"));
  await runInDurableObject(stub, async (_instance, state) => {
    new ControlStore(state.storage.sql); // the schema, indexes included
    const old = "2026-01-01T00:00:00.000Z";
    for (let k = 0; k < 20_000; k++) state.storage.sql.exec(INSERT, old, k % 2 === 0 ? "aw-bot" : null);
    const recent = "2026-06-01T00:00:00.000Z";
    for (let k = 0; k < 50; k++) state.storage.sql.exec(INSERT, recent, k % 5 === 0 ? "aw-other" : "aw-bot");

    const counted = counting(state.storage.sql);
    const rows = new ControlStore(counted.sql).auditSince("aw-bot", "2026-05-01T00:00:00.000Z", 0, 200);
    const read = counted.rowsRead(); // also the constructor's CREATE … IF NOT EXISTS, a handful
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r.at === recent && r.agent === "aw-bot")).toBe(true);
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => a - b));
    // 50 index entries for the floor, then the 50 rows from it on: well under one per old row.
    expect(read).toBeLessThan(500);
  });
});
