/** Rendering a console page or a refusal inside the frame, with the session of the request. */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { ConsoleEnv } from "./env";
import { Layout } from "./views/layout";
import { ErrorView } from "./views/misc";

type Status = 200 | 400 | 403 | 404 | 409 | 412 | 413 | 422 | 500 | 503;
const STATUSES: readonly number[] = [400, 403, 404, 409, 412, 413, 422, 500, 503];

export async function page(
  c: Context<ConsoleEnv>,
  title: string,
  body: Child,
  opts: { refresh?: boolean; status?: Status } = {},
): Promise<Response> {
  const frame = (
    <Layout title={title} session={c.get("session") ?? null} refresh={opts.refresh ?? false}>
      {body}
    </Layout>
  );
  return c.html(`<!doctype html>${await frame.toString()}`, opts.status ?? 200);
}

export function refuse(
  c: Context<ConsoleEnv>,
  status: number,
  message: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> = [],
  back?: string,
): Promise<Response> {
  const problems = issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const code = (STATUSES.includes(status) ? status : 400) as Status;
  return page(c, "Refused", <ErrorView status={status} message={message} problems={problems} back={back} />, {
    status: code,
  });
}
