import { describe, expect, it } from "vitest";
import { HttpError } from "../../src/errors";
import { answeredFailure, thrownFailure } from "../../src/proxy/forward";
import { failureClasses } from "../../src/state/counter";

const answer = (status: number, cls?: string) =>
  new Response(null, { status, headers: cls === undefined ? {} : { "x-agent-failure-class": cls } });

describe("failure classes of a forwarding (§2.3)", () => {
  it("counts the upstream's own class, and any 5xx as an upstream error: both when it is both", () => {
    const counted = (r: Response) => failureClasses(answeredFailure(r));
    expect(counted(answer(200))).toEqual([]);
    expect(counted(answer(404))).toEqual([]);
    expect(counted(answer(500))).toEqual(["upstream_error"]);
    expect(counted(answer(503))).toEqual(["upstream_error"]);
    expect(counted(answer(200, "bad_answer"))).toEqual(["bad_answer"]);
    expect(counted(answer(404, "bad_answer"))).toEqual(["bad_answer"]);
    expect(counted(answer(502, "tool_loop"))).toEqual(["tool_loop", "upstream_error"]);
    expect(counted(answer(503, "upstream_error"))).toEqual(["upstream_error"]); // once, not twice
    expect(counted(answer(500, "Tool_Loop, bad answer!"))).toEqual(["tool_loop", "upstream_error"]);
  });

  it("maps a timeout, an unreachable upstream and a truncated body, and nothing else", () => {
    expect(thrownFailure(new HttpError(504, "upstream_timeout", "slow"))).toBe("upstream_timeout");
    expect(thrownFailure(new HttpError(502, "upstream_unreachable", "down"))).toBe("upstream_error");
    expect(thrownFailure(new HttpError(502, "upstream_truncated", "cut"))).toBe("upstream_error");
    expect(thrownFailure(new HttpError(400, "bad_path", "no"))).toBeNull();
    expect(thrownFailure(new Error("ours"))).toBeNull();
  });
});
