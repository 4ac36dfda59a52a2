/**
 * Miniflare 5 (the one wrangler 4.164 runs) has a new options shape; the benchmarks describe each Worker in the
 * Miniflare 4 shape, flat, as they always have, and Miniflare's own `convertV4MiniflareOptions` translates it.
 */
import { convertV4MiniflareOptions } from "miniflare";

export const oneWorker = (options) => convertV4MiniflareOptions(options);
