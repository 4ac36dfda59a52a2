/** Starts the real local upstream once for the whole test run and hands its address to the tests. */
import type { TestProject } from "vitest/node";
import { startUpstream } from "./upstream";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { url, server } = await startUpstream();
  // The key is declared for the tests in test/provided.d.ts; this Node-side project does not see that merge.
  (project.provide as (key: string, value: unknown) => void)("upstream", url);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
