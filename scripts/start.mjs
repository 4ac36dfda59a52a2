// `npm start`: the gateway on 127.0.0.1:8787 with local KV and Durable Objects (wrangler dev), a demo upstream
// agent on 127.0.0.1:8788, the dev admin token, and a demo agent seeded through the admin API.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { seedDemo } from "./demo-seed.mjs";
import { startDemoUpstream } from "./demo-upstream.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PORT = Number(process.env.PORT ?? 8787);
const UPSTREAM_PORT = Number(process.env.UPSTREAM_PORT ?? 8788);
const TOKEN = "dev-admin-token";
const gateway = `http://127.0.0.1:${PORT}`;
const upstream = `http://127.0.0.1:${UPSTREAM_PORT}`;

// Local development only: the dev token lives in .dev.vars (git-ignored), never in wrangler.toml.
const sha256 = createHash("sha256").update(TOKEN).digest("hex");
writeFileSync(join(root, ".dev.vars"), `ADMIN_TOKENS='${JSON.stringify([{ name: "dev", role: "admin", sha256 }])}'\n`);

const demo = await startDemoUpstream(UPSTREAM_PORT);
const wrangler = spawn(
  join(root, "node_modules/.bin/wrangler"),
  [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(PORT),
    "--show-interactive-dev-session=false",
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);
const quiet = process.env.SWITCHYARD_QUIET === "1";
wrangler.stdout.on("data", (d) => quiet || process.stdout.write(d));
wrangler.stderr.on("data", (d) => quiet || process.stderr.write(d));

const stop = () => {
  wrangler.kill("SIGTERM");
  demo.close();
};
process.on("SIGINT", () => {
  stop();
  process.exit(0);
});
process.on("SIGTERM", () => {
  stop();
  process.exit(0);
});
wrangler.on("exit", (code) => {
  demo.close();
  process.exit(code ?? 1);
});

async function waitForGateway() {
  for (let i = 0; i < 240; i++) {
    try {
      const res = await fetch(`${gateway}/admin/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (res.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the gateway did not come up within 60 s");
}

try {
  await waitForGateway();
  const { stable, next } = await seedDemo(gateway, TOKEN, upstream);
  const A = `-H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json'`;
  const ask = [{ role: "user", content: "Please refund order 1234." }];
  const CHAT = JSON.stringify({ model: "any", messages: ask });
  const MESSAGES = JSON.stringify({ model: "any", max_tokens: 200, stream: true, messages: ask });
  console.log(`
Switchyard is running on ${gateway}  (demo upstream ${upstream}, admin token ${TOKEN})
Demo agent support-bot: active ${stable}, canary ${next} at 10 %; claude-support (Anthropic): active ${stable}.

Try:
  curl -s ${gateway}/agents/support-bot/chat -d 'hi' -i                       # keyless: always the active release
  curl -s ${gateway}/agents/support-bot/chat -H 'x-agent-key: user-42' -i       # sticky key: canary for ~10 % of keys
  curl -s '${gateway}/admin/v1/explain?agent=support-bot&key=user-42' ${A}
  curl -s -X POST ${gateway}/admin/v1/agents/support-bot/canary ${A} -d '{"version":"${next}","percent":50,"reason":"widen"}'
  curl -s -X DELETE '${gateway}/admin/v1/agents/support-bot/canary?reason=abort' ${A}
  curl -s -X POST ${gateway}/admin/v1/overrides ${A} -d '{"scope":{"agent":"support-bot"},"set":{"mode":"draft-only"},"reason":"incident","ttlSeconds":600}'
  curl -s -X POST ${gateway}/admin/v1/agents/support-bot/rollback ${A} -d '{"reason":"bad answers"}'
  curl -s '${gateway}/admin/v1/audit?limit=5' ${A}
  curl -s ${gateway}/healthz

Model traffic: the demo's mock model always asks to call send_email (a write tool).
  curl -s ${gateway}/models/support-bot/v1/chat/completions -H 'content-type: application/json' -d '${CHAT}'
      # autonomous: the answer carries the send_email call, finish_reason "tool_calls"
  curl -s -X POST ${gateway}/admin/v1/overrides ${A} -d '{"scope":{"agent":"support-bot"},"set":{"mode":"draft-only"},"reason":"incident","ttlSeconds":600}'
  curl -s ${gateway}/models/support-bot/v1/chat/completions -H 'content-type: application/json' -d '${CHAT}'
      # draft-only: the call is withheld, finish_reason "stop", and it is counted tool_blocked
  curl -sN ${gateway}/models/claude-support/v1/messages -H 'content-type: application/json' -d '${MESSAGES}'
      # the same through the Anthropic Messages API, streamed
`);
  if (process.env.SWITCHYARD_EXIT_AFTER_SEED === "1") {
    stop();
    process.exit(0);
  }
} catch (err) {
  console.error(String(err));
  stop();
  process.exit(1);
}
