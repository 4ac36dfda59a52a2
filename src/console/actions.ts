/**
 * The console's two action routes: the confirm page of a riskier move (GET, shows the diff and the traffic
 * share) and the move itself (POST, CSRF-checked, parsed strictly, sent through the same control-plane `mutate`
 * as the admin API with the signed-in token as actor). Riskier moves posted without their confirmation are sent
 * to the confirm page; confirmed ones carry If-Match, so they land only on the state that was shown.
 */
import type { Context } from "hono";
import { control, mutate } from "../admin/respond";
import { atLeast } from "../control/roles";
import { HttpError } from "../errors";
import { type Change, diffManifests, diffValues } from "../release/diff";
import { own } from "../release/own";
import type { Override } from "../routing/override";
import type { Pointers } from "../routing/snapshot";
import type { ConsoleEnv } from "./env";
import { commandOf, describe, inverseOf, isRiskier, Move, type MoveFields, roleFor } from "./moves";
import { page, refuse } from "./render";
import { csrfValid } from "./session";
import { ConfirmView, ResultView } from "./views/confirm";

type C = Context<ConsoleEnv>;

function shareWords(m: Move, p: Pointers, o: Override | undefined): string {
  const canary = p.canary?.percent ?? 0;
  const activeShare = `${100 - canary} % of sticky keys and every request without a key`;
  switch (m.move) {
    case "promote":
      return p.canary?.version === m.version
        ? `${m.version} goes from ${canary} % of sticky keys to all traffic: ${activeShare} move from ${p.active}.`
        : `All of ${p.active}'s traffic (${activeShare}) moves to ${m.version}.`;
    case "canary.set":
      if (p.canary?.version === m.version) {
        const d = m.percent - canary;
        return d >= 0
          ? `${d.toFixed(2)} % of sticky keys move from ${p.active} to ${m.version} (${canary} % → ${m.percent} %).`
          : `${(-d).toFixed(2)} % of sticky keys return from ${m.version} to ${p.active}.`;
      }
      return `${m.percent} % of sticky keys (a fresh draw) move to ${m.version}${p.canary ? `; the canary ${p.canary.version} ends` : ""}.`;
    case "override.lift": {
      if (o === undefined) return "The override is gone already.";
      const s = o.scope;
      const who =
        s.agent === "*"
          ? "every request to every agent"
          : s.release === undefined
            ? `every request to ${s.agent}`
            : s.release === p.active
              ? `requests served by ${s.release}: ${activeShare}`
              : `requests served by ${s.release}: ${s.release === p.canary?.version ? `${canary} % of sticky keys` : "none now"}`;
      return `The restriction is removed for ${who}; they get the lane the other overrides leave.`;
    }
    case "canary.resume":
      return `The plan ramps ${p.canary?.version ?? "the canary"} on from ${canary} % of sticky keys, step by step, by itself.`;
    default:
      return "This move only restricts; no traffic moves to a riskier release.";
  }
}

function fieldsOf(raw: Record<string, unknown>): MoveFields {
  const out: MoveFields = {};
  for (const [k, v] of Object.entries(raw))
    if (typeof v === "string" && !["csrf", "confirmed", "revision"].includes(k)) out[k] = v;
  return out;
}

const confirmUrl = (agent: string, fields: MoveFields) =>
  `/console/agents/${agent}/confirm?${new URLSearchParams(fields)}`;

