/** The format-2 read and publish path the snapshot benchmark drives, bundled for Node by bench/build.mjs. */
import { z } from "zod";

export { buildPublication } from "../../src/control/snapshot";
export { canonicalJson, digestOf } from "../../src/release/digest";
export { decide } from "../../src/routing/decide";
export { indexState } from "../../src/routing/snapshot";
export { ManifestStore } from "../../src/state/manifest-store";
export { render } from "../../src/state/publication";
export { loadRevision } from "../../src/state/snapshot-load";

/** zod as workerd runs it: without its JIT (workerd forbids `new Function`). */
export const jitless = (): void => {
  z.config({ jitless: true });
};
