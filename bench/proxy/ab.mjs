/**
 * A/B of the gateway's own code (docs/performance.md): builds variants of `src/`, each a copy with text
 * replacements applied, and measures each against the trivial Worker in one run, in rotating order. The figure
 * is workerd CPU per request (as in bench/proxy/run.mjs), or req/s ratios with `--rps`. Not run by
 * `npm run bench`: it is for trying a change before making it.
 *
 *   node bench/proxy/ab.mjs bench/proxy/ab-example.json [--route agent|model] [--rounds 5] [--requests 12000] [--rps]
 *                                                        [--post]   (agent route: a small JSON POST, not a GET)
 *
 * The variants file: { "<name>": [["<file under src/>", "<text>", "<replacement>"], …], … }; an empty list is
 * the code as it is. A replacement whose text is not found stops the run, so a stale variant cannot measure the
 * unchanged code by mistake.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { OUT, ROOT } from "../build.mjs";
import { oneWorker } from "../miniflare-options.mjs";
import { median } from "../report.mjs";
import {
  cannon,
  chatBody,
  cpuMs,
  dryRun,
  gatewayOptions,
  json,
  seed,
  served,
  startServers,
  trivialOptions,
  workerdPid,
} from "./support.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    route: { type: "string", default: "agent" },
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "12000" },
    rps: { type: "boolean", default: false },
    post: { type: "boolean", default: false },
  },
});
if (positionals.length !== 1) throw new Error("usage: node bench/proxy/ab.mjs <variants.json> [options]");
const variants = JSON.parse(readFileSync(positionals[0], "utf8"));
const ROUNDS = Number(values.rounds);
const DIR = join(OUT, "proxy-ab");

/** A copy of src/ with the variant's replacements, built as it deploys; the bundle's path. */
function build(name, replacements) {
  const dir = join(DIR, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(ROOT, "src"), join(dir, "src"), { recursive: true });
  for (const [file, from, to] of replacements) {
    const path = join(dir, "src", file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(from)) throw new Error(`variant ${name}: src/${file} has no ${JSON.stringify(from)}`);
    writeFileSync(path, text.split(from).join(to));
  }
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(
    /^main\s*=.*$/m,
    `main = "${join(dir, "src/index.ts")}"`,
  );
  writeFileSync(join(dir, "wrangler.toml"), toml);
  dryRun(join(dir, "dist"), ["--config", join(dir, "wrangler.toml")]);
  return join(dir, "dist", "index.js");
}

const trivialScript = join(OUT, "proxy", "trivial", "trivial.js");
try {
  readFileSync(trivialScript);
} catch {
  throw new Error("no trivial Worker build: run node bench/proxy/run.mjs once first");
}

const servers = await startServers();
const model = values.route === "model";
/** The agent request: a GET, or with --post the small JSON POST of bench/proxy/compare.mjs. */
const agentInit = values.post
  ? { method: "POST", headers: { ...json, "x-agent-key": "user-0042" }, body: chatBody.replace("true", "false") }
  : { headers: { "x-agent-key": "user-0042" } };
const started = [];
const start = async (options) => {
  const mf = new Miniflare(oneWorker(options));
  started.push(mf);
  return (await mf.ready).href.replace(/\/$/, "");
};
try {
  const trivialUrl = await start(trivialOptions(trivialScript, model ? servers.providerUrl : servers.upstreamUrl));
  const subjects = {
    trivial: model
      ? { url: `${trivialUrl}/v1/chat/completions`, method: "POST", headers: json, body: chatBody }
      : { url: `${trivialUrl}/support/chat`, ...agentInit },
  };
  for (const [name, replacements] of Object.entries(variants)) {
    const url = await start(gatewayOptions(build(name, replacements)));
    await seed(url, servers);
    await served(url);
    subjects[name] = model
      ? { url: `${url}/models/support-bot/v1/chat/completions`, method: "POST", headers: json, body: chatBody }
      : { url: `${url}/agents/support-bot/chat`, ...agentInit };
  }
  for (const s of Object.values(subjects)) await cannon({ ...s, duration: 1 });

  const per = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.keys(subjects);
    for (let k = 0; k < round % order.length; k++) order.push(order.shift());
    for (const name of order) {
      if (values.rps) {
        per[name].push((await cannon(subjects[name])).rps);
      } else {
        const pid = workerdPid(subjects[name].url);
        if (pid === null) throw new Error("no workerd pid (CPU per request needs Linux and ss); try --rps");
        const before = cpuMs(pid);
        const r = await cannon({ ...subjects[name], amount: Number(values.requests) });
        per[name].push(((cpuMs(pid) - before) * 1000) / r.total);
      }
    }
  }
  const unit = values.rps ? "req/s" : "µs CPU per request";
  for (const [name, xs] of Object.entries(per)) {
    const ratio = name === "trivial" ? "" : `, ${(median(xs) / median(per.trivial)).toFixed(2)}× the trivial Worker`;
    console.log(
      `${name.padEnd(14)} ${median(xs).toFixed(0)} ${unit} (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})${ratio}`,
    );
  }
} finally {
  for (const mf of started) await mf.dispose().catch(() => undefined);
  servers.close();
}
