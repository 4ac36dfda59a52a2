import { describe, expect, it } from "vitest";
import { HttpError } from "../../src/errors";
import { answeredFailure, thrownFailure } from "../../src/proxy/forward";

const answer = (status: number, cls?: string) =>
  new Response(null, { status, headers: cls === undefined ? {} : { "x-agent-failure-class": cls } });

describe("failure classes of a forwarding (§2.3)", () => {
  it("takes the upstream's own class first, then calls any 5xx an upstream error", () => {
    expect(answeredFailure(answer(200))).toBeNull();
    expect(answeredFailure(answer(404))).toBeNull();
    expect(answeredFailure(answer(500))).toBe("upstream_error");
    expect(answeredFailure(answer(503))).toBe("upstream_error");
    expect(answeredFailure(answer(200, "bad_answer"))).toBe("bad_answer");
    expect(answeredFailure(answer(502, "tool_loop"))).toBe("tool_loop");
  });

  it("maps a timeout, an unreachable upstream and a truncated body, and nothing else", () => {
    expect(thrownFailure(new HttpError(504, "upstream_timeout", "slow"))).toBe("upstream_timeout");
    expect(thrownFailure(new HttpError(502, "upstream_unreachable", "down"))).toBe("upstream_error");
    expect(thrownFailure(new HttpError(502, "upstream_truncated", "cut"))).toBe("upstream_error");
    expect(thrownFailure(new HttpError(400, "bad_path", "no"))).toBeNull();
    expect(thrownFailure(new Error("ours"))).toBeNull();
  });
});
