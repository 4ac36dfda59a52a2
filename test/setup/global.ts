/** Starts the real local upstream once for the whole test run and hands its address to the tests. */
import type { TestProject } from "vitest/node";
import { startMockProvider } from "./mock-provider";
import { startUpstream } from "./upstream";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { url, server } = await startUpstream();
  const provider = await startMockProvider();
  // The key is declared for the tests in test/provided.d.ts; this Node-side project does not see that merge.
  (project.provide as (key: string, value: unknown) => void)("upstream", url);
  (project.provide as (key: string, value: unknown) => void)("provider", provider.url);
  return () => new Promise<void>((resolve) => server.close(() => provider.server.close(() => resolve())));
}
