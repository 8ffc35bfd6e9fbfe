import { createParser, type EventSourceMessage } from "eventsource-parser";

/** An upstream's Server-Sent Event, as the adapters read it. */
export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  event: string;
  data: string;
}

/**
 * Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html) from bytes
 * split at arbitrary boundaries, including inside a multi-byte UTF-8 character or between the CR
 * and LF of a line ending. The parsing is `eventsource-parser`'s; this adds the byte decoding, hands
 * back the events each push completed, and dispatches an unterminated final event at the end.
 */
export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private events: SseEvent[] = [];
  private readonly parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      this.events.push({ event: message.event ?? "message", data: message.data });
    },
  });

  /** Feeds bytes; returns the events completed by them. */
  push(bytes: Uint8Array | string): SseEvent[] {
    this.parser.feed(typeof bytes === "string" ? bytes : this.decoder.decode(bytes, { stream: true }));
    return this.take();
  }

  /**
   * Flushes at end of stream; an unterminated final event is dispatched, as browsers do not, but
   * upstreams forget: a blank line ends whatever line and event are pending.
   */
  end(): SseEvent[] {
    this.parser.feed(`${this.decoder.decode()}\n\n`);
    return this.take();
  }

  private take(): SseEvent[] {
    if (this.events.length === 0) return [];
    const events = this.events;
    this.events = [];
    return events;
  }
}

export function sseFrame(data: unknown, event?: string): string {
  const json = typeof data === "string" ? data : JSON.stringify(data);
  return event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`;
}
