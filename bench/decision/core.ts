/** The pure core the decision benchmark drives, bundled for Node by bench/build.mjs (one copy of zod). */
export { digestOf } from "../../src/release/digest";
export type { Manifest } from "../../src/release/schema";
export { decide } from "../../src/routing/decide";
export type { Override } from "../../src/routing/override";
export { indexSnapshot, Snapshot } from "../../src/routing/snapshot-legacy";
