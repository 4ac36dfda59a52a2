/** Starts the real local upstream once for the whole test run and hands its address to the tests. */
import type { TestProject } from "vitest/node";
import { startMcpServer } from "./mcp-server";
import { startMockProvider } from "./mock-provider";
import { startUpstream } from "./upstream";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { url, server } = await startUpstream();
  const provider = await startMockProvider();
  const mcp = await startMcpServer();
  // The key is declared for the tests in test/provided.d.ts; this Node-side project does not see that merge.
  (project.provide as (key: string, value: unknown) => void)("upstream", url);
  (project.provide as (key: string, value: unknown) => void)("provider", provider.url);
  (project.provide as (key: string, value: unknown) => void)("mcp", mcp.url);
  return () =>
    new Promise<void>((resolve) => {
      // Open event streams (an MCP client's GET stream) would hold the server's close.
      mcp.server.closeAllConnections();
      server.close(() => provider.server.close(() => mcp.server.close(() => resolve())));
    });
}
