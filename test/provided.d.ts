/** Values the global setup (Node) hands to the tests (workerd) through vitest's provide/inject. */
export {};

declare module "vitest" {
  export interface ProvidedContext {
    upstream: string;
    /** The mock model provider (test/setup/mock-provider.ts). */
    provider: string;
    /** The MCP tool server (test/setup/mcp-server.ts). */
    mcp: string;
    /** The gateway started like `npm start` for the browser tests (test/browser/gateway.ts). */
    gateway: string;
  }
}
