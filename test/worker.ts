/**
 * The Worker as the tests run it: the production app and Durable Objects, each object constructed with the
 * tests' clock (test/helpers/clock.ts) instead of the runtime's. The control plane also takes a stand-in KV
 * writer (`useKvWriter`), so fault tests can make publishing fail or stall; production code has no such hook.
 * Nothing else differs from src/index.ts.
 */

import type { Bindings } from "../src/env";
import app from "../src/index";
import { ControlPlane as ControlPlaneObject, type KvWriter } from "../src/state/control-plane";
import { Guard as GuardObject } from "../src/state/guard-object";
import { testClock } from "./helpers/clock";

export default app;

export class ControlPlane extends ControlPlaneObject {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env, testClock.now);
  }

  /** Puts `kv` in front of the STATE namespace for publishing (`null`: the real one again). */
  useKvWriter(kv: KvWriter | null): void {
    const real = this.env.STATE;
    this.publisher = this.newPublisher(
      kv === null ? real : { put: kv.put.bind(kv), delete: kv.delete?.bind(kv) ?? real.delete.bind(real) },
    );
  }
}

export class Guard extends GuardObject {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env, testClock.now);
  }
}
