/**
 * Rewrites an Anthropic Messages request to the release's model lane (CONTRACT §2.2).
 * https://docs.anthropic.com/en/api/messages
 *
 * The release instructions lead the top-level `system`, in the client's form: a string stays a string, a block
 * array gets a leading text block (the client's `cache_control` breakpoints stay on its own blocks).
 *
 * No tool left: the API refuses a request whose history holds `tool_use` or `tool_result` blocks but defines
 * no tools ("Requests which include tool_use or tool_result blocks must define tools"). So when the history has
 * such blocks, the client's definitions of the tools it names stay — only so the history stays valid — and
 * `tool_choice` becomes `{type:"none"}`, which forbids any call; the response filter still withholds a call
 * that slips through. Without such blocks, `tools` and `tool_choice` are simply removed.
 */
import { isObj, list, type Obj, obj, str } from "./json";
import { allowsAll, type ToolPolicy } from "./policy";
import { allowedTools, applyModel, type ModelLane, prefixInstructions } from "./request-common";
import { checkFields } from "./request-fields";
import { anthropicToolNames } from "./tool-names";

export function rewriteMessages(body: Obj, lane: ModelLane): void {
  checkFields("messages", body);
  applyModel(body, lane);
  if (lane.system !== "") body.system = withSystem(body.system, lane.system);
  // Provider-run actions outside `tools`: the MCP connector runs the servers' tools at Anthropic, a container
  // runs code (and skills). Each stays only when the lane allows the hosted tool it stands for.
  if (body.mcp_servers !== undefined && !lane.policy.allowed.has("mcp")) delete body.mcp_servers;
  if (body.container !== undefined && !lane.policy.allowed.has("code_execution")) delete body.container;
  const tools = list(body.tools);
  if (tools === undefined) return;
  const kept = allowedTools(tools, anthropicToolNames, lane.policy);
  if (kept.length > 0) {
    body.tools = kept;
    if (body.tool_choice !== undefined) body.tool_choice = relaxChoice(body.tool_choice, lane.policy);
    return;
  }
  const history = toolHistory(list(body.messages) ?? []);
  if (history === null) {
    delete body.tools;
    delete body.tool_choice;
    return;
  }
  // Only client tools (no `type`: the client runs them, and `none` forbids calling them) ever stay for the
  // history; a server tool would run at the provider. With none named, a stub that nothing can call.
  const forHistory = tools.filter(
    (t): t is Obj => isObj(t) && (t.type === undefined || t.type === "custom") && history.has(str(t.name) ?? ""),
  );
  body.tools = forHistory.length > 0 ? forHistory : [HISTORY_STUB];
  body.tool_choice = { type: "none" };
}

const HISTORY_STUB = {
  name: "no_tools_in_this_lane",
  description: "Declared only so the conversation's earlier tool blocks stay valid; tool_choice is none.",
  input_schema: { type: "object", properties: {} },
};

function withSystem(client: unknown, system: string): unknown {
  const blocks = list(client);
  if (blocks === undefined) return prefixInstructions(system, str(client) ?? "");
  const same = (b: unknown) => isObj(b) && b.type === "text" && b.text === system;
  if (same(blocks[0])) return [blocks[0], ...blocks.slice(1).filter((b) => !same(b))];
  return [{ type: "text", text: system }, ...blocks.filter((b) => !same(b))];
}

/** A named tool that was removed → `auto`, keeping the client's `disable_parallel_tool_use`. */
function relaxChoice(choice: unknown, policy: ToolPolicy): unknown {
  if (!isObj(choice) || choice.type !== "tool" || allowsAll(policy, [str(choice.name) ?? ""])) return choice;
  const { name: _name, ...rest } = choice;
  return { ...rest, type: "auto" };
}

/** The tool names the history calls, or null when it holds no tool block at all. */
function toolHistory(messages: unknown[]): Set<string> | null {
  let found = false;
  const names = new Set<string>();
  for (const m of messages) {
    for (const block of list(obj(m)?.content) ?? []) {
      if (!isObj(block)) continue;
      const type = str(block.type) ?? "";
      if (type === "tool_use") names.add(str(block.name) ?? "");
      if (/tool_use$|tool_result$/i.test(type)) found = true;
    }
  }
  return found ? names : null;
}
