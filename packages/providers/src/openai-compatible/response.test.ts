import { describe, expect, it } from "vitest";
import type { ErrorContext } from "../errors.js";
import type { SseEvent } from "../sse.js";
import { openAIChunksToFrames, openAISseToChunks, withoutTrailingNullUsage } from "./response.js";

const errors: ErrorContext = { accountName: "acct", secrets: [], extractMessage: () => undefined };

async function* events(...data: string[]): AsyncGenerator<SseEvent> {
  for (const d of data) yield { event: "message", data: d };
  yield { event: "message", data: "[DONE]" };
}

async function frames(wantsUsage: boolean, ...data: string[]): Promise<string[]> {
  const out: string[] = [];
  const stream = openAISseToChunks<{ usage?: unknown }>(events(...data), errors);
  for await (const frame of openAIChunksToFrames(stream.chunks, wantsUsage)) out.push(frame);
  return out;
}

// Escapes and number forms JSON.stringify would rewrite: seeing them in the output proves the
// upstream's text was relayed, not re-serialised.
const TEXT = '{"id":"c1","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}],"temperature":1.50';

describe("openAIChunksToFrames", () => {
  it("relays an unchanged chunk as the upstream wrote it", async () => {
    expect(await frames(false, `${TEXT}}`)).toEqual([`data: ${TEXT}}\n\n`, "data: [DONE]\n\n"]);
  });

  it("cuts a trailing usage:null out of the upstream's text unless the caller asked for usage", async () => {
    expect(await frames(false, `${TEXT},"usage":null}`)).toEqual([`data: ${TEXT}}\n\n`, "data: [DONE]\n\n"]);
    expect(await frames(true, `${TEXT},"usage":null}`)).toEqual([
      `data: ${TEXT},"usage":null}\n\n`,
      "data: [DONE]\n\n",
    ]);
  });

  it("serialises the object when the text cannot be relayed or cut as it is", async () => {
    const [spaced] = await frames(false, `{"id":"c1", "usage": null}`);
    expect(spaced).toBe('data: {"id":"c1"}\n\n');
    // A data field of two lines: written back as one line.
    const [multiline] = await frames(false, '{"id":"c1",\n"n":1}');
    expect(multiline).toBe('data: {"id":"c1","n":1}\n\n');
  });

  it("still drops the final usage-only chunk unless asked for", async () => {
    const last =
      '{"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}';
    expect(await frames(false, `${TEXT}}`, last)).toEqual([`data: ${TEXT}}\n\n`, "data: [DONE]\n\n"]);
    expect((await frames(true, last))[0]).toBe(`data: ${last}\n\n`);
  });

  it("serialises chunk objects that came from elsewhere (translated providers)", async () => {
    async function* chunks() {
      yield { id: "g1", choices: [], temperature: 1.5, usage: null };
    }
    const out: string[] = [];
    for await (const frame of openAIChunksToFrames(chunks(), false)) out.push(frame);
    expect(out[0]).toBe('data: {"id":"g1","choices":[],"temperature":1.5}\n\n');
  });
});

describe("withoutTrailingNullUsage", () => {
  it("cuts the top-level member", () => {
    expect(withoutTrailingNullUsage('{"a":1,"usage":null}')).toBe('{"a":1}');
  });

  it("leaves every other shape to the serialiser", () => {
    expect(withoutTrailingNullUsage('{"usage":null}')).toBeUndefined();
    expect(withoutTrailingNullUsage('{"a":1,"usage": null}')).toBeUndefined();
    expect(withoutTrailingNullUsage('{"a":1,"usage":null} ')).toBeUndefined();
    expect(withoutTrailingNullUsage('{"a":{"usage":null}}')).toBeUndefined();
    // Another "usage" before it: a nested one, or a duplicate key JSON.parse would have overridden.
    expect(withoutTrailingNullUsage('{"a":{"usage":1},"usage":null}')).toBeUndefined();
    expect(withoutTrailingNullUsage('{"usage":{"total_tokens":3},"usage":null}')).toBeUndefined();
  });

  it("is not fooled by the word inside a string", () => {
    expect(withoutTrailingNullUsage('{"content":"\\"usage\\"","usage":null}')).toBe(
      '{"content":"\\"usage\\""}',
    );
  });
});
