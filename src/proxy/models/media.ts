/**
 * What a provider says its answer is (CONTRACT §2.2.1): the media type of `content-type`, compared
 * case-insensitively with its parameters set apart (RFC 9110 §8.3.1), and whether the runtime could have read
 * the bytes as text. Anything other than a JSON document or an event stream in UTF-8 is `other`: never passed
 * on unread by the model route.
 */

export type AnswerKind = "json" | "sse" | "other";

/** Encodings the runtime decodes before the body is read (or none at all). */
const READABLE_ENCODINGS = new Set(["", "identity", "gzip", "br"]);

export function answerKind(headers: Headers): AnswerKind {
  const raw = headers.get("content-type");
  if (raw === null) return "other";
  const [type = "", ...params] = raw.split(";");
  const media = type.trim().toLowerCase();
  for (const p of params) {
    const [name = "", value = ""] = p.split("=");
    const charset = value.trim().replace(/^"|"$/g, "").toLowerCase();
    if (name.trim().toLowerCase() === "charset" && charset !== "utf-8" && charset !== "utf8") return "other";
  }
  const encoding = (headers.get("content-encoding") ?? "").trim().toLowerCase();
  if (!READABLE_ENCODINGS.has(encoding)) return "other";
  if (media === "text/event-stream") return "sse";
  if (media === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(media)) return "json";
  return "other";
}
