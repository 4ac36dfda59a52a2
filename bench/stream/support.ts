/** What bench/stream/run.mjs needs from the TypeScript tree, bundled for Node by bench/build.mjs. */

export { chatStreamFilter } from "../../src/proxy/models/chat-response";
export { messagesStreamFilter } from "../../src/proxy/models/messages-response";
export { ToolGate } from "../../src/proxy/models/policy";
export { responsesStreamFilter } from "../../src/proxy/models/responses-response";
export { sseRelay } from "../../src/proxy/models/sse";
export { HEAD_KEY, snapshotKey } from "../../src/state/kv-layout";
export { manifest, snapshot } from "../../test/helpers/fixtures";
export { startMockProvider } from "../../test/setup/mock-provider";
