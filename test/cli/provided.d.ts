/** Values the CLI tests' global setup (test/cli/setup/gateway.ts) hands to them through provide/inject. */
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** The gateway under `wrangler dev`, e.g. http://127.0.0.1:40123. */
    gateway: string;
    /** The real local upstream its releases point at. */
    cliUpstream: string;
  }
}
