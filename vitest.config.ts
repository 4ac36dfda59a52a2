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
 * Two projects: the Worker's tests inside workerd (real KV and Durable Objects), and the console's browser tests
 * in Node, which start the gateway like `npm start` does and drive real Chromium (test/browser).
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
          exclude: ["test/browser/**"],
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
    ],
  },
});
