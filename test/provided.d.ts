/** Values the global setup (Node) hands to the tests (workerd) through vitest's provide/inject. */
export {};

declare module "vitest" {
  export interface ProvidedContext {
    upstream: string;
    /** The mock model provider (test/setup/mock-provider.ts). */
    provider: string;
    /** The MCP tool server (test/setup/mcp-server.ts). */
    mcp: string;
  }
}
