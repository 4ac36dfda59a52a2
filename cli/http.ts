/**
 * The admin API client: one `fetch` per call, a bounded wait, JSON in and out. A call either answers with the
 * gateway's JSON, or throws a CliError: refused (the gateway's own JSON error, exit 1) or unreachable (no answer,
 * or an answer that is not the gateway's — a proxy's error page —, exit 3). `describe` is what `--dry-run`
 * prints: the request as it would be sent, with the token replaced.
 */
import type { Config } from "./config";
import { CliError, EXIT } from "./errors";
import { type HintContext, refusalOf } from "./refusal";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface ApiRequest {
  method: Method;
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Sent as `If-Match: "<revision>"`. */
  ifRevision?: number | undefined;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface DescribedRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

const TIMEOUT_MS = 30_000;
const REDACTED = "Bearer <token>";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class Gateway {
  constructor(
    private readonly config: Config,
    private readonly hints: HintContext,
  ) {}

  get url(): string {
    return this.config.url;
  }

  urlOf(req: ApiRequest): string {
    const u = new URL(`${this.config.url}/admin/v1${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.href;
  }

  private headers(req: ApiRequest, token: string): Record<string, string> {
    const h: Record<string, string> = { authorization: token, accept: "application/json" };
    if (req.body !== undefined) h["content-type"] = "application/json";
    if (req.ifRevision !== undefined) h["if-match"] = `"${req.ifRevision}"`;
    return h;
  }

  describe(req: ApiRequest): DescribedRequest {
    const d: DescribedRequest = { method: req.method, url: this.urlOf(req), headers: this.headers(req, REDACTED) };
    if (req.body !== undefined) d.body = req.body;
    return d;
  }

  async call(req: ApiRequest, signal?: AbortSignal): Promise<Answer> {
    const url = this.urlOf(req);
    const headers = this.headers(req, `Bearer ${this.config.token()}`);
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        redirect: "manual",
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw this.unreachable(timeout.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : causeOf(err));
    }
    const text = await res.text().catch(() => "");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isRecord(body)) {
      const type = res.headers.get("content-type") ?? "no content type";
      throw this.unreachable(`answered ${res.status} (${type}), which is not the Switchyard admin API`);
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, body };
    const error = isRecord(body.error) ? body.error : null;
    if (error === null || typeof error.code !== "string") {
      throw this.unreachable(`answered ${res.status} without a Switchyard error, which is not the admin API`);
    }
    throw refusalOf(res.status, error, this.hints);
  }

  private unreachable(why: string): CliError {
    const source =
      this.config.urlSource === "default" ? "the default; set SWITCHYARD_URL or --url" : this.config.urlSource;
    return new CliError(EXIT.unreachable, `gateway unreachable: ${this.config.url} (${source}): ${why}`, {
      code: "unreachable",
      next: `check the gateway is up (curl ${this.config.url}/healthz), then: switchyard status --url <gateway URL>`,
    });
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