export async function confirmPage(c: C, agent: string): Promise<Response> {
  const session = c.var.session;
  const fields = fieldsOf(c.req.query());
  const parsed = Move.safeParse({ ...fields, reason: fields.reason || "to be given" });
  if (!parsed.success) return refuse(c, 400, "This move is not valid.", parsed.error.issues);
  const m = parsed.data;
  const cp = control(c.env);
  const s = await cp.current();
  const p = own(s.agents, agent);
  if (p === undefined) return refuse(c, 404, `No agent ${agent}.`);
  let changes: Change[] = [];
  let diffLabel = "What changes";
  const lifted = m.move === "override.lift" ? s.overrides.find((o) => o.id === m.id) : undefined;
  if (m.move === "promote" || m.move === "canary.set") {
    const from = p.active === "off" ? p.offFrom : p.active;
    const [a, b] = await Promise.all([from ? cp.release(agent, from) : null, cp.release(agent, m.version)]);
    if (b === null) return refuse(c, 404, `No release ${agent}@${m.version}.`);
    changes = a === null ? diffValues(null, b.manifest) : diffManifests(a.manifest, b.manifest);
    diffLabel = `Release diff: ${from ?? "nothing"} → ${m.version}`;
  } else if (lifted !== undefined) {
    changes = diffValues(lifted.set, null).map((x) => ({ ...x, path: `set.${x.path}` }));
    diffLabel = `Lane knobs removed (laid by ${lifted.actor}: “${lifted.reason}”)`;
  }
  const { reason: _, ...hidden } = fields;
  return page(
    c,
    describe(m),
    ConfirmView({
      agent,
      csrf: session.csrf,
      title: describe(m),
      fields: hidden,
      revision: s.revision,
      changes,
      diffLabel,
      share: shareWords(m, p, lifted),
    }),
  );
}

export async function act(c: C, agent: string): Promise<Response> {
  const session = c.var.session;
  const form = await c.req.parseBody();
  if (!csrfValid(session, form.csrf)) {
    return refuse(c, 403, "The form's CSRF token is missing or wrong (an old page, or a forged request).");
  }
  if (!atLeast(session.actor.role, "operator")) return refuse(c, 403, "A viewer cannot change anything.");
  const fields = fieldsOf(form);
  const parsed = Move.safeParse(fields);
  if (!parsed.success) return refuse(c, 400, "The form is not valid.", parsed.error.issues, `/console/agents/${agent}`);
  const m = parsed.data;
  const before = await control(c.env).current();
  const p = own(before.agents, agent);
  if (p === undefined) return refuse(c, 404, `No agent ${agent}.`);
  const riskier = isRiskier(m, p);
  if (riskier && form.confirmed !== "1") return c.redirect(confirmUrl(agent, fields), 303);
  const revision =
    typeof form.revision === "string" && /^\d{1,15}$/.test(form.revision) ? Number(form.revision) : undefined;
  if (riskier && revision === undefined) return c.redirect(confirmUrl(agent, fields), 303);
  const lifted = m.move === "override.lift" ? before.overrides.find((o) => o.id === m.id) : undefined;
  let out: Awaited<ReturnType<typeof mutate>>;
  try {
    out = await mutate(c.env, commandOf(agent, m), session.actor, riskier ? revision : undefined);
  } catch (err) {
    if (err instanceof HttpError) return refuse(c, err.status, err.message);
    throw err;
  }
  if (!out.ok) {
    if (out.status === 412) {
      return refuse(
        c,
        412,
        "The state changed since the confirm page was shown; review it again.",
        [],
        confirmUrl(agent, fields),
      );
    }
    return refuse(c, out.status, out.message, [], `/console/agents/${agent}`);
  }
  const undo = inverseOf(m, p, out.result, lifted, Date.now());
  const after = own((await control(c.env).current()).agents, agent) ?? p;
  const undoMove = undo === null ? null : Move.safeParse({ ...undo, reason: "undo" });
  const undoRole = undoMove?.success ? roleFor(undoMove.data, isRiskier(undoMove.data, after)) : "admin";
  return page(
    c,
    "Done",
    ResultView({
      agent,
      csrf: session.csrf,
      done: describe(m),
      revision: out.revision,
      published: out.published,
      detail: out.changed ? null : "Nothing needed changing.",
      undo: undoMove?.success ? undo : null,
      undoLabel: undoMove?.success ? describe(undoMove.data) : null,
      canUndo: atLeast(session.actor.role, undoRole),
    }),
  );
}
