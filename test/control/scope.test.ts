/** Token scope in the pure control core (CONTRACT §4.1): which agent each command acts on, and the refusal. */
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/control/commands";
import type { ControlState } from "../../src/control/model";
import type { Actor } from "../../src/control/roles";
import { commandAgent, outOfScope } from "../../src/control/scope";

const state = {
  overrides: [
    { id: "ovr_b", scope: { agent: "b" } },
    { id: "ovr_all", scope: { agent: "*" } },
  ],
} as unknown as ControlState;
const scoped: Actor = { name: "s", role: "admin", agents: ["a"] };
const everyAgent: Actor = { name: "u", role: "operator" };
const rollback = (agent: string): Command => ({ kind: "rollback", agent, reason: "r" });
const remove = (id: string): Command => ({ kind: "override.remove", id, reason: "r" });
const add = (agent: string): Command => ({ kind: "override.add", id: "ovr_n", scope: { agent }, set: {}, reason: "r" });

describe("scope", () => {
  it.each([
    [rollback("a"), "a"],
    [add("*"), "*"],
    [remove("ovr_b"), "b"],
    [remove("ovr_none"), null],
    [{ kind: "override.expire", ids: ["ovr_b"] } as Command, null],
  ])("commandAgent(%j) = %s", (command, agent) => {
    expect(commandAgent(state, command)).toBe(agent);
  });

  it.each([
    [rollback("a"), null],
    [rollback("b"), 403],
    [add("a"), null],
    [add("*"), 403],
    [remove("ovr_b"), 403],
    [remove("ovr_all"), 403],
    [remove("ovr_none"), 403],
  ])("a token scoped to [a]: %j → %s", (command, status) => {
    expect(outOfScope(scoped, state, command)?.status ?? null).toBe(status);
  });

  it("a token without agents is never refused for scope", () => {
    for (const c of [rollback("b"), add("*"), remove("ovr_none")]) expect(outOfScope(everyAgent, state, c)).toBeNull();
  });
});
