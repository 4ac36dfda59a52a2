import { createHash } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** One test token per role; the tests send `<role>-token`. Only hashes reach the Worker, as in production. */
const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
const ADMIN_TOKENS = JSON.stringify(
  ["runtime", "viewer", "operator", "releaser", "admin"].map((role) => ({
    name: `${role}@test`,
    role,
    sha256: sha256(`${role}-token`),
  })),
);

/**
 * Three projects: the Worker's tests inside workerd (real KV and Durable Objects); the console's browser tests
 * in Node, which start the gateway like `npm start` does and drive real Chromium (test/browser); and the CLI's
 * tests in Node, which run the built `switchyard` as a child process against `wrangler dev` (test/cli).
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            // The production Worker with its Durable Objects constructed on the tests' clock (test/worker.ts).
            main: "./test/worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { REFRESH_INTERVAL_MS: "0", ADMIN_TOKENS },
            },
          }),
        ],
        test: {
          name: "workers",
          globalSetup: ["./test/setup/global.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**", "test/cli/**"],
          // A test's own waits are short; the ceiling is for a loaded 2-core machine, where the 5 s default was
          // seen to cut an admin round trip short while six other runs shared the cores.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          globalSetup: ["./test/browser/gateway.ts"],
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // One gateway for every file, so the files run one after the other (a panic over every agent is global),
        // and after the other projects (groupOrder), so its load never slows the timing-sensitive tests there.
        test: {
          name: "cli",
          environment: "node",
          sequence: { groupOrder: 1 },
          globalSetup: ["./test/cli/setup/gateway.ts"],
          include: ["test/cli/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
