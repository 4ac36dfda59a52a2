/**
 * Narrowing helpers for provider JSON. Request and response bodies are the provider's, not ours: they are read
 * as `unknown` and narrowed field by field, so a shape we do not know is passed on rather than rejected.
 */

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const obj = (v: unknown): Obj | undefined => (isObj(v) ? v : undefined);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
export const list = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

/** Parses a JSON object, or returns undefined for anything else (a provider may send non-JSON data). */
export function parseObj(text: string): Obj | undefined {
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}
