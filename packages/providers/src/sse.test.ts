import { describe, expect, it } from "vitest";
import { SseParser } from "./sse.js";

const STREAM =
  'event: message_start\r\ndata: {"text":"héllo 👋"}\r\n\r\n' +
  ": keep-alive comment\n\n" +
  "data: line one\ndata: line two\n\n" +
  "data:no-space\r\rdata: [DONE]\n\n";

const EXPECTED = [
  { event: "message_start", data: '{"text":"héllo 👋"}' },
  { event: "message", data: "line one\nline two" },
  { event: "message", data: "no-space" },
  { event: "message", data: "[DONE]" },
];

describe("SseParser", () => {
  it("parses a whole stream with CRLF, CR and LF line endings, comments and multi-line data", () => {
    const parser = new SseParser();
    expect([...parser.push(new TextEncoder().encode(STREAM)), ...parser.end()]).toEqual(EXPECTED);
  });

  it("gives the same events when the bytes are split at every possible boundary", () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      const parser = new SseParser();
      const events = [
        ...parser.push(bytes.subarray(0, cut)),
        ...parser.push(bytes.subarray(cut)),
        ...parser.end(),
      ];
      expect(events, `cut at byte ${cut}`).toEqual(EXPECTED);
    }
  });

  it("gives the same events when fed one byte at a time", () => {
    const parser = new SseParser();
    const events = [];
    for (const byte of new TextEncoder().encode(STREAM)) events.push(...parser.push(new Uint8Array([byte])));
    events.push(...parser.end());
    expect(events).toEqual(EXPECTED);
  });

  it("dispatches an unterminated final event at end of stream", () => {
    const parser = new SseParser();
    expect([...parser.push("data: tail"), ...parser.end()]).toEqual([{ event: "message", data: "tail" }]);
  });

  it("hands each push its own events: a later push does not change an earlier answer", () => {
    const parser = new SseParser();
    const first = parser.push("data: a\n");
    const second = parser.push("\ndata: b\n\n");
    expect(first).toEqual([]);
    expect(second).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
    expect(parser.end()).toEqual([]);
  });
});
