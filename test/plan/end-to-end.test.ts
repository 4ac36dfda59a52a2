/**
 * A release plan in real time, through the real Worker: requests to the canary are counted in the isolate and
 * flushed to the guard, whose alarm ends each 1-second hold; the gateway then serves the next step's percent, and
 * after the last step the promoted release. Nothing here moves a clock by hand: this is the path of `npm start`
 * (bench/plan measures it there).
 */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { testClock } from "../helpers/clock";
import { guardMoves, planAgent, startCanary } from "./helpers";

async function served(agent: string, key: string): Promise<string | null> {
  const res = await SELF.fetch(`https://gw/agents/${agent}/chat`, { headers: { "x-agent-key": key } });
  await res.body?.cancel();
  return res.headers.get("x-agent-release");
}

/** Requests `key` until `release` serves it; the milliseconds that took, or null after `ms`. */
async function until(agent: string, key: string, release: string, ms: number): Promise<number | null> {
  const from = Date.now();
  while (Date.now() - from < ms) {
    if ((await served(agent, key)) === release) return Date.now() - from;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

it("ramps 10 % → 50 % → promoted on its own, each step served within seconds of its hold", async () => {
  const agent = "p-e2e";
  const trigger = { failureClass: "tool_blocked", maxRate: 0.5, minRequests: 5, windowSeconds: 1 } as const;
  const plan = {
    steps: [
      { percent: 10, holdSeconds: 1 },
      { percent: 50, holdSeconds: 1 },
    ],
    promote: true,
  };
  await planAgent(agent, plan, [{ ...trigger, action: "abort-canary" }]);
  testClock.release(); // real time from here on
  await startCanary(agent);
  resetIsolateForTests();
  // Keys by bucket for this canary: in it at 10 %, only at 50 %, and outside it until promoted.
  const keys: Record<"in10" | "in50" | "out", string | undefined> = {
    in10: undefined,
    in50: undefined,
    out: undefined,
  };
  for (let i = 0; i < 500 && Object.values(keys).includes(undefined); i++) {
    const e = await ok<{ decision: { bucket: number | null } }>(
      call("viewer", "GET", `/explain?agent=${agent}&key=k${i}`),
    );
    const b = e.decision.bucket ?? -1;
    if (b >= 0 && b < 1000) keys.in10 ??= `k${i}`;
    else if (b >= 1000 && b < 5000) keys.in50 ??= `k${i}`;
    else if (b >= 5000) keys.out ??= `k${i}`;
  }
  expect(await served(agent, keys.in10!)).toBe("v2");
  expect(await served(agent, keys.in50!)).toBe("v1");
  // Traffic for the first step, spread over more than a second (a step counts from the second after it began).
  for (let i = 0; i < 12; i++) {
    await served(agent, keys.in10!);
    await new Promise((r) => setTimeout(r, 120));
  }
  const toStep2 = await until(agent, keys.in50!, "v2", 8000);
  expect(toStep2, "served at 50 %").not.toBeNull();
  for (let i = 0; i < 12; i++) {
    await served(agent, keys.in50!);
    await new Promise((r) => setTimeout(r, 120));
  }
  const toPromoted = await until(agent, keys.out!, "v2", 8000);
  expect(toPromoted, "served as the promoted release").not.toBeNull();
  const moves = await guardMoves(agent);
  expect(moves.map((m) => [m.action, m.reason.slice(0, 11)])).toEqual([
    ["canary.set", "plan step 2"],
    ["promote", "plan step 3"],
  ]);
}, 40_000);
