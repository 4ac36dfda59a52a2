/**
 * A loopback port nothing listens on right now (the kernel's pick), for the tests that start `wrangler dev`, which
 * needs a number: runs in several checkouts on one machine never collide on a fixed port.
 */
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}
