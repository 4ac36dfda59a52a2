/**
 * The Worker as the tests run it: the production app and Durable Objects, each object constructed with the
 * tests' clock (test/helpers/clock.ts) instead of the runtime's. Nothing else differs from src/index.ts.
 */

import type { Bindings } from "../src/env";
import app from "../src/index";
import { ControlPlane as ControlPlaneObject } from "../src/state/control-plane";
import { Guard as GuardObject } from "../src/state/guard-object";
import { testClock } from "./helpers/clock";

export default app;

export class ControlPlane extends ControlPlaneObject {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env, testClock.now);
  }
}

export class Guard extends GuardObject {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env, testClock.now);
  }
}
