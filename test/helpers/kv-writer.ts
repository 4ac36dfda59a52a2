/**
 * Fault injection into the control plane's KV writes, through the tests' subclass of the Durable Object
 * (test/worker.ts): the production class has no test hook.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { KvWriter } from "../../src/state/control-plane";
import type { ControlPlane as TestControlPlane } from "../worker";

/** The global control plane's stub, as the tests address it. */
export const controlStub = () => env.CONTROL.get(env.CONTROL.idFromName("global"));

/** Publishes through `writer` from now on (`null`: the real STATE namespace again). */
export function useKvWriter(writer: KvWriter | null, stub = controlStub()): Promise<void> {
  // The binding's class is the production one; the object running behind it is test/worker.ts's subclass.
  return runInDurableObject(stub, (instance) => (instance as unknown as TestControlPlane).useKvWriter(writer));
}
