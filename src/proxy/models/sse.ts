/**
 * An incremental parser for server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html)
 * that keeps each event's exact text. Every byte received belongs to exactly one event's `raw` — blank-line
 * runs and comments included — so a filter can pass unchanged events on byte for byte and re-serialize only the
 * ones it changes. Input may be split anywhere, even inside a UTF-8 sequence or a CRLF pair; the events parsed
 * are the same for every split.
 */
import { SSE_EVENT_LIMIT } from "../limits";
import type { Relay } from "../pump";
import { Unfilterable } from "./policy";

export interface SseEvent {
  /** The event's text as received, its terminating blank line included. */
  raw: string;
  event: string | null;
  data: string | null;
  id: string | null;
}

const LINE_END = /\r\n|\r|\n/g;
const HAS_LINE_END = /[\r\n]/;

/**
 * An event is held whole until its blank line, so its size is capped (SSE_EVENT_LIMIT, docs/threat-model.md): an
 * upstream that never ends a line or an event cannot make the gateway hold text without bound. Past the cap
 * `push` throws `Unfilterable`, like any event the gateway cannot judge.
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  #buf = "";
  /** Text after #buf holding no line end: a long line arriving in many chunks is joined once, when it ends. */
  #parts: string[] = [];
  #partsLength = 0;
  /** How far into #buf the pending event's lines were already read. */
  #scanned = 0;
  /** How far into #buf no line end was found. */
  #searched = 0;
  #event: string | null = null;
  #data: string | null = null;
  #id: string | null = null;

  /** `limit`: the most text (UTF-16 code units) one pending event may hold. */
  constructor(readonly limit: number = SSE_EVENT_LIMIT) {}

  push(bytes: Uint8Array): SseEvent[] {
    const text = this.#decoder.decode(bytes, { stream: true });
    // A CR ending #buf waits for the next text to tell CRLF from CR, so that text must be looked at now.
    if (!HAS_LINE_END.test(text) && !this.#buf.endsWith("\r")) {
      this.#parts.push(text);
      this.#partsLength += text.length;
      this.#check();
      return [];
    }
    this.#join();
    this.#buf += text;
    const out = this.#drain(false);
    this.#check();
    return out;
  }

  #check(): void {
    if (this.#buf.length + this.#partsLength > this.limit) {
      throw new Unfilterable(`an event larger than ${this.limit} characters`);
    }
  }

  #join(): void {
    if (this.#parts.length === 0) return;
    this.#buf += this.#parts.join("");
    this.#parts = [];
    this.#partsLength = 0;
    this.#searched = this.#buf.length;
  }

  /** The events left at the end of the stream, including a last one that lacks its blank line. */
  end(): SseEvent[] {
    this.#join();
    this.#buf += this.#decoder.decode();
    const out = this.#drain(true);
    if (this.#buf !== "") {
      const tail = this.#buf.slice(this.#scanned);
      if (tail !== "") this.#field(tail);
      out.push(this.#take(this.#buf));
      this.#buf = "";
      this.#scanned = 0;
      this.#searched = 0;
    }
    return out;
  }

  #drain(final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    const buf = this.#buf;
    let start = 0;
    let pos = this.#scanned;
    let searched = buf.length;
    LINE_END.lastIndex = Math.max(pos, this.#searched);
    for (let m = LINE_END.exec(buf); m !== null; m = LINE_END.exec(buf)) {
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (!final && m[0] === "\r" && m.index === buf.length - 1) {
        searched = m.index;
        break;
      }
      const next = m.index + m[0].length;
      if (m.index === pos) {
        out.push(this.#take(buf.slice(start, next)));
        start = next;
      } else {
        this.#field(buf.slice(pos, m.index));
      }
      pos = next;
    }
    this.#buf = start === 0 ? buf : buf.slice(start);
    this.#scanned = pos - start;
    this.#searched = searched - start;
    return out;
  }

  #field(line: string): void {
    if (line.charCodeAt(0) === 58) return; // ":" starts a comment
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (name === "data") this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    else if (name === "event") this.#event = value;
    else if (name === "id") this.#id = value;
  }

  #take(raw: string): SseEvent {
    const ev = { raw, event: this.#event, data: this.#data, id: this.#id };
    this.#event = null;
    this.#data = null;
    this.#id = null;
    return ev;
  }
}

/** One event in the canonical form: optional `event:` and `id:` lines, the data, a blank line. */
export function serializeEvent(ev: SseEvent, data: string): string {
  let out = ev.event === null ? "" : `event: ${ev.event}\n`;
  if (ev.id !== null) out += `id: ${ev.id}\n`;
  for (const line of data.split("\n")) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** What a filter does with one event: the text to send in its place — `raw`, a re-serialization, or "". */
export type EventFilter = (ev: SseEvent) => string;

/**
 * Events through a filter, as a relay for `pump` (src/proxy/pump.ts). Each upstream chunk yields at once the
 * output of every event it completes; nothing waits for the end of the stream, and an upstream error errors the
 * client's stream. `onEnd` runs once the stream has ended cleanly and its last event was filtered (not after an
 * error). When the filter throws `Unfilterable` (CONTRACT §2.2.1), `onUnfilterable` gives the API's own error
 * event: it is sent in place of that event and of everything after it, and the relay reports itself finished,
 * so the pump closes the client's stream and stops reading the provider's. Without it, the error propagates and
 * the client's stream fails.
 */
export function sseRelay(
  filter: EventFilter,
  onEnd?: () => void,
  onUnfilterable?: (error: Unfilterable) => string,
): Relay {
  const parser = new SseParser();
  let finished = false;
  const fail = (error: unknown): string => {
    if (!(error instanceof Unfilterable) || onUnfilterable === undefined) throw error;
    finished = true;
    return onUnfilterable(error);
  };
  const emit = (events: SseEvent[]) => {
    let out = "";
    for (const ev of events) {
      try {
        out += filter(ev);
      } catch (error) {
        return out + fail(error);
      }
    }
    return out;
  };
  // An event over the size cap is refused like one the filter cannot read.
  const parse = (read: () => SseEvent[]): SseEvent[] | string => {
    try {
      return read();
    } catch (error) {
      return fail(error);
    }
  };
  return {
    chunk: (bytes) => {
      const events = parse(() => parser.push(bytes));
      return typeof events === "string" ? events : emit(events);
    },
    end: () => {
      const events = parse(() => parser.end());
      const out = typeof events === "string" ? events : emit(events);
      if (!finished) onEnd?.();
      return out;
    },
    finished: () => finished,
  };
}
