/**
 * The soak's memory baseline: a hello-world Worker under the same `wrangler dev`, driven by autocannon on
 * loopback for 40 s with 6 connections, RSS of its workerd processes from /proc before and after. It tells
 * how much of the RSS growth the soak sees belongs to the local dev server rather than to Switchyard.
 * Bounded (40 s of load), loopback only; writes nothing but a line on stdout.
 *
 *   node bench/soak/baseline.mjs
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "switchyard-hello-"));
writeFileSync(join(dir, "wrangler.toml"), 'name = "hello"\nmain = "index.js"\ncompatibility_date = "2026-04-20"\n');
writeFileSync(join(dir, "index.js"), 'export default { fetch() { return new Response("ok"); } };\n');
symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
const child = spawn(
  join(ROOT, "node_modules", ".bin", "wrangler"),
  ["dev", "--ip", "127.0.0.1", "--port", String(port)],
  {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  },
);
const stop = () => {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {}
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", stop);
setTimeout(() => process.exit(2), 180_000).unref();

let out = "";
await new Promise((resolve) => {
  const onData = (d) => {
    out += d;
    if (out.includes("Ready on")) resolve();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
});
function workerdMB() {
  const children = new Map();
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(n)]);
    } catch {}
  }
  let kB = 0;
  const walk = (pid) => {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").includes("workerd"))
        kB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {}
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(child.pid);
  return kB / 1024;
}
await new Promise((r) => setTimeout(r, 2000));
const start = workerdMB();
const res = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 6, duration: 40 });
const end = workerdMB();
console.log(
  JSON.stringify({
    worker: "hello world under wrangler dev",
    requests: res.requests.total,
    workerdStartMB: Math.round(start),
    workerdEndMB: Math.round(end),
    kBPerRequest: Math.round((((end - start) * 1024) / res.requests.total) * 10) / 10,
  }),
);
process.exit(0);
